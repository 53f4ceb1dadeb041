//! AWS's own verifier (`aws-jwt-verify`, Node) accepts the fake's tokens for the right token use and
//! client, and refuses them for the wrong ones. Not `jsonwebtoken`: the Lambda uses that, so agreeing
//! with it would prove nothing independent.

use fake_cognito::config::{DEFAULT_CLIENT_ID, DEFAULT_PASSWORD, DEFAULT_POOL_ID};
use serde_json::json;

use crate::support::{aws_jwt_verify, decode, node_script, outcomes, start_real_time};

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
    let results = aws_jwt_verify(&fake.jwks(), cases).await;
    assert_eq!(
        outcomes(&results),
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
    // Swap the kids, so each names the other key: the signature cannot verify.
    let mut jwks = fake.jwks();
    let keys = jwks["keys"].as_array_mut().unwrap();
    let (id_kid, access_kid) = (keys[0]["kid"].clone(), keys[1]["kid"].clone());
    keys[0]["kid"] = access_kid;
    keys[1]["kid"] = id_kid;
    let results = aws_jwt_verify(
        &jwks,
        json!([{"token": tokens["AccessToken"], "tokenUse": "access", "clientId": DEFAULT_CLIENT_ID}]),
    )
    .await;
    assert_eq!(
        results[0]["error"], "JwtInvalidSignatureError",
        "{results:#?}"
    );
}

#[tokio::test]
async fn amplify_v6_default_sign_in_uses_srp_and_refreshes_through_the_fake() {
    let fake = start_real_time().await;
    let input = |password: &str, refresh: bool| {
        json!({"endpoint": fake.url, "userPoolId": DEFAULT_POOL_ID, "clientId": DEFAULT_CLIENT_ID,
               "username": "demo", "password": password, "refresh": refresh})
    };
    let signed_in = node_script("amplify-sign-in.mjs", input(DEFAULT_PASSWORD, true)).await;
    assert_eq!(signed_in["ok"], true, "{signed_in}");
    assert_eq!(signed_in["signInStep"], "DONE");
    let (_, access) = decode(signed_in["accessToken"].as_str().unwrap());
    let (_, refreshed) = decode(signed_in["refreshedAccessToken"].as_str().unwrap());
    assert_eq!(access["username"], "demo");
    assert_eq!(refreshed["origin_jti"], access["origin_jti"]);
    assert_ne!(refreshed["jti"], access["jti"]);

    let refused = node_script("amplify-sign-in.mjs", input("Wrong-passw0rd!", false)).await;
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"], "NotAuthorizedException", "{refused}");
    assert_eq!(refused["message"], "Incorrect username or password.");
}
