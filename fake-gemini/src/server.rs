//! The HTTP(S) server: an accept loop that keeps each connection's socket (so a script can reset it)
//! and optionally speaks TLS; the router for the Gemini API and the `/__fake/` controls; [`spawn`]; and
//! the [`Handle`] with the wiremock-style verification.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

use crate::config::Config;
use crate::control::{
    ConnectionControl, GateState, Gates, Observations, REDACTED, RecordedRequest, StreamCounts,
};
use crate::errors::GeminiError;
use crate::play::{self, Framing, Plan, Stage};
use crate::request;
use crate::scenario::{MatchInput, Mounted, Reply, Scenario, default_scenario};
use crate::tls::{self, LocalTls, TlsError};
use crate::wire::{self, ResponseBuilder};

/// Largest request body read (Gemini accepts about 20 MB inline; scripts never need more).
const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

/// Why the fake could not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A scenario's regex does not compile.
    #[error("scenario {name:?}: {source}")]
    Regex {
        /// The scenario.
        name: String,
        /// Why.
        source: regex::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Shared by every request.
#[derive(Debug)]
pub(crate) struct AppState {
    api_key: String,
    models: Vec<String>,
    scenarios: Mutex<Vec<Mounted>>,
    default_scenario: Option<Scenario>,
    calls: Mutex<u64>,
    gates: Arc<Gates>,
    observations: Arc<Observations>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/{version}/models/{target}", post(generate))
        .route("/__fake/requests", get(requests_http))
        .route("/__fake/streams", get(streams_http))
        .route("/__fake/scenarios", post(mount_http).delete(reset_http))
        .route("/__fake/gates/{name}", get(gate_http))
        .route("/__fake/gates/{name}/release", post(release_http))
        .route("/__fake/gates/{name}/close", post(close_gate_http))
        .with_state(state)
}

/// Binds, prepares TLS if asked, and serves until the handle is shut down or dropped.
pub async fn spawn(config: Config) -> Result<Handle, SpawnError> {
    let mut mounted = Vec::new();
    for scenario in config.scenarios {
        let name = scenario.name.clone();
        mounted.push(Mounted::new(scenario).map_err(|source| SpawnError::Regex { name, source })?);
    }
    let tls = config
        .tls_ca_path
        .as_deref()
        .map(tls::generate)
        .transpose()?;
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
    let state = Arc::new(AppState {
        api_key: config.api_key,
        models: config.models,
        scenarios: Mutex::new(mounted),
        default_scenario: config.default_scenario.then(default_scenario),
        calls: Mutex::new(0),
        gates: Arc::default(),
        observations: Arc::default(),
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (shutdown_tx, shutdown_rx) = oneshot::channel();
    let limits = Limits {
        header_read_timeout: config.header_read_timeout,
        max_connections: config.max_connections,
    };
    let join = tokio::spawn(accept_loop(
        listener,
        router(state.clone()),
        tls.clone(),
        limits,
        shutdown_rx,
    ));
    Ok(Handle {
        addr,
        uri: format!("{scheme}://{}", reachable(addr)),
        tls,
        state,
        shutdown: Some(shutdown_tx),
        join: Some(join),
    })
}

/// What bounds the listener.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read_timeout: std::time::Duration,
    max_connections: usize,
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<LocalTls>,
    limits: Limits,
    mut shutdown: oneshot::Receiver<()>,
) {
    let acceptor = tls.map(|tls| tokio_rustls::TlsAcceptor::from(tls.server_config));
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!("over {} connections: shed one", limits.max_connections);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let control = Arc::new(ConnectionControl::new(&stream));
        let app = app.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let mut request = request.map(Body::new);
                    request.extensions_mut().insert(control.clone());
                    app.clone().oneshot(request)
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let served = match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream))
                        .await
                        .unwrap_or_else(|_| Err(std::io::Error::other("TLS handshake timed out")))
                    {
                        Ok(tls) => {
                            builder
                                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                                .await
                        }
                        Err(error) => {
                            tracing::debug!(%error, "TLS handshake failed");
                            return;
                        }
                    }
                }
                None => {
                    builder
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    connections.shutdown().await;
}

/// The target segment: `gemini-2.5-flash:streamGenerateContent`.
fn split_target(target: &str) -> Option<(&str, &str)> {
    target.rsplit_once(':')
}

