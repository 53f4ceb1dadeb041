//! Who is asking: the Cognito bearer token from `AUTH_HEADER`, verified RS256-only against the pool's
//! JWKS, and the claims the function trusts afterwards ([`VerifiedClaims`]).
//!
//! The JWKS is fetched lazily on the first request (never at cold start), cached across invocations,
//! re-fetched once for an unknown `kid`, and then not again until `JWKS_REFETCH_COOLDOWN_MS` has passed.
//! With no cached key and the JWKS unreachable the answer is 503, and the next request tries again.

mod rs256;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::config::TokenUse;

/// Wall-clock time for `exp`/`nbf`/`iat` checks, injectable in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Why a request is not authenticated. The messages say what was wrong without echoing the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token in the header.
    #[error("missing bearer token in {0}")]
    Missing(String),
    /// Not `Bearer <three base64url parts>`, or undecodable.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header's `alg` is not RS256 (`none`, HS256, …).
    #[error("unsupported token algorithm {0}; only RS256 is accepted")]
    UnsupportedAlgorithm(String),
    /// The `kid` is not in the pool's JWKS (after the allowed re-fetch).
    #[error("token signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not the pool.
    #[error("token issuer is not the expected user pool")]
    WrongIssuer,
    /// `token_use` is not the accepted one.
    #[error("token_use {0:?} is not accepted")]
    WrongTokenUse(String),
    /// `client_id` / `aud` is not the app client.
    #[error("token was issued to another app client")]
    WrongClient,
    /// A required claim is absent or of the wrong type.
    #[error("token lacks a valid {0} claim")]
    MissingClaim(&'static str),
    /// No key is cached and the JWKS cannot be fetched (503, not 401).
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// The claims the function relies on after verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedClaims {
    /// The user's `sub`.
    pub sub: String,
    /// `username` (access) or `cognito:username` (ID).
    pub username: Option<String>,
    /// `access` or `id`.
    pub token_use: String,
    /// The app client (`client_id` or `aud`).
    pub client_id: String,
    /// `cognito:groups`.
    pub groups: Vec<String>,
    /// `exp`, epoch seconds.
    pub expires_at: u64,
}

/// What the verifier checks against.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The exact expected `iss`.
    pub issuer: String,
    /// The app client id.
    pub client_id: String,
    /// Which token use is accepted.
    pub token_use: TokenUse,
    /// Where the JWKS is.
    pub jwks_url: String,
    /// Minimum time between JWKS re-fetches for unknown kids.
    pub refetch_cooldown: Duration,
    /// Clock skew allowed on `exp`, `nbf`, `iat`.
    pub leeway: Duration,
}

/// The pool's signing keys by kid, parsed once per JWKS fetch.
type Keys = HashMap<String, Arc<DecodingKey>>;

/// State only a JWKS fetch touches; its lock is never taken on the warm path.
#[derive(Default)]
struct Refetch {
    /// After a fetch that did not produce the wanted kid, no re-fetch before this time (by the
    /// injected clock, so tests move it instead of sleeping).
    penalty_until: Option<SystemTime>,
}

/// Verifies bearer tokens; one per cold start, shared by every invocation.
pub struct Verifier {
    config: VerifierConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// Read without a lock by every verification; replaced whole after a fetch.
    keys: ArcSwap<Keys>,
    validation: Validation,
    refetch: Mutex<Refetch>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How long one JWKS fetch may take.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(3);

impl Verifier {
    /// A verifier with an empty key cache.
    pub fn new(config: VerifierConfig, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        rs256::install();
        Self {
            config,
            http,
            clock,
            keys: ArcSwap::from_pointee(Keys::new()),
            validation: signature_only(),
            refetch: Mutex::new(Refetch::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS has been fetched (successfully or not).
    pub async fn jwks_fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Extracts the bearer token from a header value.
    pub fn bearer(value: Option<&str>, header: &str) -> Result<String, AuthError> {
        let value = value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| AuthError::Missing(header.to_owned()))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or_else(|| AuthError::Malformed("expected \"Bearer <token>\"".into()))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Malformed("expected the Bearer scheme".into()));
        }
        Ok(token.trim().to_owned())
    }

