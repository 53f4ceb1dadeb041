//! The Function URL's payload v2.0 event from any request: it must build, be JSON, and carry the
//! body's bytes exactly (as text when they are UTF-8 text, else base64).
#![no_main]
use std::time::{Duration, SystemTime};

use emulator::function_url::auth::Caller;
use emulator::function_url::event::{Incoming, build};
use libfuzzer_sys::fuzz_target;

#[path = "split.rs"]
mod split;

fuzz_target!(|data: &[u8]| {
    let f = split::fields(data, 4);
    let headers: Vec<(String, String)> = f[2]
        .split('\r')
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    // The body is the raw tail of the input, so invalid UTF-8 reaches the builder.
    let body = data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(2)
        .map_or(&data[..0], |(i, _)| &data[i + 1..]);
    let topology = emulator::Topology::default();
    let event = build(
        &topology,
        &Incoming {
            method: "POST",
            path: &f[0],
            query: &f[1],
            headers: &headers,
            body,
            source_ip: "127.0.0.1",
        },
        &Caller::Anonymous,
        "id",
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
    );
    let text = event.to_string();
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("the event is JSON");
    if body.is_empty() {
        return;
    }
    let sent = parsed["body"].as_str().expect("a body");
    let bytes = if parsed["isBase64Encoded"] == true {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(sent)
            .expect("valid base64")
    } else {
        sent.as_bytes().to_vec()
    };
    assert_eq!(bytes, body, "the body's bytes changed");
});
