//! The happy path: a two-turn conversation through every hop.

use emulator::client::{Options, Received};
use fake_gemini::Scenario;
use serde_json::json;

use crate::support::{chain, text};

#[tokio::test]
async fn a_two_turn_conversation_streams_through_every_hop() {
    let chain = chain(vec![
        Scenario::stream(["Think about ", "what a hash map gives you."]).on_call(1),
        Scenario::stream(["Store each value's index, ", "then look up target - x."]).on_call(2),
    ])
    .await;
    let viewer = chain.viewer().await;
    let first = json!({
        "messages": [{"role": "user", "content": "My Two Sum solution times out."}],
        "context": {"problemId": "two-sum", "title": "Two Sum", "language": "python",
                    "statement": "Return indices of two numbers adding up to target.",
                    "code": "for i in range(n):\n    for j in range(n): ..."}
    });
    let events = viewer
        .send(&first, &viewer.token, &Options::default())
        .await
        .events();
    let answer = text(&events);
    assert_eq!(answer, "Think about what a hash map gives you.");
    let mut second = first.clone();
    second["messages"] = json!([
        {"role": "user", "content": "My Two Sum solution times out."},
        {"role": "model", "content": answer},
        {"role": "user", "content": "How do I use it?"}
    ]);
    let events = viewer
        .send(&second, &viewer.token, &Options::default())
        .await
        .events();
    let transcript: Vec<String> = events
        .iter()
        .map(|e| match e {
            Received::Event(event) => String::from_utf8(event.encode().to_vec()).unwrap(),
            Received::KeepAlive => ": keep-alive\n\n".into(),
        })
        .collect();
    insta::assert_snapshot!("two_turn_transcript", transcript.concat());

    let requests = chain.chain.gemini.received_requests();
    assert_eq!(requests.len(), 2);
    let body = &requests[1].body;
    let system = body["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(system.contains("<problem_title>\nTwo Sum\n</problem_title>"));
    assert!(system.contains("<student_code>\nfor i in range(n):"));
    assert_eq!(body["contents"].as_array().unwrap().len(), 3);
    assert_eq!(body["contents"][1]["role"], "model");
    assert_eq!(
        requests[1].header("x-goog-api-key"),
        Some(fake_gemini::REDACTED)
    );
    assert!(!body.to_string().contains(fake_gemini::DEFAULT_API_KEY));
    assert_eq!(requests[1].query.as_deref(), Some("alt=sse"));
}

#[tokio::test]
async fn the_canonical_scenarios_pass() {
    let chain = chain(vec![Scenario::stream(["an answer"])]).await;
    let viewer = chain.viewer().await;
    let outcomes = emulator::scenarios::run_all(
        &viewer.client,
        fake_cognito::config::DEFAULT_USERNAME,
        fake_cognito::config::DEFAULT_PASSWORD,
    )
    .await;
    for outcome in outcomes {
        assert!(outcome.passed, "{outcome:?}");
    }
}
