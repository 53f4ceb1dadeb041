//! Test hooks that no real Cognito has: mint a token with any claim changed or signed wrongly, rotate a
//! pool's keys with a grace period, make the JWKS endpoint fail or stall, and count JWKS fetches.
//! Reachable from Rust through [`crate::Handle`] and from any language over HTTP under `/__fake/`:
//!
//! | call | body | answer |
//! |---|---|---|
//! | `POST /__fake/{pool}/tokens` | [`MintRequest`] (camelCase JSON) | `{"token": "…"}` |
//! | `POST /__fake/{pool}/rotate-keys` | `{"graceSeconds": 60}` | `{"idKid": "…", "accessKid": "…"}` |
//! | `PUT /__fake/jwks-fault` | `{"mode": "healthy"}`, `{"mode": "status", "status": 503}`, `{"mode": "stall"}` | 204 |
//! | `GET /__fake/{pool}/jwks-fetches` | | `{"count": 3}` |
//! | `GET /__fake/{pool}/confirmation-code/{username}` | | `{"code": "123456"}` |

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::directory::PoolState;
use crate::keys::SigningKey;
use crate::server::AppState;
use crate::tokens::{self, AuthEvent};

/// Which token to mint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    /// An access token (`client_id`, no `aud`).
    #[default]
    Access,
    /// An ID token (`aud`).
    Id,
}

/// How a minted token is signed (or mis-signed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signing {
    /// RS256 with the pool's current key for that token use: a well-formed token.
    #[default]
    Valid,
    /// A correct RS256 signature, but the header names a `kid` the JWKS does not have.
    UnknownKid,
    /// `{"alg":"none"}` and an empty signature.
    AlgNone,
    /// HS256 with the pool's public key PEM as the HMAC secret (the algorithm-confusion attack).
    Hs256PublicKey,
    /// A valid RS256 signature with one bit flipped.
    TamperedSignature,
}

/// What to mint. Times are offsets from the fake's clock, so a test never computes "now" itself.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MintRequest {
    /// ID or access token.
    #[serde(default)]
    pub token_use: TokenUse,
    /// The user (default: the pool's first user).
    pub username: Option<String>,
    /// The app client (default: the pool's first client).
    pub client_id: Option<String>,
    /// `exp` = now + this (negative: already expired).
    pub exp_offset_s: Option<i64>,
    /// `iat` and `auth_time` = now + this.
    pub iat_offset_s: Option<i64>,
    /// Adds `nbf` = now + this (Cognito tokens carry none; positive: not yet valid).
    pub nbf_offset_s: Option<i64>,
    /// Claims to set (overriding the minted ones), applied after the offsets.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Claims to remove.
    #[serde(default)]
    pub remove: Vec<String>,
    /// How to sign.
    #[serde(default)]
    pub signing: Signing,
}

impl MintRequest {
    /// An access token for the pool's first user and client.
    pub fn access() -> Self {
        Self::default()
    }

    /// An ID token for the pool's first user and client.
    pub fn id() -> Self {
        Self {
            token_use: TokenUse::Id,
            ..Self::default()
        }
    }

    /// For this user.
    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    /// For this client.
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// Expired `seconds_ago` seconds ago (issued an hour before that).
    pub fn expired(mut self, seconds_ago: i64) -> Self {
        self.exp_offset_s = Some(-seconds_ago);
        self.iat_offset_s = Some(-seconds_ago - 3600);
        self
    }

    /// Not valid for `seconds` more: `nbf` and `iat` in the future.
    pub fn not_yet_valid(mut self, seconds: i64) -> Self {
        self.nbf_offset_s = Some(seconds);
        self.iat_offset_s = Some(seconds);
        self.exp_offset_s = Some(seconds + 3600);
        self
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn without(mut self, name: &str) -> Self {
        self.remove.push(name.to_owned());
        self
    }

    /// Signs it this way.
    pub fn signed(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }
}

/// What the JWKS endpoint does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum JwksFault {
    /// Serves the JWKS.
    #[default]
    Healthy,
    /// Answers this HTTP status (e.g. 500, 503) with a JSON error.
    Status {
        /// The status code.
        status: u16,
    },
    /// Holds the request open, sending nothing, until the fault changes or the fake stops.
    Stall,
}

