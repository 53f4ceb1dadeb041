//! USER_SRP_AUTH with real SRP-6a, driven by our own client half (`fake_cognito::srp::client`) for the
//! error cases, and by Amplify JS v6 — a client we did not write — in `independent_verifier`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fake_cognito::config::{DEFAULT_CLIENT_ID, DEFAULT_PASSWORD};
use fake_cognito::srp;
use fake_cognito::{ClientConfig, PreventUserExistenceErrors, secret_hash};
use serde_json::{Value, json};

use crate::support::{Fake, Reply, T0, config_with_clock, decode, start, start_fixed};

/// Runs both SRP steps for `username` claiming `password`; returns the challenge and the final reply.
async fn srp_sign_in(
    fake: &Fake,
    client_id: &str,
    username: &str,
    password: &str,
    secret: Option<&str>,
) -> (Reply, Reply) {
    let (a, a_hex) = srp::client::start();
    let mut params = json!({"USERNAME": username, "SRP_A": a_hex});
    if let Some(secret) = secret {
        params["SECRET_HASH"] = json!(secret_hash(secret, username, client_id));
    }
    let challenge = fake
        .call(
            "InitiateAuth",
            json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": client_id, "AuthParameters": params}),
        )
        .await;
    assert_eq!(challenge.status, 200, "{}", challenge.text);
    let body = challenge.json();
    let p = &body["ChallengeParameters"];
    let user_id = p["USER_ID_FOR_SRP"].as_str().unwrap();
    let key = srp::client::key(
        &a,
        p["SALT"].as_str().unwrap(),
        p["SRP_B"].as_str().unwrap(),
        "LocalPool1",
        user_id,
        password,
    )
    .unwrap();
    let block = p["SECRET_BLOCK"].as_str().unwrap();
    let timestamp = srp::timestamp(T0);
    let signature = srp::claim_signature(
        &key,
        "LocalPool1",
        user_id,
        &STANDARD.decode(block).unwrap(),
        &timestamp,
    );
    let mut responses = json!({"USERNAME": user_id, "PASSWORD_CLAIM_SECRET_BLOCK": block,
                               "TIMESTAMP": timestamp, "PASSWORD_CLAIM_SIGNATURE": signature});
    if let Some(secret) = secret {
        responses["SECRET_HASH"] = json!(secret_hash(secret, user_id, client_id));
    }
    let reply = fake
        .call(
            "RespondToAuthChallenge",
            json!({"ClientId": client_id, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": responses}),
        )
        .await;
    (challenge, reply)
}

#[tokio::test]
async fn srp_challenge_has_cognitos_parameters_and_the_right_password_gets_tokens() {
    let (fake, _) = start_fixed().await;
    let (challenge, reply) =
        srp_sign_in(&fake, DEFAULT_CLIENT_ID, "demo", DEFAULT_PASSWORD, None).await;
    let body = challenge.json();
    assert_eq!(body["ChallengeName"], "PASSWORD_VERIFIER");
    let params = body["ChallengeParameters"].as_object().unwrap();
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "SALT",
            "SECRET_BLOCK",
            "SRP_B",
            "USERNAME",
            "USER_ID_FOR_SRP"
        ]
    );
    assert!(
        params["SRP_B"].as_str().unwrap().len() > 700,
        "a 3072-bit B"
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (_, claims) = decode(
        reply.json()["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(claims["username"], "demo");
}

#[tokio::test]
async fn srp_with_a_wrong_password_is_not_authorized() {
    let (fake, _) = start_fixed().await;
    let (_, reply) = srp_sign_in(&fake, DEFAULT_CLIENT_ID, "demo", "Wrong-passw0rd!", None).await;
    insta::assert_snapshot!("srp_wrong_password", reply.error_wire());
}

#[tokio::test]
async fn srp_for_an_unknown_user_fails_only_at_the_response_unless_legacy() {
    let (fake, _) = start_fixed().await;
    let (_, reply) = srp_sign_in(&fake, DEFAULT_CLIENT_ID, "nobody", "Any-passw0rd!", None).await;
    assert_eq!(reply.json()["message"], "Incorrect username or password.");

    let clock = std::sync::Arc::new(fake_cognito::FixedClock::at_epoch_seconds(T0));
    let mut config = config_with_clock(clock);
    config.pools[0].clients[0].prevent_user_existence_errors = PreventUserExistenceErrors::Legacy;
    let legacy = start(config).await;
    let (_, a_hex) = srp::client::start();
    let reply = legacy
        .call(
            "InitiateAuth",
            json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": DEFAULT_CLIENT_ID,
                   "AuthParameters": {"USERNAME": "nobody", "SRP_A": a_hex}}),
        )
        .await;
    assert_eq!(reply.json()["__type"], "UserNotFoundException");
}

#[tokio::test]
async fn srp_refuses_a_degenerate_a_a_reused_secret_block_and_a_stale_timestamp() {
    let (fake, clock) = start_fixed().await;
    let degenerate = fake
        .call(
            "InitiateAuth",
            json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": DEFAULT_CLIENT_ID,
                   "AuthParameters": {"USERNAME": "demo", "SRP_A": "0"}}),
        )
        .await;
    insta::assert_snapshot!("srp_degenerate_a", degenerate.error_wire());

    // Replaying a completed exchange's response.
    let (challenge, first) =
        srp_sign_in(&fake, DEFAULT_CLIENT_ID, "demo", DEFAULT_PASSWORD, None).await;
    assert_eq!(first.status, 200);
    let block = challenge.json()["ChallengeParameters"]["SECRET_BLOCK"].clone();
    let replay = fake
        .call(
            "RespondToAuthChallenge",
            json!({"ClientId": DEFAULT_CLIENT_ID, "ChallengeName": "PASSWORD_VERIFIER",
                   "ChallengeResponses": {"USERNAME": "demo", "PASSWORD_CLAIM_SECRET_BLOCK": block,
                   "TIMESTAMP": srp::timestamp(T0), "PASSWORD_CLAIM_SIGNATURE": "AAAA"}}),
        )
        .await;
    assert_eq!(replay.json()["__type"], "NotAuthorizedException");

    // A claim timestamped 10 minutes away from the server's clock.
    clock.advance(std::time::Duration::from_secs(600));
    let (_, stale) = srp_sign_in(&fake, DEFAULT_CLIENT_ID, "demo", DEFAULT_PASSWORD, None).await;
    assert_eq!(stale.json()["message"], "Incorrect username or password.");
}

