//! The whole chain in one process: fake-cognito, fake-gemini, the emulated SSM, the Runtime API with
//! its execution environments, the Function URL and the CloudFront edge — what `emulator up` runs and
//! what the e2e suite starts per test (every listener on port 0 there).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::{Clock, SystemClock};
use crate::runtime::{FunctionProcess, Invoker, InvokerConfig};
use crate::server::Limits;
use crate::topology::Topology;
use crate::trace::TraceStore;
use crate::{edge, function_url, ssm};

/// What to start.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The deployment.
    pub topology: Topology,
    /// The function process.
    pub function: FunctionProcess,
    /// Edge listener.
    pub edge_addr: SocketAddr,
    /// Function URL listener.
    pub url_addr: SocketAddr,
    /// fake-cognito listener.
    pub cognito_addr: SocketAddr,
    /// fake-gemini listener.
    pub gemini_addr: SocketAddr,
    /// fake-cognito's configuration (its address is replaced by `cognito_addr`).
    pub cognito: fake_cognito::Config,
    /// fake-gemini's configuration (its address is replaced by `gemini_addr`).
    pub gemini: fake_gemini::Config,
    /// The clock for signatures and events.
    pub clock: Arc<dyn Clock>,
    /// Overrides the origin read timeout (tests).
    pub origin_read_timeout: Option<Duration>,
    /// The limits of every listener (the edge, the Function URL, SSM, the page and the fakes).
    pub limits: Limits,
    /// The local chat page's listener (its origins join CORS); `None`: no page.
    pub site_addr: Option<SocketAddr>,
    /// The Amplify bundle the page serves, when built.
    pub amplify_bundle: Option<PathBuf>,
    /// How long an idle execution environment is kept.
    pub environment_idle_timeout: Duration,
}

impl ChainConfig {
    /// Everything on port 0, the embedded topology, `function` as the function.
    pub fn local(function: FunctionProcess) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            topology: Topology::default(),
            function,
            edge_addr: any,
            url_addr: any,
            cognito_addr: any,
            gemini_addr: any,
            cognito: fake_cognito::Config::default(),
            gemini: fake_gemini::Config::default(),
            clock: Arc::new(SystemClock),
            origin_read_timeout: None,
            limits: Limits::default(),
            site_addr: None,
            amplify_bundle: None,
            environment_idle_timeout: crate::runtime::IDLE_TIMEOUT,
        }
    }
}

/// Why the chain could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// A listener's address is taken or invalid.
    #[error("cannot listen on {addr} ({flag}): {why}")]
    Bind {
        /// The flag that sets the address.
        flag: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        why: String,
    },
    /// A component failed to start.
    #[error("{0}")]
    Start(String),
}

/// The running chain.
#[derive(Debug)]
pub struct Chain {
    /// The topology in force.
    pub topology: Topology,
    /// fake-cognito.
    pub cognito: fake_cognito::Handle,
    /// fake-gemini.
    pub gemini: fake_gemini::Handle,
    /// Emulated SSM.
    pub ssm: ssm::Handle,
    /// The execution environments.
    pub invoker: Invoker,
    /// The Function URL.
    pub url: function_url::Handle,
    /// The CloudFront edge.
    pub edge: edge::Handle,
    /// The local chat page, when asked for.
    pub site: Option<crate::site::Handle>,
    /// The traces of every request.
    pub traces: TraceStore,
}

fn bind_error(flag: &'static str, addr: SocketAddr, why: impl ToString) -> ChainError {
    ChainError::Bind {
        flag,
        addr,
        why: why.to_string(),
    }
}

