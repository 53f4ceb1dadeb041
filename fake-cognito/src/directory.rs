//! The pools' live state — users, refresh tokens, challenge sessions — and the rules Cognito applies
//! to them: sign-in, refresh, sign-up, confirmation, admin user management. Pure state transitions; the
//! wire lives in `api`.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::api::error::CognitoError;
use crate::config::{ClientConfig, Config, IssuerMode, PoolConfig, PreventUserExistenceErrors};
use crate::keys::{self, KeyError, SigningKey};
use crate::tokens::{self, AuthEvent, Subject};

/// All pools, and which pool each client id belongs to.
#[derive(Debug)]
pub struct Directory {
    pools: BTreeMap<String, PoolState>,
    client_pool: HashMap<String, String>,
}

/// One pool's keys and users.
#[derive(Debug)]
pub struct PoolState {
    /// The configuration it was built from.
    pub config: PoolConfig,
    /// The `iss` of its tokens.
    pub issuer: String,
    /// Signs ID tokens.
    pub id_key: SigningKey,
    /// Signs access tokens.
    pub access_key: SigningKey,
    /// Keys rotated out, still published until the epoch second given.
    retired: Vec<(SigningKey, u64)>,
    /// JWKS requests served (or refused by an injected fault) for this pool.
    pub jwks_fetches: u64,
    users: HashMap<String, User>,
    refresh_tokens: HashMap<String, RefreshSession>,
    challenges: HashMap<String, Challenge>,
    spent_sessions: HashSet<String>,
    srp_exchanges: HashMap<String, SrpExchange>,
    /// Tokens revoked by RevokeToken: the refresh tokens themselves, and the `origin_jti` of the
    /// authentication events whose access tokens go with them.
    revoked: Revoked,
}

#[derive(Debug, Default)]
struct Revoked {
    refresh_tokens: HashSet<String>,
    origin_jtis: HashSet<String>,
}

/// A user's account status, as `UserStatus` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Signed up, not confirmed.
    Unconfirmed,
    /// Can sign in.
    Confirmed,
    /// Created by an admin with a temporary password.
    ForceChangePassword,
}

impl UserStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "UNCONFIRMED",
            Self::Confirmed => "CONFIRMED",
            Self::ForceChangePassword => "FORCE_CHANGE_PASSWORD",
        }
    }
}

#[derive(Debug, Clone)]
struct User {
    username: String,
    sub: String,
    password: String,
    status: UserStatus,
    enabled: bool,
    attributes: Vec<(String, String)>,
    groups: Vec<String>,
    created: u64,
    modified: u64,
    confirmation_code: Option<String>,
    lockout: crate::lockout::Lockout,
}

#[derive(Debug, Clone)]
struct RefreshSession {
    client_id: String,
    user_key: String,
    event: AuthEvent,
    expires_at: u64,
}

/// A `PASSWORD_VERIFIER` challenge in flight, keyed by its `SECRET_BLOCK`.
#[derive(Debug, Clone)]
struct SrpExchange {
    client_id: String,
    /// `None` when the user does not exist (the challenge is a decoy that can never verify).
    user_key: Option<String>,
    user_id: String,
    key: Vec<u8>,
    expires_at: u64,
}

#[derive(Debug, Clone)]
struct Challenge {
    client_id: String,
    user_key: String,
    expires_at: u64,
}

/// `AuthenticationResult`, field order as AWS returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthenticationResult {
    /// The access token.
    pub access_token: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Only on sign-in (and on refresh with rotation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token.
    pub id_token: String,
}

/// What a password sign-in leads to.
#[derive(Debug)]
pub enum SignIn {
    /// Tokens.
    Authenticated(AuthenticationResult),
    /// The user must set a new password (`NEW_PASSWORD_REQUIRED`).
    NewPasswordRequired {
        /// The challenge session.
        session: String,
        /// `USER_ID_FOR_SRP`.
        username: String,
        /// `userAttributes` as the JSON string Cognito sends.
        user_attributes: String,
    },
}

/// What `SignUp` answers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignUpResult {
    /// Where the code went (absent without an email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_delivery_details: Option<Value>,
    /// Always false: sign-up needs confirmation.
    pub user_confirmed: bool,
    /// The new user's `sub`.
    pub user_sub: String,
}

