//! Step 2 of the Function URL, and the CORS headers of its answers: with CORS configured the URL
//! answers a preflight itself, without invoking the function (`reference/aws-edge.md` §7), and adds
//! `access-control-allow-origin` to actual responses for allowed origins.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse as _, Response};

use super::Context;
use super::receive::Received;
use crate::topology::{Cors, Topology};
use crate::trace::{Hop, Line};

fn origin_allowed(cors: &Cors, origin: &str) -> bool {
    cors.allow_origins.iter().any(|o| o == "*" || o == origin)
}

fn set(out: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        out.insert(name, value);
    }
}

/// The preflight answer for `origin` under `cors`.
pub fn preflight_response(cors: &Cors, origin: &str) -> Response {
    let mut response = (StatusCode::OK, "").into_response();
    let out = response.headers_mut();
    out.insert("content-type", HeaderValue::from_static("application/json"));
    out.insert("vary", HeaderValue::from_static("Origin"));
    if origin_allowed(cors, origin) {
        set(out, "access-control-allow-origin", origin);
        if !cors.allow_headers.is_empty() {
            set(
                out,
                "access-control-allow-headers",
                &cors.allow_headers.join(",").to_ascii_lowercase(),
            );
        }
        if !cors.allow_methods.is_empty() {
            set(
                out,
                "access-control-allow-methods",
                &cors.allow_methods.join(","),
            );
        }
        if cors.allow_credentials {
            set(out, "access-control-allow-credentials", "true");
        }
        if cors.max_age > 0 {
            set(out, "access-control-max-age", &cors.max_age.to_string());
        }
    }
    response
}

/// Step 2: a CORS preflight, answered by the URL itself when CORS is configured. UNSURE whether AWS
/// answers an unsigned preflight before authentication; it does here, which is what a browser needs
/// and what matters behind OAC (where the preflight is signed anyway).
pub fn preflight(ctx: &Context<'_>, request: &Received) -> Option<Response> {
    let cors = ctx.config.topology.function_url.cors.as_ref()?;
    if request.method != Method::OPTIONS
        || request.header("access-control-request-method").is_none()
    {
        return None;
    }
    let origin = request.header("origin")?;
    ctx.trace.record(Line::pass(
        Hop::Cors,
        "CORS preflight",
        "answered by the function URL; the function is not invoked",
    ));
    Some(preflight_response(cors, origin))
}

/// On actual responses the URL adds the CORS headers for an allowed origin.
pub fn add_headers(ctx: &Context<'_>, request: &Received, response: &mut Response) {
    add(
        &ctx.config.topology,
        request.header("origin"),
        response.headers_mut(),
    );
}

fn add(topology: &Topology, origin: Option<&str>, headers: &mut HeaderMap) {
    let (Some(cors), Some(origin)) = (topology.function_url.cors.as_ref(), origin) else {
        return;
    };
    if !origin_allowed(cors, origin) {
        return;
    }
    set(headers, "access-control-allow-origin", origin);
    headers.insert("vary", HeaderValue::from_static("Origin"));
    if cors.allow_credentials {
        headers.insert(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
    }
    if !cors.expose_headers.is_empty() {
        set(
            headers,
            "access-control-expose-headers",
            &cors.expose_headers.join(","),
        );
    }
}
