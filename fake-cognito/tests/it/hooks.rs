//! The test hooks: every token they mint is refused by AWS's `aws-jwt-verify` for the reason the hook
//! names while the well-formed token beside it is accepted; key rotation with a grace period; JWKS
//! faults; fetch counts. Through the Rust API and over HTTP under `/__fake/`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fake_cognito::config::{DEFAULT_CLIENT_ID, DEFAULT_POOL_ID};
use fake_cognito::keys::SigningKey;
use fake_cognito::{FixedClock, JwksFault, MintRequest, Signing};
use serde_json::{Value, json};

use crate::support::{aws_jwt_verify, config_with_clock, decode, outcomes, start};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fake whose fixed clock reads the real time (aws-jwt-verify checks `exp` against real time).
async fn start_now() -> (crate::support::Fake, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at_epoch_seconds(now()));
    (start(config_with_clock(clock.clone())).await, clock)
}

fn access_case(token: &str) -> Value {
    json!({"token": token, "tokenUse": "access", "clientId": DEFAULT_CLIENT_ID})
}

#[tokio::test]
async fn every_hook_token_is_refused_for_its_reason_and_the_plain_one_accepted() {
    let (fake, _) = start_now().await;
    let mint = |request: MintRequest| fake.handle.mint(DEFAULT_POOL_ID, &request).unwrap();
    let cases: Vec<(&str, MintRequest)> = vec![
        ("ok", MintRequest::access()),
        ("JwtExpiredError", MintRequest::access().expired(60)),
        (
            "JwtNotBeforeError",
            MintRequest::access().not_yet_valid(300),
        ),
        // With several issuers registered (5.2 registers both Cognito issuer spellings),
        // aws-jwt-verify picks the configuration by `iss`, so a foreign issuer fails the lookup.
        (
            "ParameterValidationError",
            MintRequest::access().claim(
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"),
            ),
        ),
        (
            "CognitoJwtInvalidClientIdError",
            MintRequest::access().claim("client_id", json!("someotherclient0000000001")),
        ),
        (
            "CognitoJwtInvalidTokenUseError",
            MintRequest::access().claim("token_use", json!("id")),
        ),
        (
            "KidNotFoundInJwksError",
            MintRequest::access().signed(Signing::UnknownKid),
        ),
        (
            "JwtParseError",
            MintRequest::access().signed(Signing::AlgNone),
        ),
        (
            "JwtInvalidSignatureAlgorithmError",
            MintRequest::access().signed(Signing::Hs256PublicKey),
        ),
        (
            "JwtInvalidSignatureError",
            MintRequest::access().signed(Signing::TamperedSignature),
        ),
        (
            "CognitoJwtInvalidClientIdError",
            MintRequest::access().without("client_id"),
        ),
        (
            "CognitoJwtInvalidTokenUseError",
            MintRequest::access().without("token_use"),
        ),
        (
            "ok",
            MintRequest::access().claim("custom:extra", json!("kept")),
        ),
    ];
    let tokens: Vec<String> = cases.iter().map(|(_, r)| mint(r.clone())).collect();
    let results = aws_jwt_verify(
        &fake.jwks(),
        Value::Array(tokens.iter().map(|t| access_case(t)).collect()),
    )
    .await;
    let expected: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    assert_eq!(outcomes(&results), expected, "{results:#?}");
    assert_eq!(results.last().unwrap()["payload"]["custom:extra"], "kept");

    let (header, _) = decode(&tokens[8]);
    assert_eq!(header["alg"], "HS256");
    assert!(tokens[7].ends_with('.'), "alg:none carries no signature");
    let id = mint(MintRequest::id());
    let (_, id_claims) = decode(&id);
    assert_eq!(id_claims["aud"], DEFAULT_CLIENT_ID);
    let (_, expired) = decode(&tokens[1]);
    assert!(expired["exp"].as_u64().unwrap() < now());
}