/// Lifetime of a challenge `Session` (Cognito: 3 minutes by default).
const CHALLENGE_VALIDITY_S: u64 = 180;

impl Directory {
    /// Loads every pool's keys (generating and caching where configured) and the users of the config.
    /// `base_url` is where the fake listens, for [`IssuerMode::Local`].
    pub fn build(config: &Config, base_url: &str) -> Result<Self, KeyError> {
        let now = config.clock.now_epoch_seconds();
        let mut pools = BTreeMap::new();
        let mut client_pool = HashMap::new();
        for pool in &config.pools {
            let cache = config.key_cache_dir.as_deref();
            let id_key = keys::load(&pool.id_token_key, cache, &format!("{}-id", pool.id))?;
            let access_key = keys::load(
                &pool.access_token_key,
                cache,
                &format!("{}-access", pool.id),
            )?;
            let issuer = issuer_for(config.issuer, pool, base_url);
            let mut state = PoolState {
                config: pool.clone(),
                issuer,
                id_key,
                access_key,
                retired: Vec::new(),
                jwks_fetches: 0,
                users: HashMap::new(),
                refresh_tokens: HashMap::new(),
                challenges: HashMap::new(),
                spent_sessions: HashSet::new(),
                srp_exchanges: HashMap::new(),
                revoked: Revoked::default(),
            };
            for user in &pool.users {
                let mut attributes: Vec<(String, String)> = user
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let sub = user
                    .sub
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                let username = state.username_for(&user.username, &sub, &mut attributes);
                state.users.insert(
                    user.username.to_lowercase(),
                    User {
                        username,
                        sub,
                        password: user.password.clone(),
                        status: if user.confirmed {
                            UserStatus::Confirmed
                        } else {
                            UserStatus::Unconfirmed
                        },
                        enabled: true,
                        attributes,
                        groups: user.groups.clone(),
                        created: now,
                        modified: now,
                        confirmation_code: None,
                        lockout: Default::default(),
                    },
                );
            }
            for client in &pool.clients {
                client_pool.insert(client.id.clone(), pool.id.clone());
            }
            pools.insert(pool.id.clone(), state);
        }
        Ok(Self { pools, client_pool })
    }

    /// The pool with this id.
    pub fn pool(&self, pool_id: &str) -> Option<&PoolState> {
        self.pools.get(pool_id)
    }

    /// The pool with this id, or Cognito's `ResourceNotFoundException`.
    pub fn pool_mut(&mut self, pool_id: &str) -> Result<&mut PoolState, CognitoError> {
        self.pools.get_mut(pool_id).ok_or_else(|| {
            CognitoError::ResourceNotFound(format!("User pool {pool_id} does not exist."))
        })
    }

    /// GetUser across the pools: the one whose access key signed the token answers; a token none of
    /// them signed is "Invalid Access Token".
    pub fn get_user(&self, access_token: &str, now: u64) -> Result<Value, CognitoError> {
        self.pools
            .values()
            .find_map(|pool| pool.get_user(access_token, now))
            .unwrap_or_else(|| Err(CognitoError::NotAuthorized("Invalid Access Token".into())))
    }

    /// The pool owning `client_id` and the client, or Cognito's `ResourceNotFoundException`.
    pub fn client_mut(
        &mut self,
        client_id: &str,
    ) -> Result<(&mut PoolState, ClientConfig), CognitoError> {
        let not_found = || {
            CognitoError::ResourceNotFound(format!("User pool client {client_id} does not exist."))
        };
        let pool_id = self.client_pool.get(client_id).ok_or_else(not_found)?;
        let pool = self.pools.get_mut(pool_id).ok_or_else(not_found)?;
        let client = pool
            .config
            .clients
            .iter()
            .find(|c| c.id == client_id)
            .cloned()
            .ok_or_else(not_found)?;
        Ok((pool, client))
    }

    /// All pool ids.
    pub fn pool_ids(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }
}

fn issuer_for(mode: IssuerMode, pool: &PoolConfig, base_url: &str) -> String {
    match mode {
        IssuerMode::Aws => format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            pool.region(),
            pool.id
        ),
        IssuerMode::AwsUpdated => format!(
            "https://issuer-cognito-idp.{}.amazonaws.com/{}",
            pool.region(),
            pool.id
        ),
        IssuerMode::Local => format!("{}/{}", base_url.trim_end_matches('/'), pool.id),
    }
}

