//! The Identity Provider API over a real socket: every operation, every error, exact bytes.

use std::time::Duration;

use fake_cognito::config::{
    DEFAULT_CLIENT_ID, DEFAULT_PASSWORD, DEFAULT_POOL_ID, DEFAULT_USERNAME,
};
use fake_cognito::{ClientConfig, PreventUserExistenceErrors, secret_hash};
use serde_json::{Value, json};

use crate::support::{DEMO_SUB, T0, config_with_clock, decode, start, start_fixed};

fn redact_ids(value: &Value) -> Value {
    let mut value = value.clone();
    for key in ["jti", "origin_jti", "event_id"] {
        if value.get(key).is_some() {
            value[key] = json!(format!("[{key}]"));
        }
    }
    value
}

#[tokio::test]
async fn password_sign_in_returns_cognitos_authentication_result() {
    let (fake, _) = start_fixed().await;
    let reply = fake.sign_in(DEFAULT_USERNAME, DEFAULT_PASSWORD).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/x-amz-json-1.1");
    assert!(reply.headers.contains_key("x-amzn-requestid"));
    let body = reply.json();
    let result = body["AuthenticationResult"].as_object().unwrap();
    let fields: Vec<&str> = result.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "AccessToken",
            "ExpiresIn",
            "TokenType",
            "RefreshToken",
            "IdToken"
        ]
    );
    assert_eq!(result["ExpiresIn"], 3600);
    assert_eq!(result["TokenType"], "Bearer");
    assert_eq!(body["ChallengeParameters"], json!({}));
    assert_eq!(
        result["RefreshToken"].as_str().unwrap().split('.').count(),
        5
    );
}

#[tokio::test]
async fn token_headers_and_claims_match_cognitos() {
    let (fake, _) = start_fixed().await;
    let tokens = fake.demo_tokens().await;
    let (access_header, access) = decode(tokens["AccessToken"].as_str().unwrap());
    let (id_header, id) = decode(tokens["IdToken"].as_str().unwrap());
    let jwks = fake.jwks();
    assert_eq!(access_header["kid"], jwks["keys"][1]["kid"]);
    assert_eq!(id_header["kid"], jwks["keys"][0]["kid"]);
    assert_ne!(access_header["kid"], id_header["kid"], "two keys per pool");
    assert_eq!(access["origin_jti"], id["origin_jti"]);
    assert_eq!(access["event_id"], id["event_id"]);
    assert_ne!(access["jti"], id["jti"]);
    insta::assert_json_snapshot!("access_token_header", access_header, {".kid" => "[kid]"});
    insta::assert_json_snapshot!("access_token_claims", redact_ids(&access));
    insta::assert_json_snapshot!("id_token_claims", redact_ids(&id));
    assert_eq!(access["sub"], DEMO_SUB);
    assert_eq!(access["iat"], T0);
}

#[tokio::test]
async fn lifetimes_come_from_the_client_settings() {
    let clock = std::sync::Arc::new(fake_cognito::FixedClock::at_epoch_seconds(T0));
    let mut config = config_with_clock(clock);
    let client = &mut config.pools[0].clients[0];
    client.access_token_validity_s = 600;
    client.id_token_validity_s = 900;
    let fake = start(config).await;
    let tokens = fake.demo_tokens().await;
    assert_eq!(tokens["ExpiresIn"], 600);
    let (_, access) = decode(tokens["AccessToken"].as_str().unwrap());
    let (_, id) = decode(tokens["IdToken"].as_str().unwrap());
    assert_eq!(access["exp"], T0 + 600);
    assert_eq!(id["exp"], T0 + 900);
}

#[tokio::test]
async fn wrong_password_is_not_authorized() {
    let (fake, _) = start_fixed().await;
    let reply = fake.sign_in(DEFAULT_USERNAME, "Wrong-passw0rd!").await;
    insta::assert_snapshot!("wrong_password", reply.error_wire());
}

#[tokio::test]
async fn unknown_user_is_disguised_unless_the_client_is_legacy() {
    let (fake, _) = start_fixed().await;
    let reply = fake.sign_in("nobody", DEFAULT_PASSWORD).await;
    assert_eq!(reply.json()["__type"], "NotAuthorizedException");
    assert_eq!(reply.json()["message"], "Incorrect username or password.");

    let mut config = config_with_clock(std::sync::Arc::new(fake_cognito::SystemClock));
    config.pools[0].clients[0].prevent_user_existence_errors = PreventUserExistenceErrors::Legacy;
    let legacy = start(config).await;
    let reply = legacy.sign_in("nobody", DEFAULT_PASSWORD).await;
    insta::assert_snapshot!("unknown_user_legacy", reply.error_wire());
}

