//! The Lambda Function URL. It answers the `<url-id>.lambda-url.<region>.on.aws` Host the edge sends
//! and its own local address, so a developer's signer (AWS CLI, an SDK, `curl --aws-sigv4`) can call
//! it directly. A request goes through these steps, each its own module:
//!
//! 1. [`receive`] — the body, within the 6 MB invocation payload limit;
//! 2. [`cors`] — a preflight is answered here, without invoking, when CORS is configured;
//! 3. [`verify`] — `AWS_IAM`: the SigV4 signature and the body hash; `NONE`: anyone;
//! 4. [`auth`] — identity and resource-based policy, for both invoke actions;
//! 5. [`event`] — the payload v2.0 event;
//! 6. [`invoke`] — an execution environment runs it (429 over the reserved concurrency, 502 when the
//!    invocation fails);
//! 7. [`respond`] — `RESPONSE_STREAM` relays the body as the function writes it, `BUFFERED` only
//!    when it ends; CORS headers are added for allowed origins.
//!
//! A refusal is traced, logged and rendered through the one table of [`errors`] in [`finish`].

pub mod auth;
pub mod cors;
pub mod errors;
pub mod event;
pub mod invoke;
pub mod receive;
pub mod respond;
pub mod verify;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderValue;
use axum::response::Response;

use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::runtime::Invoker;
use crate::server::{Limits, Served};
use crate::topology::Topology;
use crate::trace::{RequestTrace, TRACE_HEADER, TraceStore};
use errors::UrlError;

pub use receive::MAX_PAYLOAD_BYTES;

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
    /// The listener's limits.
    pub limits: Limits,
}

/// A refusal at the Function URL: AWS's bytes.
pub type UrlRefusal = Refusal<UrlError>;

/// One request's context.
#[derive(Debug)]
pub struct Context<'a> {
    /// The URL's configuration.
    pub config: &'a Config,
    /// The caller's address.
    pub peer: SocketAddr,
    /// `x-amzn-RequestId`, also the invocation's request id.
    pub request_id: String,
    /// The request's trace (the edge's, continued, or its own for a direct call).
    pub trace: RequestTrace,
    /// Its `Origin` and whether it is a preflight.
    pub cors: cors::CorsRequest,
}

/// A running Function URL: [`Served`]'s `addr()`, `url()`, `shed()` and `shutdown()`; dropping it stops
/// the listener.
pub type Handle = Served;

/// The URL's routes: the traces, and every other path through the pipeline (hop tests drive it with
/// `oneshot`, giving the request a `ConnectInfo`).
pub fn router(config: Config) -> axum::Router {
    crate::trace::routes(config.traces.clone()).merge(
        axum::Router::new()
            .fallback(handle)
            .with_state(Arc::new(config)),
    )
}

/// Binds and serves.
pub async fn spawn(config: Config) -> std::io::Result<Handle> {
    let (addr, limits) = (config.addr, config.limits);
    let served = crate::server::serve(addr, router(config), limits).await?;
    Ok(served)
}

async fn handle(
    State(config): State<Arc<Config>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let summary = format!("{} {}", request.method(), request.uri().path());
    let incoming = request
        .headers()
        .get(TRACE_HEADER)
        .and_then(|v| v.to_str().ok());
    let ctx = Context {
        config: &config,
        peer,
        request_id: uuid::Uuid::new_v4().to_string(),
        trace: RequestTrace::continue_or_start(&config.traces, incoming, &summary),
        cors: cors::CorsRequest::of(request.method(), request.headers()),
    };
    let answer = pipeline(&ctx, request).await;
    finish(&ctx, answer)
}

/// The steps, in request order.
async fn pipeline(
    ctx: &Context<'_>,
    request: axum::extract::Request,
) -> Result<Response, UrlRefusal> {
    let request = receive::receive(ctx, request).await?;
    if let Some(preflight) = cors::preflight(ctx, &request) {
        return Ok(preflight);
    }
    let caller = verify::verify(ctx, &request)?;
    auth::authorize(ctx, &caller)?;
    let event = event::for_request(ctx, &request, &caller);
    let invocation = invoke::invoke(ctx, event).await?;
    respond::respond(ctx, invocation).await
}