/// `Base64(HMAC_SHA256(key = client secret, message = username + client id))`.
pub fn secret_hash(client_secret: &str, username: &str, client_id: &str) -> String {
    STANDARD.encode(
        secret_mac(client_secret, username, client_id)
            .finalize()
            .into_bytes(),
    )
}

fn secret_mac(client_secret: &str, username: &str, client_id: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes any key size");
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    mac
}

/// Checks `SECRET_HASH` when the client has a secret, with Cognito's two messages.
pub fn check_secret_hash(
    client: &ClientConfig,
    username: &str,
    given: Option<&str>,
) -> Result<(), CognitoError> {
    check_client_credential(client, given, |secret, given| {
        let given = STANDARD.decode(given).unwrap_or_default();
        secret_mac(secret, username, &client.id)
            .verify_slice(&given)
            .is_ok()
    })
}

/// Checks a `ClientSecret` sent as it is (GetTokensFromRefreshToken, RevokeToken), with the same two
/// messages.
pub fn check_client_secret(client: &ClientConfig, given: Option<&str>) -> Result<(), CognitoError> {
    check_client_credential(client, given, |secret, given| given == secret)
}

/// Nothing to check without a client secret; otherwise "not received" or "unable to verify" unless
/// `matches(secret, given)`.
fn check_client_credential(
    client: &ClientConfig,
    given: Option<&str>,
    matches: impl FnOnce(&str, &str) -> bool,
) -> Result<(), CognitoError> {
    let Some(secret) = &client.secret else {
        return Ok(());
    };
    let Some(given) = given else {
        return Err(CognitoError::NotAuthorized(format!(
            "Client {} is configured for secret but secret was not received",
            client.id
        )));
    };
    if matches(secret, given) {
        Ok(())
    } else {
        Err(CognitoError::NotAuthorized(format!(
            "Unable to verify secret hash for client {}",
            client.id
        )))
    }
}

impl PoolState {
    /// The username a user signed up as `given` gets: `given`, or — in a pool with
    /// `UsernameAttributes` — the `sub`, with `given` as that attribute's value (sign-in uses it).
    fn username_for(
        &self,
        given: &str,
        sub: &str,
        attributes: &mut Vec<(String, String)>,
    ) -> String {
        let Some(attribute) = self.config.username_attributes.first() else {
            return given.to_owned();
        };
        attributes.retain(|(name, _)| name != attribute);
        attributes.push((attribute.clone(), given.to_owned()));
        sub.to_owned()
    }

    /// The public keys as the JWKS document at `now`: the current ID and access keys, then any rotated
    /// out less than their grace period ago.
    pub fn jwks(&self, now: u64) -> Value {
        let mut keys = vec![self.id_key.public_jwk(), self.access_key.public_jwk()];
        keys.extend(
            self.retired
                .iter()
                .filter(|(_, until)| *until > now)
                .map(|(key, _)| key.public_jwk()),
        );
        json!({ "keys": keys })
    }

    /// Makes `id_key`/`access_key` the signers; the old keys stay published for `grace_s` seconds.
    pub fn rotate_keys(
        &mut self,
        id_key: SigningKey,
        access_key: SigningKey,
        now: u64,
        grace_s: u64,
    ) {
        self.retired.retain(|(_, until)| *until > now);
        let old_id = std::mem::replace(&mut self.id_key, id_key);
        let old_access = std::mem::replace(&mut self.access_key, access_key);
        self.retired.push((old_id, now + grace_s));
        self.retired.push((old_access, now + grace_s));
    }

