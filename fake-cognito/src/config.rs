//! What the fake serves: pools, their app clients, users and groups, where the signing keys come from,
//! and how the issuer is spelled. Built in code, from the embedded default, or from a TOML file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::clock::{Clock, SystemClock};

/// Region of the embedded default pool.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Id of the embedded default pool.
pub const DEFAULT_POOL_ID: &str = "us-east-1_LocalPool1";
/// Id of the embedded default app client (no secret).
pub const DEFAULT_CLIENT_ID: &str = "chatbotlocalclient00000001";
/// Username of the embedded demo user.
pub const DEFAULT_USERNAME: &str = "demo";
/// Password of the embedded demo user.
pub const DEFAULT_PASSWORD: &str = "Demo-passw0rd!";
/// Email of the embedded demo user (verified).
pub const DEFAULT_EMAIL: &str = "demo@example.com";
/// Group the embedded demo user belongs to.
pub const DEFAULT_GROUP: &str = "students";

/// Seconds an access or ID token lives when the client does not say (AWS: one hour).
pub const DEFAULT_TOKEN_VALIDITY_S: u64 = 3600;
/// Seconds a refresh token lives when the client does not say (AWS: 30 days).
pub const DEFAULT_REFRESH_VALIDITY_S: u64 = 30 * 24 * 3600;

/// A configuration error, found before anything is served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML file is not valid.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A value is outside what Cognito allows.
    #[error("{0}")]
    Invalid(String),
}

/// The whole fake: where it listens, what time it is, and the pools it serves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 picks a free port (the library default).
    pub addr: SocketAddr,
    /// Time source for every token claim.
    pub clock: Arc<dyn Clock>,
    /// How `iss` is spelled.
    pub issuer: IssuerMode,
    /// Directory where generated keys are cached between runs (`None`: generate every start).
    pub key_cache_dir: Option<PathBuf>,
    /// The user pools.
    pub pools: Vec<PoolConfig>,
    /// A connection that sends no complete request head for this long is closed (a silent or
    /// half-sent connection, or an idle keep-alive), as real servers do.
    pub header_read_timeout: std::time::Duration,
    /// Open connections at most; more are closed as soon as they are accepted.
    pub max_connections: usize,
}

/// How the `iss` claim (and the discovery documents) name the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IssuerMode {
    /// `https://cognito-idp.{region}.amazonaws.com/{poolId}`, whatever address the fake listens on, so
    /// AWS's verifiers accept the tokens (they derive the issuer from the pool id).
    #[default]
    Aws,
    /// `https://issuer-cognito-idp.{region}.amazonaws.com/{poolId}` (Cognito's `UPDATED` issuer).
    AwsUpdated,
    /// `http://{listen address}/{poolId}`, for verifiers that fetch the JWKS from the issuer URL.
    Local,
}

/// Where a pool's RSA signing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A PEM file (PKCS#1 or PKCS#8 RSA private key).
    PemFile(PathBuf),
    /// PEM text.
    Pem(String),
    /// Generated at start (RSA-2048), cached in [`Config::key_cache_dir`] when set.
    Generate,
}

/// One user pool.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// `{region}_{alnum}`, e.g. `us-east-1_LocalPool1`.
    pub id: String,
    /// The key that signs ID tokens.
    pub id_token_key: KeySource,
    /// The key that signs access tokens.
    pub access_token_key: KeySource,
    /// Minimum password length (Cognito default 8).
    pub password_min_length: usize,
    /// Cognito's temporary lockout after five failed password sign-ins ([`crate::lockout`]); real
    /// pools always have it, `false` turns it off for tests that hammer wrong passwords.
    pub lockout: bool,
    /// App clients.
    pub clients: Vec<ClientConfig>,
    /// Users present at start.
    pub users: Vec<UserConfig>,
    /// The pool's `UsernameAttributes` (`email`, `phone_number`): users sign in with that attribute,
    /// and their username — `cognito:username` in ID tokens, `username` in access tokens, GetUser's
    /// `Username` — is the generated `sub` (AWS docs, "User pool attributes": with email or phone as
    /// username "the username is a generated UUID"). Empty: the username is what was signed up with.
    pub username_attributes: Vec<String>,
}

/// Value of an app client's `PreventUserExistenceErrors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PreventUserExistenceErrors {
    /// Unknown users get the same error as a wrong password (console default).
    Enabled,
    /// Unknown users get `UserNotFoundException` (API default).
    Legacy,
}