#[tokio::test]
async fn srp_with_a_client_secret_needs_secret_hash_on_both_steps() {
    let clock = std::sync::Arc::new(fake_cognito::FixedClock::at_epoch_seconds(T0));
    let mut config = config_with_clock(clock);
    let mut client = ClientConfig::new("secretclient0000000000001");
    client.secret = Some("s3cr3t".into());
    config.pools[0].clients.push(client);
    let fake = start(config).await;
    let (_, reply) = srp_sign_in(
        &fake,
        "secretclient0000000000001",
        "demo",
        DEFAULT_PASSWORD,
        Some("s3cr3t"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (_, a_hex) = srp::client::start();
    let unsigned = fake
        .call(
            "InitiateAuth",
            json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": "secretclient0000000000001",
                   "AuthParameters": {"USERNAME": "demo", "SRP_A": a_hex}}),
        )
        .await;
    assert_eq!(
        unsigned.json()["message"],
        "Client secretclient0000000000001 is configured for secret but secret was not received"
    );
}

#[tokio::test]
async fn srp_for_a_temporary_password_leads_to_new_password_required() {
    let (fake, _) = start_fixed().await;
    let created = fake
        .admin(
            "AdminCreateUser",
            json!({"UserPoolId": "us-east-1_LocalPool1", "Username": "frank", "TemporaryPassword": "Temp-passw0rd!"}),
        )
        .await;
    assert_eq!(created.status, 200);
    let (_, reply) = srp_sign_in(&fake, DEFAULT_CLIENT_ID, "frank", "Temp-passw0rd!", None).await;
    let body: Value = reply.json();
    assert_eq!(body["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{body}");
}
