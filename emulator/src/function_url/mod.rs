//! The Lambda Function URL: answers the `<url-id>.lambda-url.<region>.on.aws` Host the edge sends and
//! its own local address, so a developer's signer (AWS CLI, an SDK, `curl --aws-sigv4`) can call it
//! directly. `AWS_IAM`: SigV4 verification (with the body hash) and both invoke grants; `NONE`: the
//! public grants. CORS preflights are answered without invoking. The event goes to the [`Invoker`];
//! `RESPONSE_STREAM` relays the body as the function writes it, `BUFFERED` only when it ends.

pub mod auth;
pub mod errors;
pub mod event;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::runtime::{FunctionResponse, InvokeError, Invoker};
use crate::sigv4::{self, SigV4Error, VerifyOptions};
use crate::topology::Topology;
use crate::trace::{Decision, TRACE_HEADER, TraceStore};
use auth::Caller;
use errors::UrlError;

/// The 6 MB invocation payload limit (request and buffered response).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// What the URL needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0 by default in tests; the CLI uses 9001).
    pub addr: SocketAddr,
    /// The topology (URL, function, policy, users).
    pub topology: Topology,
    /// Runs the function.
    pub invoker: Invoker,
    /// Time for SigV4 skew and event timestamps.
    pub clock: Arc<dyn Clock>,
    /// Where hops are recorded (shared with the edge).
    pub traces: TraceStore,
}

struct AppState {
    topology: Topology,
    invoker: Invoker,
    clock: Arc<dyn Clock>,
    traces: TraceStore,
}

/// A running Function URL.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<()>>,
}

impl Handle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the listener.
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
    }
}

/// The router (for tests without a socket, give requests a `ConnectInfo`).
pub fn router(config: &Config) -> axum::Router {
    let state = Arc::new(AppState {
        topology: config.topology.clone(),
        invoker: config.invoker.clone(),
        clock: config.clock.clone(),
        traces: config.traces.clone(),
    });
    crate::trace::routes(config.traces.clone())
        .merge(axum::Router::new().fallback(handle).with_state(state))
}

/// Binds and serves.
pub async fn spawn(config: Config) -> std::io::Result<Handle> {
    let served = crate::listener::serve(config.addr, router(&config)).await?;
    Ok(Handle {
        addr: served.addr,
        shutdown: Some(served.shutdown),
        join: Some(served.join),
    })
}

/// Where a request's hops go, and whether the URL ends the trace (direct calls) or the edge does.
struct Tracing<'a> {
    store: &'a TraceStore,
    id: String,
    owned: bool,
}

impl Tracing<'_> {
    fn note(&self, hop: &str, decision: Decision, rule: &str, detail: &str, hint: Option<&str>) {
        self.store
            .record(&self.id, hop, decision, rule, detail, hint);
    }

    fn finish(&self, response: &mut Response) {
        if let Ok(value) = HeaderValue::from_str(&self.id) {
            response.headers_mut().insert(TRACE_HEADER, value);
        }
        if self.owned {
            self.store.finish(&self.id, response.status().as_u16());
        }
    }
}

/// The invocation failed (crash, timeout, bad runtime answer): AWS's 502, the failure in the trace.
fn invocation_failed(why: String, request_id: &str, trace: &Tracing<'_>) -> Response {
    refuse(
        UrlError::FunctionFailed(why.clone()),
        request_id,
        trace,
        "runtime",
        "invocation",
        &why,
        "read the function's log (stderr of `up`) for the error",
    )
}

fn refuse(
    error: UrlError,
    request_id: &str,
    trace: &Tracing<'_>,
    hop: &str,
    rule: &str,
    why: &str,
    hint: &str,
) -> Response {
    tracing::info!(status = error.status().as_u16(), error = %error, cause = why, "function URL refused the request");
    trace.note(hop, Decision::Refuse, rule, why, Some(hint));
    let mut response = error.response(request_id);
    trace.finish(&mut response);
    response
}

