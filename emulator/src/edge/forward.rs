//! Steps 4 and 5 of the edge: the origin request goes out (HTTP/1.1, the viewer's body streamed as it
//! arrives), its response must start within the origin read timeout (CloudFront's 504 page otherwise),
//! and the streamed answer may never be silent for longer than that timeout (the connection is cut,
//! as CloudFront does). The response gets CloudFront's headers (`x-cache`, `via`, `x-amz-cf-pop`,
//! `x-amz-cf-id`).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use futures_util::StreamExt as _;

use super::origin_request::OriginRequest;
use super::pages::Page;
use super::{Context, EdgeRefusal, POP};
use crate::refusal::Refusal;
use crate::server::BodyError;
use crate::topology::ResponseHeadersPolicy;
use crate::trace::{Hop, Line, RequestTrace, TRACE_HEADER};

/// The viewer's body as the origin request's: each frame within the body idle timeout; a broken or
/// stalled upload is remembered so the refusal can say it was the viewer's.
fn streamed_body(
    body: Body,
    idle: std::time::Duration,
    failed: Arc<Mutex<Option<BodyError>>>,
) -> reqwest::Body {
    let frames = futures_util::stream::unfold(Some(body.into_data_stream()), move |state| {
        let failed = failed.clone();
        async move {
            let mut stream = state?;
            let error = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(bytes))) => return Some((Ok(bytes), Some(stream))),
                Ok(None) => return None,
                Ok(Some(Err(error))) => BodyError::Malformed(error.to_string()),
                Err(_) => BodyError::Stalled(idle),
            };
            *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
            Some((Err(std::io::Error::other(error)), None))
        }
    });
    reqwest::Body::wrap_stream(frames)
}

/// The origin's answer, and what the edge adds to it.
#[derive(Debug)]
pub struct Forwarded {
    /// The origin's response (its body still arriving).
    pub response: reqwest::Response,
    /// The behavior's response headers policy.
    pub policy: Option<ResponseHeadersPolicy>,
    /// The viewer's `Origin`.
    pub viewer_origin: Option<String>,
}

/// Step 4: sends the origin request; the origin read timeout runs until the response starts.
pub async fn forward(ctx: &Context<'_>, request: OriginRequest) -> Result<Forwarded, EdgeRefusal> {
    let (policy, viewer_origin) = (
        request.response_policy.clone(),
        request.viewer_origin.clone(),
    );
    let read_timeout = ctx.read_timeout();
    let failed = Arc::new(Mutex::new(None));
    let body = if request.body_is_empty {
        reqwest::Body::from(Vec::new())
    } else {
        streamed_body(
            request.body,
            ctx.config.limits.body_idle_timeout,
            failed.clone(),
        )
    };
    let mut origin_request = ctx
        .http
        .request(
            request.method.clone(),
            format!("{}{}", ctx.config.origin, request.target),
        )
        .body(body);
    for (name, value) in &request.headers {
        origin_request = origin_request.header(name.as_str(), value.as_str());
    }
    origin_request = origin_request.header(TRACE_HEADER, ctx.trace.id());
    let sent = tokio::time::timeout(read_timeout, origin_request.send()).await;
    let viewer_failure = failed.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(failure) = viewer_failure {
        return Err(Refusal::new(
            Page::BadRequest,
            Hop::Edge,
            "request body",
            format!("the viewer's body could not be read: {failure}"),
        )
        .hint("send a well-formed body (a Content-Length that matches, or valid chunked encoding) without pausing"));
    }
    match sent {
        Err(_) => Err(Refusal::new(
            Page::OriginTimeout,
            Hop::Edge,
            "origin read timeout",
            format!("no response from the origin within {read_timeout:?}"),
        )
        .hint("the function must send its first byte (or a keep-alive) within the origin read timeout")),
        Ok(Err(error)) => Err(Refusal::new(
            Page::OriginUnreachable,
            Hop::Edge,
            "origin connection",
            error.to_string(),
        )),
        Ok(Ok(response)) => Ok(Forwarded {
            response,
            policy,
            viewer_origin,
        }),
    }
}

/// The origin's body with the read timeout between chunks: a silent origin gets its connection cut.
fn idle_limited_body(
    response: reqwest::Response,
    trace: RequestTrace,
    read_timeout: std::time::Duration,
) -> Body {
    let body = response.bytes_stream();
    let stream = futures_util::stream::unfold(Some(body), move |state| {
        let trace = trace.clone();
        async move {
            let mut body = state?;
            let cut = match tokio::time::timeout(read_timeout, body.next()).await {
                Ok(Some(Ok(bytes))) => return Some((Ok(bytes), Some(body))),
                Ok(None) => return None,
                Ok(Some(Err(error))) => {
                    trace.record(Line::refuse(
                        Hop::Edge,
                        "origin connection",
                        format!("the origin's response broke off mid-body: {error:#}"),
                    ));
                    std::io::Error::other(error)
                }
                Err(_) => {
                    trace.record(
                        Line::refuse(
                            Hop::Edge,
                            "origin read timeout",
                            format!("the origin was silent for {read_timeout:?} mid-response; the connection was cut"),
                        )
                        .with_hint("keep-alives must come more often than the origin read timeout"),
                    );
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "origin read timeout")
                }
            };
            Some((Err(cut), None))
        }
    });
    Body::from_stream(stream)
}

/// A response headers policy on the answer: its security headers (replacing the origin's) and its
/// CORS headers for an allowed origin (replacing the origin's with `origin_override`, else only when
/// the origin sent none).
pub fn apply_policy(
    policy: &ResponseHeadersPolicy,
    viewer_origin: Option<&str>,
    out: &mut HeaderMap,
) {
    for (name, value) in &policy.security_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.insert(name, value);
        }
    }
    let (Some(cors), Some(origin)) = (&policy.cors, viewer_origin) else {
        return;
    };
    let allowed = cors
        .allow_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin));
    if !allowed || (!cors.origin_override && out.contains_key("access-control-allow-origin")) {
        return;
    }
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    };
    set("access-control-allow-origin", origin);
    if cors.allow_credentials {
        set("access-control-allow-credentials", "true");
    }
    if !cors.expose_headers.is_empty() {
        set(
            "access-control-expose-headers",
            &cors.expose_headers.join(","),
        );
    }
}

/// Step 5: the response for the viewer — the origin's status and headers (hop-by-hop ones removed),
/// the body under the idle timeout, CloudFront's response headers and the behavior's response headers
/// policy.
pub fn idle_timeout(ctx: &Context<'_>, forwarded: Forwarded) -> Response {
    let origin = forwarded.response;
    let status = origin.status();
    let mut headers = origin.headers().clone();
    for name in [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
    ] {
        headers.remove(name);
    }
    let mut response = Response::new(idle_limited_body(
        origin,
        ctx.trace.clone(),
        ctx.read_timeout(),
    ));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    let x_cache = if status.as_u16() >= 400 {
        "Error from cloudfront"
    } else {
        "Miss from cloudfront"
    };
    let out = response.headers_mut();
    for (name, value) in [
        ("x-cache", x_cache.to_owned()),
        ("via", ctx.viewer_via()),
        ("x-amz-cf-pop", POP.to_owned()),
        ("x-amz-cf-id", ctx.cf_id.clone()),
    ] {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.insert(name, value);
        }
    }
    if let Some(policy) = &forwarded.policy {
        apply_policy(policy, forwarded.viewer_origin.as_deref(), out);
    }
    response
}