    /// The client with this id in this pool.
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.config.clients.iter().find(|c| c.id == client_id)
    }

    /// The token subject for a user, with the claims it needs.
    pub fn with_subject<T>(&self, username: &str, f: impl FnOnce(&Subject<'_>) -> T) -> Option<T> {
        let user = self.users.get(&username.to_lowercase())?;
        Some(f(&Subject {
            sub: &user.sub,
            username: &user.username,
            attributes: &user.attributes,
            groups: &user.groups,
        }))
    }

    /// The six-digit code a pending sign-up must confirm with (delivered "by email": the CLI logs it).
    pub fn confirmation_code(&self, username: &str) -> Option<String> {
        self.users
            .get(&username.to_lowercase())
            .and_then(|u| u.confirmation_code.clone())
    }

    /// The user's `sub`.
    pub fn user_sub(&self, username: &str) -> Option<String> {
        self.users
            .get(&username.to_lowercase())
            .map(|u| u.sub.clone())
    }

    /// USER_PASSWORD_AUTH.
    pub fn password_sign_in(
        &mut self,
        client: &ClientConfig,
        username: &str,
        password: &str,
        now: u64,
    ) -> Result<SignIn, CognitoError> {
        let key = username.to_lowercase();
        if !self.users.contains_key(&key) {
            return Err(user_missing(client));
        }
        let right = self.users[&key].password == password;
        self.password_checked(&key, right, now)?;
        self.password_verified(client, key, now)
    }

    /// Counts a password check against the user's lockout: refused while locked out, a wrong
    /// password counted (and refused), a right one resetting the count.
    fn password_checked(&mut self, key: &str, right: bool, now: u64) -> Result<(), CognitoError> {
        let enforced = self.config.lockout;
        let Some(user) = self.users.get_mut(key) else {
            return Err(CognitoError::incorrect_credentials());
        };
        if enforced {
            user.lockout.admit(now)?;
        }
        if !right {
            if enforced {
                user.lockout.failed(now);
            }
            return Err(CognitoError::incorrect_credentials());
        }
        user.lockout.succeeded();
        Ok(())
    }

    /// What follows a proven password: a disabled or unconfirmed user is refused, a user with a
    /// temporary password is challenged, everyone else gets tokens.
    fn password_verified(
        &mut self,
        client: &ClientConfig,
        key: String,
        now: u64,
    ) -> Result<SignIn, CognitoError> {
        let user = &self.users[&key];
        if !user.enabled {
            return Err(CognitoError::NotAuthorized("User is disabled.".into()));
        }
        match user.status {
            UserStatus::Unconfirmed => Err(CognitoError::UserNotConfirmed),
            UserStatus::ForceChangePassword => {
                let session = tokens::opaque_session();
                let attributes: Map<String, Value> = user
                    .attributes
                    .iter()
                    .filter(|(name, _)| name != "email_verified")
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                let result = SignIn::NewPasswordRequired {
                    session: session.clone(),
                    username: user.username.clone(),
                    user_attributes: Value::Object(attributes).to_string(),
                };
                self.challenges.insert(
                    session,
                    Challenge {
                        client_id: client.id.clone(),
                        user_key: key,
                        expires_at: now + CHALLENGE_VALIDITY_S,
                    },
                );
                Ok(result)
            }
            UserStatus::Confirmed => Ok(SignIn::Authenticated(self.issue(
                client,
                &key,
                AuthEvent::new(now),
                now,
                true,
            ))),
        }
    }

    /// USER_SRP_AUTH: the `PASSWORD_VERIFIER` challenge parameters for the client's `SRP_A`.
    ///
    /// An unknown user gets a decoy challenge (random verifier) when the client hides user existence,
    /// so the failure only shows at the response, as on AWS; with `LEGACY` it is refused here.
    pub fn srp_challenge(
        &mut self,
        client: &ClientConfig,
        username: &str,
        srp_a: &str,
        now: u64,
    ) -> Result<Map<String, Value>, CognitoError> {
        let key = username.to_lowercase();
        let (user_key, user_id, password) = match self.users.get(&key) {
            Some(user) => (Some(key), user.username.clone(), user.password.clone()),
            None if client.prevent_user_existence_errors == PreventUserExistenceErrors::Legacy => {
                return Err(user_missing(client));
            }
            None => (None, username.to_owned(), tokens::opaque_session()),
        };
        let exchange =
            crate::srp::server_exchange(srp_a, self.config.short_name(), &user_id, &password)
                .map_err(|e| CognitoError::InvalidParameter(e.to_string()))?;
        let secret_block = STANDARD.encode(tokens::opaque_session());
        self.srp_exchanges.retain(|_, x| x.expires_at > now);
        self.srp_exchanges.insert(
            secret_block.clone(),
            SrpExchange {
                client_id: client.id.clone(),
                user_key,
                user_id: user_id.clone(),
                key: exchange.key,
                expires_at: now + CHALLENGE_VALIDITY_S,
            },
        );
        let mut parameters = Map::new();
        parameters.insert("SALT".into(), json!(exchange.salt_hex));
        parameters.insert("SECRET_BLOCK".into(), json!(secret_block));
        parameters.insert("SRP_B".into(), json!(exchange.b_hex));
        parameters.insert("USERNAME".into(), json!(user_id));
        parameters.insert("USER_ID_FOR_SRP".into(), json!(user_id));
        Ok(parameters)
    }

    /// RespondToAuthChallenge(PASSWORD_VERIFIER): checks the claim signature, then continues as a
    /// password sign-in would.
    pub fn srp_verify(
        &mut self,
        client: &ClientConfig,
        secret_block: &str,
        timestamp: &str,
        signature: &str,
        now: u64,
    ) -> Result<SignIn, CognitoError> {
        let exchange = self
            .srp_exchanges
            .remove(secret_block)
            .filter(|x| x.client_id == client.id && x.expires_at > now)
            .ok_or_else(|| {
                CognitoError::NotAuthorized(
                    "Invalid session for the user, session is expired.".into(),
                )
            })?;
        // The claim's timestamp must parse; Cognito's tolerance is undocumented (UNSURE), so the
        // fake allows the same 5 minutes of skew that SigV4 does.
        let claimed = crate::srp::parse_timestamp(timestamp).ok_or_else(|| {
            CognitoError::InvalidParameter(format!(
                "TIMESTAMP {timestamp:?} is not in the format 'EEE MMM d HH:mm:ss z yyyy'"
            ))
        })?;
        if claimed.abs_diff(now) > 300 {
            return Err(CognitoError::NotAuthorized(
                "Incorrect username or password.".into(),
            ));
        }
        let block = STANDARD.decode(secret_block).unwrap_or_default();
        let matches = crate::srp::verify_claim(
            &exchange.key,
            self.config.short_name(),
            &exchange.user_id,
            &block,
            timestamp,
            signature,
        );
        match exchange.user_key {
            Some(key) => {
                self.password_checked(&key, matches, now)?;
                self.password_verified(client, key, now)
            }
            None => Err(CognitoError::incorrect_credentials()),
        }
    }

    /// RespondToAuthChallenge(NEW_PASSWORD_REQUIRED).
    pub fn complete_new_password(
        &mut self,
        client: &ClientConfig,
        session: &str,
        username: &str,
        new_password: &str,
        now: u64,
    ) -> Result<AuthenticationResult, CognitoError> {
        self.check_password_policy(new_password)?;
        if self.spent_sessions.contains(session) {
            return Err(CognitoError::NotAuthorized(
                "Invalid session for the user, session can only be used once.".into(),
            ));
        }
        let challenge = self
            .challenges
            .remove(session)
            .filter(|c| c.client_id == client.id && c.expires_at > now)
            .ok_or_else(|| {
                CognitoError::NotAuthorized(
                    "Invalid session for the user, session is expired.".into(),
                )
            })?;
        if challenge.user_key != username.to_lowercase() {
            return Err(CognitoError::NotAuthorized(
                "Invalid session for the user.".into(),
            ));
        }
        self.spent_sessions.insert(session.to_owned());
        let user = self
            .users
            .get_mut(&challenge.user_key)
            .ok_or_else(|| CognitoError::UserNotFound("User does not exist.".into()))?;
        user.password = new_password.to_owned();
        user.status = UserStatus::Confirmed;
        user.modified = now;
        Ok(self.issue(client, &challenge.user_key, AuthEvent::new(now), now, true))
    }

    /// The username a refresh token was issued to (what its `SECRET_HASH` is computed over).
    pub fn refresh_token_owner(&self, refresh_token: &str) -> Option<String> {
        let session = self.refresh_tokens.get(refresh_token)?;
        self.users
            .get(&session.user_key)
            .map(|u| u.username.clone())
    }

    /// REFRESH_TOKEN_AUTH (and GetTokensFromRefreshToken, which may rotate).
    pub fn refresh(
        &mut self,
        client: &ClientConfig,
        refresh_token: &str,
        rotate: bool,
        now: u64,
    ) -> Result<AuthenticationResult, CognitoError> {
        let invalid = || CognitoError::NotAuthorized("Invalid Refresh Token".into());
        if self.revoked.refresh_tokens.contains(refresh_token) {
            return Err(CognitoError::NotAuthorized(
                "Refresh Token has been revoked".into(),
            ));
        }
        let session = self
            .refresh_tokens
            .get(refresh_token)
            .filter(|s| s.client_id == client.id)
            .cloned()
            .ok_or_else(invalid)?;
        let user = self.users.get(&session.user_key).ok_or_else(invalid)?;
        if session.expires_at <= now {
            return Err(CognitoError::NotAuthorized(
                "Refresh Token has expired".into(),
            ));
        }
        if !user.enabled {
            return Err(CognitoError::NotAuthorized("User is disabled.".into()));
        }
        let mut result = self.issue(
            client,
            &session.user_key,
            session.event.clone(),
            now,
            rotate,
        );
        if rotate {
            self.refresh_tokens.remove(refresh_token);
        } else {
            result.refresh_token = None;
        }
        Ok(result)
    }

    /// RevokeToken: the refresh token can no longer be used, and neither can the access tokens of the
    /// same authentication event at Cognito's own APIs (GetUser); JWT libraries still accept them
    /// until they expire (AWS docs, "Revoking tokens"). UNSURE: a token this pool never issued is
    /// accepted silently, as RFC 7009 §2.2 has an OAuth revocation endpoint do; AWS documents the
    /// operation's errors but not this case.
    pub fn revoke(
        &mut self,
        client: &ClientConfig,
        refresh_token: &str,
    ) -> Result<(), CognitoError> {
        let Some(session) = self.refresh_tokens.get(refresh_token) else {
            return Ok(());
        };
        if session.client_id != client.id {
            return Err(CognitoError::NotAuthorized("Invalid Refresh Token".into()));
        }
        let origin = session.event.origin_jti.clone();
        self.refresh_tokens.remove(refresh_token);
        self.revoked.refresh_tokens.insert(refresh_token.to_owned());
        self.revoked.origin_jtis.insert(origin);
        Ok(())
    }

    /// GetUser: the user an access token of this pool names, if Cognito would still accept it.
    /// `None` when the token was not signed by this pool's access key.
    pub fn get_user(&self, access_token: &str, now: u64) -> Option<Result<Value, CognitoError>> {
        let (signing_input, signature) = access_token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        // RS256 (PKCS#1 v1.5) is deterministic: our own signature over the same bytes is the check.
        if self.access_key.sign_rs256(signing_input.as_bytes()) != signature {
            return None;
        }
        let claims: Value = signing_input
            .split('.')
            .nth(1)
            .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())?;
        Some(self.user_for_access_claims(&claims, now))
    }

    /// Cognito's checks on a genuine access token's claims, then the user it names.
    fn user_for_access_claims(&self, claims: &Value, now: u64) -> Result<Value, CognitoError> {
        let invalid = || CognitoError::NotAuthorized("Invalid Access Token".into());
        if claims["token_use"] != "access" {
            return Err(invalid());
        }
        if claims["exp"].as_u64().is_none_or(|exp| exp <= now) {
            return Err(CognitoError::NotAuthorized(
                "Access Token has expired".into(),
            ));
        }
        let origin = claims["origin_jti"].as_str().unwrap_or_default();
        if self.revoked.origin_jtis.contains(origin) {
            return Err(CognitoError::NotAuthorized(
                "Access Token has been revoked".into(),
            ));
        }
        let sub = claims["sub"].as_str().ok_or_else(invalid)?;
        let user = self
            .users
            .values()
            .find(|user| user.sub == sub)
            .ok_or_else(|| CognitoError::UserNotFound("User does not exist.".into()))?;
        if !user.enabled {
            return Err(CognitoError::NotAuthorized("User is disabled.".into()));
        }
        Ok(json!({"Username": user.username, "UserAttributes": attribute_list(user)}))
    }

    /// Mints ID and access tokens (and, when asked, a refresh token) for a user.
    fn issue(
        &mut self,
        client: &ClientConfig,
        user_key: &str,
        event: AuthEvent,
        now: u64,
        with_refresh_token: bool,
    ) -> AuthenticationResult {
        let user = &self.users[user_key];
        let subject = Subject {
            sub: &user.sub,
            username: &user.username,
            attributes: &user.attributes,
            groups: &user.groups,
        };
        let access = tokens::access_claims(
            &self.issuer,
            &client.id,
            &subject,
            &event,
            now,
            client.access_token_validity_s,
        );
        let id = tokens::id_claims(
            &self.issuer,
            &client.id,
            &subject,
            &event,
            now,
            client.id_token_validity_s,
        );
        let refresh_token = with_refresh_token.then(|| {
            let token = tokens::opaque_refresh_token();
            self.refresh_tokens.insert(
                token.clone(),
                RefreshSession {
                    client_id: client.id.clone(),
                    user_key: user_key.to_owned(),
                    event,
                    expires_at: now + client.refresh_token_validity_s,
                },
            );
            token
        });
        AuthenticationResult {
            access_token: tokens::sign(&access, &self.access_key),
            expires_in: client.access_token_validity_s,
            token_type: "Bearer",
            refresh_token,
            id_token: tokens::sign(&id, &self.id_key),
        }
    }

    /// SignUp: a new UNCONFIRMED user with a confirmation code.
    pub fn sign_up(
        &mut self,
        username: &str,
        password: &str,
        attributes: Vec<(String, String)>,
        now: u64,
    ) -> Result<SignUpResult, CognitoError> {
        let key = username.to_lowercase();
        if self.users.contains_key(&key) {
            return Err(CognitoError::UsernameExists("User already exists".into()));
        }
        self.check_password_policy(password)?;
        let email = attributes
            .iter()
            .find(|(name, _)| name == "email")
            .map(|(_, v)| v.clone());
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let sub = uuid::Uuid::new_v4().to_string();
        let mut attributes = attributes;
        let stored_username = self.username_for(username, &sub, &mut attributes);
        self.users.insert(
            key,
            User {
                username: stored_username,
                sub: sub.clone(),
                password: password.to_owned(),
                status: UserStatus::Unconfirmed,
                enabled: true,
                attributes,
                groups: Vec::new(),
                created: now,
                modified: now,
                confirmation_code: Some(code),
                lockout: Default::default(),
            },
        );
        Ok(SignUpResult {
            code_delivery_details: email.map(|email| {
                json!({
                    "AttributeName": "email",
                    "DeliveryMedium": "EMAIL",
                    "Destination": mask_email(&email),
                })
            }),
            user_confirmed: false,
            user_sub: sub,
        })
    }

    /// ConfirmSignUp.
    pub fn confirm_sign_up(
        &mut self,
        username: &str,
        code: &str,
        now: u64,
    ) -> Result<(), CognitoError> {
        let user = self
            .users
            .get_mut(&username.to_lowercase())
            .ok_or_else(|| {
                CognitoError::UserNotFound("Username/client id combination not found.".into())
            })?;
        if user.status != UserStatus::Unconfirmed {
            return Err(CognitoError::NotAuthorized(format!(
                "User cannot be confirmed. Current status is {}",
                user.status.as_str()
            )));
        }
        if user.confirmation_code.as_deref() != Some(code) {
            return Err(CognitoError::CodeMismatch);
        }
        user.status = UserStatus::Confirmed;
        user.confirmation_code = None;
        user.modified = now;
        if user.attributes.iter().any(|(name, _)| name == "email") {
            set_attribute(&mut user.attributes, "email_verified", "true");
        }
        Ok(())
    }

    /// AdminCreateUser: a FORCE_CHANGE_PASSWORD user; answers the `User` object.
    pub fn admin_create_user(
        &mut self,
        username: &str,
        temporary_password: Option<&str>,
        attributes: Vec<(String, String)>,
        now: u64,
    ) -> Result<Value, CognitoError> {
        let key = username.to_lowercase();
        if self.users.contains_key(&key) {
            return Err(CognitoError::UsernameExists(
                "User account already exists".into(),
            ));
        }
        let password = match temporary_password {
            Some(password) => {
                self.check_password_policy(password)?;
                password.to_owned()
            }
            None => generated_password(),
        };
        let user = User {
            username: username.to_owned(),
            sub: uuid::Uuid::new_v4().to_string(),
            password,
            status: UserStatus::ForceChangePassword,
            enabled: true,
            attributes,
            groups: Vec::new(),
            created: now,
            modified: now,
            confirmation_code: None,
            lockout: Default::default(),
        };
        let described = describe_user(&user);
        self.users.insert(key, user);
        Ok(described)
    }

    /// AdminSetUserPassword.
    pub fn admin_set_user_password(
        &mut self,
        username: &str,
        password: &str,
        permanent: bool,
        now: u64,
    ) -> Result<(), CognitoError> {
        self.check_password_policy(password)?;
        let user = self
            .users
            .get_mut(&username.to_lowercase())
            .ok_or_else(|| CognitoError::UserNotFound("User does not exist.".into()))?;
        user.password = password.to_owned();
        user.status = if permanent {
            UserStatus::Confirmed
        } else {
            UserStatus::ForceChangePassword
        };
        user.modified = now;
        Ok(())
    }

    /// Cognito's default policy: the configured minimum length, upper, lower, digit, symbol.
    fn check_password_policy(&self, password: &str) -> Result<(), CognitoError> {
        let fail = |why: &str| {
            Err(CognitoError::InvalidPassword(format!(
                "Password did not conform with policy: {why}"
            )))
        };
        if password.chars().count() < self.config.password_min_length {
            return fail("Password not long enough");
        }
        if !password.chars().any(|c| c.is_uppercase()) {
            return fail("Password must have uppercase characters");
        }
        if !password.chars().any(|c| c.is_lowercase()) {
            return fail("Password must have lowercase characters");
        }
        if !password.chars().any(|c| c.is_ascii_digit()) {
            return fail("Password must have numeric characters");
        }
        if !password.chars().any(|c| SYMBOLS.contains(c)) {
            return fail("Password must have symbol characters");
        }
        Ok(())
    }
}

