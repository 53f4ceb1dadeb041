//! Minting Cognito's ID and access tokens: the claim sets of `reference/cognito.md` §1.2/§1.3, a JOSE
//! header of exactly `{"kid","alg"}`, RS256 signatures, and opaque JWE-shaped refresh tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::{Map, Value, json};

use crate::keys::SigningKey;

/// Claims shared by every token of one sign-in: kept across refreshes (AWS keeps `auth_time` and
/// `origin_jti`; `event_id` names the authentication event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent {
    /// Epoch seconds of the original authentication.
    pub auth_time: u64,
    /// Id of the original authentication.
    pub origin_jti: String,
    /// Id of the sign-in event.
    pub event_id: String,
}

impl AuthEvent {
    /// A new sign-in at `now`.
    pub fn new(now: u64) -> Self {
        Self {
            auth_time: now,
            origin_jti: uuid::Uuid::new_v4().to_string(),
            event_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Who the token is about, as the token needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The user's `sub`.
    pub sub: &'a str,
    /// The username.
    pub username: &'a str,
    /// Attributes in the order they go into the ID token (`email`, `email_verified`, `custom:*`, …).
    pub attributes: &'a [(String, String)],
    /// Group names.
    pub groups: &'a [String],
}

/// The claims of an access token, in the order Cognito writes them.
pub fn access_claims(
    issuer: &str,
    client_id: &str,
    subject: &Subject<'_>,
    event: &AuthEvent,
    now: u64,
    validity_s: u64,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(subject.sub));
    if !subject.groups.is_empty() {
        claims.insert("cognito:groups".into(), json!(subject.groups));
    }
    claims.insert("iss".into(), json!(issuer));
    claims.insert("client_id".into(), json!(client_id));
    claims.insert("origin_jti".into(), json!(event.origin_jti));
    claims.insert("event_id".into(), json!(event.event_id));
    claims.insert("token_use".into(), json!("access"));
    claims.insert("scope".into(), json!("aws.cognito.signin.user.admin"));
    claims.insert("auth_time".into(), json!(event.auth_time));
    claims.insert("exp".into(), json!(now + validity_s));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    claims.insert("username".into(), json!(subject.username));
    claims
}

/// The claims of an ID token, in the order Cognito writes them. `email_verified` and
/// `phone_number_verified` are booleans; every other attribute is a string.
pub fn id_claims(
    issuer: &str,
    client_id: &str,
    subject: &Subject<'_>,
    event: &AuthEvent,
    now: u64,
    validity_s: u64,
) -> Map<String, Value> {
    let attribute = |name: &str, value: &str| match name {
        "email_verified" | "phone_number_verified" => json!(value == "true"),
        _ => json!(value),
    };
    let (verified, rest): (Vec<_>, Vec<_>) = subject
        .attributes
        .iter()
        .filter(|(name, _)| name != "sub")
        .partition(|(name, _)| name.ends_with("_verified"));
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(subject.sub));
    if !subject.groups.is_empty() {
        claims.insert("cognito:groups".into(), json!(subject.groups));
    }
    for (name, value) in verified {
        claims.insert(name.clone(), attribute(name, value));
    }
    claims.insert("iss".into(), json!(issuer));
    claims.insert("cognito:username".into(), json!(subject.username));
    claims.insert("origin_jti".into(), json!(event.origin_jti));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("event_id".into(), json!(event.event_id));
    claims.insert("token_use".into(), json!("id"));
    claims.insert("auth_time".into(), json!(event.auth_time));
    claims.insert("exp".into(), json!(now + validity_s));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    for (name, value) in rest {
        claims.insert(name.clone(), attribute(name, value));
    }
    claims
}

/// Serialises and signs a JWT with RS256. The header is `{"kid":…,"alg":"RS256"}`: Cognito sends no
/// `typ`.
pub fn sign(claims: &Map<String, Value>, key: &SigningKey) -> String {
    let header = json!({ "kid": key.kid(), "alg": "RS256" });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
    );
    let signature = key.sign_rs256(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An opaque refresh token shaped like Cognito's (a five-part JWE, `RSA-OAEP` / `A256GCM`); clients
/// must not parse it and the fake only looks it up.
pub fn opaque_refresh_token() -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}"#);
    let mut rng = rand::thread_rng();
    let mut part = |len: usize| {
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    };
    let (key, iv, body, tag) = (part(256), part(12), part(1024), part(16));
    format!("{header}.{key}.{iv}.{body}.{tag}")
}

/// An opaque `Session` value for a challenge.
pub fn opaque_session() -> String {
    let mut bytes = vec![0u8; 480];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(attributes: &'a [(String, String)], groups: &'a [String]) -> Subject<'a> {
        Subject {
            sub: "5b8e0b5e-7f64-4d0b-9d8b-2f1f6b0c2c11",
            username: "demo",
            attributes,
            groups,
        }
    }

    #[test]
    fn access_token_has_client_id_and_no_aud() {
        let event = AuthEvent::new(1_000);
        let claims = access_claims("iss", "client", &subject(&[], &[]), &event, 1_010, 3600);
        assert_eq!(claims["client_id"], "client");
        assert!(!claims.contains_key("aud"));
        assert!(!claims.contains_key("cognito:groups"));
        assert_eq!(claims["exp"], 4_610);
        assert_eq!(claims["auth_time"], 1_000);
    }

    #[test]
    fn id_token_types_verified_flags_as_booleans() {
        let attrs = vec![
            ("email".to_owned(), "a@b.c".to_owned()),
            ("email_verified".to_owned(), "true".to_owned()),
            ("custom:tier".to_owned(), "gold".to_owned()),
        ];
        let groups = vec!["students".to_owned()];
        let event = AuthEvent::new(1_000);
        let claims = id_claims(
            "iss",
            "client",
            &subject(&attrs, &groups),
            &event,
            1_000,
            300,
        );
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["custom:tier"], "gold");
        assert_eq!(claims["aud"], "client");
        assert_eq!(claims["cognito:groups"], json!(["students"]));
        let order: Vec<&str> = claims.keys().map(String::as_str).collect();
        assert_eq!(
            order,
            [
                "sub",
                "cognito:groups",
                "email_verified",
                "iss",
                "cognito:username",
                "origin_jti",
                "aud",
                "event_id",
                "token_use",
                "auth_time",
                "exp",
                "iat",
                "jti",
                "email",
                "custom:tier"
            ]
        );
    }

    #[test]
    fn header_is_kid_and_alg_only() {
        let key = SigningKey::from_pem(include_str!("../tests/data/pool1-id.pem"), "t").unwrap();
        let token = sign(&Map::new(), &key);
        let header = token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header, json!({"kid": key.kid(), "alg": "RS256"}));
        assert_eq!(header.as_object().unwrap().keys().next().unwrap(), "kid");
    }

    #[test]
    fn refresh_tokens_are_unique_five_part_strings() {
        let (a, b) = (opaque_refresh_token(), opaque_refresh_token());
        assert_ne!(a, b);
        assert_eq!(a.split('.').count(), 5);
    }
}
