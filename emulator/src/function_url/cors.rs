//! CORS at the Function URL: step 2 answers a preflight itself, without invoking the function, when
//! CORS is configured (`reference/aws-edge.md` §7), and every answer to a request with an `Origin`
//! gets AWS's CORS headers for an allowed origin — *added* beside any the function set, as AWS does, so
//! a function that sets its own `access-control-allow-origin` produces the duplicate that browsers
//! reject. Each such request gets a `cors` trace line: what the browser will do and, when it will
//! block, why and what to change (the browser hides the reason from the page).

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse as _, Response};

use super::Context;
use super::receive::Received;
use crate::topology::Cors;
use crate::trace::{Hop, Line, TRACE_HEADER};

/// What CORS needs to know of a request, read before anything else can refuse it.
#[derive(Debug, Clone, Default)]
pub struct CorsRequest {
    /// `Origin`.
    pub origin: Option<String>,
    /// An `OPTIONS` with `Access-Control-Request-Method`: a preflight.
    pub preflight: Option<Preflight>,
}

/// What a preflight asks for.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// `Access-Control-Request-Method`.
    pub method: String,
    /// `Access-Control-Request-Headers`, lower-cased.
    pub headers: Vec<String>,
}

impl CorsRequest {
    /// Reads the CORS headers of a request.
    pub fn of(method: &Method, headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let preflight = (method == Method::OPTIONS)
            .then(|| text("access-control-request-method"))
            .flatten()
            .map(|method| Preflight {
                method,
                headers: text("access-control-request-headers")
                    .unwrap_or_default()
                    .split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
            });
        Self {
            origin: text("origin"),
            preflight,
        }
    }
}

/// Whether `origin` is one of `AllowOrigins` (`*` allows every origin).
pub fn origin_allowed(cors: &Cors, origin: &str) -> bool {
    cors.allow_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
}

fn method_allowed(cors: &Cors, method: &str) -> bool {
    cors.allow_methods
        .iter()
        .any(|m| m == "*" || m.eq_ignore_ascii_case(method))
}

fn header_allowed(cors: &Cors, header: &str) -> bool {
    cors.allow_headers
        .iter()
        .any(|h| h == "*" || h.eq_ignore_ascii_case(header))
}

fn set(out: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        out.insert(name, value);
    }
}

fn add_origin_hint(origin: &str) -> String {
    format!(
        "add {origin} to allowed_origins (Terraform: var.allowed_origins; locally: `up --allow-origin {origin}`)"
    )
}

/// The preflight answer for `origin` under `cors`: the configured lists, which the browser checks
/// against what it asked for. UNSURE what AWS answers an origin it does not allow; a 200 without
/// `access-control-allow-origin` (which the browser blocks) is what the API Gateway HTTP API, whose
/// CORS Function URLs share, does.
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

/// What the browser will do with this preflight's answer, as a trace line.
pub fn judge_preflight(cors: &Cors, origin: &str, preflight: &Preflight) -> Line {
    const RULE: &str = "CORS preflight";
    if !origin_allowed(cors, origin) {
        return Line::refuse(
            Hop::Cors,
            RULE,
            format!(
                "CORS: origin {origin} is not in AllowOrigins [{}]; the preflight is answered without access-control-allow-origin and the browser blocks the request",
                cors.allow_origins.join(", ")
            ),
        )
        .with_hint(add_origin_hint(origin));
    }
    if !method_allowed(cors, &preflight.method) {
        return Line::refuse(
            Hop::Cors,
            RULE,
            format!(
                "CORS: origin {origin} asked for method {}, which is not in AllowMethods [{}]; the browser blocks the request",
                preflight.method,
                cors.allow_methods.join(", ")
            ),
        )
        .with_hint(format!("add {} to the function URL's cors allow_methods", preflight.method));
    }
    let refused: Vec<&str> = preflight
        .headers
        .iter()
        .map(String::as_str)
        .filter(|h| !header_allowed(cors, h))
        .collect();
    if !refused.is_empty() {
        return Line::refuse(
            Hop::Cors,
            RULE,
            format!(
                "CORS: origin {origin} asked for header(s) {}, not in AllowHeaders [{}]; the browser blocks the request",
                refused.join(", "),
                cors.allow_headers.join(", ")
            ),
        )
        .with_hint(format!(
            "add {} to the function URL's cors allow_headers (or stop sending it)",
            refused.join(", ")
        ));
    }
    Line::pass(
        Hop::Cors,
        RULE,
        format!(
            "CORS: answered by the function URL without invoking: origin {origin} allowed, method {}, headers [{}]",
            preflight.method,
            preflight.headers.join(", ")
        ),
    )
}

/// Step 2: with CORS configured, the URL answers a preflight itself. UNSURE whether AWS answers an
/// unsigned preflight before authentication; it does here, which is what a browser needs and what
/// matters behind OAC (where the preflight is signed anyway).
pub fn preflight(ctx: &Context<'_>, _request: &Received) -> Option<Response> {
    let cors = ctx.config.topology.function_url.cors.as_ref()?;
    let (Some(origin), Some(preflight)) = (&ctx.cors.origin, &ctx.cors.preflight) else {
        return None;
    };
    ctx.trace.record(judge_preflight(cors, origin, preflight));
    Some(preflight_response(cors, origin))
}

