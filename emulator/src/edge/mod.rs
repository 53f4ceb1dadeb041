//! The CloudFront edge in front of the Function URL. A request goes through five steps, each its own
//! module, the way DESIGN.md draws the hop:
//!
//! 1. [`viewer`] — the behavior for the path, its allowed methods, CloudFront's request limits and the
//!    GET-with-a-body rule;
//! 2. [`origin_request`] — the viewer headers the origin request policy forwards, minus those
//!    CloudFront owns, plus the ones CloudFront adds;
//! 3. [`oac`] — Origin Access Control signing (`always`, `never`, `no-override`);
//! 4. [`forward`] — the origin request, with the origin read timeout before the first byte;
//! 5. [`forward::idle_timeout`] — the same timeout between chunks of the streamed answer, and
//!    CloudFront's response headers;
//! 6. [`error_pages`] — a custom error response replaces an answer whose status has one.
//!
//! A step either passes the request on (writing its trace line) or refuses with a [`Refusal`]; the
//! refusal is traced and rendered as CloudFront's page in one place, [`render`], before step 6 (whose
//! pages replace CloudFront's own error pages too). The listener is plain HTTP but behaves as the
//! HTTPS viewer endpoint.

pub mod error_pages;
pub mod forward;
pub mod oac;
pub mod origin_request;
pub mod pages;
pub mod viewer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use base64::Engine as _;
use rand::RngCore as _;

use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::server::{Limits, Served};
use crate::topology::Topology;
use crate::trace::{RequestTrace, TraceStore};
use pages::Page;

/// The edge location the emulator pretends to be.
pub const POP: &str = "IAD89-C1";

/// What the edge needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (the CLI uses 9000).
    pub addr: SocketAddr,
    /// The distribution and the URL it fronts.
    pub topology: Topology,
    /// Where the Function URL listens (`http://127.0.0.1:9001`).
    pub origin: String,
    /// Time for OAC signatures.
    pub clock: Arc<dyn Clock>,
    /// Traces, shared with the URL.
    pub traces: TraceStore,
    /// Overrides the topology's origin read timeout (tests use milliseconds).
    pub origin_read_timeout: Option<Duration>,
    /// The listener's limits.
    pub limits: Limits,
}

/// What every request of one edge shares.
#[derive(Debug)]
pub struct EdgeState {
    config: Config,
    http: reqwest::Client,
}

impl EdgeState {
    /// The state for `config` (an HTTP/1.1 client to the origin).
    pub fn new(config: Config) -> std::io::Result<Self> {
        let http = reqwest::Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self { config, http })
    }
}

/// One viewer request's context: the ids CloudFront gives it and its trace.
#[derive(Debug)]
pub struct Context<'a> {
    /// The edge's configuration.
    pub config: &'a Config,
    /// The client to the origin.
    pub http: &'a reqwest::Client,
    /// The viewer's address.
    pub viewer: SocketAddr,
    /// `x-amz-cf-id`.
    pub cf_id: String,
    /// The id in this edge's `via` headers.
    pub via_id: String,
    /// The request's trace.
    pub trace: RequestTrace,
}

impl Context<'_> {
    /// `via` as the viewer sees it.
    pub fn viewer_via(&self) -> String {
        format!("1.1 {}.cloudfront.net (CloudFront)", self.via_id)
    }

    /// The origin read timeout in force.
    pub fn read_timeout(&self) -> Duration {
        self.config
            .origin_read_timeout
            .unwrap_or(Duration::from_secs(
                self.config.topology.distribution.origin_read_timeout_s,
            ))
    }
}

/// A refusal at the edge: CloudFront's page.
pub type EdgeRefusal = Refusal<Page>;

/// A running edge: [`Served`]'s `addr()`, `url()`, `shed()` and `shutdown()`; dropping it stops
/// the listener.
pub type Handle = Served;

/// The edge's routes: the traces, and every other path through the pipeline.
pub fn router(state: Arc<EdgeState>) -> axum::Router {
    crate::trace::routes(state.config.traces.clone())
        .merge(axum::Router::new().fallback(handle).with_state(state))
}

