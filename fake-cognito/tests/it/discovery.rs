//! JWKS and OpenID discovery documents, and the issuer modes.

use std::sync::Arc;

use fake_cognito::config::DEFAULT_POOL_ID;
use fake_cognito::{IssuerMode, SystemClock};

use crate::support::{config_with_clock, decode, start, start_fixed};

#[tokio::test]
async fn jwks_lists_both_keys_with_cognitos_fields() {
    let (fake, _) = start_fixed().await;
    let reply = fake
        .get(&format!("/{DEFAULT_POOL_ID}/.well-known/jwks.json"))
        .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let jwks = reply.json();
    assert_eq!(jwks, fake.jwks());
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        let fields: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(
            (
                key["alg"].as_str(),
                key["kty"].as_str(),
                key["use"].as_str()
            ),
            (Some("RS256"), Some("RSA"), Some("sig"))
        );
    }
    insta::assert_json_snapshot!("jwks", jwks);
}

#[tokio::test]
async fn openid_configuration_names_the_aws_issuer() {
    let (fake, _) = start_fixed().await;
    let reply = fake
        .get(&format!(
            "/{DEFAULT_POOL_ID}/.well-known/openid-configuration"
        ))
        .await;
    assert_eq!(reply.status, 200);
    insta::assert_json_snapshot!("openid_configuration", reply.json());
    assert_eq!(
        fake.handle.issuer(DEFAULT_POOL_ID).unwrap(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_LocalPool1"
    );
}

#[tokio::test]
async fn unknown_pool_is_404() {
    let (fake, _) = start_fixed().await;
    let reply = fake.get("/us-east-1_Missing/.well-known/jwks.json").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.text,
        r#"{"message":"User pool us-east-1_Missing does not exist."}"#
    );
    let reply = fake
        .get("/us-east-1_Missing/.well-known/openid-configuration")
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn local_issuer_mode_points_everything_at_the_fake() {
    let mut config = config_with_clock(Arc::new(SystemClock));
    config.issuer = IssuerMode::Local;
    let fake = start(config).await;
    let issuer = format!("{}/{DEFAULT_POOL_ID}", fake.url);
    let tokens = fake.demo_tokens().await;
    let (_, claims) = decode(tokens["IdToken"].as_str().unwrap());
    assert_eq!(claims["iss"], issuer);
    let discovery = fake
        .get(&format!(
            "/{DEFAULT_POOL_ID}/.well-known/openid-configuration"
        ))
        .await
        .json();
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    assert_eq!(jwks_uri, format!("{issuer}/.well-known/jwks.json"));
    let jwks = fake.http.get(jwks_uri).send().await.unwrap();
    assert_eq!(jwks.status(), 200);
}

#[tokio::test]
async fn updated_issuer_mode_uses_issuer_cognito_idp() {
    let mut config = config_with_clock(Arc::new(SystemClock));
    config.issuer = IssuerMode::AwsUpdated;
    let fake = start(config).await;
    let tokens = fake.demo_tokens().await;
    let (_, claims) = decode(tokens["AccessToken"].as_str().unwrap());
    assert_eq!(
        claims["iss"],
        "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_LocalPool1"
    );
}