/// Why a hook could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// No such pool.
    #[error("no pool {0}")]
    UnknownPool(String),
    /// No such user or client in the pool.
    #[error("{0}")]
    NotFound(String),
    /// A bad request body or value.
    #[error("{0}")]
    Invalid(String),
}

impl IntoResponse for HookError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::UnknownPool(_) | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// Mints a token from a pool's state.
pub(crate) fn mint(pool: &PoolState, request: &MintRequest, now: u64) -> Result<String, HookError> {
    let username = match &request.username {
        Some(username) => username.clone(),
        None => pool
            .config
            .users
            .first()
            .map(|u| u.username.clone())
            .ok_or_else(|| HookError::NotFound("the pool has no users; name one".into()))?,
    };
    let client = match &request.client_id {
        Some(id) => pool
            .client(id)
            .ok_or_else(|| HookError::NotFound(format!("no client {id} in {}", pool.config.id)))?,
        None => pool
            .config
            .clients
            .first()
            .ok_or_else(|| HookError::NotFound("the pool has no clients".into()))?,
    };
    let at = |offset: Option<i64>| now.saturating_add_signed(offset.unwrap_or(0));
    let issued = at(request.iat_offset_s);
    let mut event = AuthEvent::new(issued);
    event.auth_time = issued;
    let (key, validity) = match request.token_use {
        TokenUse::Access => (&pool.access_key, client.access_token_validity_s),
        TokenUse::Id => (&pool.id_key, client.id_token_validity_s),
    };
    let mut claims = pool
        .with_subject(&username, |subject| match request.token_use {
            TokenUse::Access => {
                tokens::access_claims(&pool.issuer, &client.id, subject, &event, issued, validity)
            }
            TokenUse::Id => {
                tokens::id_claims(&pool.issuer, &client.id, subject, &event, issued, validity)
            }
        })
        .ok_or_else(|| HookError::NotFound(format!("no user {username} in {}", pool.config.id)))?;
    if let Some(offset) = request.exp_offset_s {
        claims.insert("exp".into(), json!(at(Some(offset))));
    }
    if let Some(offset) = request.nbf_offset_s {
        claims.insert("nbf".into(), json!(at(Some(offset))));
    }
    for (name, value) in &request.claims {
        claims.insert(name.clone(), value.clone());
    }
    for name in &request.remove {
        claims.shift_remove(name);
    }
    Ok(sign(&claims, key, request.signing))
}

fn sign(claims: &Map<String, Value>, key: &SigningKey, signing: Signing) -> String {
    let encode = |header: Value| {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
        )
    };
    match signing {
        Signing::Valid => tokens::sign(claims, key),
        Signing::UnknownKid => {
            let kid = STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
            let input = encode(json!({ "kid": kid, "alg": "RS256" }));
            let signature = key.sign_rs256(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
        }
        Signing::AlgNone => format!("{}.", encode(json!({ "kid": key.kid(), "alg": "none" }))),
        Signing::Hs256PublicKey => {
            let input = encode(json!({ "kid": key.kid(), "alg": "HS256" }));
            let secret = key.public_pem().unwrap_or_default();
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key size");
            mac.update(input.as_bytes());
            format!(
                "{input}.{}",
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            )
        }
        Signing::TamperedSignature => {
            let token = tokens::sign(claims, key);
            let (input, signature) = token.rsplit_once('.').expect("three parts");
            let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("our own base64");
            bytes[0] ^= 0x01;
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
        }
    }
}