impl Chain {
    /// Starts every component.
    pub async fn start(config: ChainConfig) -> Result<Self, ChainError> {
        let mut config = config;
        // The page's listener first: its origin must be in CORS before the URL starts.
        let site_listener = match config.site_addr {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| bind_error("--site-addr", addr, e))?;
                let bound = listener
                    .local_addr()
                    .map_err(|e| bind_error("--site-addr", addr, e))?;
                for origin in crate::site::origins(bound) {
                    config.topology.allow_origin(&origin);
                }
                Some(listener)
            }
            None => None,
        };
        let cognito = fake_cognito::FakeCognito::spawn(fake_cognito::Config {
            addr: config.cognito_addr,
            header_read_timeout: config.limits.header_read_timeout,
            max_connections: config.limits.max_connections,
            ..config.cognito.clone()
        })
        .await
        .map_err(|e| match e {
            fake_cognito::SpawnError::Bind { source, .. } => {
                bind_error("--cognito-addr", config.cognito_addr, source)
            }
            other => ChainError::Start(format!("fake-cognito: {other}")),
        })?;
        let gemini = fake_gemini::FakeGemini::spawn(fake_gemini::Config {
            addr: config.gemini_addr,
            header_read_timeout: config.limits.header_read_timeout,
            max_connections: config.limits.max_connections,
            ..config.gemini.clone()
        })
        .await
        .map_err(|e| match e {
            fake_gemini::SpawnError::Bind { source, .. } => {
                bind_error("--gemini-addr", config.gemini_addr, source)
            }
            other => ChainError::Start(format!("fake-gemini: {other}")),
        })?;
        let topology = config.topology.clone();
        let ssm = ssm::spawn(ssm::Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            topology: topology.clone(),
            clock: config.clock.clone(),
            limits: config.limits,
        })
        .await
        .map_err(|e| ChainError::Start(format!("ssm: {e}")))?;
        let pool = topology
            .function
            .env
            .get("COGNITO_USER_POOL_ID")
            .cloned()
            .unwrap_or_else(|| fake_cognito::config::DEFAULT_POOL_ID.to_owned());
        let overlay = [
            ("COGNITO_JWKS_URL".to_owned(), cognito.jwks_url(&pool)),
            ("GEMINI_BASE_URL".to_owned(), gemini.url().to_owned()),
            ("AWS_ENDPOINT_URL_SSM".to_owned(), ssm.url().to_owned()),
        ]
        .into();
        let invoker = Invoker::new(InvokerConfig {
            topology: topology.clone(),
            process: config.function.clone(),
            overlay,
            idle_timeout: config.environment_idle_timeout,
        });
        let traces = TraceStore::default();
        let url = function_url::spawn(function_url::Config {
            addr: config.url_addr,
            topology: topology.clone(),
            invoker: invoker.clone(),
            clock: config.clock.clone(),
            traces: traces.clone(),
            limits: config.limits,
        })
        .await
        .map_err(|e| bind_error("--url-addr", config.url_addr, e))?;
        let edge = edge::spawn(edge::Config {
            addr: config.edge_addr,
            topology: topology.clone(),
            origin: url.url().to_owned(),
            clock: config.clock.clone(),
            traces: traces.clone(),
            origin_read_timeout: config.origin_read_timeout,
            limits: config.limits,
        })
        .await
        .map_err(|e| bind_error("--edge-addr", config.edge_addr, e))?;
        let site = match site_listener {
            Some(listener) => {
                let env = &topology.function.env;
                let value = |name: &str| env.get(name).cloned().unwrap_or_default();
                Some(
                    crate::site::serve(
                        listener,
                        crate::site::Config {
                            chatbot_url: format!("{}/chatbot", edge.url()),
                            cognito_url: cognito.url().to_owned(),
                            user_pool_id: value("COGNITO_USER_POOL_ID"),
                            client_id: value("COGNITO_CLIENT_ID"),
                            username: fake_cognito::config::DEFAULT_USERNAME.into(),
                            password: fake_cognito::config::DEFAULT_PASSWORD.into(),
                            amplify_bundle: config.amplify_bundle.clone(),
                            limits: config.limits,
                        },
                    )
                    .await
                    .map_err(|e| ChainError::Start(format!("site: {e}")))?,
                )
            }
            None => None,
        };
        Ok(Self {
            topology,
            cognito,
            gemini,
            ssm,
            invoker,
            url,
            edge,
            site,
            traces,
        })
    }

    /// The one-line JSON `up --json` prints (DESIGN.md schema).
    pub fn summary(&self, username: &str, password: &str) -> Value {
        let env = &self.topology.function.env;
        json!({
            "edge_url": self.edge.url(),
            "function_url": self.url.url(),
            "cognito_url": self.cognito.url(),
            "gemini_url": self.gemini.url(),
            "site_url": self.site.as_ref().map(|s| format!("{}/", s.url())),
            "region": self.topology.region,
            "user_pool_id": env.get("COGNITO_USER_POOL_ID").cloned().unwrap_or_default(),
            "client_id": env.get("COGNITO_CLIENT_ID").cloned().unwrap_or_default(),
            "username": username,
            "password": password,
            "iam_users": self.topology.iam_users.iter().map(|u| json!({
                "name": u.name, "access_key_id": u.access_key_id, "secret_access_key": u.secret_access_key
            })).collect::<Vec<_>>(),
        })
    }

    /// Stops everything in request order — the edge, the Function URL, the execution environments
    /// (their processes), SSM, then the fakes — each awaited before the next.
    pub async fn shutdown(self) {
        if let Some(site) = self.site {
            site.shutdown().await;
        }
        self.edge.shutdown().await;
        self.url.shutdown().await;
        self.invoker.shutdown().await;
        self.ssm.shutdown().await;
        self.cognito.shutdown().await;
        self.gemini.shutdown().await;
    }
}

/// Where `up` caches fake-cognito's generated keys (as the fake-cognito CLI does).
pub fn default_key_cache() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("fake-cognito").join("keys"))
}
