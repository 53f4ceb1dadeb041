//! Every invalid-token case is a 401 (no Gemini call made); JWKS caching, rotation, rate-limited
//! re-fetches, and JWKS outages after warm-up and at cold start.

use std::time::Duration;

use fake_cognito::config::DEFAULT_POOL_ID;
use fake_cognito::keys::SigningKey;
use fake_cognito::{JwksFault, MintRequest, Signing};
use serde_json::json;

use crate::support::{Setup, chat_body, start, wire};

#[tokio::test]
async fn every_bad_token_is_refused_before_gemini_is_called() {
    let function = start(Setup::default()).await;
    function.gemini.expect(0);
    let body = chat_body("hi");
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no_token", None),
        ("not_a_jwt", Some("not-a-jwt".into())),
        (
            "expired",
            Some(function.mint(MintRequest::access().expired(60))),
        ),
        (
            "not_yet_valid",
            Some(function.mint(MintRequest::access().not_yet_valid(300))),
        ),
        (
            "wrong_issuer",
            Some(function.mint(MintRequest::access().claim(
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"),
            ))),
        ),
        (
            "wrong_client",
            Some(function.mint(MintRequest::access().claim("client_id", json!("someotherclient")))),
        ),
        (
            "id_token_when_access_required",
            Some(function.mint(MintRequest::id())),
        ),
        (
            "unknown_kid",
            Some(function.mint(MintRequest::access().signed(Signing::UnknownKid))),
        ),
        (
            "alg_none",
            Some(function.mint(MintRequest::access().signed(Signing::AlgNone))),
        ),
        (
            "hs256",
            Some(function.mint(MintRequest::access().signed(Signing::Hs256PublicKey))),
        ),
        (
            "bad_signature",
            Some(function.mint(MintRequest::access().signed(Signing::TamperedSignature))),
        ),
        (
            "missing_client_id",
            Some(function.mint(MintRequest::access().without("client_id"))),
        ),
    ];
    for (name, token) in cases {
        let response = function.ask_with(token.as_deref(), &body).await;
        assert_eq!(response.status(), 401, "{name}");
        insta::assert_snapshot!(format!("refused_{name}"), wire(response).await);
    }
    assert!(function.gemini.received_requests().is_empty());
}

#[tokio::test]
async fn a_jwt_in_authorization_never_counts() {
    let function = start(Setup::default()).await;
    let token = function.access_token();
    let response = function
        .http
        .post(&function.url)
        .header("authorization", format!("Bearer {token}"))
        .json(&chat_body("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(function.gemini.received_requests().is_empty());
}

#[tokio::test]
async fn keys_are_fetched_lazily_once_and_cached() {
    let function = start(Setup::default()).await;
    assert_eq!(
        function.cognito.jwks_fetch_count(DEFAULT_POOL_ID),
        0,
        "nothing at cold start"
    );
    for _ in 0..5 {
        let response = function.ask("hi").await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    assert_eq!(function.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 1);
    assert_eq!(function.app.verifier().jwks_fetches().await, 1);
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_one_refetch_and_refetches_are_rate_limited() {
    let function = start(Setup::default()).await;
    assert_eq!(function.ask("warm up").await.status(), 200);
    let new_id = SigningKey::from_pem(
        include_str!("../../../fake-cognito/tests/data/pool1-rotated-id.pem"),
        "id",
    )
    .unwrap();
    let new_access = SigningKey::from_pem(
        include_str!("../../../fake-cognito/tests/data/pool1-rotated-access.pem"),
        "access",
    )
    .unwrap();
    function
        .cognito
        .rotate_keys_to(
            DEFAULT_POOL_ID,
            new_id,
            new_access,
            Duration::from_secs(600),
        )
        .unwrap();
    let response = function.ask("after rotation").await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(function.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 2);

    // An unknown kid: one re-fetch, then none during the cooldown (default 10 s, by the function's clock).
    let forged = function.mint(MintRequest::access().signed(Signing::UnknownKid));
    for _ in 0..3 {
        let response = function.ask_with(Some(&forged), &chat_body("x")).await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(function.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 3);
    function.clock.advance(Duration::from_secs(11));
    let response = function.ask_with(Some(&forged), &chat_body("x")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        function.cognito.jwks_fetch_count(DEFAULT_POOL_ID),
        4,
        "cooldown over: one more fetch"
    );
}

#[tokio::test]
async fn a_jwks_outage_after_warm_up_changes_nothing() {
    let function = start(Setup::default()).await;
    assert_eq!(function.ask("warm").await.status(), 200);
    function
        .cognito
        .set_jwks_fault(JwksFault::Status { status: 503 });
    for _ in 0..3 {
        let response = function.ask("still fine").await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    assert_eq!(function.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 1);
}

#[tokio::test]
async fn a_jwks_outage_at_cold_start_is_503_and_recovers_by_itself() {
    let function = start(Setup::default()).await;
    function
        .cognito
        .set_jwks_fault(JwksFault::Status { status: 500 });
    let first = function.ask("hi").await;
    insta::assert_snapshot!("jwks_unavailable", wire(first).await);
    let second = function.ask("hi").await;
    assert_eq!(
        second.status(),
        503,
        "every request tries again while nothing is cached"
    );
    function.cognito.set_jwks_fault(JwksFault::Healthy);
    let third = function.ask("hi").await;
    assert_eq!(third.status(), 200);
    assert_eq!(function.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 3);
    assert_eq!(function.gemini.received_requests().len(), 1);
}

#[tokio::test]
async fn id_tokens_are_accepted_when_configured() {
    let function = start(Setup::default().env("COGNITO_TOKEN_USE", "id")).await;
    let id = function.mint(MintRequest::id());
    assert_eq!(
        function
            .ask_with(Some(&id), &chat_body("hi"))
            .await
            .status(),
        200
    );
    let access = function.access_token();
    assert_eq!(
        function
            .ask_with(Some(&access), &chat_body("hi"))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn leeway_admits_slightly_expired_tokens_only_when_set() {
    let strict = start(Setup::default()).await;
    let token = strict.mint(MintRequest::access().expired(5));
    assert_eq!(
        strict
            .ask_with(Some(&token), &chat_body("x"))
            .await
            .status(),
        401
    );
    let lenient = start(Setup::default().env("JWT_LEEWAY_S", "30")).await;
    let token = lenient.mint(MintRequest::access().expired(5));
    assert_eq!(
        lenient
            .ask_with(Some(&token), &chat_body("x"))
            .await
            .status(),
        200
    );
}
