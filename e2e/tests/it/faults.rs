//! Every fault in DESIGN.md's list, each its own test: what the viewer sees, that nothing hangs, and
//! that the next request works.

use std::time::Duration;

use chatbot_query::sse::Event;
use e2e::TestChain;
use emulator::client::Received;
use fake_cognito::JwksFault;
use fake_cognito::config::DEFAULT_POOL_ID;
use fake_gemini::{End, Scenario};

use crate::support::{chain, chain_with, last, text};

/// After a fault, the same chain answers the next question.
async fn next_request_works(chain: &TestChain) {
    chain
        .chain
        .gemini
        .mount(Scenario::stream(["recovered"]).when_last_user_contains("again"));
    let events = chain.viewer().await.ask("again").await.events();
    assert_eq!(text(&events), "recovered");
}

async fn refused_before_streaming(
    scenario: Scenario,
    status: u16,
    code: &str,
) -> (TestChain, e2e::Refusal) {
    let chain = chain(vec![scenario]).await;
    let refusal = chain.viewer().await.ask("hi").await.refusal();
    assert_eq!(refusal.status, status, "{refusal:?}");
    let body: serde_json::Value = serde_json::from_str(&refusal.body).unwrap();
    assert_eq!(body["error"]["code"], code);
    assert_eq!(refusal.hop.as_deref(), Some("function"));
    (chain, refusal)
}

#[tokio::test]
async fn gemini_429_before_the_first_chunk_is_429_with_retry_after() {
    let (chain, refusal) = refused_before_streaming(
        Scenario::rate_limited("12.5s").times(1),
        429,
        "rate_limited",
    )
    .await;
    assert_eq!(refusal.headers["retry-after"], "13");
    next_request_works(&chain).await;
}

#[tokio::test]
async fn gemini_500_before_the_first_chunk_is_502() {
    let (chain, _) =
        refused_before_streaming(Scenario::error(500).times(1), 502, "upstream_error").await;
    next_request_works(&chain).await;
}

#[tokio::test]
async fn gemini_503_before_the_first_chunk_is_503() {
    let (chain, _) =
        refused_before_streaming(Scenario::error(503).times(1), 503, "upstream_unavailable").await;
    next_request_works(&chain).await;
}

#[tokio::test]
async fn gemini_cut_mid_stream_ends_with_an_error_event() {
    let chain = chain(vec![
        Scenario::stream(["partial ", "answer"])
            .ending(End::Abort)
            .times(1),
    ])
    .await;
    let events = chain.viewer().await.ask("hi").await.events();
    assert_eq!(text(&events), "partial answer");
    let Event::Error(error) = last(&events) else {
        panic!("an error event: {events:?}")
    };
    assert_eq!(
        (error.code.as_str(), error.retryable),
        ("upstream_truncated", true)
    );
    next_request_works(&chain).await;
}

#[tokio::test]
async fn a_gemini_error_object_after_200_ends_with_an_error_event() {
    let chain = chain(vec![
        Scenario::stream(["partial"])
            .ending(End::Error { status: 503 })
            .times(1),
    ])
    .await;
    let events = chain.viewer().await.ask("hi").await.events();
    let Event::Error(error) = last(&events) else {
        panic!("an error event")
    };
    assert_eq!(error.code, "upstream_unavailable");
    assert_eq!(error.message, "the model stopped with 503 UNAVAILABLE");
    next_request_works(&chain).await;
}

#[tokio::test]
async fn gemini_silent_longer_than_the_keep_alive_interval_gets_keep_alives() {
    let chain = chain_with(
        vec![Scenario::stream(["before", " after"]).gate_before(1, "silence")],
        |s| {
            s.topology
                .function
                .env
                .insert("KEEPALIVE_INTERVAL_MS".into(), "50".into());
        },
    )
    .await;
    let viewer = chain.viewer().await;
    let emulator::client::Answer::Stream(mut stream) = viewer
        .client
        .send(
            &emulator::client::question("hi"),
            &viewer.token,
            &emulator::client::Options::default(),
        )
        .await
        .unwrap()
    else {
        panic!("a stream")
    };
    let mut keep_alives = 0;
    while keep_alives < 2 {
        if let (Received::KeepAlive, _) = stream.next().await.unwrap().unwrap() {
            keep_alives += 1;
        }
    }
    chain.chain.gemini.release("silence");
    let rest = stream.collect().await.unwrap();
    assert!(matches!(last(&rest), Event::Done(_)));
}

