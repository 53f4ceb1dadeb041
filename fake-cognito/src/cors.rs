//! CORS as Cognito's endpoint answers it: a browser page on any origin calls `cognito-idp` (Amplify's
//! sign-in is cross-origin by nature), so a preflight is answered for any origin and every response —
//! errors included — carries `access-control-allow-origin`.
//!
//! UNSURE: no capture of `cognito-idp.<region>.amazonaws.com`'s CORS headers was found in public
//! documentation or issues. What is certain is that browser sign-in works from any origin (Amplify
//! documents no CORS configuration for user pools). The choices: `*` for the origin (the API is public
//! and credential-less: tokens travel in the body); the requested headers reflected in the preflight
//! (Amplify v6 in Chromium asks for `amz-sdk-invocation-id`, `amz-sdk-request`, `cache-control`,
//! `content-type`, `x-amz-target`, `x-amz-user-agent` — the e2e browser test records it); methods
//! `POST, GET, OPTIONS`; `x-amzn-RequestId`, `x-amzn-ErrorType`, `x-amzn-ErrorMessage` and `Date`
//! exposed, the headers AWS's browser SDKs read for errors; a one-day preflight cache.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::server::AppState;

/// The headers exposed to page scripts.
pub const EXPOSED: &str = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date";

/// One preflight the fake answered, for tests (`GET /__fake/preflights`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Preflight {
    /// `Origin`.
    pub origin: String,
    /// `Access-Control-Request-Method`.
    pub method: String,
    /// `Access-Control-Request-Headers`, as sent.
    pub headers: String,
}

/// Answers preflights; adds `access-control-allow-origin` to every other answer.
pub(crate) async fn layer(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let preflight = {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let method = header("access-control-request-method");
        (request.method() == Method::OPTIONS && method.is_some()).then(|| Preflight {
            origin: header("origin").unwrap_or_default(),
            method: method.unwrap_or_default(),
            headers: header("access-control-request-headers").unwrap_or_default(),
        })
    };
    if let Some(preflight) = preflight {
        tracing::info!(origin = %preflight.origin, headers = %preflight.headers, "CORS preflight");
        let mut response = StatusCode::OK.into_response();
        let out = response.headers_mut();
        out.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        out.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("POST, GET, OPTIONS"),
        );
        if let Ok(value) = HeaderValue::from_str(&preflight.headers) {
            if !preflight.headers.is_empty() {
                out.insert("access-control-allow-headers", value);
            }
        }
        out.insert("access-control-max-age", HeaderValue::from_static("86400"));
        state.record_preflight(preflight);
        return response;
    }
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    out.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    out.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSED),
    );
    response
}