async fn handle(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let incoming_trace = parts
        .headers
        .get(TRACE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let trace = Tracing {
        store: &state.traces,
        owned: incoming_trace.is_none(),
        id: incoming_trace.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    state
        .traces
        .begin(&trace.id, &format!("{} {}", parts.method, parts.uri.path()));
    let headers: Vec<(String, String)> = crate::listener::header_list(&parts.headers)
        .into_iter()
        .filter(|(name, _)| name != TRACE_HEADER)
        .collect();
    let body = match axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return refuse(
                UrlError::PayloadTooLarge,
                &request_id,
                &trace,
                "url_auth",
                "payload limit",
                "request body over 6 MB",
                "send at most 6 MB",
            );
        }
    };
    let topology = &state.topology;
    if let Some(mut preflight) =
        cors_preflight(topology, &parts.method, &parts.headers, &request_id)
    {
        trace.note(
            "url_auth",
            Decision::Pass,
            "CORS preflight",
            "answered by the function URL; the function is not invoked",
            None,
        );
        trace.finish(&mut preflight);
        return preflight;
    }
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let now = state.clock.now();
    let caller = if topology.function_url.auth_type == "AWS_IAM" {
        let options = VerifyOptions {
            region: topology.region.clone(),
            service: "lambda".into(),
            normalize_path: true,
            max_skew: Duration::from_secs(300),
            allow_unsigned_payload: false,
        };
        let verified = sigv4::verify(
            &sigv4::verify::Request {
                method: parts.method.as_str(),
                path: path.as_bytes(),
                query: &query,
                headers: &headers,
                body: &body,
            },
            |akid| auth::lookup(topology, akid),
            &options,
            now,
        );
        match verified {
            Ok(verified) => {
                let caller = auth::caller(topology, &verified.access_key_id, &headers);
                trace.note(
                    "url_auth",
                    Decision::Pass,
                    "AuthType AWS_IAM: SigV4",
                    &format!(
                        "signature by {} verified, body hash matches",
                        describe(&caller)
                    ),
                    None,
                );
                caller
            }
            Err(SigV4Error::Missing) => {
                return refuse(
                    UrlError::Unsigned,
                    &request_id,
                    &trace,
                    "url_auth",
                    "AuthType AWS_IAM: SigV4",
                    "the request carries no SigV4 signature",
                    "call through CloudFront (OAC signs), or sign with SigV4 for service \"lambda\" (e.g. curl --aws-sigv4 \"aws:amz:us-east-1:lambda\" with an IAM user's keys)",
                );
            }
            Err(SigV4Error::InvalidToken) => {
                return refuse(
                    UrlError::UnrecognizedClient,
                    &request_id,
                    &trace,
                    "url_auth",
                    "AuthType AWS_IAM: SigV4",
                    "unknown access key or session token",
                    "sign with the keys of an IAM user in the topology (local-admin)",
                );
            }
            Err(failure @ SigV4Error::PayloadMismatch) => {
                let why = failure.to_string();
                let hint = "send x-amz-content-sha256: <hex SHA-256 of the exact body> (Lambda does not accept unsigned payloads; CloudFront signs with the value the viewer sends)";
                return refuse(
                    UrlError::InvalidSignature(why),
                    &request_id,
                    &trace,
                    "url_auth",
                    "AuthType AWS_IAM: body hash",
                    "x-amz-content-sha256 is missing, UNSIGNED-PAYLOAD, or not the SHA-256 of the body",
                    hint,
                );
            }
            Err(other) => {
                let why = other.to_string();
                let hint = if headers
                    .iter()
                    .any(|(n, v)| n == "host" && !v.contains(".lambda-url."))
                {
                    "the Host header is not the function URL's: an origin request policy that forwards Host (Managed-AllViewer) breaks the OAC signature; use Managed-AllViewerExceptHostHeader"
                } else {
                    "re-sign the request: the signature, date or a signed header does not match"
                };
                return refuse(
                    UrlError::InvalidSignature(why.clone()),
                    &request_id,
                    &trace,
                    "url_auth",
                    "AuthType AWS_IAM: SigV4",
                    &why,
                    hint,
                );
            }
        }
    } else {
        trace.note(
            "url_auth",
            Decision::Pass,
            "AuthType NONE",
            "no signature required",
            None,
        );
        Caller::Anonymous
    };
    if let Err(why) = auth::authorize(topology, &caller) {
        let hint = "grant both lambda:InvokeFunctionUrl and lambda:InvokeFunction to cloudfront.amazonaws.com with AWS:SourceArn = this distribution's ARN (or give the IAM user an identity policy)";
        return refuse(
            UrlError::AccessDenied(why.clone()),
            &request_id,
            &trace,
            "policy",
            "resource-based policy",
            &why,
            hint,
        );
    }
    trace.note(
        "policy",
        Decision::Pass,
        "resource-based policy",
        &format!("{} may invoke (both actions)", describe(&caller)),
        None,
    );
    let incoming = event::Incoming {
        method: parts.method.as_str(),
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
        source_ip: &peer.ip().to_string(),
    };
    let event = event::build(topology, &incoming, &caller, &request_id, now);
    let invocation = match state
        .invoker
        .invoke_with_id(request_id.clone(), Bytes::from(event.to_string()))
        .await
    {
        Ok(invocation) => invocation,
        Err(InvokeError::Throttled) => {
            return refuse(
                UrlError::Throttled,
                &request_id,
                &trace,
                "runtime",
                "reserved concurrency",
                &format!(
                    "{} invocations already running",
                    topology.concurrency_limit()
                ),
                "retry later, or raise the function's reserved concurrency",
            );
        }
        Err(failure) => return invocation_failed(failure.to_string(), &request_id, &trace),
    };
    trace.note(
        "runtime",
        Decision::Pass,
        "execution environment",
        &format!(
            "request {request_id} ({})",
            if invocation.cold_start {
                "cold start"
            } else {
                "warm"
            }
        ),
        None,
    );
    let origin = parts
        .headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let buffered = topology.function_url.invoke_mode == "BUFFERED";
    let mut response = match invocation.response {
        FunctionResponse::Buffered {
            status,
            headers,
            cookies,
            body,
        } => {
            note_function(&trace, status, &body);
            respond(status, &headers, &cookies, Body::from(body))
        }
        FunctionResponse::Streaming { prelude, body } if buffered || prelude.status >= 400 => {
            // BUFFERED: nothing reaches the caller until the function has finished. Error answers are
            // small JSON bodies, read whole so the trace can say what the function said.
            let mut all = Vec::new();
            let mut stream = body;
            while let Some(item) = stream.next().await {
                match item {
                    Ok(bytes) if all.len() + bytes.len() <= MAX_PAYLOAD_BYTES => {
                        all.extend_from_slice(&bytes)
                    }
                    Ok(_) => {
                        return refuse(
                            UrlError::FunctionFailed("response over 6 MB".into()),
                            &request_id,
                            &trace,
                            "runtime",
                            "payload limit",
                            "buffered response over 6 MB",
                            "stream the response (RESPONSE_STREAM)",
                        );
                    }
                    Err(fault) => {
                        return invocation_failed(fault.to_string(), &request_id, &trace);
                    }
                }
            }
            note_function(&trace, prelude.status, &all);
            respond(
                prelude.status,
                &prelude.headers,
                &prelude.cookies,
                Body::from(all),
            )
        }
        FunctionResponse::Streaming { prelude, body } => {
            trace.note(
                "function",
                Decision::Pass,
                "response",
                &format!("{} streaming", prelude.status),
                None,
            );
            let (cut_traces, cut_id) = (trace.store.clone(), trace.id.clone());
            let stream = body.map(move |item| {
                item.map_err(|fault| {
                    tracing::info!(%fault, "function URL cut the stream");
                    cut_traces.record(
                        &cut_id,
                        "function_url",
                        Decision::Refuse,
                        "response stream",
                        &format!("the function's response stream broke off: {fault}"),
                        None,
                    );
                    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, fault.to_string())
                })
            });
            let mut response = respond(
                prelude.status,
                &prelude.headers,
                &prelude.cookies,
                Body::from_stream(stream),
            );
            if !response.headers().contains_key("content-type") {
                response.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("application/octet-stream"),
                );
            }
            response
        }
    };
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Ok(trace) = HeaderValue::from_str(&crate::runtime::trace_id().to_ascii_lowercase()) {
        headers.insert("x-amzn-trace-id", trace);
    }
    add_cors(topology, origin.as_deref(), headers);
    trace.finish(&mut response);
    response
}

