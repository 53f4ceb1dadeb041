//! The HTTP server: the router, [`spawn`] on a configured address (port 0 by default), and the
//! [`Handle`] a test or the CLI keeps.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::directory::Directory;
use crate::hooks::{self, HookError, JwksFault, MintRequest};
use crate::keys::{KeyError, SigningKey};

/// Why the fake could not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The configuration breaks a Cognito rule.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A signing key could not be loaded or generated.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Shared by every request.
#[derive(Debug)]
pub(crate) struct AppState {
    directory: Mutex<Directory>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) jwks_fault: watch::Sender<JwksFault>,
    preflights: Mutex<std::collections::VecDeque<crate::cors::Preflight>>,
}

/// How many preflights the fake remembers for tests.
const PREFLIGHTS_KEPT: usize = 100;

impl AppState {
    pub(crate) fn record_preflight(&self, preflight: crate::cors::Preflight) {
        let mut kept = self.preflights.lock().unwrap_or_else(|e| e.into_inner());
        kept.push_back(preflight);
        while kept.len() > PREFLIGHTS_KEPT {
            kept.pop_front();
        }
    }

    pub(crate) fn preflights(&self) -> Vec<crate::cors::Preflight> {
        let kept = self.preflights.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().cloned().collect()
    }

    pub(crate) fn directory(&self) -> MutexGuard<'_, Directory> {
        // A panic while holding the lock cannot leave the directory half-written in a way that matters
        // to a test fake; keep serving.
        self.directory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The routes (the server serves them; private: every test of the fake goes through a socket).
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", post(crate::api::handle))
        .route(
            "/{pool_id}/.well-known/jwks.json",
            get(crate::discovery::jwks),
        )
        .route(
            "/{pool_id}/.well-known/openid-configuration",
            get(crate::discovery::openid_configuration),
        )
        .route("/__fake/{pool_id}/tokens", post(hooks::mint_http))
        .route("/__fake/{pool_id}/rotate-keys", post(hooks::rotate_http))
        .route(
            "/__fake/jwks-fault",
            axum::routing::put(hooks::jwks_fault_http),
        )
        .route(
            "/__fake/{pool_id}/jwks-fetches",
            get(hooks::jwks_fetches_http),
        )
        .route(
            "/__fake/{pool_id}/confirmation-code/{username}",
            get(hooks::confirmation_code_http),
        )
        .route("/__fake/preflights", get(hooks::preflights_http))
        .layer(axum::middleware::map_response(add_request_id))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::cors::layer,
        ))
        .with_state(state)
}

