//! AWS's own verifier (`aws-jwt-verify`, Node) accepts the fake's tokens for the right token use and
//! client, and refuses them for the wrong ones. Not `jsonwebtoken`: the Lambda uses that, so agreeing
//! with it would prove nothing independent.

use std::io::Write;
use std::process::{Command, Stdio};

use fake_cognito::config::{DEFAULT_CLIENT_ID, DEFAULT_POOL_ID};
use serde_json::{Value, json};

use crate::support::{node_project, start_real_time};

/// Runs `verify.mjs` over the cases and returns its per-case results.
fn aws_jwt_verify(jwks: &Value, cases: Value) -> Vec<Value> {
    let dir = node_project();
    let mut child = Command::new("node")
        .arg("verify.mjs")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let input = json!({"userPoolId": DEFAULT_POOL_ID, "jwks": jwks, "cases": cases});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "verify.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn aws_jwt_verify_accepts_the_right_use_and_client_and_refuses_the_rest() {
    let fake = start_real_time().await;
    let tokens = fake.demo_tokens().await;
    let (id, access) = (&tokens["IdToken"], &tokens["AccessToken"]);
    let cases = json!([
        {"token": id, "tokenUse": "id", "clientId": DEFAULT_CLIENT_ID},
        {"token": access, "tokenUse": "access", "clientId": DEFAULT_CLIENT_ID},
        {"token": access, "tokenUse": null, "clientId": DEFAULT_CLIENT_ID},
        {"token": id, "tokenUse": "access", "clientId": DEFAULT_CLIENT_ID},
        {"token": access, "tokenUse": "id", "clientId": DEFAULT_CLIENT_ID},
        {"token": id, "tokenUse": "id", "clientId": "someotherclient0000000001"},
        {"token": access, "tokenUse": "access", "clientId": "someotherclient0000000001"},
    ]);
    let results = aws_jwt_verify(&fake.jwks(), cases);
    let outcome: Vec<String> = results
        .iter()
        .map(|r| match r["ok"].as_bool() {
            Some(true) => "ok".to_owned(),
            _ => r["error"].as_str().unwrap_or("?").to_owned(),
        })
        .collect();
    assert_eq!(
        outcome,
        [
            "ok",
            "ok",
            "ok",
            "CognitoJwtInvalidTokenUseError",
            "CognitoJwtInvalidTokenUseError",
            "CognitoJwtInvalidClientIdError",
            "CognitoJwtInvalidClientIdError",
        ],
        "{results:#?}"
    );
    assert_eq!(results[0]["payload"]["cognito:username"], "demo");
    assert_eq!(results[1]["payload"]["username"], "demo");
    assert_eq!(results[1]["payload"]["cognito:groups"], json!(["students"]));
}

#[tokio::test]
async fn aws_jwt_verify_refuses_a_token_signed_by_another_pool() {
    let fake = start_real_time().await;
    let tokens = fake.demo_tokens().await;
    // The other pool's JWKS has the same kids? No: swap the keys, so each kid maps to the wrong key.
    let mut jwks = fake.jwks();
    let keys = jwks["keys"].as_array_mut().unwrap();
    let (id_kid, access_kid) = (keys[0]["kid"].clone(), keys[1]["kid"].clone());
    keys[0]["kid"] = access_kid;
    keys[1]["kid"] = id_kid;
    let results = aws_jwt_verify(
        &jwks,
        json!([{"token": tokens["AccessToken"], "tokenUse": "access", "clientId": DEFAULT_CLIENT_ID}]),
    );
    assert_eq!(
        results[0]["error"], "JwtInvalidSignatureError",
        "{results:#?}"
    );
}
