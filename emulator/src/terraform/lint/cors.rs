//! The gate's CORS rules: the site calls the chatbot cross-origin, so CORS must be configured, allow
//! exactly what the browser client sends (POST with `content-type`, `x-amz-content-sha256`,
//! `x-chatbot-authorization`), name real origins (never `*`), and live in one layer only — AWS adds
//! the URL's headers beside CloudFront's or the function's, and a duplicated
//! `access-control-allow-origin` makes the browser reject the answer.

use serde_json::Value;

use super::{Linter, list};
use crate::terraform::{Module, Resource, TfError, headers_policy};
use crate::topology::{CLIENT_HEADERS, valid_origin};

/// The response headers policy of the default behavior, when this module defines it.
fn edge_policy(m: &Module) -> Result<Option<&Resource>, TfError> {
    let Some(distribution) = m.resource("aws_cloudfront_distribution") else {
        return Ok(None);
    };
    let id = m.attribute(
        distribution,
        &["default_cache_behavior", "response_headers_policy_id"],
    )?;
    match id.as_ref().and_then(Value::as_str) {
        Some(id) => headers_policy::policy_named(m, id),
        None => Ok(None),
    }
}

fn allows(values: &[String], wanted: &str) -> bool {
    values
        .iter()
        .any(|v| v == "*" || v.eq_ignore_ascii_case(wanted))
}

/// Runs the CORS rules.
pub(super) fn check(l: &mut Linter, m: &Module) -> Result<(), TfError> {
    let url = m.resource("aws_lambda_function_url");
    let url_cors = url.filter(|u| m.has_block(u, &["cors"]));
    let policy = edge_policy(m)?;
    let policy_cors = policy.filter(|p| m.has_block(p, &["cors_config"]));
    let Some(url_resource) = url else {
        return Ok(());
    };
    // Where the CORS the browser meets is configured, and how its lists are spelled there.
    let layer = match (url_cors, policy_cors) {
        (Some(u), _) => Some((
            u,
            ["cors", "allow_origins"],
            ["cors", "allow_methods"],
            ["cors", "allow_headers"],
        )),
        (None, Some(p)) => Some((
            p,
            ["cors_config", "access_control_allow_origins"],
            ["cors_config", "access_control_allow_methods"],
            ["cors_config", "access_control_allow_headers"],
        )),
        (None, None) => None,
    };
    l.check(
        "cors-present",
        layer.is_some(),
        url_resource.location.clone(),
        match layer {
            Some((r, ..)) => format!("CORS is configured on {}.{}", r.kind, r.name),
            None => "no CORS: the browser's preflight reaches the function (405) and every cross-origin call is blocked".into(),
        },
        "add a cors block to aws_lambda_function_url (allow_origins = var.allowed_origins, allow_methods = [\"POST\"], allow_headers = the client's three headers)",
    );
    let Some((resource, origins_at, methods_at, headers_at)) = layer else {
        return Ok(());
    };
    let read = |path: [&str; 2]| -> Result<Vec<String>, TfError> {
        let value = if resource.kind == "aws_lambda_function_url" {
            m.attribute(resource, &path)?
        } else {
            m.attribute(resource, &[path[0], path[1], "items"])?
        };
        Ok(list(value))
    };
    let methods = read(methods_at)?;
    let headers = read(headers_at)?;
    let mut missing: Vec<String> = Vec::new();
    if !allows(&methods, "POST") {
        missing.push("method POST".into());
    }
    for header in CLIENT_HEADERS {
        if !allows(&headers, header) {
            missing.push(format!("header {header}"));
        }
    }
    l.check(
        "cors-allows-client",
        missing.is_empty(),
        m.location_of(resource, if allows(&methods, "POST") { headers_at[1] } else { methods_at[1] }),
        if missing.is_empty() {
            format!("allows POST with {}", CLIENT_HEADERS.join(", "))
        } else {
            format!("CORS does not allow {}: the browser blocks the request after its preflight", missing.join(", "))
        },
        "allow_methods = [\"POST\"] and allow_headers = [\"content-type\", \"x-amz-content-sha256\", \"x-chatbot-authorization\"]",
    );
    let origins = read(origins_at)?;
    let bad: Vec<&String> = origins.iter().filter(|o| !valid_origin(o)).collect();
    l.check(
        "cors-origins",
        !origins.is_empty() && bad.is_empty(),
        m.location_of(resource, origins_at[1]),
        if origins.is_empty() {
            "no allowed origin: every browser call is blocked".into()
        } else if bad.is_empty() {
            format!("allowed origins {origins:?}")
        } else {
            format!("allowed origins include {bad:?}: \"*\" lets any site spend this chatbot's money with its users' tokens, and an origin is scheme://host[:port] with no path")
        },
        "list the site's own origins (scheme://host[:port], no path, no trailing slash), never \"*\"",
    );
    let both = url_cors.is_some() && policy_cors.is_some();
    l.check(
        "cors-one-layer",
        !both,
        match (both, policy_cors) {
            (true, Some(p)) => m.location_of(p, "cors_config"),
            _ => resource.location.clone(),
        },
        if both {
            "CORS is configured on the function URL and in the response headers policy: the two layers send their headers side by side or disagree about the preflight".into()
        } else {
            "CORS is configured in one layer".into()
        },
        "keep CORS on the function URL only: remove cors_config from the response headers policy",
    );
    Ok(())
}