/// One app client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Client id (26 lowercase alphanumerics on AWS).
    pub id: String,
    /// Client secret; when set, every call must carry `SECRET_HASH`.
    pub secret: Option<String>,
    /// `ALLOW_*` flows, as in `ExplicitAuthFlows`.
    pub explicit_auth_flows: Vec<String>,
    /// Access token lifetime in seconds (300..=86400).
    pub access_token_validity_s: u64,
    /// ID token lifetime in seconds (300..=86400).
    pub id_token_validity_s: u64,
    /// Refresh token lifetime in seconds (3600..=315360000).
    pub refresh_token_validity_s: u64,
    /// Whether unknown users are disguised as wrong passwords.
    pub prevent_user_existence_errors: PreventUserExistenceErrors,
    /// Whether refresh issues a new refresh token (refresh-token rotation).
    pub refresh_token_rotation: bool,
}

/// A user present at start.
#[derive(Debug, Clone, Default)]
pub struct UserConfig {
    /// Username.
    pub username: String,
    /// Password (stored in plain text: this is a test fake).
    pub password: String,
    /// Fixed `sub`; a random UUID when absent.
    pub sub: Option<String>,
    /// Attributes such as `email`, `email_verified`, `custom:tier`.
    pub attributes: BTreeMap<String, String>,
    /// Group names (`cognito:groups`).
    pub groups: Vec<String>,
    /// `false` leaves the user `UNCONFIRMED`.
    pub confirmed: bool,
}

impl Default for Config {
    /// The embedded default: the chatbot's pool with the demo user, on `127.0.0.1:0`, keys generated.
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Arc::new(SystemClock),
            issuer: IssuerMode::Aws,
            key_cache_dir: None,
            pools: vec![PoolConfig::default_pool()],
            header_read_timeout: std::time::Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

impl PoolConfig {
    /// `us-east-1_LocalPool1` with the chatbot client and the demo user.
    pub fn default_pool() -> Self {
        Self {
            id: DEFAULT_POOL_ID.to_owned(),
            id_token_key: KeySource::Generate,
            access_token_key: KeySource::Generate,
            password_min_length: 8,
            lockout: true,
            username_attributes: Vec::new(),
            // The embedded client models one made in the console, or with the setting AWS recommends:
            // PreventUserExistenceErrors=ENABLED (an unknown user looks like a wrong password). A
            // client from the API or Terraform without the setting is LEGACY (ClientConfig::new).
            clients: vec![ClientConfig {
                prevent_user_existence_errors: PreventUserExistenceErrors::Enabled,
                ..ClientConfig::new(DEFAULT_CLIENT_ID)
            }],
            users: vec![UserConfig {
                username: DEFAULT_USERNAME.to_owned(),
                password: DEFAULT_PASSWORD.to_owned(),
                sub: None,
                attributes: BTreeMap::from([
                    ("email".to_owned(), DEFAULT_EMAIL.to_owned()),
                    ("email_verified".to_owned(), "true".to_owned()),
                ]),
                groups: vec![DEFAULT_GROUP.to_owned()],
                confirmed: true,
            }],
        }
    }

    /// The region, the part of the pool id before `_`.
    pub fn region(&self) -> &str {
        self.id.split_once('_').map_or("", |(region, _)| region)
    }

    /// The part after `_` (SRP calls it the pool name).
    pub fn short_name(&self) -> &str {
        self.id.split_once('_').map_or("", |(_, name)| name)
    }
}

impl ClientConfig {
    /// A client with no secret, the password, SRP and refresh flows, AWS's default lifetimes, and
    /// `PreventUserExistenceErrors=LEGACY` — the default of a client created through the API or
    /// Terraform (the console defaults to ENABLED; Cognito developer guide, "Managing user existence
    /// error responses").
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            secret: None,
            explicit_auth_flows: vec![
                "ALLOW_USER_PASSWORD_AUTH".to_owned(),
                "ALLOW_USER_SRP_AUTH".to_owned(),
                "ALLOW_REFRESH_TOKEN_AUTH".to_owned(),
            ],
            access_token_validity_s: DEFAULT_TOKEN_VALIDITY_S,
            id_token_validity_s: DEFAULT_TOKEN_VALIDITY_S,
            refresh_token_validity_s: DEFAULT_REFRESH_VALIDITY_S,
            prevent_user_existence_errors: PreventUserExistenceErrors::Legacy,
            refresh_token_rotation: false,
        }
    }

    /// Whether `ALLOW_{flow}` is among the client's explicit auth flows.
    pub fn allows(&self, flow: &str) -> bool {
        self.explicit_auth_flows
            .iter()
            .any(|allowed| allowed.strip_prefix("ALLOW_") == Some(flow))
    }
}