async fn add_request_id(mut response: Response) -> Response {
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

/// Serves `app` until `shutdown` fires: HTTP/1.1, a header-read timeout (silent, half-sent and idle
/// keep-alive connections are closed), at most `max_connections` open (more are shed at accept), and
/// in-flight requests finished on shutdown.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    (header_read_timeout, max_connections): (std::time::Duration, usize),
    mut shutdown: oneshot::Receiver<()>,
) {
    use tower::ServiceExt as _;
    let permits = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!("over {max_connections} connections: shed one");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: axum::http::Request<_>| {
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        connections.spawn(async move {
            let _ = watched.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The entry point: `FakeCognito::spawn(config)`.
#[derive(Debug)]
pub struct FakeCognito;

impl FakeCognito {
    /// Loads the keys, binds `config.addr` and serves until the handle is shut down or dropped.
    pub async fn spawn(config: Config) -> Result<Handle, SpawnError> {
        spawn(config).await
    }
}

/// See [`FakeCognito::spawn`].
pub async fn spawn(config: Config) -> Result<Handle, SpawnError> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| SpawnError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SpawnError::Bind {
        addr: config.addr,
        source,
    })?;
    let base_url = format!("http://{}", reachable(addr));
    let directory = {
        let (config, base_url) = (config.clone(), base_url.clone());
        tokio::task::spawn_blocking(move || Directory::build(&config, &base_url))
            .await
            .map_err(|e| KeyError::Rsa(format!("key loading task failed: {e}")))??
    };
    let state = Arc::new(AppState {
        directory: Mutex::new(directory),
        clock: config.clock.clone(),
        jwks_fault: watch::Sender::new(JwksFault::Healthy),
        preflights: Mutex::default(),
    });
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let app = router(state.clone());
    let limits = (config.header_read_timeout, config.max_connections);
    let join = tokio::spawn(accept_loop(listener, app, limits, shutdown_rx));
    Ok(Handle {
        addr,
        base_url,
        state,
        shutdown: Some(shutdown_tx),
        join: Some(join),
    })
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    base_url: String,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl Handle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`: the endpoint to give an SDK or the AWS CLI (`--endpoint-url`).
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// The `iss` of the pool's tokens.
    pub fn issuer(&self, pool_id: &str) -> Option<String> {
        self.state
            .directory()
            .pool(pool_id)
            .map(|p| p.issuer.clone())
    }

    /// Where this fake serves the pool's JWKS (always on the fake's own address, whatever the issuer).
    pub fn jwks_url(&self, pool_id: &str) -> String {
        format!("{}/{pool_id}/.well-known/jwks.json", self.base_url)
    }

    /// The pool's JWKS document, as served now.
    pub fn jwks(&self, pool_id: &str) -> Option<Value> {
        let now = self.state.clock.now_epoch_seconds();
        self.state.directory().pool(pool_id).map(|p| p.jwks(now))
    }

    /// Mints a token as [`MintRequest`] describes (test hook).
    pub fn mint(&self, pool_id: &str, request: &MintRequest) -> Result<String, HookError> {
        let now = self.state.clock.now_epoch_seconds();
        let directory = self.state.directory();
        let pool = directory
            .pool(pool_id)
            .ok_or_else(|| HookError::UnknownPool(pool_id.to_owned()))?;
        hooks::mint(pool, request, now)
    }

    /// Rotates the pool's keys to freshly generated ones; the old keys stay in the JWKS for `grace`
    /// (by the injected clock). Returns the new kids (ID, access).
    pub fn rotate_keys(
        &self,
        pool_id: &str,
        grace: std::time::Duration,
    ) -> Result<(String, String), HookError> {
        let generate = || SigningKey::generate().map_err(|e| HookError::Invalid(e.to_string()));
        self.rotate_keys_to(pool_id, generate()?, generate()?, grace)
    }

    /// Rotates the pool's keys to the given ones (fast: no key generation).
    pub fn rotate_keys_to(
        &self,
        pool_id: &str,
        id_key: SigningKey,
        access_key: SigningKey,
        grace: std::time::Duration,
    ) -> Result<(String, String), HookError> {
        hooks::rotate(&self.state, pool_id, id_key, access_key, grace.as_secs())
    }

    /// Makes the JWKS endpoint fail, stall, or recover.
    pub fn set_jwks_fault(&self, fault: JwksFault) {
        self.state.jwks_fault.send_replace(fault);
    }

    /// How many JWKS requests the pool has had (faulted ones included).
    pub fn jwks_fetch_count(&self, pool_id: &str) -> u64 {
        self.state
            .directory()
            .pool(pool_id)
            .map_or(0, |p| p.jwks_fetches)
    }

    /// The ids of the pools served.
    pub fn pool_ids(&self) -> Vec<String> {
        self.state
            .directory()
            .pool_ids()
            .map(str::to_owned)
            .collect()
    }

    /// The confirmation code SignUp "sent" to a user, if one is pending.
    pub fn confirmation_code(&self, pool_id: &str, username: &str) -> Option<String> {
        self.state
            .directory()
            .pool(pool_id)
            .and_then(|p| p.confirmation_code(username))
    }

    /// The CORS preflights answered so far (the last 100): what browsers asked for.
    pub fn preflights(&self) -> Vec<crate::cors::Preflight> {
        self.state.preflights()
    }

    /// The `sub` of a user.
    pub fn user_sub(&self, pool_id: &str, username: &str) -> Option<String> {
        self.state
            .directory()
            .pool(pool_id)
            .and_then(|p| p.user_sub(username))
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        // A stalled JWKS request would hold graceful shutdown open forever.
        self.state.jwks_fault.send_replace(JwksFault::Healthy);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            let _ = join.await;
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.state.jwks_fault.send_replace(JwksFault::Healthy);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Where a client on this host reaches a listener bound to `addr`: a wildcard bind (`0.0.0.0`, `::`,
/// as in a container) is reached on loopback, so URLs, issuers and CORS origins name a real host.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}
