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
