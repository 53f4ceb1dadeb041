//! The CloudFront edge in front of the Function URL: behaviors by path pattern, allowed methods (403
//! page otherwise), the origin request policy (AllViewerExceptHostHeader, AllViewer — which forwards Host
//! and so breaks the signature, as on AWS), the headers CloudFront adds and removes, OAC signing, the
//! origin read timeout as an idle timeout (504 page before the first byte, a cut connection after), and
//! chunked bodies passed through as they arrive. The listener is plain HTTP but behaves as the HTTPS
//! viewer endpoint.

pub mod oac;
pub mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::Response;
use base64::Engine as _;
use futures_util::StreamExt as _;
use rand::RngCore as _;
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::topology::{Behavior, Topology};
use crate::trace::{Decision, TRACE_HEADER, TraceStore};
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
}

struct AppState {
    config: Config,
    http: reqwest::Client,
}

/// A running edge.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
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
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds and serves.
pub async fn spawn(config: Config) -> std::io::Result<Handle> {
    let http = reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .build()
        .map_err(std::io::Error::other)?;
    let traces = config.traces.clone();
    let addr = config.addr;
    let state = Arc::new(AppState { config, http });
    let app =
        crate::trace::routes(traces).merge(axum::Router::new().fallback(handle).with_state(state));
    let served = crate::listener::serve(addr, app).await?;
    let (addr, tx) = (served.addr, served.shutdown);
    Ok(Handle {
        addr,
        shutdown: Some(tx),
    })
}

/// CloudFront path patterns: `*` any run, `?` one character; `*` alone is the default behavior.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    crate::function_url::auth::arn_like(pattern, path)
}

fn behavior_for<'a>(topology: &'a Topology, path: &str) -> Option<&'a Behavior> {
    topology
        .distribution
        .behaviors
        .iter()
        .find(|b| path_matches(&b.path_pattern, path))
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// An `x-amz-cf-id`: 56 characters of URL-safe base64, as CloudFront's are.
fn cf_id() -> String {
    let mut buffer = [0u8; 40];
    rand::thread_rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE.encode(buffer)
}

/// Headers no proxy forwards, and those CloudFront replaces itself.
const NOT_FORWARDED: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
    "x-forwarded-proto",
];

