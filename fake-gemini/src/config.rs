//! What the fake serves: address, API key, models, scenarios, TLS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::scenario::Scenario;

/// The API key the embedded default accepts.
pub const DEFAULT_API_KEY: &str = "fake-gemini-key";

/// Models served out of the box.
pub const DEFAULT_MODELS: &[&str] = &[
    "gemini-2.0-flash",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-3-flash",
    "gemini-3-pro",
];

/// The fake's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0: any free port; the library default).
    pub addr: SocketAddr,
    /// The one API key accepted.
    pub api_key: String,
    /// Model ids served; others get Google's 404.
    pub models: Vec<String>,
    /// Scenarios, in order; later ones take precedence over earlier ones.
    pub scenarios: Vec<Scenario>,
    /// Answer requests no scenario matches with the embedded coding-tutor answer.
    pub default_scenario: bool,
    /// Serve HTTPS with a generated CA, whose PEM is written to this path.
    pub tls_ca_path: Option<PathBuf>,
    /// A connection that sends no complete request head for this long is closed (a silent or
    /// half-sent connection, or an idle keep-alive), as real servers do.
    pub header_read_timeout: std::time::Duration,
    /// Open connections at most; more are closed as soon as they are accepted.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: DEFAULT_API_KEY.to_owned(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            scenarios: Vec::new(),
            default_scenario: true,
            tls_ca_path: None,
            header_read_timeout: std::time::Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

/// A scenario file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a valid script.
    #[error("invalid script {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
}

/// A scenario file: optional extra models and the scenarios.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Models to serve besides the defaults.
    #[serde(default)]
    pub models: Vec<String>,
    /// Whether unmatched requests get the default answer (default true).
    pub default_scenario: Option<bool>,
    /// The scenarios.
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<Scenario>,
}

impl Script {
    /// Reads a TOML scenario file.
    pub fn from_file(path: &Path) -> Result<Self, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ScriptError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Adds the script to a configuration.
    pub fn apply(self, config: &mut Config) {
        config.models.extend(self.models);
        if let Some(default) = self.default_scenario {
            config.default_scenario = default;
        }
        config.scenarios.extend(self.scenarios);
    }
}