/// The special characters Cognito's password policy counts as symbols.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

fn user_missing(client: &ClientConfig) -> CognitoError {
    match client.prevent_user_existence_errors {
        PreventUserExistenceErrors::Enabled => CognitoError::incorrect_credentials(),
        PreventUserExistenceErrors::Legacy => {
            CognitoError::UserNotFound("User does not exist.".into())
        }
    }
}

fn set_attribute(attributes: &mut Vec<(String, String)>, name: &str, value: &str) {
    match attributes.iter_mut().find(|(n, _)| n == name) {
        Some(entry) => entry.1 = value.to_owned(),
        None => attributes.push((name.to_owned(), value.to_owned())),
    }
}

/// `d***@e***`, as Cognito masks a delivery address.
fn mask_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}

fn generated_password() -> String {
    let mut rng = rand::thread_rng();
    let body: String = (0..12)
        .map(|_| {
            let chars = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            chars[rng.gen_range(0..chars.len())] as char
        })
        .collect();
    format!("{body}a1A!")
}

/// A user's attributes as the API lists them: `sub` first, then the rest.
fn attribute_list(user: &User) -> Vec<Value> {
    let mut attributes = vec![json!({"Name": "sub", "Value": user.sub})];
    attributes.extend(
        user.attributes
            .iter()
            .filter(|(name, _)| name != "sub")
            .map(|(name, value)| json!({"Name": name, "Value": value})),
    );
    attributes
}