#[tokio::test]
async fn the_jwks_down_after_warm_up_changes_nothing() {
    let chain = chain(vec![Scenario::stream(["ok"])]).await;
    let viewer = chain.viewer().await;
    viewer.ask("warm").await.events();
    chain
        .chain
        .cognito
        .set_jwks_fault(JwksFault::Status { status: 503 });
    for _ in 0..3 {
        // The warm environment (with its cached keys) must be the one that answers; a new one
        // would fetch the JWKS afresh, as a new Lambda environment does.
        chain.settle().await;
        assert_eq!(text(&viewer.ask("still").await.events()), "ok");
    }
    assert_eq!(chain.chain.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 1);
}

#[tokio::test]
async fn the_jwks_down_at_cold_start_is_503_then_recovers() {
    let chain = chain(vec![Scenario::stream(["ok"])]).await;
    chain
        .chain
        .cognito
        .set_jwks_fault(JwksFault::Status { status: 500 });
    let viewer = chain.viewer().await;
    let refusal = viewer.ask("hi").await.refusal();
    assert_eq!(refusal.status, 503);
    assert!(refusal.body.contains("auth_unavailable"));
    chain.chain.cognito.set_jwks_fault(JwksFault::Healthy);
    assert_eq!(text(&viewer.ask("hi").await.events()), "ok");
}

#[tokio::test]
async fn a_signing_key_rotation_is_picked_up_after_one_refetch() {
    let chain = chain(vec![Scenario::stream(["ok"])]).await;
    let viewer = chain.viewer().await;
    viewer.ask("warm").await.events();
    chain.settle().await;
    chain
        .chain
        .cognito
        .rotate_keys(DEFAULT_POOL_ID, Duration::from_secs(600))
        .unwrap();
    let fresh = chain.viewer().await;
    assert_eq!(text(&fresh.ask("after rotation").await.events()), "ok");
    chain.settle().await;
    assert_eq!(chain.chain.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 2);
    // Unknown kids after that: one re-fetch, then none during the cooldown.
    for _ in 0..3 {
        let forged = chain
            .mint(&fake_cognito::MintRequest::access().signed(fake_cognito::Signing::UnknownKid));
        let refusal = viewer
            .send(
                &emulator::client::question("x"),
                &forged,
                &emulator::client::Options::default(),
            )
            .await
            .refusal();
        assert_eq!(refusal.status, 401);
        chain.settle().await;
    }
    assert_eq!(
        chain.chain.cognito.jwks_fetch_count(DEFAULT_POOL_ID),
        3,
        "re-fetches are rate limited"
    );
}

#[tokio::test]
async fn a_viewer_leaving_mid_stream_cancels_gemini_and_the_environment_is_reused() {
    let chain = chain(vec![
        Scenario::stream(["first", "never"])
            .gate_before(1, "hold")
            .times(1),
    ])
    .await;
    let viewer = chain.viewer().await;
    let emulator::client::Answer::Stream(mut stream) = viewer
        .client
        .send(
            &emulator::client::question("hi"),
            &viewer.token,
            &emulator::client::Options::default(),
        )
        .await
        .unwrap()
    else {
        panic!("a stream")
    };
    stream.next().await.unwrap().unwrap();
    chain.chain.gemini.wait_for_gate("hold", 1).await;
    drop(stream);
    chain
        .chain
        .gemini
        .wait_for_streams(|c| c.cancelled == 1)
        .await;
    chain.settle().await;
    next_request_works(&chain).await;
    assert_eq!(
        chain.chain.invoker.cold_starts(),
        1,
        "the same environment served the next request"
    );
}
