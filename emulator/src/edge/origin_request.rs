//! Step 2 of the edge: the origin request's headers. The viewer's headers that the behavior's origin
//! request policy forwards — never the hop-by-hop ones, and never one CloudFront owns (a viewer's
//! `x-amz-source-arn`, `x-amz-cf-id`, `x-amz-date`, `cloudfront-*`, … are dropped, so they can reach
//! neither the signature nor the function's resource policy) — then the headers CloudFront adds
//! (`reference/aws-edge.md` §5.3): `host` (the origin's), `x-forwarded-for` and `via` (appended to the
//! viewer's), `x-amz-cf-id`, the
//! `cloudfront-*` viewer headers, and the OAC source headers.

use axum::body::Body;
use axum::http::Method;

use super::Context;
use super::viewer::Accepted;
use crate::topology::SigningBehavior;
use crate::trace::{Hop, Line, TRACE_HEADER};

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
    // CloudFront removes the viewer's; the Function URL's front end sets its own (event.rs).
    "x-forwarded-proto",
];

/// Whether CloudFront sets this header itself, so a viewer's copy must not reach the origin.
pub fn cloudfront_owns(name: &str) -> bool {
    name.starts_with("x-amz-source-")
        || name.starts_with("x-amz-cf-")
        || name.starts_with("x-edge-")
        || name.starts_with("cloudfront-")
        || matches!(
            name,
            "x-amz-date" | "x-amz-security-token" | "x-forwarded-port" | TRACE_HEADER
        )
}

/// The request as it will leave for the origin.
#[derive(Debug)]
pub struct OriginRequest {
    /// The method.
    pub method: Method,
    /// `path?query`.
    pub target: String,
    /// Headers, lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// The body, still arriving.
    pub body: Body,
    /// Whether the body is known to be empty.
    pub body_is_empty: bool,
    /// With a policy that forwards Host: the viewer's, sent instead of the origin's after signing.
    pub viewer_host: Option<String>,
    /// The behavior's response headers policy, for the answer.
    pub response_policy: Option<crate::topology::ResponseHeadersPolicy>,
    /// The viewer's `Origin`, for the policy's CORS.
    pub viewer_origin: Option<String>,
}

impl OriginRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Step 2: the viewer headers the policy forwards, and CloudFront's own.
pub fn viewer_headers(ctx: &Context<'_>, request: Accepted<'_>) -> OriginRequest {
    let topology = &ctx.config.topology;
    let policy = request.behavior.origin_request_policy;
    let target = request.target();
    let viewer_origin = request
        .headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    let mut viewer_host = None;
    for (name, value) in request.headers.iter() {
        let name = name.as_str().to_ascii_lowercase();
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if NOT_FORWARDED.contains(&name.as_str()) {
            continue;
        }
        if cloudfront_owns(&name) {
            if name != TRACE_HEADER && !dropped.contains(&name) {
                dropped.push(name);
            }
            continue;
        }
        if name == "host" {
            if policy.forwards("host") {
                viewer_host = Some(value);
            }
            continue;
        }
        // OAC sees these whatever the policy: it replaces or passes Authorization, and signs over the
        // viewer's payload hash.
        if matches!(name.as_str(), "authorization" | "x-amz-content-sha256")
            || policy.forwards(&name)
        {
            headers.push((name, value));
        }
    }
    if !dropped.is_empty() {
        ctx.trace.record(Line::note(
            Hop::Edge,
            "headers CloudFront owns",
            format!(
                "dropped the viewer's {}: CloudFront sets these itself",
                dropped.join(", ")
            ),
        ));
    }
    headers.push(("host".into(), topology.function_url_host()));
    if !headers.iter().any(|(n, _)| n == "user-agent") {
        headers.push(("user-agent".into(), "Amazon CloudFront".into()));
    }
    let viewer = ctx.viewer;
    let mut append = |name: &str, value: String| match headers.iter().position(|(n, _)| n == name) {
        Some(at) => format!("{}, {value}", headers.remove(at).1),
        None => value,
    };
    let forwarded_for = append("x-forwarded-for", viewer.ip().to_string());
    let via = append(
        "via",
        format!("2.0 {}.cloudfront.net (CloudFront)", ctx.via_id),
    );
    headers.extend([
        ("x-forwarded-for".to_owned(), forwarded_for),
        ("via".to_owned(), via),
        ("x-amz-cf-id".to_owned(), ctx.cf_id.clone()),
    ]);
    if policy.adds_cloudfront_headers() {
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
    if topology.distribution.oac.signing_behavior != SigningBehavior::Never {
        headers.push(("x-amz-source-arn".into(), topology.distribution_arn()));
        headers.push(("x-amz-source-account".into(), topology.account_id.clone()));
    }
    OriginRequest {
        method: request.method,
        target,
        headers,
        body: request.body,
        body_is_empty: request.body_is_empty,
        viewer_host,
        response_policy: request.behavior.response_headers_policy.clone(),
        viewer_origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudfront_owned_headers() {
        for name in [
            "x-amz-source-arn",
            "x-amz-source-account",
            "x-amz-cf-id",
            "x-amz-date",
            "x-amz-security-token",
            "cloudfront-viewer-country",
        ] {
            assert!(cloudfront_owns(name), "{name}");
        }
        for name in [
            "x-amz-content-sha256",
            "x-chatbot-authorization",
            "content-type",
            "via",
        ] {
            assert!(!cloudfront_owns(name), "{name}");
        }
    }
}
