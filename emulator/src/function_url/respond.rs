//! Step 7 of the Function URL: the function's answer for the caller. `RESPONSE_STREAM` relays the body
//! as the function writes it (chunked; `Content-Length` becomes `x-amzn-remapped-content-length`;
//! `application/octet-stream` when the function set no type) and a fault after the first byte cuts
//! the stream; `BUFFERED` sends nothing until the function has finished (6 MB at most). An error
//! status is read whole so the trace can say what the function said.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;

use super::receive::MAX_PAYLOAD_BYTES;
use super::{Context, UrlRefusal};
use crate::runtime::{BodyStream, FunctionResponse, Invocation};
use crate::topology::InvokeMode;
use crate::trace::{Hop, Line, RequestTrace};

/// What the function answered with an error status, for the trace; a 401 names the token header.
pub fn function_line(status: u16, body: &[u8]) -> Line {
    if status < 400 {
        return Line::pass(Hop::Function, "response", status.to_string());
    }
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let line = Line::refuse(
        Hop::Function,
        format!("chatbot-query answered {status}"),
        message,
    );
    match status {
        401 => line.with_hint(
            "the function reads the Cognito token from x-chatbot-authorization: Bearer <access token> (not Authorization)",
        ),
        _ => line,
    }
}

/// A response from the function's status, headers and cookies; `Content-Length` is remapped, as the
/// URL streams with chunked encoding.
pub fn response(
    status: u16,
    headers: &[(String, String)],
    cookies: &[String],
    body: Body,
) -> Response {
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

/// Reads a streamed body whole (BUFFERED, or an error answer), within the payload limit.
async fn read_whole(mut body: BodyStream) -> Result<Bytes, UrlRefusal> {
    let mut all = Vec::new();
    while let Some(item) = body.next().await {
        match item {
            Ok(bytes) if all.len() + bytes.len() <= MAX_PAYLOAD_BYTES => {
                all.extend_from_slice(&bytes)
            }
            Ok(_) => {
                return Err(
                    super::invoke::failed("response over 6 MB".into(), "payload limit")
                        .hint("stream the response (RESPONSE_STREAM)"),
                );
            }
            Err(fault) => return Err(super::invoke::failed(fault.to_string(), "invocation")),
        }
    }
    Ok(Bytes::from(all))
}

/// The function's stream for the caller; a fault cuts the connection and is traced.
///
/// UNSURE (reference/aws-edge.md §8.2: "What the HTTP client of a Function URL sees after a midstream
/// error is undocumented (probably a truncated chunked body)"): the body ends without its terminating
/// chunk, so curl reports a transfer closed with data outstanding and `fetch` a network error, after
/// the bytes already sent; the choice follows that "probably". One streamed function that throws
/// after its first write, called with `curl -v`, would settle it. Pinned by
/// `an_error_mid_stream_cuts_the_callers_body_after_what_was_sent`.
fn relayed(body: BodyStream, trace: RequestTrace) -> Body {
    Body::from_stream(body.map(move |item| {
        item.map_err(|fault| {
            tracing::info!(%fault, "function URL cut the stream");
            trace.record(Line::refuse(
                Hop::Runtime,
                "response stream",
                format!("the function's response stream broke off: {fault}"),
            ));
            std::io::Error::new(std::io::ErrorKind::ConnectionAborted, fault.to_string())
        })
    }))
}

/// Step 7: respond.
pub async fn respond(ctx: &Context<'_>, invocation: Invocation) -> Result<Response, UrlRefusal> {
    let buffered = ctx.config.topology.function_url.invoke_mode == InvokeMode::Buffered;
    Ok(match invocation.response {
        FunctionResponse::Buffered {
            status,
            headers,
            cookies,
            body,
        } => {
            ctx.trace.record(function_line(status, &body));
            response(status, &headers, &cookies, Body::from(body))
        }
        FunctionResponse::Streaming { prelude, body } if buffered || prelude.status >= 400 => {
            let all = read_whole(body).await?;
            ctx.trace.record(function_line(prelude.status, &all));
            response(
                prelude.status,
                &prelude.headers,
                &prelude.cookies,
                Body::from(all),
            )
        }
        FunctionResponse::Streaming { prelude, body } => {
            ctx.trace.record(Line::pass(
                Hop::Function,
                "response",
                format!("{} streaming", prelude.status),
            ));
            let mut out = response(
                prelude.status,
                &prelude.headers,
                &prelude.cookies,
                relayed(body, ctx.trace.clone()),
            );
            if !out.headers().contains_key("content-type") {
                out.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("application/octet-stream"),
                );
            }
            out
        }
    })
}