fn describe(caller: &Caller) -> String {
    match caller {
        Caller::Anonymous => "an anonymous caller".into(),
        Caller::CloudFront { source_arn, .. } => format!(
            "CloudFront OAC (SourceArn {})",
            source_arn.as_deref().unwrap_or("none")
        ),
        Caller::User { name, .. } => format!("IAM user {name}"),
    }
}

/// Records what the function answered; a 4xx/5xx is the function's refusal, with its message.
fn note_function(trace: &Tracing<'_>, status: u16, body: &[u8]) {
    if status < 400 {
        trace.note(
            "function",
            Decision::Pass,
            "response",
            &status.to_string(),
            None,
        );
        return;
    }
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let hint = match status {
        401 => Some(
            "the function reads the Cognito token from x-chatbot-authorization: Bearer <access token> (not Authorization)",
        ),
        _ => None,
    };
    trace.note(
        "function",
        Decision::Refuse,
        &format!("chatbot-query answered {status}"),
        &message,
        hint,
    );
}

/// A response from the function's status, headers and cookies; `Content-Length` is remapped, as the
/// URL streams with chunked encoding.
fn respond(status: u16, headers: &[(String, String)], cookies: &[String], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let out = response.headers_mut();
    for (name, value) in headers {
        let name = if name.eq_ignore_ascii_case("content-length") {
            "x-amzn-remapped-content-length".to_owned()
        } else {
            name.to_ascii_lowercase()
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.append(name, value);
        }
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            out.append("set-cookie", value);
        }
    }
    response
}

