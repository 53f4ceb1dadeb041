//! An SSE parser we did not write (`eventsource-stream`, what the `gemini-rust` client uses) reads the
//! fake's stream and gets back exactly the scripted text, including a chunk split inside a UTF-8
//! character across writes.

use eventsource_stream::Eventsource as _;
use fake_gemini::Scenario;
use futures_util::StreamExt as _;
use serde_json::Value;

use crate::support::{open, start_with};

#[tokio::test]
async fn eventsource_stream_parses_every_chunk_byte_exact() {
    let texts = ["Hola, ", "¿qué tal? ", "naïve café ☕ — done.\n"];
    let fake = start_with(vec![Scenario::stream(texts).split_chunk(2, &[3, 14, 16])]).await;
    for model in ["gemini-2.0-flash", "gemini-2.5-flash", "gemini-3-flash"] {
        let response = open(&fake, model, "hi").await;
        let mut events = response.bytes_stream().eventsource();
        let mut received = String::new();
        let mut finish = None;
        while let Some(event) = events.next().await {
            let event = event.expect("a well-formed event");
            assert_eq!(event.event, "message");
            let value: Value = serde_json::from_str(&event.data).unwrap();
            let candidate = &value["candidates"][0];
            for part in candidate["content"]["parts"]
                .as_array()
                .into_iter()
                .flatten()
            {
                received.push_str(part["text"].as_str().unwrap());
            }
            if let Some(reason) = candidate["finishReason"].as_str() {
                finish = Some(reason.to_owned());
            }
        }
        assert_eq!(received, texts.concat(), "{model}");
        assert_eq!(finish.as_deref(), Some("STOP"), "{model}");
    }
}

/// Runs `tests/python/genai_stream.py` (Google's own client) against the fake.
async fn google_genai(fake: &fake_gemini::Handle, model: &str, prompt: &str) -> Value {
    use tokio::io::AsyncWriteExt as _;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/genai_stream.py");
    let python = tokio::task::spawn_blocking(crate::support::genai_python)
        .await
        .unwrap();
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let input = serde_json::json!({"base_url": fake.url(), "api_key": crate::support::KEY, "model": model, "prompt": prompt});
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    // kill_on_drop: a client that hangs is stopped when the bound fails the test.
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("google-genai did not finish within 60 s")
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn googles_python_client_streams_the_script_and_sees_the_errors() {
    let texts = ["Think about ", "the <base case> first.", " Then recurse."];
    let fake = start_with(vec![
        Scenario::stream(texts),
        Scenario::stream(["cut ", "short"])
            .when_last_user_contains("mid-stream")
            .ending(fake_gemini::End::Error { status: 503 }),
        Scenario::rate_limited("3s").when_last_user_contains("quota"),
    ])
    .await;
    let ok = google_genai(&fake, "gemini-2.5-flash", "How do I write recursion?").await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["texts"].as_array().unwrap().len(), 3);
    let joined: String = ok["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(joined, texts.concat());
    assert_eq!(ok["finish_reason"], "STOP");

    let mid = google_genai(&fake, "gemini-2.5-flash", "fail mid-stream please").await;
    assert_eq!(mid["ok"], false, "{mid}");
    assert_eq!(mid["error"], "ServerError");
    assert_eq!(mid["code"], 503);
    assert_eq!(mid["texts"], serde_json::json!(["cut ", "short"]));

    let limited = google_genai(&fake, "gemini-2.5-flash", "out of quota").await;
    assert_eq!(limited["error"], "ClientError", "{limited}");
    assert_eq!(limited["code"], 429);
}