async fn handle(
    State(state): State<Arc<AppState>>,
    ConnectInfo(viewer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let config = &state.config;
    let topology = &config.topology;
    let cf_id = cf_id();
    let via_id = random_hex(16);
    let viewer_via = format!("1.1 {via_id}.cloudfront.net (CloudFront)");
    let trace_id = uuid::Uuid::new_v4().to_string();
    let traces = &config.traces;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    traces.begin(&trace_id, &format!("{} {path}", parts.method));
    let finish = |mut response: Response| {
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            response.headers_mut().insert(TRACE_HEADER, value);
        }
        traces.finish(&trace_id, response.status().as_u16());
        response
    };
    let page = |page: Page| page.response(&cf_id, POP, &viewer_via);

    let Some(behavior) = behavior_for(topology, &path) else {
        traces.record(
            &trace_id,
            "edge",
            Decision::Refuse,
            "cache behaviors",
            &format!("no behavior matches {path}"),
            Some("add a default (*) behavior"),
        );
        return finish(page(Page::MethodNotAllowed));
    };
    if !behavior
        .allowed_methods
        .iter()
        .any(|m| m.eq_ignore_ascii_case(parts.method.as_str()))
    {
        traces.record(
            &trace_id,
            "edge",
            Decision::Refuse,
            &format!("behavior {:?}: allowed methods", behavior.path_pattern),
            &format!("{} is not in [{}]", parts.method, behavior.allowed_methods.join(", ")),
            Some("allow all 7 methods (GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE) on the chatbot's behavior"),
        );
        return finish(page(Page::MethodNotAllowed));
    }
    let body = match axum::body::to_bytes(body, crate::function_url::MAX_PAYLOAD_BYTES + 1).await {
        Ok(body) => body,
        Err(_) => {
            traces.record(
                &trace_id,
                "edge",
                Decision::Refuse,
                "request body",
                "unreadable or too large",
                None,
            );
            return finish(page(Page::GetWithBody));
        }
    };
    if (parts.method == Method::GET || parts.method == Method::HEAD) && !body.is_empty() {
        traces.record(
            &trace_id,
            "edge",
            Decision::Refuse,
            "GET with a body",
            "CloudFront refuses a GET or HEAD that carries a body",
            Some("send the body with POST"),
        );
        return finish(page(Page::GetWithBody));
    }
    traces.record(
        &trace_id,
        "edge",
        Decision::Pass,
        &format!("behavior {:?}", behavior.path_pattern),
        &format!(
            "{} allowed; origin request policy {}",
            parts.method, behavior.origin_request_policy
        ),
        None,
    );

    // The origin request: the viewer's headers per the origin request policy, then CloudFront's.
    let forwards_all = behavior.origin_request_policy.contains("AllViewer");
    let forwards_host = behavior.origin_request_policy == "Managed-AllViewer";
    let origin_host = topology.function_url_host();
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in parts.headers.iter() {
        let name = name.as_str().to_ascii_lowercase();
        if NOT_FORWARDED.contains(&name.as_str()) || name == TRACE_HEADER {
            continue;
        }
        if name == "host" && !forwards_host {
            continue;
        }
        if !forwards_all && !matches!(name.as_str(), "authorization" | "host") {
            continue;
        }
        headers.push((name, String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    if !headers.iter().any(|(n, _)| n == "host") {
        headers.push(("host".into(), origin_host.clone()));
    }
    if !headers.iter().any(|(n, _)| n == "user-agent") {
        headers.push(("user-agent".into(), "Amazon CloudFront".into()));
    }
    let forwarded_for = match headers.iter().position(|(n, _)| n == "x-forwarded-for") {
        Some(at) => format!("{}, {}", headers.remove(at).1, viewer.ip()),
        None => viewer.ip().to_string(),
    };
    headers.extend([
        ("x-forwarded-for".to_owned(), forwarded_for),
        ("x-forwarded-proto".to_owned(), "https".to_owned()),
        ("x-forwarded-port".to_owned(), "443".to_owned()),
        (
            "via".to_owned(),
            format!("2.0 {via_id}.cloudfront.net (CloudFront)"),
        ),
        ("x-amz-cf-id".to_owned(), cf_id.clone()),
    ]);
    if forwards_all {
        headers.extend([
            ("cloudfront-forwarded-proto".to_owned(), "https".to_owned()),
            ("cloudfront-viewer-address".to_owned(), viewer.to_string()),
            (
                "cloudfront-viewer-http-version".to_owned(),
                "1.1".to_owned(),
            ),
            ("cloudfront-is-desktop-viewer".to_owned(), "true".to_owned()),
            ("cloudfront-is-mobile-viewer".to_owned(), "false".to_owned()),
            ("cloudfront-viewer-country".to_owned(), "US".to_owned()),
        ]);
    }
    let oac = &topology.distribution.oac;
    if oac.signing_behavior != "never" {
        headers.push(("x-amz-source-arn".into(), topology.distribution_arn()));
        headers.push(("x-amz-source-account".into(), topology.account_id.clone()));
    }
    let target = match parts.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.clone(),
    };
    // Signing uses the origin's host; with Managed-AllViewer the viewer's Host then goes out instead.
    let viewer_host = headers
        .iter()
        .position(|(n, _)| n == "host")
        .map(|at| headers[at].1.clone());
    if let Some(at) = headers.iter().position(|(n, _)| n == "host") {
        headers[at].1 = origin_host.clone();
    }
    let signed = oac::apply(
        &oac.signing_behavior,
        parts.method.as_str(),
        &format!("https://{origin_host}{target}"),
        &topology.region,
        &mut headers,
        config.clock.now(),
    );
    match signed {
        Ok(oac::Outcome::Signed { replaced_viewer_authorization: true }) => traces.record(
            &trace_id,
            "oac",
            Decision::Note,
            "signing behavior always",
            "signed with SigV4 (service lambda); replaced the viewer's Authorization header",
            Some("OAC signing `always` replaced the viewer's Authorization header; a JWT sent there never reaches the function — send it in x-chatbot-authorization"),
        ),
        Ok(oac::Outcome::Signed { .. }) => {
            let unsigned = headers.iter().any(|(n, v)| n == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD");
            let (decision, detail, hint) = if unsigned && !body.is_empty() {
                (
                    Decision::Note,
                    "signed with SigV4 (service lambda) over UNSIGNED-PAYLOAD: the viewer sent no x-amz-content-sha256",
                    Some("Lambda refuses unsigned payloads: the viewer must send x-amz-content-sha256 = hex SHA-256 of the body"),
                )
            } else {
                (Decision::Pass, "signed with SigV4 (service lambda) over the viewer's x-amz-content-sha256", None)
            };
            traces.record(&trace_id, "oac", decision, &format!("signing behavior {}", oac.signing_behavior), detail, hint);
        }
        Ok(oac::Outcome::NotSigned) => traces.record(
            &trace_id,
            "oac",
            Decision::Note,
            "signing behavior never",
            "the origin request is not signed",
            Some("an AWS_IAM function URL refuses unsigned requests: set signing_behavior = \"always\""),
        ),
        Ok(oac::Outcome::PassedViewerAuthorization) => traces.record(
            &trace_id,
            "oac",
            Decision::Note,
            "signing behavior no-override",
            "the viewer sent Authorization, so CloudFront did not sign and passed it on",
            Some("with no-override a viewer Authorization (e.g. a Bearer JWT) is not a SigV4 signature for the function URL: use signing `always` and put the JWT in x-chatbot-authorization"),
        ),
        Err(why) => traces.record(&trace_id, "oac", Decision::Refuse, "signing", &why, None),
    }
    if forwards_host {
        if let (Some(at), Some(viewer_host)) =
            (headers.iter().position(|(n, _)| n == "host"), viewer_host)
        {
            headers[at].1 = viewer_host;
        }
    }
    headers.push((TRACE_HEADER.into(), trace_id.clone()));

    let read_timeout = config.origin_read_timeout.unwrap_or(Duration::from_secs(
        topology.distribution.origin_read_timeout_s,
    ));
    let mut origin_request = state
        .http
        .request(parts.method.clone(), format!("{}{target}", config.origin))
        .body(body);
    for (name, value) in &headers {
        origin_request = origin_request.header(name.as_str(), value.as_str());
    }
    let origin_response = match tokio::time::timeout(read_timeout, origin_request.send()).await {
        Err(_) => {
            traces.record(&trace_id, "edge", Decision::Refuse, "origin read timeout",
                &format!("no response from the origin within {read_timeout:?}"),
                Some("the function must send its first byte (or a keep-alive) within the origin read timeout"));
            return finish(page(Page::OriginTimeout));
        }
        Ok(Err(error)) => {
            traces.record(
                &trace_id,
                "edge",
                Decision::Refuse,
                "origin connection",
                &error.to_string(),
                None,
            );
            return finish(page(Page::OriginUnreachable));
        }
        Ok(Ok(response)) => response,
    };
    let status = origin_response.status();
    let mut response_headers = origin_response.headers().clone();
    for name in [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
    ] {
        response_headers.remove(name);
    }
    // Idle timeout between chunks: a silent origin gets its connection cut, as CloudFront does.
    let viewer_trace = trace_id.clone();
    let stream_traces = traces.clone();
    let body = origin_response.bytes_stream();
    let body = futures_util::stream::unfold((body, false), move |(mut body, done)| {
        let traces = stream_traces.clone();
        let trace_id = viewer_trace.clone();
        async move {
            if done {
                return None;
            }
            match tokio::time::timeout(read_timeout, body.next()).await {
                Ok(Some(Ok(bytes))) => Some((Ok(bytes), (body, false))),
                Ok(Some(Err(error))) => {
                    traces.record(
                        &trace_id,
                        "edge",
                        Decision::Refuse,
                        "origin connection",
                        &format!("the origin's response broke off mid-body: {error:#}"),
                        None,
                    );
                    Some((Err(std::io::Error::other(error)), (body, true)))
                }
                Ok(None) => None,
                Err(_) => {
                    traces.record(&trace_id, "edge", Decision::Refuse, "origin read timeout",
                        &format!("the origin was silent for {read_timeout:?} mid-response; the connection was cut"),
                        Some("keep-alives must come more often than the origin read timeout"));
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "origin read timeout",
                        )),
                        (body, true),
                    ))
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    let out = response.headers_mut();
    *out = response_headers;
    let x_cache = if status.as_u16() >= 400 {
        "Error from cloudfront"
    } else {
        "Miss from cloudfront"
    };
    for (name, value) in [
        ("x-cache", x_cache.to_owned()),
        ("via", viewer_via.clone()),
        ("x-amz-cf-pop", POP.to_owned()),
        ("x-amz-cf-id", cf_id.clone()),
    ] {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.insert(name, value);
        }
    }
    finish(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns() {
        assert!(path_matches("*", "/chatbot"));
        assert!(path_matches("/chatbot", "/chatbot"));
        assert!(path_matches("/api/*", "/api/x/y"));
        assert!(!path_matches("/api/*", "/chatbot"));
        assert!(path_matches("/v?/x", "/v1/x"));
    }

    #[test]
    fn cloudfront_ids_have_cloudfronts_shape() {
        assert_eq!(cf_id().len(), 56);
        assert!(cf_id().ends_with("=="));
        assert_eq!(random_hex(16).len(), 32);
    }
}