#[tokio::test]
async fn usernames_are_case_insensitive_and_keep_their_spelling() {
    let (fake, _) = start_fixed().await;
    let reply = fake.sign_in("DEMO", DEFAULT_PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (_, access) = decode(
        reply.json()["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(access["username"], "demo");
}

#[tokio::test]
async fn initiate_auth_validation_errors() {
    let (fake, _) = start_fixed().await;
    let cases = [
        (
            "missing_client_id",
            json!({"AuthFlow": "USER_PASSWORD_AUTH"}),
        ),
        ("missing_auth_flow", json!({"ClientId": DEFAULT_CLIENT_ID})),
        (
            "bad_auth_flow",
            json!({"AuthFlow": "PASSWORD", "ClientId": DEFAULT_CLIENT_ID}),
        ),
        (
            "unknown_client",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "nosuchclient", "AuthParameters": {}}),
        ),
        (
            "missing_password",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": DEFAULT_CLIENT_ID, "AuthParameters": {"USERNAME": "demo"}}),
        ),
        (
            "flow_not_enabled",
            json!({"AuthFlow": "CUSTOM_AUTH", "ClientId": DEFAULT_CLIENT_ID, "AuthParameters": {}}),
        ),
    ];
    for (name, body) in cases {
        let reply = fake.call("InitiateAuth", body).await;
        insta::assert_snapshot!(format!("initiate_auth_{name}"), reply.error_wire());
    }
}

#[tokio::test]
async fn password_flow_refused_when_the_client_does_not_allow_it() {
    let mut config = config_with_clock(std::sync::Arc::new(fake_cognito::SystemClock));
    config.pools[0].clients[0].explicit_auth_flows = vec!["ALLOW_REFRESH_TOKEN_AUTH".into()];
    let fake = start(config).await;
    let reply = fake.sign_in(DEFAULT_USERNAME, DEFAULT_PASSWORD).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"__type": "InvalidParameterException", "message": "USER_PASSWORD_AUTH flow not enabled for this client"})
    );
}