/// Binds and serves.
pub async fn spawn(config: Config) -> std::io::Result<Handle> {
    let (addr, limits) = (config.addr, config.limits);
    let state = Arc::new(EdgeState::new(config)?);
    let served = crate::server::serve(addr, router(state), limits).await?;
    Ok(served)
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// An `x-amz-cf-id`: 56 characters of URL-safe base64, as CloudFront's are.
fn cf_id() -> String {
    let mut buffer = [0u8; 40];
    rand::thread_rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE.encode(buffer)
}

async fn handle(
    State(state): State<Arc<EdgeState>>,
    ConnectInfo(viewer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let summary = format!("{} {}", request.method(), request.uri().path());
    let ctx = Context {
        config: &state.config,
        http: &state.http,
        viewer,
        cf_id: cf_id(),
        via_id: random_hex(16),
        trace: RequestTrace::start_at_edge(&state.config.traces, &summary),
    };
    let answer = pipeline(&ctx, request).await;
    let mut response = error_pages::custom_error_response(&ctx, render(&ctx, answer)).await;
    ctx.trace.finish(&mut response);
    response
}

/// The steps, in request order.
async fn pipeline(
    ctx: &Context<'_>,
    request: axum::extract::Request,
) -> Result<Response, EdgeRefusal> {
    let request = viewer::behavior(ctx, request).await?;
    let request = origin_request::viewer_headers(ctx, request);
    let request = oac::sign(ctx, request)?;
    let response = forward::forward(ctx, request).await?;
    Ok(forward::idle_timeout(ctx, response))
}

/// The answer, or the refusal traced and rendered as CloudFront's page.
fn render(ctx: &Context<'_>, answer: Result<Response, EdgeRefusal>) -> Response {
    match answer {
        Ok(response) => response,
        Err(refusal) => {
            ctx.trace.record(refusal.line());
            refusal.error.response(&ctx.cf_id, POP, &ctx.viewer_via())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::clock::SystemClock;
    use crate::trace::Decision;

    pub(crate) fn config(topology: Topology) -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            topology,
            // Nothing listens here: the steps under test never reach the origin.
            origin: "http://127.0.0.1:9".into(),
            clock: Arc::new(SystemClock),
            traces: TraceStore::default(),
            origin_read_timeout: None,
            limits: Limits::default(),
        }
    }

    pub(crate) fn context<'a>(config: &'a Config, http: &'a reqwest::Client) -> Context<'a> {
        Context {
            config,
            http,
            viewer: SocketAddr::from(([203, 0, 113, 7], 50000)),
            cf_id: cf_id(),
            via_id: random_hex(16),
            trace: RequestTrace::start_at_edge(&config.traces, "test"),
        }
    }

    /// One request through the edge's router with no socket; the response and its trace.
    async fn through(
        topology: Topology,
        request: Request<Body>,
    ) -> (axum::response::Response, crate::trace::Trace) {
        let config = config(topology);
        let traces = config.traces.clone();
        let app = router(Arc::new(EdgeState::new(config).unwrap())).layer(
            axum::extract::connect_info::MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1234))),
        );
        let response = app.oneshot(request).await.unwrap();
        let id = response.headers()[crate::trace::TRACE_HEADER]
            .to_str()
            .unwrap()
            .to_owned();
        let trace = traces.get(&id).unwrap();
        (response, trace)
    }

    #[test]
    fn cloudfront_ids_have_cloudfronts_shape() {
        assert_eq!(cf_id().len(), 56);
        assert!(cf_id().ends_with("=="));
        assert_eq!(random_hex(16).len(), 32);
    }

    #[tokio::test]
    async fn a_method_outside_the_behavior_is_refused_at_step_one() {
        let mut topology = Topology::default();
        topology.distribution.behaviors[0].allowed_methods = vec!["GET".into(), "HEAD".into()];
        let request = Request::post("/chatbot").body(Body::from("{}")).unwrap();
        let (response, trace) = through(topology, request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers()["x-cache"], "Error from cloudfront");
        let refusal = trace.refusal().unwrap();
        assert_eq!(
            (refusal.hop, refusal.rule.as_str()),
            (crate::trace::Hop::Edge, "behavior \"*\": allowed methods")
        );
        assert_eq!(trace.status, Some(403));
    }

    #[tokio::test]
    async fn cloudfronts_size_limits_are_413_pages_naming_the_limit() {
        let long = format!("/chatbot?q={}", "a".repeat(viewer::MAX_URL_BYTES));
        let (response, trace) = through(
            Topology::default(),
            Request::get(long).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(trace.refusal().unwrap().detail.contains("8192"));
        let mut request = Request::get("/chatbot");
        for i in 0..30 {
            request = request.header(format!("x-big-{i}"), "b".repeat(1000));
        }
        let (response, trace) =
            through(Topology::default(), request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(trace.refusal().unwrap().rule, "request limits: headers");
    }

    #[tokio::test]
    async fn a_get_with_a_body_is_refused_and_one_without_passes_step_one() {
        let request = Request::get("/chatbot").body(Body::from("x")).unwrap();
        let (response, trace) = through(Topology::default(), request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(trace.refusal().unwrap().rule, "GET with a body");
        let request = Request::get("/chatbot").body(Body::empty()).unwrap();
        let (response, trace) = through(Topology::default(), request).await;
        // The origin is not there: step 1 passed, the forward step refused.
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(trace.hops[0].decision, Decision::Pass);
        assert_eq!(trace.refusal().unwrap().rule, "origin connection");
    }

    fn accepted<'a>(topology: &'a Topology, headers: &[(&str, &str)]) -> viewer::Accepted<'a> {
        let mut map = axum::http::HeaderMap::new();
        for (name, value) in headers {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        viewer::Accepted {
            behavior: &topology.distribution.behaviors[0],
            method: axum::http::Method::POST,
            path: "/chatbot".into(),
            query: None,
            headers: map,
            body: Body::empty(),
            body_is_empty: false,
        }
    }

    #[test]
    fn step_two_drops_what_cloudfront_owns_and_adds_its_own() {
        let config = config(Topology::default());
        let http = reqwest::Client::new();
        let ctx = context(&config, &http);
        let request = origin_request::viewer_headers(
            &ctx,
            accepted(
                &config.topology,
                &[
                    ("host", "d1chatbotlocal.cloudfront.net"),
                    (
                        "x-amz-source-arn",
                        "arn:aws:cloudfront::999999999999:distribution/EFORGED",
                    ),
                    ("x-amz-date", "20200101T000000Z"),
                    ("x-chatbot-authorization", "Bearer t"),
                    ("x-forwarded-for", "10.0.0.1"),
                    ("connection", "keep-alive"),
                ],
            ),
        );
        let all = |name: &str| -> Vec<&str> {
            request
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(
            all("x-amz-source-arn"),
            [config.topology.distribution_arn()]
        );
        assert!(all("x-amz-date").is_empty());
        assert!(all("connection").is_empty());
        assert_eq!(all("host"), [config.topology.function_url_host()]);
        assert_eq!(all("x-forwarded-for"), ["10.0.0.1, 203.0.113.7"]);
        assert_eq!(all("x-chatbot-authorization"), ["Bearer t"]);
        assert!(
            all("x-forwarded-proto").is_empty() && all("x-forwarded-port").is_empty(),
            "CloudFront removes them; the Function URL sets its own"
        );
        assert!(
            request.viewer_host.is_none(),
            "AllViewerExceptHostHeader keeps Host"
        );
        let trace = config.traces.get(ctx.trace.id()).unwrap();
        assert!(
            trace.hops[0]
                .detail
                .contains("x-amz-source-arn, x-amz-date"),
            "{:?}",
            trace.hops
        );
    }

    #[test]
    fn step_three_signs_the_functions_host_then_all_viewer_sends_the_viewers() {
        let mut topology = Topology::default();
        topology.distribution.behaviors[0].origin_request_policy =
            crate::topology::OriginRequestPolicy::AllViewer;
        let config = config(topology);
        let http = reqwest::Client::new();
        let ctx = context(&config, &http);
        let request = origin_request::viewer_headers(
            &ctx,
            accepted(
                &config.topology,
                &[("host", "d1chatbotlocal.cloudfront.net")],
            ),
        );
        let signed = oac::sign(&ctx, request).unwrap();
        assert_eq!(signed.header("host"), Some("d1chatbotlocal.cloudfront.net"));
        assert!(
            signed
                .header("authorization")
                .unwrap()
                .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-source-account;x-amz-source-arn")
        );
    }
}
