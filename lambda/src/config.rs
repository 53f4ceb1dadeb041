//! The function's configuration, read once per cold start from the environment Lambda gives it. Every
//! missing or malformed setting fails the cold start with a message naming the variable.

use std::time::Duration;

/// Why the configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is absent or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable has a value the function cannot use.
    #[error("{name} = {value:?} is invalid: {why}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value (never a secret: secrets are not validated by shape).
        value: String,
        /// What is wrong.
        why: String,
    },
}

/// Which Cognito tokens are accepted (`COGNITO_TOKEN_USE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Access tokens only (the default): `client_id` must match.
    Access,
    /// ID tokens only: `aud` must match.
    Id,
    /// Either.
    Any,
}

/// Where the Gemini API key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum GeminiKeySource {
    /// `GEMINI_API_KEY`.
    Literal(String),
    /// `GEMINI_API_KEY_PARAMETER`: an SSM SecureString name, read at cold start.
    SsmParameter(String),
}

impl std::fmt::Debug for GeminiKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Literal(_) => f.write_str("Literal([redacted])"),
            Self::SsmParameter(name) => f.debug_tuple("SsmParameter").field(name).finish(),
        }
    }
}

/// Credentials and endpoint for AWS calls (SSM), from the standard variables.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsEnvironment {
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: Option<String>,
    /// `AWS_ENDPOINT_URL_SSM`, else `AWS_ENDPOINT_URL`, else `https://ssm.{region}.amazonaws.com`.
    pub ssm_endpoint: String,
}

impl std::fmt::Debug for AwsEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsEnvironment")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("ssm_endpoint", &self.ssm_endpoint)
            .finish_non_exhaustive()
    }
}

/// Everything the handler needs, decided at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `COGNITO_USER_POOL_ID`.
    pub user_pool_id: String,
    /// `COGNITO_CLIENT_ID`.
    pub client_id: String,
    /// `COGNITO_REGION`.
    pub cognito_region: String,
    /// `COGNITO_ISSUER`, default `https://cognito-idp.{region}.amazonaws.com/{pool}`.
    pub issuer: String,
    /// `COGNITO_JWKS_URL`, default `{issuer}/.well-known/jwks.json`.
    pub jwks_url: String,
    /// `COGNITO_TOKEN_USE`.
    pub token_use: TokenUse,
    /// `AUTH_HEADER`, lower-cased.
    pub auth_header: String,
    /// `GEMINI_MODEL`.
    pub gemini_model: String,
    /// `GEMINI_BASE_URL`, without a trailing slash.
    pub gemini_base_url: String,
    /// The Gemini key's source.
    pub gemini_key: GeminiKeySource,
    /// AWS environment, needed when the key is in SSM.
    pub aws: Option<AwsEnvironment>,
    /// `KEEPALIVE_INTERVAL_MS` (10 000).
    pub keepalive_interval: Duration,
    /// `JWKS_REFETCH_COOLDOWN_MS` (10 000).
    pub jwks_refetch_cooldown: Duration,
    /// `JWT_LEEWAY_S` (0).
    pub jwt_leeway: Duration,
    /// `GEMINI_CONNECT_TIMEOUT_MS` (5 000).
    pub gemini_connect_timeout: Duration,
    /// `GEMINI_FIRST_BYTE_TIMEOUT_MS` (20 000).
    pub gemini_first_byte_timeout: Duration,
    /// `SSL_CERT_FILE`: extra CA certificates for outbound HTTPS.
    pub extra_ca_file: Option<String>,
}

