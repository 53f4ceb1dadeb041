//! SigV4 parsing and verification on arbitrary requests: method, path, query, headers (`name: value`
//! lines) and body. Must never panic; a request it accepts must be one the admin key really signed
//! (here: never, as the fuzzer does not know the secret).
#![no_main]
use std::time::{Duration, SystemTime};

use emulator::sigv4::{self, Identity, VerifyOptions};
use libfuzzer_sys::fuzz_target;

#[path = "split.rs"]
mod split;

fuzz_target!(|data: &[u8]| {
    let f = split::fields(data, 5);
    let headers: Vec<(String, String)> = f[3]
        .split('\r')
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let options = VerifyOptions {
        region: "us-east-1".into(),
        service: "lambda".into(),
        normalize_path: true,
        max_skew: Duration::from_secs(300),
        allow_unsigned_payload: false,
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let verified = sigv4::verify(
        &sigv4::verify::Request {
            method: &f[0],
            path: f[1].as_bytes(),
            query: &f[2],
            headers: &headers,
            body: f[4].as_bytes(),
        },
        |akid| {
            Some(Identity {
                access_key_id: akid.to_owned(),
                secret_access_key: "a secret the fuzzer does not know".into(),
                session_token: None,
            })
        },
        &options,
        now,
    );
    assert!(verified.is_err(), "accepted without the secret: {verified:?}");
});