    /// Verifies a token and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<VerifiedClaims, AuthError> {
        if token.split('.').count() != 3 {
            return Err(AuthError::Malformed(
                "a JWT has three dot-separated parts".into(),
            ));
        }
        let alg = header_alg(token)?;
        if alg != "RS256" {
            return Err(AuthError::UnsupportedAlgorithm(alg));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Malformed("no kid in the header".into()))?;
        let key = self.key_for(&kid).await?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthError::BadSignature,
                _ => AuthError::Malformed(e.to_string()),
            })?;
        self.check_claims(&data.claims)
    }

    fn check_claims(&self, claims: &Map<String, Value>) -> Result<VerifiedClaims, AuthError> {
        let now = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let leeway = self.config.leeway.as_secs();
        let number = |name: &'static str| claims.get(name).and_then(Value::as_u64);
        let text = |name: &'static str| claims.get(name).and_then(Value::as_str);

        let exp = number("exp").ok_or(AuthError::MissingClaim("exp"))?;
        if exp.saturating_add(leeway) <= now {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = number("nbf") {
            if nbf > now.saturating_add(leeway) {
                return Err(AuthError::NotYetValid);
            }
        }
        let iat = number("iat").ok_or(AuthError::MissingClaim("iat"))?;
        if iat > now.saturating_add(leeway) {
            return Err(AuthError::NotYetValid);
        }
        if text("iss") != Some(self.config.issuer.as_str()) {
            return Err(AuthError::WrongIssuer);
        }
        let token_use = text("token_use").ok_or(AuthError::MissingClaim("token_use"))?;
        let accepted = match self.config.token_use {
            TokenUse::Access => token_use == "access",
            TokenUse::Id => token_use == "id",
            TokenUse::Any => token_use == "access" || token_use == "id",
        };
        if !accepted {
            return Err(AuthError::WrongTokenUse(token_use.to_owned()));
        }
        let (client_claim, username_claim) = if token_use == "id" {
            ("aud", "cognito:username")
        } else {
            ("client_id", "username")
        };
        let client_id = text(client_claim).ok_or(AuthError::MissingClaim(client_claim))?;
        if client_id != self.config.client_id {
            return Err(AuthError::WrongClient);
        }
        let sub = text("sub").ok_or(AuthError::MissingClaim("sub"))?;
        Ok(VerifiedClaims {
            sub: sub.to_owned(),
            username: text(username_claim).map(str::to_owned),
            token_use: token_use.to_owned(),
            client_id: client_id.to_owned(),
            groups: claims
                .get("cognito:groups")
                .and_then(Value::as_array)
                .map(|groups| {
                    groups
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            expires_at: exp,
        })
    }

    /// The key for `kid`: from the cache, or after a JWKS fetch. A fetch that does not produce the kid
    /// (or fails while keys are cached) blocks further fetches for the cooldown, as aws-jwt-verify's
    /// penalty box does; with nothing cached every request may try again.
    async fn key_for(&self, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(Arc::clone(key));
        }
        let mut refetch = self.refetch.lock().await;
        // Another request may have fetched while this one waited for the lock.
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(Arc::clone(key));
        }
        if refetch
            .penalty_until
            .is_some_and(|until| self.clock.now() < until)
        {
            return Err(AuthError::UnknownKey);
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch_jwks().await {
            Ok(keys) => self.keys.store(Arc::new(keys)),
            Err(why) if self.keys.load().is_empty() => {
                tracing::warn!(%why, "JWKS unavailable and no key cached");
                return Err(AuthError::KeysUnavailable(why));
            }
            Err(why) => tracing::warn!(%why, "JWKS re-fetch failed; keeping the cached keys"),
        }
        match self.keys.load().get(kid) {
            Some(key) => Ok(Arc::clone(key)),
            None => {
                refetch.penalty_until = self.clock.now().checked_add(self.config.refetch_cooldown);
                Err(AuthError::UnknownKey)
            }
        }
    }

    async fn fetch_jwks(&self) -> Result<Keys, String> {
        let response = self
            .http
            .get(&self.config.jwks_url)
            .timeout(JWKS_FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("JWKS request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("JWKS answered HTTP {}", response.status().as_u16()));
        }
        let document: Value = response
            .json()
            .await
            .map_err(|e| format!("JWKS is not JSON: {e}"))?;
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("JWKS has no keys array")?;
        let mut out = HashMap::new();
        for key in keys {
            let field = |name: &str| key.get(name).and_then(Value::as_str);
            let usable = field("kty") == Some("RSA")
                && field("alg").is_none_or(|alg| alg == "RS256")
                && field("use").is_none_or(|u| u == "sig");
            if let (true, Some(kid), Some(n), Some(e)) =
                (usable, field("kid"), field("n"), field("e"))
            {
                if let Ok(decoding) = DecodingKey::from_rsa_components(n, e) {
                    out.insert(kid.to_owned(), Arc::new(decoding));
                }
            }
        }
        if out.is_empty() {
            return Err("JWKS has no usable RS256 keys".into());
        }
        Ok(out)
    }
}

/// RS256 signatures only: time and audience are checked by [`Verifier::check_claims`] with the injected
/// clock and Cognito's rules.
fn signature_only() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation
}

/// The `alg` of a token's header, read before any key is looked up (so `none` and HS* are refused
/// without touching the JWKS).
fn header_alg(token: &str) -> Result<String, AuthError> {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| AuthError::Malformed("the header is not base64url".into()))?;
    let header: Value = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::Malformed("the header is not JSON".into()))?;
    header
        .get("alg")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| AuthError::Malformed("no alg in the header".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_extraction() {
        assert_eq!(Verifier::bearer(Some("Bearer abc"), "h").unwrap(), "abc");
        assert_eq!(Verifier::bearer(Some("bearer  abc "), "h").unwrap(), "abc");
        assert_eq!(
            Verifier::bearer(None, "h").unwrap_err(),
            AuthError::Missing("h".into())
        );
        assert!(matches!(
            Verifier::bearer(Some("Basic abc"), "h"),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            Verifier::bearer(Some("abc"), "h"),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn alg_is_read_from_the_header() {
        // {"alg":"none"} . {} .
        assert_eq!(header_alg("eyJhbGciOiJub25lIn0.e30.").unwrap(), "none");
        assert!(header_alg("!!!.e30.x").is_err());
    }
}