fn describe_user(user: &User) -> Value {
    json!({
        "Username": user.username,
        "Attributes": attribute_list(user),
        "UserCreateDate": user.created as f64,
        "UserLastModifiedDate": user.modified as f64,
        "Enabled": user.enabled,
        "UserStatus": user.status.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_matches_the_documented_construction() {
        // Independent value: printf 'alice''client1' | openssl dgst -sha256 -hmac 'secret' -binary | base64
        assert_eq!(
            secret_hash("secret", "alice", "client1"),
            "1f+jIZ5jrvd9T9LKNEBwDVXuGhIxTem62DTEPkKb29k="
        );
    }

    #[test]
    fn email_is_masked_like_cognito() {
        assert_eq!(mask_email("demo@example.com"), "d***@e***");
    }

    #[test]
    fn generated_passwords_meet_the_default_policy() {
        let pool = PoolState {
            config: PoolConfig::default_pool(),
            issuer: String::new(),
            id_key: SigningKey::from_pem(include_str!("../tests/data/pool1-id.pem"), "t").unwrap(),
            access_key: SigningKey::from_pem(include_str!("../tests/data/pool1-access.pem"), "t")
                .unwrap(),
            users: HashMap::new(),
            refresh_tokens: HashMap::new(),
            retired: Vec::new(),
            jwks_fetches: 0,
            challenges: HashMap::new(),
            spent_sessions: HashSet::new(),
            revoked: Revoked::default(),
            srp_exchanges: HashMap::new(),
        };
        for _ in 0..20 {
            pool.check_password_policy(&generated_password()).unwrap();
        }
        assert!(pool.check_password_policy("short").is_err());
        assert!(pool.check_password_policy("alllowercase1!").is_err());
    }
}
