//! Lifecycle and plumbing: warm reuse, CORS answered by the URL, outbound calls over TLS.

use emulator::topology::Cors;
use fake_gemini::Scenario;

use crate::support::{chain, chain_with, text};

#[tokio::test]
async fn warm_environments_are_reused_and_cold_start_is_counted_once() {
    let chain = chain(vec![Scenario::stream(["ok"])]).await;
    let viewer = chain.viewer().await;
    for _ in 0..3 {
        assert_eq!(text(&viewer.ask("hi").await.events()), "ok");
        chain.settle().await;
    }
    assert_eq!(chain.chain.invoker.cold_starts(), 1);
}

#[tokio::test]
async fn a_cors_preflight_through_the_edge_is_answered_without_invoking() {
    let chain = chain_with(vec![], |s| {
        s.topology.function_url.cors = Some(Cors {
            allow_origins: vec!["https://practice.example.com".into()],
            allow_methods: vec!["POST".into()],
            allow_headers: vec![
                "content-type".into(),
                "x-chatbot-authorization".into(),
                "x-amz-content-sha256".into(),
            ],
            ..Cors::default()
        });
    })
    .await;
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/chatbot", chain.chain.edge.url()),
        )
        .header("origin", "https://practice.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://practice.example.com"
    );
    assert_eq!(response.headers()["access-control-allow-methods"], "POST");
    assert_eq!(response.headers()["x-cache"], "Miss from cloudfront");
    assert_eq!(
        chain.chain.invoker.cold_starts(),
        0,
        "the function was not invoked"
    );
}

#[tokio::test]
async fn the_functions_outbound_calls_run_over_tls_with_its_own_ca() {
    let chain = chain_with(vec![Scenario::stream(["over TLS"])], |s| {
        s.gemini_tls = true
    })
    .await;
    assert!(chain.chain.gemini.url().starts_with("https://"));
    assert_eq!(
        text(&chain.viewer().await.ask("hi").await.events()),
        "over TLS"
    );
}