/// Every answer to a request with an `Origin` (the URL's refusals included): AWS's CORS headers for an
/// allowed origin, added beside the function's; and the trace line saying what the browser will do.
pub fn add_headers(ctx: &Context<'_>, response: &mut Response) {
    let Some(origin) = ctx.cors.origin.as_deref() else {
        return;
    };
    let status = response.status().as_u16();
    let Some(cors) = ctx.config.topology.function_url.cors.as_ref() else {
        let line = if ctx.cors.preflight.is_some() {
            Line::refuse(
                Hop::Cors,
                "CORS not configured",
                format!(
                    "CORS: the preflight from {origin} reached the function, which answered {status} without access-control-allow-origin; the browser blocks the request"
                ),
            )
            .with_hint(format!(
                "configure CORS on the function URL (Terraform: a cors block with allow_origins = [\"{origin}\"], allow_methods = [\"POST\"] and the headers the client sends), so the URL answers preflights itself"
            ))
        } else {
            Line::refuse(
                Hop::Cors,
                "CORS not configured",
                format!(
                    "CORS: the answer to {origin} carries no access-control-allow-origin; the browser hides it from the page"
                ),
            )
            .with_hint("configure CORS on the function URL (a cors block with allow_origins)")
        };
        ctx.trace.record(line);
        return;
    };
    if ctx.cors.preflight.is_some() {
        return; // The URL answered the preflight itself, and judged it then.
    }
    if !origin_allowed(cors, origin) {
        ctx.trace.record(
            Line::refuse(
                Hop::Cors,
                "CORS",
                format!(
                    "CORS: origin {origin} is not in AllowOrigins [{}]; the answer ({status}) carries no access-control-allow-origin and the browser hides it from the page",
                    cors.allow_origins.join(", ")
                ),
            )
            .with_hint(add_origin_hint(origin)),
        );
        return;
    }
    let headers = response.headers_mut();
    let from_function = headers
        .get_all("access-control-allow-origin")
        .iter()
        .count();
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.append("access-control-allow-origin", value);
    }
    headers.append("vary", HeaderValue::from_static("Origin"));
    if cors.allow_credentials {
        headers.append(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
    }
    // Emulator-only: the page may read the trace id to ask the emulator which hop refused.
    let mut exposed = cors.expose_headers.clone();
    exposed.push(TRACE_HEADER.to_owned());
    if let Ok(value) = HeaderValue::from_str(&exposed.join(",")) {
        headers.append(
            HeaderName::from_static("access-control-expose-headers"),
            value,
        );
    }
    let line = if from_function > 0 {
        Line::refuse(
            Hop::Cors,
            "CORS: one layer only",
            format!(
                "CORS: the function set access-control-allow-origin and the function URL added its own: the answer to {origin} carries it twice, and the browser rejects it"
            ),
        )
        .with_hint("remove the CORS headers from the function: the function URL adds them")
    } else {
        Line::pass(
            Hop::Cors,
            "CORS",
            format!("CORS: origin {origin} allowed; access-control-allow-origin added"),
        )
    };
    ctx.trace.record(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> Cors {
        Cors {
            allow_origins: vec!["http://localhost:5173".into()],
            allow_methods: vec!["POST".into()],
            allow_headers: vec![
                "content-type".into(),
                "x-amz-content-sha256".into(),
                "x-chatbot-authorization".into(),
            ],
            ..Cors::default()
        }
    }

    fn preflight(method: &str, headers: &[&str]) -> Preflight {
        Preflight {
            method: method.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    #[test]
    fn the_preflight_verdict_names_origin_method_or_header() {
        let allowed = preflight("POST", &["content-type", "x-chatbot-authorization"]);
        let ok = judge_preflight(&cors(), "http://localhost:5173", &allowed);
        assert_eq!(ok.decision, crate::trace::Decision::Pass);
        let origin = judge_preflight(&cors(), "http://127.0.0.1:18081", &allowed);
        assert!(
            origin
                .detail
                .contains("CORS: origin http://127.0.0.1:18081")
        );
        assert!(
            origin
                .hint
                .unwrap()
                .contains("`up --allow-origin http://127.0.0.1:18081`")
        );
        let method = judge_preflight(&cors(), "http://localhost:5173", &preflight("PUT", &[]));
        assert!(method.detail.contains("method PUT"));
        let header = judge_preflight(
            &cors(),
            "http://localhost:5173",
            &preflight("POST", &["authorization", "content-type"]),
        );
        assert!(
            header.detail.contains("header(s) authorization,"),
            "{header:?}"
        );
    }

    #[test]
    fn an_allowed_origin_gets_the_configured_lists() {
        let response = preflight_response(&cors(), "http://localhost:5173");
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
        assert_eq!(h["access-control-allow-methods"], "POST");
        let refused = preflight_response(&cors(), "http://evil.example");
        assert!(
            !refused
                .headers()
                .contains_key("access-control-allow-origin")
        );
    }
}