#[tokio::test]
async fn http_hook_mints_the_same_tokens() {
    let (fake, _) = start_now().await;
    let mint = |body: Value| {
        let http = fake.http.clone();
        let url = format!("{}/__fake/{DEFAULT_POOL_ID}/tokens", fake.url);
        async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, plain) = mint(json!({})).await;
    assert_eq!(status, 200);
    let (_, confused) = mint(json!({"signing": "hs256-public-key"})).await;
    let (_, expired) =
        mint(json!({"tokenUse": "id", "expOffsetS": -30, "iatOffsetS": -3630})).await;
    let results = aws_jwt_verify(
        &fake.jwks(),
        json!([
            access_case(plain["token"].as_str().unwrap()),
            access_case(confused["token"].as_str().unwrap()),
            {"token": expired["token"], "tokenUse": "id", "clientId": DEFAULT_CLIENT_ID},
        ]),
    )
    .await;
    assert_eq!(
        outcomes(&results),
        ["ok", "JwtInvalidSignatureAlgorithmError", "JwtExpiredError"]
    );
    let (status, error) = mint(json!({"username": "ghost"})).await;
    assert_eq!(status, 404);
    assert_eq!(error["error"], "no user ghost in us-east-1_LocalPool1");
    let (status, _) = mint(json!({"nonsense": true})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_for_the_grace_period_only() {
    let (fake, clock) = start_now().await;
    let before = fake
        .handle
        .mint(DEFAULT_POOL_ID, &MintRequest::access())
        .unwrap();
    let new_id = SigningKey::from_pem(include_str!("../data/pool1-rotated-id.pem"), "id").unwrap();
    let new_access =
        SigningKey::from_pem(include_str!("../data/pool1-rotated-access.pem"), "access").unwrap();
    let (_, access_kid) = fake
        .handle
        .rotate_keys_to(DEFAULT_POOL_ID, new_id, new_access, Duration::from_secs(60))
        .unwrap();
    let after = fake
        .handle
        .mint(DEFAULT_POOL_ID, &MintRequest::access())
        .unwrap();
    assert_eq!(decode(&after).0["kid"], access_kid);
    assert_ne!(decode(&before).0["kid"], access_kid);

    let during = fake
        .get(&format!("/{DEFAULT_POOL_ID}/.well-known/jwks.json"))
        .await
        .json();
    assert_eq!(during["keys"].as_array().unwrap().len(), 4);
    let results = aws_jwt_verify(&during, json!([access_case(&before), access_case(&after)])).await;
    assert_eq!(outcomes(&results), ["ok", "ok"]);

    clock.advance(Duration::from_secs(61));
    let later = fake
        .get(&format!("/{DEFAULT_POOL_ID}/.well-known/jwks.json"))
        .await
        .json();
    assert_eq!(later["keys"].as_array().unwrap().len(), 2);
    let results = aws_jwt_verify(&later, json!([access_case(&before), access_case(&after)])).await;
    assert_eq!(outcomes(&results), ["KidNotFoundInJwksError", "ok"]);
}

#[tokio::test]
async fn rotation_over_http_generates_new_keys() {
    let (fake, _) = start_now().await;
    let old = fake.jwks();
    let response = fake
        .http
        .post(format!("{}/__fake/{DEFAULT_POOL_ID}/rotate-keys", fake.url))
        .json(&json!({"graceSeconds": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kids: Value = response.json().await.unwrap();
    let new = fake.jwks();
    assert_eq!(new["keys"].as_array().unwrap().len(), 2);
    assert_eq!(new["keys"][0]["kid"], kids["idKid"]);
    assert_eq!(new["keys"][1]["kid"], kids["accessKid"]);
    assert_ne!(new, old);
}

#[tokio::test]
async fn jwks_faults_fail_stall_and_recover_and_every_fetch_is_counted() {
    let (fake, _) = start_now().await;
    let jwks_path = format!("/{DEFAULT_POOL_ID}/.well-known/jwks.json");
    let fetches = || async {
        fake.get(&format!("/__fake/{DEFAULT_POOL_ID}/jwks-fetches"))
            .await
            .json()["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(fetches().await, 0);
    assert_eq!(fake.get(&jwks_path).await.status, 200);

    let set_fault = |fault: Value| {
        let request = fake
            .http
            .put(format!("{}/__fake/jwks-fault", fake.url))
            .json(&fault)
            .send();
        async move { request.await.unwrap().status() }
    };
    assert_eq!(
        set_fault(json!({"mode": "status", "status": 503})).await,
        204
    );
    let failed = fake.get(&jwks_path).await;
    assert_eq!(failed.status, 503);
    fake.handle
        .set_jwks_fault(JwksFault::Status { status: 500 });
    assert_eq!(fake.get(&jwks_path).await.status, 500);
    assert_eq!(fetches().await, 3);

    assert_eq!(set_fault(json!({"mode": "stall"})).await, 204);
    let stalled = tokio::spawn({
        let url = format!("{}{jwks_path}", fake.url);
        async move { reqwest::get(url).await.unwrap().status() }
    });
    // The gate: the fake has counted the stalled request, so it is inside the stall.
    while fake.handle.jwks_fetch_count(DEFAULT_POOL_ID) < 4 {
        tokio::task::yield_now().await;
    }
    assert!(
        !stalled.is_finished(),
        "a stalled JWKS request must not complete"
    );
    assert_eq!(set_fault(json!({"mode": "healthy"})).await, 204);
    assert_eq!(stalled.await.unwrap(), 200);
    assert_eq!(fake.handle.jwks_fetch_count(DEFAULT_POOL_ID), 4);
    assert_eq!(
        set_fault(json!({"mode": "status", "status": 1000})).await,
        400
    );
}

#[tokio::test]
async fn confirmation_codes_are_readable_over_http() {
    let (fake, _) = start_now().await;
    let reply = fake
        .call(
            "SignUp",
            json!({"ClientId": DEFAULT_CLIENT_ID, "Username": "gina", "Password": "Gina-passw0rd!"}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let code = fake
        .get(&format!("/__fake/{DEFAULT_POOL_ID}/confirmation-code/gina"))
        .await
        .json();
    assert_eq!(
        code["code"].as_str(),
        fake.handle
            .confirmation_code(DEFAULT_POOL_ID, "gina")
            .as_deref()
    );
}
