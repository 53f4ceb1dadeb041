//! Step 1 of the edge: what CloudFront decides from the viewer's request alone — the cache behavior
//! whose path pattern matches, its allowed methods, CloudFront's size limits (a URL over 8,192 bytes,
//! or URL plus headers over 20,480 bytes, is refused with 413), and a GET or HEAD carrying a body
//! (403). The body itself is not read here: it streams to the origin as it arrives.

use axum::body::Body;
use axum::http::{HeaderMap, Method};
use http_body::Body as _;

use super::pages::Page;
use super::{Context, EdgeRefusal};
use crate::pattern::wildcard_match;
use crate::refusal::Refusal;
use crate::topology::{Behavior, Topology};
use crate::trace::{Hop, Line};

/// CloudFront's limit on the URL (path and query string), in bytes
/// (`reference/aws-edge.md` §5.3, "Request and response behavior for custom origins").
pub const MAX_URL_BYTES: usize = 8192;
/// CloudFront's limit on the URL and headers together, in bytes (same source).
pub const MAX_REQUEST_BYTES: usize = 20_480;

/// A viewer request a behavior has taken.
#[derive(Debug)]
pub struct Accepted<'a> {
    /// The behavior.
    pub behavior: &'a Behavior,
    /// The method.
    pub method: Method,
    /// The path, as sent.
    pub path: String,
    /// The query string, as sent.
    pub query: Option<String>,
    /// The viewer's headers.
    pub headers: HeaderMap,
    /// The body, still arriving.
    pub body: Body,
    /// Whether the body is known to be empty (no `Content-Length` or `Content-Length: 0`, not chunked).
    pub body_is_empty: bool,
}

impl Accepted<'_> {
    /// `path?query`.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }
}

/// The first behavior (in precedence order) whose path pattern matches.
pub fn behavior_for<'a>(topology: &'a Topology, path: &str) -> Option<&'a Behavior> {
    topology
        .distribution
        .behaviors
        .iter()
        .find(|b| wildcard_match(&b.path_pattern, path))
}

fn request_bytes(target: &str, headers: &HeaderMap) -> usize {
    target.len()
        + headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>()
}

/// Step 1: behavior, methods, limits, GET with a body.
pub async fn behavior<'a>(
    ctx: &Context<'a>,
    request: axum::extract::Request,
) -> Result<Accepted<'a>, EdgeRefusal> {
    let topology = &ctx.config.topology;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let target = parts
        .uri
        .path_and_query()
        .map_or(path.clone(), |pq| pq.as_str().to_owned());
    if target.len() > MAX_URL_BYTES {
        return Err(Refusal::new(
            Page::RequestTooLarge,
            Hop::Edge,
            "request limits: URL",
            format!(
                "the URL is {} bytes; CloudFront's limit is {MAX_URL_BYTES}",
                target.len()
            ),
        )
        .hint("keep the path and query string under 8,192 bytes"));
    }
    let size = request_bytes(&target, &parts.headers);
    if size > MAX_REQUEST_BYTES {
        return Err(Refusal::new(
            Page::RequestTooLarge,
            Hop::Edge,
            "request limits: headers",
            format!(
                "the URL and headers are {size} bytes; CloudFront's limit is {MAX_REQUEST_BYTES}"
            ),
        )
        .hint("send less in headers (a token belongs in one header, once)"));
    }
    let Some(behavior) = behavior_for(topology, &path) else {
        return Err(Refusal::new(
            Page::MethodNotAllowed,
            Hop::Edge,
            "cache behaviors",
            format!("no behavior matches {path}"),
        )
        .hint("add a default (*) behavior"));
    };
    if !behavior
        .allowed_methods
        .iter()
        .any(|m| m.eq_ignore_ascii_case(parts.method.as_str()))
    {
        return Err(Refusal::new(
            Page::MethodNotAllowed,
            Hop::Edge,
            format!("behavior {:?}: allowed methods", behavior.path_pattern),
            format!("{} is not in [{}]", parts.method, behavior.allowed_methods.join(", ")),
        )
        .hint("allow all 7 methods (GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE) on the chatbot's behavior"));
    }
    let chunked = parts
        .headers
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let body_is_empty = !chunked && body.size_hint().exact() == Some(0);
    let body = if parts.method == Method::GET || parts.method == Method::HEAD {
        if !body_is_empty && !body_turns_out_empty(ctx, body).await? {
            return Err(Refusal::new(
                Page::GetWithBody,
                Hop::Edge,
                "GET with a body",
                "CloudFront refuses a GET or HEAD that carries a body",
            )
            .hint("send the body with POST"));
        }
        Body::empty()
    } else {
        body
    };
    ctx.trace.record(Line::pass(
        Hop::Edge,
        format!("behavior {:?}", behavior.path_pattern),
        format!(
            "{} allowed; origin request policy {}",
            parts.method, behavior.origin_request_policy
        ),
    ));
    let bodiless = parts.method == Method::GET || parts.method == Method::HEAD;
    Ok(Accepted {
        behavior,
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body,
        body_is_empty: body_is_empty || bodiless,
    })
}

/// A GET's chunked body that ends with no data is no body (read at most one byte of data).
async fn body_turns_out_empty(ctx: &Context<'_>, body: Body) -> Result<bool, EdgeRefusal> {
    let limits = ctx.config.limits;
    match crate::server::read_body(body, 0, limits.body_idle_timeout).await {
        Ok(_) => Ok(true),
        Err(crate::server::BodyError::TooLarge { .. }) => Ok(false),
        Err(error) => Err(Refusal::new(
            Page::BadRequest,
            Hop::Edge,
            "request body",
            error.to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_behavior_wins() {
        let mut topology = Topology::default();
        let mut api = topology.distribution.behaviors[0].clone();
        api.path_pattern = "/api/*".into();
        api.allowed_methods = vec!["GET".into(), "HEAD".into()];
        topology.distribution.behaviors.insert(0, api);
        assert_eq!(
            behavior_for(&topology, "/api/x")
                .unwrap()
                .allowed_methods
                .len(),
            2
        );
        assert_eq!(
            behavior_for(&topology, "/chatbot").unwrap().path_pattern,
            "*"
        );
        topology.distribution.behaviors.remove(1);
        assert!(behavior_for(&topology, "/chatbot").is_none());
    }

    #[test]
    fn the_request_size_counts_url_and_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "12345".parse().unwrap());
        assert_eq!(request_bytes("/chatbot", &headers), 8 + 3 + 5 + 4);
    }
}
