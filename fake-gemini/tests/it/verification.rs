//! Request verification (journal, redaction, expectations verified on drop), the HTTP controls, and
//! serving over TLS with a generated CA.

use fake_gemini::{Config, FakeGemini, REDACTED, Scenario};
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::support::{KEY, body, read_until, start_with, stream, stream_url};

#[tokio::test]
async fn every_request_is_recorded_with_the_key_redacted() {
    let fake = start_with(vec![Scenario::stream(["ok"])]).await;
    let request = json!({
        "systemInstruction": {"parts": [{"text": "You are a tutor."}]},
        "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "generationConfig": {"temperature": 0.3}
    });
    crate::support::post(&stream_url(&fake, "gemini-2.5-flash"), Some(KEY), &request).await;
    crate::support::post(
        &format!("{}&key={KEY}", stream_url(&fake, "gemini-2.5-flash")),
        None,
        &body("q"),
    )
    .await;
    let recorded = fake.received_requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(
        recorded[0].path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(recorded[0].header("x-goog-api-key"), Some(REDACTED));
    assert_eq!(recorded[0].body, request);
    assert_eq!(recorded[1].query.as_deref(), Some("alt=sse&key=[redacted]"));
    let journal: Value = reqwest::get(format!("{}/__fake/requests", fake.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(journal.as_array().unwrap().len(), 2);
    assert!(
        !journal.to_string().contains(KEY),
        "the key never appears in the journal"
    );
}

#[test]
fn unmet_expectations_panic_on_drop_listing_the_requests() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let fake = start_with(vec![Scenario::stream(["ok"])]).await;
            fake.expect(2);
            stream(&fake, "gemini-2.5-flash", "only one").await;
            drop(fake);
        })
    }));
    let message = *outcome.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("expected 2 request(s), received 1"),
        "{message}"
    );

    runtime.block_on(async {
        let fake = start_with(vec![Scenario::stream(["ok"])]).await;
        fake.expect(1);
        stream(&fake, "gemini-2.5-flash", "exactly one").await;
    });
}

#[tokio::test]
async fn gates_can_be_driven_over_http() {
    let fake = start_with(vec![
        Scenario::stream(["a", "b"]).gate_before(1, "http-gate"),
    ])
    .await;
    let response = crate::support::open(&fake, "gemini-2.5-flash", "hi").await;
    let mut bytes = response.bytes_stream();
    read_until(&mut bytes, "\"a\"").await;
    fake.wait_for_gate("http-gate", 1).await;
    let state: Value = reqwest::get(format!("{}/__fake/gates/http-gate", fake.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state, json!({"reached": 1, "open": false}));
    let released = reqwest::Client::new()
        .post(format!("{}/__fake/gates/http-gate/release", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 204);
    read_until(&mut bytes, "\"b\"").await;
    assert!(bytes.next().await.is_none());
    let counts: Value = reqwest::get(format!("{}/__fake/streams", fake.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        counts,
        json!({"started": 1, "completed": 1, "cancelled": 0})
    );
}

#[tokio::test]
async fn tls_with_a_generated_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    let config = Config {
        tls_ca_path: Some(ca_path.clone()),
        scenarios: vec![Scenario::stream(["over TLS"])],
        ..Config::default()
    };
    let fake = FakeGemini::spawn(config).await.unwrap();
    assert!(fake.url().starts_with("https://"));
    let ca = std::fs::read(&ca_path).unwrap();
    assert_eq!(fake.ca_pem().unwrap().as_bytes(), ca.as_slice());
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let text = client
        .post(stream_url(&fake, "gemini-2.5-flash"))
        .header("x-goog-api-key", KEY)
        .json(&body("hi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("over TLS"));
    let untrusting = reqwest::Client::new()
        .post(stream_url(&fake, "gemini-2.5-flash"))
        .json(&body("hi"))
        .send()
        .await;
    assert!(
        untrusting.is_err(),
        "a client without the CA must refuse the certificate"
    );
}

#[tokio::test]
async fn the_journal_is_bounded_in_count_and_bytes_and_counts_what_it_dropped() {
    let fake = start_with(vec![Scenario::stream(["ok"])]).await;
    let client = reqwest::Client::new();
    let url = stream_url(&fake, "gemini-2.5-flash");
    // Keyless posts (403s) are journaled too: a flood of them must not grow the fake.
    for _ in 0..fake_gemini::JOURNAL_MAX_REQUESTS + 20 {
        client.post(&url).body("{}").send().await.unwrap();
    }
    assert_eq!(
        fake.received_requests().len(),
        fake_gemini::JOURNAL_MAX_REQUESTS
    );
    assert_eq!(
        fake.request_counts(),
        (fake_gemini::JOURNAL_MAX_REQUESTS as u64 + 20, 20)
    );
    let megabyte = "x".repeat(fake_gemini::JOURNAL_MAX_BODY - 2);
    for _ in 0..10 {
        client
            .post(&url)
            .body(format!("\"{megabyte}\""))
            .send()
            .await
            .unwrap();
    }
    let kept: usize = fake
        .received_requests()
        .iter()
        .map(|r| r.body.to_string().len())
        .sum();
    assert!(
        kept <= fake_gemini::JOURNAL_MAX_BYTES + 2 * 1024 * 1024,
        "{kept} bytes kept"
    );
    let response = reqwest::get(format!("{}/__fake/requests", fake.url()))
        .await
        .unwrap();
    let dropped: u64 = response.headers()["x-fake-dropped-requests"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped > 20, "{dropped}");
    // A body over the per-request cap is recorded as its size.
    let huge = format!("\"{}\"", "y".repeat(fake_gemini::JOURNAL_MAX_BODY + 10));
    client.post(&url).body(huge).send().await.unwrap();
    let last = fake.received_requests().pop().unwrap();
    assert_eq!(
        last.body,
        json!(format!(
            "[a body of {} bytes, not kept]",
            fake_gemini::JOURNAL_MAX_BODY + 12
        ))
    );
}
