//! Step 1 of the Function URL: the request as received — headers in arrival order (SigV4 and the
//! event need them so), and the whole body, which the signature covers: at most the 6 MB invocation
//! payload limit (413 with Lambda's message), well-framed (400 otherwise), without stalling.

use axum::http::{HeaderMap, Method};
use bytes::Bytes;

use super::errors::UrlError;
use super::{Context, UrlRefusal};
use crate::refusal::Refusal;
use crate::server::BodyError;
use crate::trace::{Hop, TRACE_HEADER};

/// The 6 MB invocation payload limit (request and buffered response).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// How much of a body over the limit is still read (and dropped) before the 413, so a caller still
/// sending — CloudFront streaming the viewer's upload — receives the refusal rather than a reset.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// A request the URL has read.
#[derive(Debug)]
pub struct Received {
    /// Method.
    pub method: Method,
    /// The raw path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The headers as pairs in arrival order, without the emulator's trace header.
    pub header_list: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl Received {
    /// A header's value, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Step 1: read the request.
pub async fn receive(
    ctx: &Context<'_>,
    request: axum::extract::Request,
) -> Result<Received, UrlRefusal> {
    let (parts, body) = request.into_parts();
    let limits = ctx.config.limits;
    let body = crate::server::read_body_draining(
        body,
        MAX_PAYLOAD_BYTES,
        DRAIN_BYTES,
        limits.body_idle_timeout,
    )
    .await
        .map_err(|error| match error {
            BodyError::TooLarge { .. } => Refusal::new(
                UrlError::PayloadTooLarge,
                Hop::UrlAuth,
                "payload limit",
                "request body over 6 MB (6,291,456 bytes), Lambda's invocation payload limit",
            )
            .hint("send at most 6 MB"),
            other => Refusal::new(
                UrlError::MalformedRequest(other.to_string()),
                Hop::UrlAuth,
                "request body",
                other.to_string(),
            )
            .hint("send a well-formed body (a Content-Length that matches, or valid chunked encoding) without pausing"),
        })?;
    let header_list = crate::server::header_list(&parts.headers)
        .into_iter()
        .filter(|(name, _)| name != TRACE_HEADER)
        .collect();
    Ok(Received {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts.headers,
        header_list,
        body,
    })
}