#[tokio::test]
async fn clients_with_a_secret_require_the_secret_hash() {
    let mut config = config_with_clock(std::sync::Arc::new(fake_cognito::SystemClock));
    let mut client = ClientConfig::new("secretclient0000000000001");
    client.secret = Some("s3cr3t-value".into());
    config.pools[0].clients.push(client);
    let fake = start(config).await;
    let attempt = |hash: Option<String>| {
        let mut params = json!({"USERNAME": "demo", "PASSWORD": DEFAULT_PASSWORD});
        if let Some(hash) = hash {
            params["SECRET_HASH"] = json!(hash);
        }
        fake.call(
            "InitiateAuth",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "secretclient0000000000001", "AuthParameters": params}),
        )
    };
    let missing = attempt(None).await;
    insta::assert_snapshot!("secret_hash_missing", missing.error_wire());
    let wrong = attempt(Some(secret_hash(
        "other",
        "demo",
        "secretclient0000000000001",
    )))
    .await;
    insta::assert_snapshot!("secret_hash_wrong", wrong.error_wire());
    let right = attempt(Some(secret_hash(
        "s3cr3t-value",
        "demo",
        "secretclient0000000000001",
    )))
    .await;
    assert_eq!(right.status, 200, "{}", right.text);
    let (_, id) = decode(
        right.json()["AuthenticationResult"]["IdToken"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(id["aud"], "secretclient0000000000001");
}

#[tokio::test]
async fn refresh_keeps_auth_time_and_origin_jti_and_returns_no_refresh_token() {
    let (fake, clock) = start_fixed().await;
    let first = fake.demo_tokens().await;
    clock.advance(Duration::from_secs(1800));
    for flow in ["REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"] {
        let reply = fake
            .call(
                "InitiateAuth",
                json!({"AuthFlow": flow, "ClientId": DEFAULT_CLIENT_ID,
                       "AuthParameters": {"REFRESH_TOKEN": first["RefreshToken"]}}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let result = &reply.json()["AuthenticationResult"];
        assert!(result.get("RefreshToken").is_none(), "{result}");
        let (_, before) = decode(first["AccessToken"].as_str().unwrap());
        let (_, after) = decode(result["AccessToken"].as_str().unwrap());
        assert_eq!(after["auth_time"], before["auth_time"]);
        assert_eq!(after["origin_jti"], before["origin_jti"]);
        assert_ne!(after["jti"], before["jti"]);
        assert_eq!(after["iat"], T0 + 1800);
        assert_eq!(after["exp"], T0 + 1800 + 3600);
    }
}

#[tokio::test]
async fn invalid_and_expired_refresh_tokens_are_refused() {
    let (fake, clock) = start_fixed().await;
    let first = fake.demo_tokens().await;
    let refresh = |token: Value| {
        fake.call(
            "InitiateAuth",
            json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": DEFAULT_CLIENT_ID,
                   "AuthParameters": {"REFRESH_TOKEN": token}}),
        )
    };
    let invalid = refresh(json!("not-a-token")).await;
    insta::assert_snapshot!("refresh_invalid", invalid.error_wire());
    clock.advance(Duration::from_secs(30 * 24 * 3600));
    let expired = refresh(first["RefreshToken"].clone()).await;
    insta::assert_snapshot!("refresh_expired", expired.error_wire());
}

#[tokio::test]
async fn sign_up_confirm_then_sign_in() {
    let (fake, _) = start_fixed().await;
    let sign_up = |username: &str, password: &str| {
        fake.call(
            "SignUp",
            json!({"ClientId": DEFAULT_CLIENT_ID, "Username": username, "Password": password,
                   "UserAttributes": [{"Name": "email", "Value": "alice@example.org"}]}),
        )
    };
    let reply = sign_up("alice", "Alice-passw0rd!").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["UserConfirmed"], false);
    assert_eq!(
        body["CodeDeliveryDetails"],
        json!({"AttributeName": "email", "DeliveryMedium": "EMAIL", "Destination": "a***@e***"})
    );
    assert_eq!(
        Some(body["UserSub"].as_str().unwrap().to_owned()),
        fake.handle.user_sub(DEFAULT_POOL_ID, "alice")
    );

    let unconfirmed = fake.sign_in("alice", "Alice-passw0rd!").await;
    insta::assert_snapshot!("sign_in_unconfirmed", unconfirmed.error_wire());
    let taken = sign_up("ALICE", "Alice-passw0rd!").await;
    insta::assert_snapshot!("sign_up_username_exists", taken.error_wire());

    let confirm = |code: &str| {
        fake.call(
            "ConfirmSignUp",
            json!({"ClientId": DEFAULT_CLIENT_ID, "Username": "alice", "ConfirmationCode": code}),
        )
    };
    let code = fake
        .handle
        .confirmation_code(DEFAULT_POOL_ID, "alice")
        .unwrap();
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    insta::assert_snapshot!(
        "confirm_code_mismatch",
        confirm(wrong_code).await.error_wire()
    );
    let confirmed = confirm(&code).await;
    assert_eq!(
        (confirmed.status.as_u16(), confirmed.text.as_str()),
        (200, "{}")
    );
    insta::assert_snapshot!("confirm_twice", confirm(&code).await.error_wire());

    let tokens = fake.sign_in("alice", "Alice-passw0rd!").await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let (_, id) = decode(
        tokens.json()["AuthenticationResult"]["IdToken"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(id["email"], "alice@example.org");
    assert_eq!(id["email_verified"], true);
    assert!(id.get("cognito:groups").is_none());
}

#[tokio::test]
async fn sign_up_enforces_the_password_policy() {
    let (fake, _) = start_fixed().await;
    for (password, name) in [
        ("Sh0rt!", "too_short"),
        ("nouppercase1!", "no_uppercase"),
        ("NOLOWERCASE1!", "no_lowercase"),
        ("NoDigits!!", "no_digit"),
        ("NoSymbols123", "no_symbol"),
    ] {
        let reply = fake
            .call(
                "SignUp",
                json!({"ClientId": DEFAULT_CLIENT_ID, "Username": "bob", "Password": password}),
            )
            .await;
        insta::assert_snapshot!(format!("password_policy_{name}"), reply.error_wire());
    }
}

#[tokio::test]
async fn admin_created_users_must_set_a_new_password() {
    let (fake, _) = start_fixed().await;
    let body = json!({"UserPoolId": DEFAULT_POOL_ID, "Username": "carol",
                      "TemporaryPassword": "Temp-passw0rd!",
                      "UserAttributes": [{"Name": "email", "Value": "carol@example.org"}]});
    let unsigned = fake.call("AdminCreateUser", body.clone()).await;
    insta::assert_snapshot!("admin_unsigned", unsigned.error_wire());

    let created = fake.admin("AdminCreateUser", body.clone()).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let user = &created.json()["User"];
    assert_eq!(user["UserStatus"], "FORCE_CHANGE_PASSWORD");
    assert_eq!(user["Enabled"], true);
    assert_eq!(user["UserCreateDate"], json!(T0 as f64));
    assert_eq!(user["Attributes"][0]["Name"], "sub");
    let again = fake.admin("AdminCreateUser", body).await;
    assert_eq!(again.json()["__type"], "UsernameExistsException");

    let challenge = fake.sign_in("carol", "Temp-passw0rd!").await;
    assert_eq!(challenge.status, 200, "{}", challenge.text);
    let challenge = challenge.json();
    assert_eq!(challenge["ChallengeName"], "NEW_PASSWORD_REQUIRED");
    assert_eq!(challenge["ChallengeParameters"]["USER_ID_FOR_SRP"], "carol");
    assert_eq!(
        challenge["ChallengeParameters"]["userAttributes"],
        r#"{"email":"carol@example.org"}"#
    );
    let respond = |session: &Value| {
        fake.call(
            "RespondToAuthChallenge",
            json!({"ClientId": DEFAULT_CLIENT_ID, "ChallengeName": "NEW_PASSWORD_REQUIRED",
                   "Session": session,
                   "ChallengeResponses": {"USERNAME": "carol", "NEW_PASSWORD": "Carol-passw0rd!"}}),
        )
    };
    let done = respond(&challenge["Session"]).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.json()["AuthenticationResult"]["IdToken"].is_string());
    let reused = respond(&challenge["Session"]).await;
    insta::assert_snapshot!("challenge_session_reused", reused.error_wire());
    assert_eq!(fake.sign_in("carol", "Carol-passw0rd!").await.status, 200);
}

#[tokio::test]
async fn admin_set_user_password_makes_a_user_confirmed() {
    let (fake, _) = start_fixed().await;
    let created = fake
        .admin(
            "AdminCreateUser",
            json!({"UserPoolId": DEFAULT_POOL_ID, "Username": "dave"}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let set = fake
        .admin(
            "AdminSetUserPassword",
            json!({"UserPoolId": DEFAULT_POOL_ID, "Username": "dave",
                   "Password": "Dave-passw0rd!", "Permanent": true}),
        )
        .await;
    assert_eq!((set.status.as_u16(), set.text.as_str()), (200, "{}"));
    assert_eq!(fake.sign_in("dave", "Dave-passw0rd!").await.status, 200);

    let missing_user = fake
        .admin(
            "AdminSetUserPassword",
            json!({"UserPoolId": DEFAULT_POOL_ID, "Username": "nobody",
                   "Password": "Dave-passw0rd!", "Permanent": true}),
        )
        .await;
    insta::assert_snapshot!("admin_unknown_user", missing_user.error_wire());
    let missing_pool = fake
        .admin(
            "AdminSetUserPassword",
            json!({"UserPoolId": "us-east-1_Nope", "Username": "dave",
                   "Password": "Dave-passw0rd!", "Permanent": true}),
        )
        .await;
    insta::assert_snapshot!("admin_unknown_pool", missing_pool.error_wire());
}

#[tokio::test]
async fn envelope_errors_are_cognitos_never_a_500() {
    let (fake, _) = start_fixed().await;
    let unknown = fake.call("DescribeNothing", json!({})).await;
    insta::assert_snapshot!("unknown_operation", unknown.error_wire());
    let no_target = fake.raw(None, b"{}".to_vec(), None).await;
    assert_eq!(no_target.error_wire(), unknown.error_wire());
    let malformed = fake
        .raw(Some("InitiateAuth"), b"{\"AuthFlow\":".to_vec(), None)
        .await;
    insta::assert_snapshot!("malformed_json", malformed.error_wire());
    let wrong_type = fake
        .call(
            "InitiateAuth",
            json!({"AuthFlow": 7, "ClientId": DEFAULT_CLIENT_ID}),
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    assert_eq!(
        wrong_type.json()["__type"],
        "com.amazon.coral.service#SerializationException"
    );
    let too_big = fake.raw(Some("SignUp"), vec![b' '; 256 * 1024], None).await;
    insta::assert_snapshot!("body_too_large", too_big.error_wire());

    // Garbage of every kind for every operation: always a 4xx Cognito error with a `__type`.
    let bodies: [&[u8]; 7] = [
        b"",
        b"null",
        b"[]",
        b"\"text\"",
        b"{\"ClientId\":{}}",
        b"{\"AuthParameters\":[1,2]}",
        b"\xff\xfe",
    ];
    for operation in [
        "InitiateAuth",
        "RespondToAuthChallenge",
        "SignUp",
        "ConfirmSignUp",
        "AdminCreateUser",
        "AdminSetUserPassword",
    ] {
        for body in bodies {
            let reply = fake
                .raw(Some(operation), body.to_vec(), Some("AWS4-HMAC-SHA256 x"))
                .await;
            assert!(
                reply.status.is_client_error(),
                "{operation} {body:?} -> {}",
                reply.text
            );
            assert!(reply.json()["__type"].is_string(), "{}", reply.text);
        }
    }
}

#[tokio::test]
async fn several_pools_have_their_own_keys_issuers_and_users() {
    let mut config = config_with_clock(std::sync::Arc::new(fake_cognito::SystemClock));
    let mut other = fake_cognito::PoolConfig::default_pool();
    other.id = "eu-west-1_SecondPool".into();
    other.clients = vec![ClientConfig::new("secondpoolclient000000001")];
    other.users[0].password = "Other-passw0rd!".into();
    config.pools.push(other);
    let fake = start(config).await;
    let reply = fake
        .call(
            "InitiateAuth",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "secondpoolclient000000001",
                   "AuthParameters": {"USERNAME": "demo", "PASSWORD": "Other-passw0rd!"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (header, claims) = decode(
        reply.json()["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        claims["iss"],
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_SecondPool"
    );
    let second = fake.handle.jwks("eu-west-1_SecondPool").unwrap();
    assert_eq!(header["kid"], second["keys"][1]["kid"]);
    assert_ne!(second, fake.jwks());
    assert_eq!(fake.sign_in("demo", "Other-passw0rd!").await.status, 400);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_user_out_for_a_second_then_two() {
    let (fake, clock) = crate::support::start_fixed().await;
    for _ in 0..5 {
        let wrong = fake.sign_in("demo", "Not-the-passw0rd!").await;
        assert_eq!(wrong.json()["message"], "Incorrect username or password.");
    }
    let locked = fake
        .sign_in("demo", fake_cognito::config::DEFAULT_PASSWORD)
        .await;
    assert_eq!(locked.status, 400);
    assert_eq!(
        locked.json(),
        serde_json::json!({"__type": "NotAuthorizedException", "message": "Password attempts exceeded"})
    );
    clock.advance(std::time::Duration::from_secs(1));
    let wrong = fake.sign_in("demo", "Not-the-passw0rd!").await;
    assert_eq!(wrong.json()["message"], "Incorrect username or password.");
    clock.advance(std::time::Duration::from_secs(1));
    let still = fake
        .sign_in("demo", fake_cognito::config::DEFAULT_PASSWORD)
        .await;
    assert_eq!(
        still.json()["message"],
        "Password attempts exceeded",
        "the sixth failure: 2 s"
    );
    clock.advance(std::time::Duration::from_secs(1));
    let ok = fake
        .sign_in("demo", fake_cognito::config::DEFAULT_PASSWORD)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test]
async fn with_email_as_username_the_username_in_tokens_is_the_sub() {
    let clock = fake_cognito::FixedClock::at_epoch_seconds(T0);
    let mut config = config_with_clock(std::sync::Arc::new(clock));
    let pool = &mut config.pools[0];
    pool.username_attributes = vec!["email".into()];
    pool.users[0].username = "Student@Example.com".into();
    let fake = start(config).await;

    let reply = fake.sign_in("student@example.com", DEFAULT_PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let result = reply.json()["AuthenticationResult"].clone();
    let (_, id) = decode(result["IdToken"].as_str().unwrap());
    let (_, access) = decode(result["AccessToken"].as_str().unwrap());
    assert_eq!(id["cognito:username"], DEMO_SUB);
    assert_eq!(id["email"], "Student@Example.com", "{id}");
    assert_eq!(access["username"], DEMO_SUB);

    let user = fake
        .call("GetUser", json!({"AccessToken": result["AccessToken"]}))
        .await
        .json();
    assert_eq!(user["Username"], DEMO_SUB);

    // Without UsernameAttributes the username is what the user signed up with.
    let (plain, _) = start_fixed().await;
    let tokens = plain.demo_tokens().await;
    let (_, id) = decode(tokens["IdToken"].as_str().unwrap());
    assert_eq!(id["cognito:username"], DEFAULT_USERNAME);
}