impl Config {
    /// Reads a TOML file (format in the README); relative key paths are resolved against its folder.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: FileConfig = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        file.into_config(path.parent().unwrap_or(Path::new(".")))
    }

    /// Checks pool ids, lifetimes and flows against Cognito's rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        if self.pools.is_empty() {
            return invalid("at least one pool is required".into());
        }
        for pool in &self.pools {
            if !is_valid_pool_id(&pool.id) {
                return invalid(format!(
                    "pool id {:?} must look like <region>_<alphanumerics>, e.g. us-east-1_LocalPool1",
                    pool.id
                ));
            }
            for client in &pool.clients {
                for (name, value, range) in [
                    (
                        "access_token_validity_s",
                        client.access_token_validity_s,
                        300..=86_400,
                    ),
                    (
                        "id_token_validity_s",
                        client.id_token_validity_s,
                        300..=86_400,
                    ),
                    (
                        "refresh_token_validity_s",
                        client.refresh_token_validity_s,
                        3_600..=315_360_000,
                    ),
                ] {
                    if !range.contains(&value) {
                        return invalid(format!(
                            "client {}: {name} = {value} is outside Cognito's range {}..={}",
                            client.id,
                            range.start(),
                            range.end()
                        ));
                    }
                }
                for flow in &client.explicit_auth_flows {
                    if !KNOWN_FLOWS.contains(&flow.as_str()) {
                        return invalid(format!(
                            "client {}: unknown explicit auth flow {flow:?} (known: {})",
                            client.id,
                            KNOWN_FLOWS.join(", ")
                        ));
                    }
                }
            }
            let mut seen = std::collections::HashSet::new();
            for user in &pool.users {
                if !seen.insert(user.username.to_lowercase()) {
                    return invalid(format!(
                        "pool {}: user {:?} is listed twice",
                        pool.id, user.username
                    ));
                }
            }
        }
        Ok(())
    }
}

const KNOWN_FLOWS: &[&str] = &[
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_AUTH",
];

/// The pattern aws-jwt-verify enforces: `^[a-z]{2}-(gov-)?[a-z]+-\d_[a-zA-Z0-9]+$`.
pub(crate) fn is_valid_pool_id(id: &str) -> bool {
    let Some((region, name)) = id.split_once('_') else {
        return false;
    };
    let parts: Vec<&str> = region.split('-').collect();
    let region_ok = match parts.as_slice() {
        [geo, area, n] => is_region_geo(geo) && is_lower(area) && is_digit(n),
        [geo, "gov", area, n] => is_region_geo(geo) && is_lower(area) && is_digit(n),
        _ => false,
    };
    region_ok && !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_region_geo(s: &str) -> bool {
    s.len() == 2 && is_lower(s)
}

fn is_lower(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase())
}

fn is_digit(s: &str) -> bool {
    s.len() == 1 && s.chars().all(|c| c.is_ascii_digit())
}

// ---- the TOML file format ------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    issuer: IssuerMode,
    #[serde(default, rename = "pool")]
    pools: Vec<FilePool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePool {
    id: String,
    id_token_key_pem: Option<PathBuf>,
    access_token_key_pem: Option<PathBuf>,
    password_min_length: Option<usize>,
    #[serde(default = "yes")]
    lockout: bool,
    #[serde(default)]
    username_attributes: Vec<String>,
    #[serde(default, rename = "client")]
    clients: Vec<FileClient>,
    #[serde(default, rename = "user")]
    users: Vec<FileUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClient {
    id: String,
    secret: Option<String>,
    explicit_auth_flows: Option<Vec<String>>,
    access_token_validity_s: Option<u64>,
    id_token_validity_s: Option<u64>,
    refresh_token_validity_s: Option<u64>,
    prevent_user_existence_errors: Option<PreventUserExistenceErrors>,
    #[serde(default)]
    refresh_token_rotation: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUser {
    username: String,
    password: String,
    sub: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default = "yes")]
    confirmed: bool,
}

fn yes() -> bool {
    true
}