fn api_key(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "key")
                .map(|(_, v)| v.clone())
        })
}

fn redacted_query(uri: &Uri) -> Option<String> {
    uri.query().map(|query| {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some(("key", _)) => format!("key={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// An error answer. `framing` is the request's: in the JSON-array mode (`streamGenerateContent` without
/// `alt=sse`) Google wraps the error object in the array too — `[{\n  "error": {…}\n}\n]`
/// (reference/gemini.md §3: continuedev/continue#8516's raw invalid-key body, gemdn's `EXAMPLE_ERROR`).
fn error_response(error: &GeminiError, event_stream: bool, framing: Option<Framing>) -> Response {
    let status = StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if event_stream {
        "text/event-stream"
    } else {
        "application/json; charset=UTF-8"
    };
    let body = match framing {
        Some(Framing::JsonArray) => format!("[{}\n]", error.body().trim_end()),
        Some(Framing::Sse) | None => error.body(),
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    add_google_headers(response.headers_mut());
    response
}

fn add_google_headers(headers: &mut HeaderMap) {
    for vary in ["Origin", "X-Origin", "Referer"] {
        headers.append(header::VARY, HeaderValue::from_static(vary));
    }
    headers.insert(
        "server",
        HeaderValue::from_static("scaffolding on HTTPServer2"),
    );
    headers.insert("x-xss-protection", HeaderValue::from_static("0"));
    headers.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
}

async fn generate(
    State(state): State<Arc<AppState>>,
    Path((version, target)): Path<(String, String)>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let connection = parts.extensions.get::<Arc<ConnectionControl>>().cloned();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    let recorded = crate::control::Entry {
        index: 0,
        body_len: 0,
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: redacted_query(&uri),
        headers: headers
            .iter()
            .map(|(name, value)| {
                let value = if name == "x-goog-api-key" {
                    REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: bytes.clone(),
        scenario: None,
    };
    let index = state.observations.record(recorded);

    let Some((model, operation)) = split_target(&target) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let framing = match (
        operation,
        query
            .iter()
            .find(|(k, _)| k == "alt")
            .map(|(_, v)| v.as_str()),
    ) {
        ("streamGenerateContent", Some("sse")) => Some(Framing::Sse),
        ("streamGenerateContent", None | Some("json")) => Some(Framing::JsonArray),
        ("generateContent", _) => None,
        _ => return (StatusCode::NOT_FOUND, "Not Found").into_response(),
    };
    if version != "v1beta" && version != "v1" {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let event_stream = framing == Some(Framing::Sse);
    match api_key(&headers, &query) {
        None => return error_response(&GeminiError::Unregistered, false, framing),
        Some(key) if key.trim() != state.api_key => {
            return error_response(&GeminiError::ApiKeyInvalid { key }, false, framing);
        }
        Some(_) => {}
    }
    if !state.models.iter().any(|m| m == model) {
        let error = GeminiError::ModelNotFound {
            model: format!("models/{model}"),
        };
        return error_response(&error, false, framing);
    }
    let request = match request::parse(&bytes) {
        Ok(request) => request,
        Err(error) => return error_response(&error, false, framing),
    };
    let call = {
        let mut calls = lock(&state.calls);
        *calls += 1;
        *calls
    };
    let Some(scenario) = choose(&state, model, &request.last_user_text, &headers, call) else {
        let error = GeminiError::Other {
            code: 404,
            status: "NOT_FOUND".into(),
            message: format!(
                "fake-gemini: no scenario matches call {call} (model {model}, last user text {:?})",
                request.last_user_text
            ),
        };
        return error_response(&error, false, framing);
    };
    state.observations.set_scenario(index, &scenario.name);
    tracing::debug!(scenario = %scenario.name, call, model, "answering");

    let builder = ResponseBuilder::new(model, &request.prompt_text).thinking(request.thinking);
    match (&scenario.reply, framing) {
        (
            Reply::Error {
                status,
                retry_delay,
                event_stream_content_type,
            },
            _,
        ) => {
            let error = match (status, retry_delay) {
                (429, Some(delay)) => GeminiError::ResourceExhausted {
                    retry_delay: delay.clone(),
                    model: model.to_owned(),
                },
                _ => GeminiError::for_status(*status, model),
            };
            error_response(&error, *event_stream_content_type && event_stream, framing)
        }
        (Reply::Blocked { reason }, Some(framing)) => {
            let event = builder.blocked(reason);
            let body = match framing {
                Framing::Sse => wire::sse_event(&event),
                Framing::JsonArray => {
                    format!("{}{}", wire::array_element(&event, true), wire::ARRAY_END)
                }
            };
            stream_response(framing, Body::from(body))
        }
        (Reply::Blocked { reason }, None) => unary_response(&builder.blocked(reason)),
        (reply, Some(framing)) => {
            let plan = Plan::for_reply(reply, &request).expect("streaming replies have a plan");
            let (tx, rx) = mpsc::channel(1);
            let stage = Stage {
                gates: state.gates.clone(),
                observations: state.observations.clone(),
                connection,
            };
            tokio::spawn(play::play(plan, builder, framing, tx, stage));
            stream_response(
                framing,
                Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
            )
        }
        (reply, None) => unary(reply, &request, builder),
    }
}

/// `generateContent`: the whole scripted answer in one body (delays, gates and transport faults do not
/// apply; a mid-stream error ending becomes that HTTP error).
fn unary(
    reply: &Reply,
    request: &request::GenerateRequest,
    mut builder: ResponseBuilder,
) -> Response {
    let plan = Plan::for_reply(reply, request).expect("streaming replies have a plan");
    if let crate::scenario::End::Error { status } = plan.end {
        return error_response(&GeminiError::for_status(status, ""), false, None);
    }
    let mut values: Vec<Value> = builder.thought_chunk().into_iter().collect();
    let count = plan.chunks.len();
    for (i, chunk) in plan.chunks.iter().enumerate() {
        let last_finish = match (&plan.end, i + 1 == count) {
            (crate::scenario::End::Finish { reason, message }, true) => {
                Some((reason.as_str(), message.as_deref()))
            }
            _ => None,
        };
        values.extend(play::chunk_values(&mut builder, chunk, last_finish));
    }
    if count == 0 {
        values.extend(builder.final_chunks("", "STOP", None));
    }
    unary_response(&wire::unary(&values))
}

fn unary_response(value: &Value) -> Response {
    let mut response = (StatusCode::OK, crate::json::pretty(value)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    add_google_headers(response.headers_mut());
    response
}

fn stream_response(framing: Framing, body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    let content_type = match framing {
        Framing::Sse => "text/event-stream",
        Framing::JsonArray => "application/json; charset=UTF-8",
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    add_google_headers(headers);
    response
}

fn choose(
    state: &AppState,
    model: &str,
    last_user_text: &str,
    headers: &HeaderMap,
    call: u64,
) -> Option<Scenario> {
    let input = MatchInput {
        model,
        last_user_text,
        headers,
        call,
    };
    let mut scenarios = lock(&state.scenarios);
    if let Some(mounted) = scenarios.iter_mut().rev().find(|m| m.matches(&input)) {
        if let Some(remaining) = &mut mounted.remaining {
            *remaining -= 1;
        }
        return Some(mounted.scenario.clone());
    }
    state.default_scenario.clone()
}

async fn requests_http(State(state): State<Arc<AppState>>) -> Response {
    let mut response = axum::Json(state.observations.requests()).into_response();
    let (_, dropped) = state.observations.counts();
    response
        .headers_mut()
        .insert("x-fake-dropped-requests", HeaderValue::from(dropped));
    response
}

async fn streams_http(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(*state.observations.streams.borrow()).into_response()
}

async fn mount_http(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let scenario: Scenario = match serde_json::from_slice(&body) {
        Ok(scenario) => scenario,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": e.to_string()})),
            )
                .into_response();
        }
    };
    match Mounted::new(scenario) {
        Ok(mounted) => {
            lock(&state.scenarios).push(mounted);
            StatusCode::CREATED.into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn reset_http(State(state): State<Arc<AppState>>) -> StatusCode {
    lock(&state.scenarios).clear();
    StatusCode::NO_CONTENT
}

async fn gate_http(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    axum::Json(state.gates.state(&name)).into_response()
}

async fn release_http(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> StatusCode {
    state.gates.release(&name);
    StatusCode::NO_CONTENT
}

async fn close_gate_http(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> StatusCode {
    state.gates.close(&name);
    StatusCode::NO_CONTENT
}

/// How long [`Handle::wait_for_gate`] and [`Handle::wait_for_streams`] wait before failing.
pub const WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A running fake. Dropping it stops the server and checks the expectations set with
/// [`Handle::expect`] (panicking with the received requests if they are not met, unless the thread is
/// already panicking).
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    uri: String,
    tls: Option<LocalTls>,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl Handle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port` (or `https://` with TLS): the `GEMINI_BASE_URL`.
    pub fn url(&self) -> &str {
        &self.uri
    }

    /// The CA a client must trust, when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|tls| tls.ca_pem.as_str())
    }

    /// Adds a scenario; it takes precedence over those mounted before it.
    ///
    /// # Panics
    /// If its regex does not compile (a test-setup error, reported at once, as wiremock does).
    pub fn mount(&self, scenario: Scenario) {
        let mounted = Mounted::new(scenario).expect("scenario regex compiles");
        lock(&self.state.scenarios).push(mounted);
    }

    /// Removes every mounted scenario.
    pub fn reset(&self) {
        lock(&self.state.scenarios).clear();
    }

    /// Every request received so far, API key redacted.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.state.observations.requests()
    }

    /// How many requests arrived in all, and how many of those the bounded journal dropped
    /// ([`JOURNAL_MAX_REQUESTS`](crate::JOURNAL_MAX_REQUESTS) requests, [`JOURNAL_MAX_BYTES`](crate::JOURNAL_MAX_BYTES) of bodies).
    pub fn request_counts(&self) -> (u64, u64) {
        self.state.observations.counts()
    }

    /// Expects exactly `count` requests by the time the handle drops.
    pub fn expect(&self, count: usize) {
        *lock(&self.state.observations.expected) = Some(count);
    }

    /// Opens a gate (it stays open).
    pub fn release(&self, gate: &str) {
        self.state.gates.release(gate);
    }

    /// Closes a gate again.
    pub fn close_gate(&self, gate: &str) {
        self.state.gates.close(gate);
    }

    /// A gate's state.
    pub fn gate(&self, gate: &str) -> GateState {
        self.state.gates.state(gate)
    }

    /// Waits until `count` streams have arrived at the gate.
    ///
    /// # Panics
    /// After [`WAIT_LIMIT`] without it, naming the gate and its state: a test fails instead of
    /// hanging.
    pub async fn wait_for_gate(&self, gate: &str, count: u64) {
        let reached = self.state.gates.wait_reached(gate, count);
        if tokio::time::timeout(WAIT_LIMIT, reached).await.is_err() {
            panic!(
                "fake-gemini: gate {gate:?} not reached by {count} stream(s) within {WAIT_LIMIT:?} (now {:?})",
                self.gate(gate)
            );
        }
    }

    /// How streams have ended so far.
    pub fn stream_counts(&self) -> StreamCounts {
        *self.state.observations.streams.borrow()
    }

    /// Waits until the stream counts satisfy `condition` (e.g. a stream was cancelled).
    ///
    /// # Panics
    /// After [`WAIT_LIMIT`] without it, with the counts: a test fails instead of hanging.
    pub async fn wait_for_streams(&self, condition: impl Fn(&StreamCounts) -> bool) {
        let met = self.state.observations.wait_streams(condition);
        if tokio::time::timeout(WAIT_LIMIT, met).await.is_err() {
            panic!(
                "fake-gemini: the stream counts did not reach the condition within {WAIT_LIMIT:?} (now {:?})",
                self.stream_counts()
            );
        }
    }

    /// Stops accepting, closes open connections, and waits for the server task.
    pub async fn shutdown(mut self) {
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
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let expected = *lock(&self.state.observations.expected);
        if let Some(expected) = expected {
            let requests = self.state.observations.requests();
            let (total, _) = self.state.observations.counts();
            if total != expected as u64 {
                let listing: Vec<String> = requests
                    .iter()
                    .map(|r| format!("  {} {} ({:?})", r.method, r.path, r.scenario))
                    .collect();
                let message = format!(
                    "fake-gemini expected {expected} request(s), received {total}:\n{}",
                    listing.join("\n")
                );
                if std::thread::panicking() {
                    tracing::error!("{message}");
                } else {
                    panic!("{message}");
                }
            }
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