impl Config {
    /// Reads the configuration through `lookup` (in production `std::env::var`; tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let millis = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(name) {
                None => Ok(Duration::from_millis(default)),
                Some(value) => match value.trim().parse::<u64>() {
                    Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
                    _ => Err(ConfigError::Invalid {
                        name,
                        value,
                        why: "expected a positive whole number of milliseconds".into(),
                    }),
                },
            }
        };

        let user_pool_id = required("COGNITO_USER_POOL_ID")?;
        if !user_pool_id.contains('_') {
            return Err(ConfigError::Invalid {
                name: "COGNITO_USER_POOL_ID",
                value: user_pool_id,
                why: "expected <region>_<id>, e.g. us-east-1_AbC123".into(),
            });
        }
        let client_id = required("COGNITO_CLIENT_ID")?;
        let cognito_region = required("COGNITO_REGION")?;
        let issuer = get("COGNITO_ISSUER").unwrap_or_else(|| {
            format!("https://cognito-idp.{cognito_region}.amazonaws.com/{user_pool_id}")
        });
        let issuer = issuer.trim_end_matches('/').to_owned();
        let jwks_url =
            get("COGNITO_JWKS_URL").unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        check_url("COGNITO_JWKS_URL", &jwks_url)?;
        let token_use = match get("COGNITO_TOKEN_USE").as_deref() {
            None | Some("access") => TokenUse::Access,
            Some("id") => TokenUse::Id,
            Some("any") => TokenUse::Any,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "COGNITO_TOKEN_USE",
                    value: other.to_owned(),
                    why: "expected access, id or any".into(),
                });
            }
        };
        let auth_header = get("AUTH_HEADER")
            .unwrap_or_else(|| "x-chatbot-authorization".into())
            .to_ascii_lowercase();
        if http::HeaderName::from_bytes(auth_header.as_bytes()).is_err() {
            return Err(ConfigError::Invalid {
                name: "AUTH_HEADER",
                value: auth_header,
                why: "not a valid HTTP header name".into(),
            });
        }
        let gemini_model = get("GEMINI_MODEL").unwrap_or_else(|| "gemini-2.5-flash".into());
        let gemini_base_url = get("GEMINI_BASE_URL")
            .unwrap_or_else(|| "https://generativelanguage.googleapis.com".into())
            .trim_end_matches('/')
            .to_owned();
        check_url("GEMINI_BASE_URL", &gemini_base_url)?;
        let gemini_key = match (get("GEMINI_API_KEY"), get("GEMINI_API_KEY_PARAMETER")) {
            (Some(key), _) => GeminiKeySource::Literal(key.trim().to_owned()),
            (None, Some(parameter)) => GeminiKeySource::SsmParameter(parameter),
            (None, None) => {
                return Err(ConfigError::Missing(
                    "GEMINI_API_KEY or GEMINI_API_KEY_PARAMETER",
                ));
            }
        };
        let aws = match gemini_key {
            GeminiKeySource::SsmParameter(_) => {
                let region = get("AWS_REGION")
                    .or_else(|| get("AWS_DEFAULT_REGION"))
                    .ok_or(ConfigError::Missing("AWS_REGION"))?;
                let ssm_endpoint = get("AWS_ENDPOINT_URL_SSM")
                    .or_else(|| get("AWS_ENDPOINT_URL"))
                    .unwrap_or_else(|| format!("https://ssm.{region}.amazonaws.com"))
                    .trim_end_matches('/')
                    .to_owned();
                check_url("AWS_ENDPOINT_URL_SSM", &ssm_endpoint)?;
                Some(AwsEnvironment {
                    access_key_id: required("AWS_ACCESS_KEY_ID")?,
                    secret_access_key: required("AWS_SECRET_ACCESS_KEY")?,
                    session_token: get("AWS_SESSION_TOKEN"),
                    region,
                    ssm_endpoint,
                })
            }
            GeminiKeySource::Literal(_) => None,
        };
        let jwt_leeway = match get("JWT_LEEWAY_S") {
            None => Duration::ZERO,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(s) if s <= 300 => Duration::from_secs(s),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "JWT_LEEWAY_S",
                        value,
                        why: "expected whole seconds from 0 to 300".into(),
                    });
                }
            },
        };
        Ok(Self {
            user_pool_id,
            client_id,
            cognito_region,
            issuer,
            jwks_url,
            token_use,
            auth_header,
            gemini_model,
            gemini_base_url,
            gemini_key,
            aws,
            keepalive_interval: millis("KEEPALIVE_INTERVAL_MS", 10_000)?,
            jwks_refetch_cooldown: millis("JWKS_REFETCH_COOLDOWN_MS", 10_000)?,
            jwt_leeway,
            gemini_connect_timeout: millis("GEMINI_CONNECT_TIMEOUT_MS", 5_000)?,
            gemini_first_byte_timeout: millis("GEMINI_FIRST_BYTE_TIMEOUT_MS", 20_000)?,
            extra_ca_file: get("SSL_CERT_FILE"),
        })
    }
}