// ---- HTTP ----------------------------------------------------------------------------------------

pub(crate) async fn mint_http(
    State(state): State<Arc<AppState>>,
    Path(pool_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, HookError> {
    let request: MintRequest = if body.is_empty() {
        MintRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| HookError::Invalid(e.to_string()))?
    };
    let now = state.clock.now_epoch_seconds();
    let directory = state.directory();
    let pool = directory
        .pool(&pool_id)
        .ok_or(HookError::UnknownPool(pool_id.clone()))?;
    Ok(Json(json!({ "token": mint(pool, &request, now)? })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RotateRequest {
    #[serde(default)]
    grace_seconds: u64,
}

pub(crate) async fn rotate_http(
    State(state): State<Arc<AppState>>,
    Path(pool_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, HookError> {
    let request: RotateRequest = if body.is_empty() {
        RotateRequest { grace_seconds: 0 }
    } else {
        serde_json::from_slice(&body).map_err(|e| HookError::Invalid(e.to_string()))?
    };
    if state.directory().pool(&pool_id).is_none() {
        return Err(HookError::UnknownPool(pool_id));
    }
    let (id_key, access_key) = tokio::task::spawn_blocking(|| {
        Ok::<_, crate::keys::KeyError>((SigningKey::generate()?, SigningKey::generate()?))
    })
    .await
    .map_err(|e| HookError::Invalid(e.to_string()))?
    .map_err(|e| HookError::Invalid(e.to_string()))?;
    let kids = rotate(&state, &pool_id, id_key, access_key, request.grace_seconds)?;
    Ok(Json(json!({ "idKid": kids.0, "accessKid": kids.1 })))
}

/// Installs new keys; returns their kids (ID, access).
pub(crate) fn rotate(
    state: &AppState,
    pool_id: &str,
    id_key: SigningKey,
    access_key: SigningKey,
    grace_seconds: u64,
) -> Result<(String, String), HookError> {
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let pool = directory
        .pool_mut(pool_id)
        .map_err(|_| HookError::UnknownPool(pool_id.to_owned()))?;
    let kids = (id_key.kid().to_owned(), access_key.kid().to_owned());
    pool.rotate_keys(id_key, access_key, now, grace_seconds);
    Ok(kids)
}

pub(crate) async fn jwks_fault_http(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<StatusCode, HookError> {
    let fault: JwksFault =
        serde_json::from_slice(&body).map_err(|e| HookError::Invalid(e.to_string()))?;
    if let JwksFault::Status { status } = fault {
        if StatusCode::from_u16(status).is_err() {
            return Err(HookError::Invalid(format!(
                "{status} is not an HTTP status"
            )));
        }
    }
    state.jwks_fault.send_replace(fault);
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn jwks_fetches_http(
    State(state): State<Arc<AppState>>,
    Path(pool_id): Path<String>,
) -> Result<Json<Value>, HookError> {
    let directory = state.directory();
    let pool = directory
        .pool(&pool_id)
        .ok_or(HookError::UnknownPool(pool_id.clone()))?;
    Ok(Json(json!({ "count": pool.jwks_fetches })))
}

pub(crate) async fn confirmation_code_http(
    State(state): State<Arc<AppState>>,
    Path((pool_id, username)): Path<(String, String)>,
) -> Result<Json<Value>, HookError> {
    let directory = state.directory();
    let pool = directory
        .pool(&pool_id)
        .ok_or(HookError::UnknownPool(pool_id.clone()))?;
    let code = pool
        .confirmation_code(&username)
        .ok_or_else(|| HookError::NotFound(format!("no pending code for {username}")))?;
    Ok(Json(json!({ "code": code })))
}

/// `GET /__fake/preflights`: the CORS preflights answered so far.
pub(crate) async fn preflights_http(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::server::AppState>>,
) -> axum::Json<Vec<crate::cors::Preflight>> {
    axum::Json(state.preflights())
}