impl FileConfig {
    fn into_config(self, base: &Path) -> Result<Config, ConfigError> {
        let key = |path: Option<PathBuf>| match path {
            Some(path) if path.is_relative() => KeySource::PemFile(base.join(path)),
            Some(path) => KeySource::PemFile(path),
            None => KeySource::Generate,
        };
        let pools = self
            .pools
            .into_iter()
            .map(|pool| PoolConfig {
                id: pool.id,
                id_token_key: key(pool.id_token_key_pem),
                access_token_key: key(pool.access_token_key_pem),
                password_min_length: pool.password_min_length.unwrap_or(8),
                lockout: pool.lockout,
                username_attributes: pool.username_attributes,
                clients: pool
                    .clients
                    .into_iter()
                    .map(|c| {
                        let defaults = ClientConfig::new(c.id);
                        ClientConfig {
                            secret: c.secret,
                            explicit_auth_flows: c
                                .explicit_auth_flows
                                .unwrap_or(defaults.explicit_auth_flows.clone()),
                            access_token_validity_s: c
                                .access_token_validity_s
                                .unwrap_or(defaults.access_token_validity_s),
                            id_token_validity_s: c
                                .id_token_validity_s
                                .unwrap_or(defaults.id_token_validity_s),
                            refresh_token_validity_s: c
                                .refresh_token_validity_s
                                .unwrap_or(defaults.refresh_token_validity_s),
                            prevent_user_existence_errors: c
                                .prevent_user_existence_errors
                                .unwrap_or(defaults.prevent_user_existence_errors),
                            refresh_token_rotation: c.refresh_token_rotation,
                            ..defaults
                        }
                    })
                    .collect(),
                users: pool
                    .users
                    .into_iter()
                    .map(|u| UserConfig {
                        username: u.username,
                        password: u.password,
                        sub: u.sub,
                        attributes: u.attributes,
                        groups: u.groups,
                        confirmed: u.confirmed,
                    })
                    .collect(),
            })
            .collect();
        let config = Config {
            issuer: self.issuer,
            pools,
            ..Config::default()
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids_follow_the_aws_jwt_verify_pattern() {
        assert!(is_valid_pool_id("us-east-1_LocalPool1"));
        assert!(is_valid_pool_id("us-gov-west-1_Ab12"));
        assert!(!is_valid_pool_id("local_abc"));
        assert!(!is_valid_pool_id("us-east-1_"));
        assert!(!is_valid_pool_id("us-east-1_has-dash"));
        assert!(!is_valid_pool_id("useast1_abc"));
    }

    #[test]
    fn default_validates_and_derives_region() {
        let config = Config::default();
        config.validate().unwrap();
        assert_eq!(config.pools[0].region(), "us-east-1");
        assert_eq!(config.pools[0].short_name(), "LocalPool1");
        assert!(config.pools[0].clients[0].allows("USER_PASSWORD_AUTH"));
        assert!(!config.pools[0].clients[0].allows("CUSTOM_AUTH"));
    }

    #[test]
    fn toml_overrides_everything_and_checks_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.toml");
        std::fs::write(
            &path,
            r#"
issuer = "local"
[[pool]]
id = "eu-west-1_Other"
id_token_key_pem = "keys/id.pem"
[[pool.client]]
id = "abc"
secret = "s3cret"
access_token_validity_s = 600
prevent_user_existence_errors = "LEGACY"
[[pool.user]]
username = "alice"
password = "Alice-passw0rd!"
groups = ["admins"]
"#,
        )
        .unwrap();
        let config = Config::from_toml_file(&path).unwrap();
        assert_eq!(config.issuer, IssuerMode::Local);
        let pool = &config.pools[0];
        assert_eq!(
            pool.id_token_key,
            KeySource::PemFile(dir.path().join("keys/id.pem"))
        );
        assert_eq!(pool.access_token_key, KeySource::Generate);
        assert_eq!(pool.clients[0].access_token_validity_s, 600);
        assert_eq!(
            pool.clients[0].prevent_user_existence_errors,
            PreventUserExistenceErrors::Legacy
        );
        assert!(pool.users[0].confirmed);

        std::fs::write(
            &path,
            "[[pool]]\nid = \"eu-west-1_Other\"\n[[pool.client]]\nid = \"abc\"\naccess_token_validity_s = 60\n",
        )
        .unwrap();
        let err = Config::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("access_token_validity_s = 60"), "{err}");
    }
}