fn check_url(name: &'static str, value: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err(ConfigError::Invalid {
            name,
            value: value.to_owned(),
            why: "expected an http(s) URL".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("COGNITO_USER_POOL_ID", "us-east-1_LocalPool1"),
        ("COGNITO_CLIENT_ID", "client"),
        ("COGNITO_REGION", "us-east-1"),
        ("GEMINI_API_KEY", "k"),
    ];

    #[test]
    fn defaults_follow_the_contract() {
        let c = config(BASE).unwrap();
        assert_eq!(
            c.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_LocalPool1"
        );
        assert_eq!(c.jwks_url, format!("{}/.well-known/jwks.json", c.issuer));
        assert_eq!(c.token_use, TokenUse::Access);
        assert_eq!(c.auth_header, "x-chatbot-authorization");
        assert_eq!(c.gemini_model, "gemini-2.5-flash");
        assert_eq!(c.keepalive_interval, Duration::from_secs(10));
        assert_eq!(c.jwks_refetch_cooldown, Duration::from_secs(10));
        assert_eq!(c.jwt_leeway, Duration::ZERO);
        assert!(c.aws.is_none());
        assert!(!format!("{:?}", c.gemini_key).contains('k'));
    }

    #[test]
    fn every_missing_or_bad_setting_is_named() {
        for missing in [
            "COGNITO_USER_POOL_ID",
            "COGNITO_CLIENT_ID",
            "COGNITO_REGION",
        ] {
            let pairs: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(
                config(&pairs).unwrap_err().to_string(),
                format!("{missing} is not set")
            );
        }
        let no_key: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "GEMINI_API_KEY")
            .collect();
        assert!(
            config(&no_key)
                .unwrap_err()
                .to_string()
                .contains("GEMINI_API_KEY")
        );
        for (name, value) in [
            ("KEEPALIVE_INTERVAL_MS", "soon"),
            ("JWKS_REFETCH_COOLDOWN_MS", "-1"),
            ("JWT_LEEWAY_S", "3600"),
            ("COGNITO_TOKEN_USE", "refresh"),
            ("GEMINI_BASE_URL", "not a url"),
            ("AUTH_HEADER", "bad header"),
            ("GEMINI_FIRST_BYTE_TIMEOUT_MS", "0"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((name, value));
            let error = config(&pairs).unwrap_err().to_string();
            assert!(error.starts_with(name), "{error}");
        }
    }

    #[test]
    fn an_ssm_key_needs_the_aws_environment() {
        let mut pairs: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "GEMINI_API_KEY")
            .collect();
        pairs.push(("GEMINI_API_KEY_PARAMETER", "/chatbot/gemini-api-key"));
        assert_eq!(
            config(&pairs).unwrap_err(),
            ConfigError::Missing("AWS_REGION")
        );
        pairs.extend([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ]);
        let c = config(&pairs).unwrap();
        assert_eq!(c.aws.as_ref().unwrap().ssm_endpoint, "http://127.0.0.1:1");
        assert!(!format!("{c:?}").contains("secret"));
        pairs.push(("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:2"));
        assert_eq!(
            config(&pairs).unwrap().aws.unwrap().ssm_endpoint,
            "http://127.0.0.1:2"
        );
    }
}
