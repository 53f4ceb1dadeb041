//! GetTokensFromRefreshToken (Amplify v6's refresh) and refresh-token rotation.

use std::sync::Arc;
use std::time::Duration;

use fake_cognito::FixedClock;
use fake_cognito::config::DEFAULT_CLIENT_ID;
use serde_json::json;

use crate::support::{T0, config_with_clock, decode, start, start_fixed};

#[tokio::test]
async fn get_tokens_from_refresh_token_keeps_the_session_claims() {
    let (fake, clock) = start_fixed().await;
    let first = fake.demo_tokens().await;
    clock.advance(Duration::from_secs(600));
    let reply = fake
        .call(
            "GetTokensFromRefreshToken",
            json!({"ClientId": DEFAULT_CLIENT_ID, "RefreshToken": first["RefreshToken"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    let result = body["AuthenticationResult"].as_object().unwrap();
    assert!(
        !result.contains_key("RefreshToken"),
        "no rotation by default"
    );
    assert!(body.get("ChallengeParameters").is_none());
    for token in ["AccessToken", "IdToken"] {
        let (_, before) = decode(first[token].as_str().unwrap());
        let (_, after) = decode(result[token].as_str().unwrap());
        assert_eq!(after["auth_time"], before["auth_time"]);
        assert_eq!(after["origin_jti"], before["origin_jti"]);
        assert_ne!(after["jti"], before["jti"]);
        assert_eq!(after["iat"], T0 + 600);
        assert_eq!(after["exp"], T0 + 600 + 3600);
    }
}

#[tokio::test]
async fn rotation_issues_a_new_refresh_token_and_retires_the_old() {
    let mut config = config_with_clock(Arc::new(FixedClock::at_epoch_seconds(T0)));
    config.pools[0].clients[0].refresh_token_rotation = true;
    let fake = start(config).await;
    let first = fake.demo_tokens().await;
    let refresh = |token: serde_json::Value| {
        fake.call(
            "GetTokensFromRefreshToken",
            json!({"ClientId": DEFAULT_CLIENT_ID, "RefreshToken": token}),
        )
    };
    let rotated = refresh(first["RefreshToken"].clone()).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_token = rotated.json()["AuthenticationResult"]["RefreshToken"].clone();
    assert!(new_token.is_string());
    assert_ne!(new_token, first["RefreshToken"]);
    let old = refresh(first["RefreshToken"].clone()).await;
    insta::assert_snapshot!("refresh_rotated_old_token", old.error_wire());
    let again = refresh(new_token).await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn get_tokens_from_refresh_token_validates_its_input() {
    let (fake, _) = start_fixed().await;
    let missing = fake
        .call(
            "GetTokensFromRefreshToken",
            json!({"ClientId": DEFAULT_CLIENT_ID}),
        )
        .await;
    assert_eq!(
        missing.json()["message"],
        "1 validation error detected: Value null at 'refreshToken' failed to satisfy constraint: Member must not be null"
    );
    let bogus = fake
        .call(
            "GetTokensFromRefreshToken",
            json!({"ClientId": DEFAULT_CLIENT_ID, "RefreshToken": "bogus"}),
        )
        .await;
    assert_eq!(bogus.json()["message"], "Invalid Refresh Token");
}

#[tokio::test]
async fn refresh_token_auth_is_refused_on_a_rotation_client() {
    let mut config = config_with_clock(Arc::new(FixedClock::at_epoch_seconds(T0)));
    config.pools[0].clients[0].refresh_token_rotation = true;
    let fake = start(config).await;
    let tokens = fake.demo_tokens().await;
    let refused = fake
        .call(
            "InitiateAuth",
            json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": DEFAULT_CLIENT_ID,
                   "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"]}}),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], "InvalidParameterException");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("use GetTokensFromRefreshToken")
    );
}

#[test]
fn a_client_without_the_setting_has_the_apis_default_legacy() {
    use fake_cognito::{ClientConfig, PreventUserExistenceErrors};
    assert_eq!(
        ClientConfig::new("apiclient").prevent_user_existence_errors,
        PreventUserExistenceErrors::Legacy
    );
    assert_eq!(
        fake_cognito::Config::default().pools[0].clients[0].prevent_user_existence_errors,
        PreventUserExistenceErrors::Enabled,
        "the embedded client models a console-made one"
    );
}

#[tokio::test]
async fn revoke_token_ends_the_refresh_token_and_its_access_tokens_at_get_user() {
    let (fake, clock) = start_fixed().await;
    let tokens = fake.demo_tokens().await;
    let get_user = |token: serde_json::Value| {
        let fake = &fake;
        async move { fake.call("GetUser", json!({"AccessToken": token})).await }
    };

    let user = get_user(tokens["AccessToken"].clone()).await;
    assert_eq!(user.status, 200, "{}", user.text);
    let body = user.json();
    assert_eq!(body["Username"], fake_cognito::config::DEFAULT_USERNAME);
    assert_eq!(body["UserAttributes"][0]["Name"], "sub");

    // A bad token, an ID token and a forged signature are all "Invalid Access Token".
    for bad in [
        json!("not.a.jwt"),
        tokens["IdToken"].clone(),
        json!(format!("{}x", tokens["AccessToken"].as_str().unwrap())),
    ] {
        let reply = get_user(bad).await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()["__type"], "NotAuthorizedException");
        assert_eq!(reply.json()["message"], "Invalid Access Token");
    }

    let revoked = fake
        .call(
            "RevokeToken",
            json!({"ClientId": DEFAULT_CLIENT_ID, "Token": tokens["RefreshToken"]}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.json(), json!({}));

    let refresh = fake
        .call(
            "GetTokensFromRefreshToken",
            json!({"ClientId": DEFAULT_CLIENT_ID, "RefreshToken": tokens["RefreshToken"]}),
        )
        .await;
    assert_eq!(refresh.status, 400);
    assert_eq!(refresh.json()["message"], "Refresh Token has been revoked");
    let user = get_user(tokens["AccessToken"].clone()).await;
    assert_eq!(user.json()["message"], "Access Token has been revoked");

    // A fresh sign-in is unaffected, until its token expires.
    let fresh = fake.demo_tokens().await;
    assert_eq!(get_user(fresh["AccessToken"].clone()).await.status, 200);
    clock.advance(Duration::from_secs(3600));
    let expired = get_user(fresh["AccessToken"].clone()).await;
    assert_eq!(expired.json()["message"], "Access Token has expired");
}