/// Traces and renders a refusal; every answer gets `x-amzn-RequestId` and the trace id.
fn finish(ctx: &Context<'_>, answer: Result<Response, UrlRefusal>) -> Response {
    let mut response = match answer {
        Ok(mut response) => {
            if let Ok(trace) =
                HeaderValue::from_str(&crate::runtime::trace_id().to_ascii_lowercase())
            {
                response.headers_mut().insert("x-amzn-trace-id", trace);
            }
            response
        }
        Err(refusal) => {
            tracing::info!(
                status = refusal.error.status().as_u16(),
                error = %refusal.error,
                cause = %refusal.detail,
                "function URL refused the request"
            );
            ctx.trace.record(refusal.line());
            refusal.error.response(&ctx.request_id)
        }
    };
    if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    // UNSURE: whether AWS adds the CORS headers to the URL's own refusals (403, 429, 502) is not
    // captured. It does here: CORS is configured on the URL, not the function, and without them a page
    // could never read why it was refused.
    cors::add_headers(ctx, &mut response);
    ctx.trace.finish(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::clock::SystemClock;
    use crate::runtime::{FunctionProcess, InvokerConfig, Logs};
    use crate::testing::Signer;
    use crate::topology::Cors;
    use crate::trace::Hop;

    fn config(topology: Topology) -> Config {
        let invoker = Invoker::new(InvokerConfig {
            topology: topology.clone(),
            // Never started: every request here is answered before the invoke step.
            process: FunctionProcess {
                program: "/nonexistent/bootstrap".into(),
                args: Vec::new(),
                logs: Logs::Discard,
            },
            overlay: Default::default(),
            idle_timeout: crate::runtime::IDLE_TIMEOUT,
        });
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            topology,
            invoker,
            clock: Arc::new(SystemClock),
            traces: TraceStore::default(),
            limits: Limits::default(),
        }
    }

    async fn through(config: Config, request: Request<Body>) -> (Response, crate::trace::Trace) {
        let traces = config.traces.clone();
        let app = router(config).layer(axum::extract::connect_info::MockConnectInfo(
            SocketAddr::from(([127, 0, 0, 1], 1234)),
        ));
        let response = app.oneshot(request).await.unwrap();
        let id = response.headers()[TRACE_HEADER]
            .to_str()
            .unwrap()
            .to_owned();
        (response, traces.get(&id).unwrap())
    }

    fn signed(topology: &Topology, signer: &Signer, body: &'static [u8]) -> Request<Body> {
        let mut request = Request::post("/chatbot");
        for (name, value) in signer.sign(topology, body, &[], SystemTime::now()) {
            request = request.header(name, value);
        }
        request.body(Body::from(body)).unwrap()
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_unsigned_call_is_refused_at_verify() {
        let request = Request::post("/chatbot").body(Body::from("{}")).unwrap();
        let (response, trace) = through(config(Topology::default()), request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().contains_key("x-amzn-requestid"));
        assert_eq!(text(response).await, r#"{"Message":"Forbidden"}"#);
        assert_eq!(trace.refusal().unwrap().hop, Hop::UrlAuth);
        assert_eq!(
            trace.status,
            Some(403),
            "a direct call's trace is the URL's own"
        );
    }

    #[tokio::test]
    async fn a_signer_without_a_grant_is_refused_at_authorize() {
        let topology = Topology::default();
        let request = signed(&topology, &Signer::user(&topology, "local-nobody"), b"{}");
        let (response, trace) = through(config(topology), request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "AccessDeniedException"
        );
        let lines: Vec<Hop> = trace.hops.iter().map(|l| l.hop).collect();
        assert_eq!(lines, [Hop::UrlAuth, Hop::Policy]);
    }

    #[tokio::test]
    async fn a_preflight_is_answered_at_the_cors_step() {
        let mut topology = Topology::default();
        topology.function_url.cors = Some(Cors {
            allow_origins: vec!["http://localhost:5173".into()],
            allow_methods: vec!["POST".into()],
            ..Cors::default()
        });
        let request = Request::options("/chatbot")
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap();
        let (response, trace) = through(config(topology), request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "http://localhost:5173"
        );
        assert_eq!(trace.hops[0].hop, Hop::Cors);
    }

    #[tokio::test]
    async fn a_body_over_six_megabytes_is_refused_at_receive() {
        let body = vec![b'a'; MAX_PAYLOAD_BYTES + 1];
        let request = Request::post("/chatbot").body(Body::from(body)).unwrap();
        let (response, trace) = through(config(Topology::default()), request).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(trace.refusal().unwrap().detail.contains("6 MB"));
    }

    #[tokio::test]
    async fn a_callers_trace_id_is_not_continued() {
        let config = config(Topology::default());
        let traces = config.traces.clone();
        let victim = RequestTrace::start(&traces, "POST /chatbot");
        let request = Request::post("/chatbot")
            .header(TRACE_HEADER, victim.id())
            .body(Body::from("{}"))
            .unwrap();
        let (response, _) = through(config, request).await;
        assert_ne!(response.headers()[TRACE_HEADER], victim.id());
        assert!(traces.get(victim.id()).unwrap().hops.is_empty());
    }
}
