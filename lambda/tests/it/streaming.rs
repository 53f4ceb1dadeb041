//! The answer on the wire: SSE transcripts for each upstream behaviour, pre-stream error mapping,
//! keep-alives under a silent upstream, cancellation reaching fake-gemini, split UTF-8, TLS, and the
//! request Gemini receives.

use fake_gemini::{Chunk, End, Scenario};
use serde_json::Value;

use crate::support::{Setup, read_until, start, wire};

async fn transcript(setup: Setup) -> String {
    let function = start(setup).await;
    let response = function.ask("How do I avoid a TLE?").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    assert_eq!(response.headers()["cache-control"], "no-cache");
    response.text().await.unwrap()
}

#[tokio::test]
async fn transcripts_for_each_way_an_answer_ends() {
    let partial = |end: End| {
        Scenario::chunks(
            vec![
                Chunk {
                    text: "First, ".into(),
                    ..Chunk::default()
                },
                Chunk {
                    text: "think about hashing.".into(),
                    ..Chunk::default()
                },
            ],
            end,
        )
    };
    let finish = |reason: &str| End::Finish {
        reason: reason.into(),
        message: None,
    };
    let cases = [
        ("normal", partial(End::default())),
        ("safety", partial(finish("SAFETY"))),
        ("max_tokens", partial(finish("MAX_TOKENS"))),
        ("error_mid_stream", partial(End::Error { status: 503 })),
        ("closed_without_finish", partial(End::Close)),
        ("aborted", partial(End::Abort)),
        ("prompt_blocked", Scenario::blocked("SAFETY")),
    ];
    for (name, scenario) in cases {
        let body = transcript(Setup::default().only(scenario)).await;
        insta::assert_snapshot!(format!("transcript_{name}"), body);
    }
}

#[tokio::test]
async fn errors_before_the_first_byte_become_http_statuses() {
    let cases = [
        ("rate_limited", Scenario::rate_limited("6.2s")),
        ("gemini_500", Scenario::error(500)),
        ("gemini_503", Scenario::error(503)),
        ("gemini_400", Scenario::error(400)),
        (
            "error_right_after_200",
            Scenario::chunks(vec![], End::Error { status: 503 }),
        ),
        ("empty_stream", Scenario::chunks(vec![], End::Close)),
    ];
    for (name, scenario) in cases {
        let function = start(Setup::default().only(scenario)).await;
        let response = function.ask("hi").await;
        insta::assert_snapshot!(format!("before_first_byte_{name}"), wire(response).await);
    }
}

#[tokio::test]
async fn no_first_byte_in_time_is_504() {
    let function = start(
        Setup::default()
            .env("GEMINI_FIRST_BYTE_TIMEOUT_MS", "300")
            .only(Scenario::stream(["never sent"]).gate_before(0, "never")),
    )
    .await;
    let response = function.ask("hi").await;
    insta::assert_snapshot!("before_first_byte_timeout", wire(response).await);
}

#[tokio::test]
async fn garbage_from_upstream_is_502() {
    let garbage = axum::Router::new().fallback(|| async {
        (
            [("content-type", "text/event-stream")],
            "this is not an event stream\n\n",
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, garbage).await });
    let function = start(Setup::default().env("GEMINI_BASE_URL", &format!("http://{addr}"))).await;
    let response = function.ask("hi").await;
    insta::assert_snapshot!("before_first_byte_garbage", wire(response).await);
}

#[tokio::test]
async fn the_first_delta_is_relayed_while_gemini_holds_the_second() {
    let function =
        start(Setup::default().only(Scenario::stream(["one ", "two"]).gate_before(1, "second")))
            .await;
    let response = function.ask("hi").await;
    let mut body = response.bytes_stream();
    let first = read_until(&mut body, "event: delta").await;
    assert!(first.contains(r#"{"text":"one "}"#));
    function.gemini.wait_for_gate("second", 1).await;
    assert!(!function.gemini.gate("second").open);
    function.gemini.release("second");
    let rest = read_until(&mut body, "event: done").await;
    assert!(rest.contains(r#"{"text":"two"}"#));
}

#[tokio::test]
async fn keep_alives_flow_while_the_upstream_is_silent() {
    let function = start(
        Setup::default()
            .env("KEEPALIVE_INTERVAL_MS", "40")
            .only(Scenario::stream(["before", " after"]).gate_before(1, "silence")),
    )
    .await;
    let response = function.ask("hi").await;
    let mut body = response.bytes_stream();
    read_until(&mut body, "before").await;
    let silent = read_until(&mut body, ": keep-alive\n\n: keep-alive\n\n").await;
    assert!(!silent.contains("after"));
    function.gemini.release("silence");
    read_until(&mut body, "event: done").await;
}

#[tokio::test]
async fn a_client_leaving_cancels_the_gemini_request() {
    let function =
        start(Setup::default().only(Scenario::stream(["partial", "never"]).gate_before(1, "hold")))
            .await;
    let response = function.ask("hi").await;
    let mut body = response.bytes_stream();
    read_until(&mut body, "partial").await;
    function.gemini.wait_for_gate("hold", 1).await;
    drop(body);
    function.gemini.wait_for_streams(|c| c.cancelled == 1).await;
    assert_eq!(function.gemini.stream_counts().completed, 0);
    // The function is still healthy for the next request.
    function.gemini.release("hold");
    assert_eq!(function.ask("again").await.status(), 200);
}

#[tokio::test]
async fn multibyte_text_split_across_writes_arrives_byte_exact() {
    let texts = ["naïve ", "café ☕ 日本語", " ✓"];
    let function =
        start(Setup::default().only(Scenario::stream(texts).split_chunk(1, &[4, 8, 12, 14]))).await;
    let body = function.ask("hi").await.text().await.unwrap();
    let deltas: Vec<String> = body
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("event: delta\ndata: "))
        .map(|data| {
            serde_json::from_str::<Value>(data).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(deltas, texts);
}

#[tokio::test]
async fn gemini_over_tls_with_ssl_cert_file() {
    let function = start(Setup {
        gemini_tls: true,
        ..Setup::default()
    })
    .await;
    assert!(function.gemini.url().starts_with("https://"));
    let body = function.ask("hi").await.text().await.unwrap();
    assert!(body.contains(r#"{"text":"Hello"}"#), "{body}");
    assert!(body.contains("event: done"));
}

#[tokio::test]
async fn the_request_gemini_receives_carries_the_tutor_the_context_and_the_key_only_in_the_header()
{
    let function = start(Setup::default()).await;
    let token = function.access_token();
    let conversation = serde_json::json!({
        "messages": [
            {"role": "user", "content": "Why is my solution slow?"},
            {"role": "model", "content": "Look at the nested loop."},
            {"role": "user", "content": "How do I remove it?"}
        ],
        "context": {"problemId": "two-sum", "title": "Two Sum", "statement": "Find two numbers adding up to target.",
                    "language": "rust", "code": "for i in 0..n { for j in 0..n {} }"}
    });
    let response = function.ask_with(Some(&token), &conversation).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap();
    let requests = function.gemini.received_requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(request.query.as_deref(), Some("alt=sse"));
    assert_eq!(
        request.header("x-goog-api-key"),
        Some(fake_gemini::REDACTED)
    );
    assert!(
        !request
            .body
            .to_string()
            .contains(fake_gemini::DEFAULT_API_KEY)
    );
    assert!(
        !request.body.to_string().contains(&token),
        "the user's token never goes to Gemini"
    );
    insta::assert_json_snapshot!("gemini_request_body", request.body);
}