fn origin_allowed(topology: &Topology, origin: &str) -> bool {
    topology
        .function_url
        .cors
        .as_ref()
        .is_some_and(|cors| cors.allow_origins.iter().any(|o| o == "*" || o == origin))
}

/// A CORS preflight, answered by the URL itself when CORS is configured (the function is not invoked).
/// UNSURE whether AWS answers an unsigned preflight before authentication; it does here, which is what
/// a browser needs and what matters behind OAC (where the preflight is signed anyway).
fn cors_preflight(
    topology: &Topology,
    method: &Method,
    headers: &HeaderMap,
    request_id: &str,
) -> Option<Response> {
    let cors = topology.function_url.cors.as_ref()?;
    if method != Method::OPTIONS || !headers.contains_key("access-control-request-method") {
        return None;
    }
    let origin = headers.get("origin")?.to_str().ok()?;
    let mut response = (StatusCode::OK, "").into_response();
    let out = response.headers_mut();
    out.insert("content-type", HeaderValue::from_static("application/json"));
    out.insert("vary", HeaderValue::from_static("Origin"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        out.insert("x-amzn-requestid", id);
    }
    if origin_allowed(topology, origin) {
        let set = |out: &mut HeaderMap, name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                out.insert(name, value);
            }
        };
        set(out, "access-control-allow-origin", origin.to_owned());
        if !cors.allow_headers.is_empty() {
            set(
                out,
                "access-control-allow-headers",
                cors.allow_headers.join(",").to_ascii_lowercase(),
            );
        }
        if !cors.allow_methods.is_empty() {
            set(
                out,
                "access-control-allow-methods",
                cors.allow_methods.join(","),
            );
        }
        if cors.allow_credentials {
            set(out, "access-control-allow-credentials", "true".into());
        }
        if cors.max_age > 0 {
            set(out, "access-control-max-age", cors.max_age.to_string());
        }
    }
    Some(response)
}

/// On normal responses the URL adds the CORS headers whatever the function sent.
fn add_cors(topology: &Topology, origin: Option<&str>, headers: &mut HeaderMap) {
    let (Some(cors), Some(origin)) = (topology.function_url.cors.as_ref(), origin) else {
        return;
    };
    if !origin_allowed(topology, origin) {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert("access-control-allow-origin", value);
    }
    headers.insert("vary", HeaderValue::from_static("Origin"));
    if cors.allow_credentials {
        headers.insert(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
    }
    if !cors.expose_headers.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&cors.expose_headers.join(",")) {
            headers.insert("access-control-expose-headers", value);
        }
    }
}
