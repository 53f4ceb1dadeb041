//! The cross-resource rules the gate enforces before an apply, each with where it is written and how
//! to fix it.

use serde::Serialize;
use serde_json::Value;

mod cors;

use super::{Location, Module, Resource, TfError, managed_policy_name};

/// One rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id (`oac-signing-always`, …).
    pub rule: &'static str,
    /// Whether it holds.
    pub passed: bool,
    /// Where (file:line).
    pub location: String,
    /// What was found.
    pub why: String,
    /// What to change (empty when it passes).
    pub fix: String,
}

/// The keep-alive interval the function uses unless its env says otherwise (ms).
const DEFAULT_KEEPALIVE_MS: u64 = 10_000;

fn text(value: Option<Value>) -> String {
    value
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

struct Linter {
    findings: Vec<Finding>,
}

/// A list attribute's strings.
fn list(value: Option<Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

impl Linter {
    fn check(
        &mut self,
        rule: &'static str,
        passed: bool,
        location: Location,
        why: String,
        fix: &str,
    ) {
        self.findings.push(Finding {
            rule,
            passed,
            location: location.to_string(),
            why,
            fix: if passed {
                String::new()
            } else {
                fix.to_owned()
            },
        });
    }

    /// A resource the rules need is absent: the rule fails.
    fn need(&mut self, kind: &str, rule: &'static str, fix: &str) {
        self.check(
            rule,
            false,
            Location {
                file: "*.tf".into(),
                line: 0,
            },
            format!("no {kind} resource"),
            fix,
        );
    }
}

/// `error-pages-keep-refusals`: no custom error response turns an error into a success page. The
/// chatbot's refusals reach the browser as 403 (OAC, IAM, body hash) and 5xx; a 403 → 200
/// `/index.html` mapping (the usual single-page-app setting) hands `Chatbot.tsx` an HTML page where
/// it expects the refusal.
fn error_pages(l: &mut Linter, m: &Module, distribution: &Resource) -> Result<(), TfError> {
    let customs = super::custom_error_responses(m, distribution)?;
    let masking: Vec<(usize, &crate::topology::CustomErrorResponse)> = customs
        .iter()
        .enumerate()
        .filter(|(_, c)| c.masks_error())
        .collect();
    match masking.first() {
        None => l.check(
            "error-pages-keep-refusals",
            true,
            m.block_location(distribution, "custom_error_response", 0),
            format!(
                "{} custom_error_response block(s), none answering an error with a success",
                customs.len()
            ),
            "",
        ),
        Some((nth, custom)) => l.check(
            "error-pages-keep-refusals",
            false,
            m.block_location(distribution, "custom_error_response", *nth),
            format!(
                "custom_error_response maps {} to {} {}: the browser gets that page instead of the refusal",
                custom.error_code,
                custom.response_code.unwrap_or_default(),
                custom.response_page_path.as_deref().unwrap_or_default()
            ),
            "remove the custom_error_response (or give it an error response_code): the chatbot's distribution must pass its 403 and 5xx answers to the browser",
        ),
    }
    Ok(())
}

/// Runs every rule.
pub fn lint(module: &Module) -> Result<Vec<Finding>, TfError> {
    let mut l = Linter {
        findings: Vec::new(),
    };
    let m = module;

    if let Some(url) = m.resource("aws_lambda_function_url") {
        let auth = text(m.attribute(url, &["authorization_type"])?);
        l.check("url-auth-iam", auth == "AWS_IAM", m.location_of(url, "authorization_type"),
            format!("authorization_type = {auth:?}"),
            "set authorization_type = \"AWS_IAM\" (OAC requires it; NONE makes the function public)");
        let mode = text(m.attribute(url, &["invoke_mode"])?);
        l.check("invoke-mode-stream", mode == "RESPONSE_STREAM", m.location_of(url, "invoke_mode"),
            format!("invoke_mode = {:?}", if mode.is_empty() { "BUFFERED (default)" } else { &mode }),
            "set invoke_mode = \"RESPONSE_STREAM\" (BUFFERED holds the whole answer until the function ends)");
    } else {
        l.need(
            "aws_lambda_function_url",
            "url-auth-iam",
            "add an aws_lambda_function_url",
        );
    }

    if let Some(oac) = m.resource("aws_cloudfront_origin_access_control") {
        let kind = text(m.attribute(oac, &["origin_access_control_origin_type"])?);
        l.check(
            "oac-origin-type-lambda",
            kind == "lambda",
            m.location_of(oac, "origin_access_control_origin_type"),
            format!("origin_access_control_origin_type = {kind:?}"),
            "set origin_access_control_origin_type = \"lambda\"",
        );
        let signing = text(m.attribute(oac, &["signing_behavior"])?);
        l.check("oac-signing-always", signing == "always", m.location_of(oac, "signing_behavior"),
            format!("signing_behavior = {signing:?}"),
            "set signing_behavior = \"always\" (never: unsigned requests are refused; no-override: a viewer Authorization is passed instead of a signature)");
    } else {
        l.need(
            "aws_cloudfront_origin_access_control",
            "oac-signing-always",
            "add an aws_cloudfront_origin_access_control of type lambda",
        );
    }

    let distribution = m.resource("aws_cloudfront_distribution");
    let distribution_arn = match distribution {
        Some(d) => super::Module::resource_attribute_public(m, d, "arn")?,
        None => String::new(),
    };
    for (rule, action) in [
        ("grant-invoke-function-url", "lambda:InvokeFunctionUrl"),
        ("grant-invoke-function", "lambda:InvokeFunction"),
    ] {
        let mut found: Option<(&Resource, String, String)> = None;
        for permission in m.all("aws_lambda_permission") {
            if text(m.attribute(permission, &["action"])?) == action {
                found = Some((
                    permission,
                    text(m.attribute(permission, &["principal"])?),
                    text(m.attribute(permission, &["source_arn"])?),
                ));
            }
        }
        match found {
            Some((permission, principal, source_arn)) => {
                let ok = principal == "cloudfront.amazonaws.com" && source_arn == distribution_arn;
                l.check(rule, ok, m.location_of(permission, if principal != "cloudfront.amazonaws.com" { "principal" } else { "source_arn" }),
                    format!("{action} for {principal:?} with SourceArn {source_arn:?}"),
                    "grant principal \"cloudfront.amazonaws.com\" with source_arn = aws_cloudfront_distribution.<this>.arn");
            }
            None => l.check(rule, false, m.all("aws_lambda_permission").first().or(m.resource("aws_lambda_function").as_ref()).map_or(Location { file: "*.tf".into(), line: 0 }, |r| r.location.clone()), format!("no aws_lambda_permission grants {action}"),
                "add an aws_lambda_permission for this action to cloudfront.amazonaws.com with this distribution's ARN (both are required for function URLs)"),
        }
    }

    for permission in m.all("aws_lambda_permission") {
        let action = text(m.attribute(permission, &["action"])?);
        let scoped = m
            .attribute(permission, &["function_url_auth_type"])?
            .is_some();
        if scoped {
            // An apply-time error on AWS: InvalidParameterValueException "FunctionUrlAuthType is only
            // supported for lambda:InvokeFunctionUrl action" (reference/aws-edge.md §4.3).
            l.check(
                "permission-auth-type-scope",
                action == "lambda:InvokeFunctionUrl",
                m.location_of(permission, "function_url_auth_type"),
                format!("function_url_auth_type on a {action} permission"),
                "keep function_url_auth_type on the lambda:InvokeFunctionUrl permission only (AWS refuses it on any other action at apply time)",
            );
        }
    }

    cors::check(&mut l, m)?;
    let cors = m
        .resource("aws_lambda_function_url")
        .is_some_and(|u| u.body.blocks().any(|b| b.identifier.as_str() == "cors"));
    let keepalive_ms = m
        .resource("aws_lambda_function")
        .map(|f| m.attribute(f, &["environment", "variables"]))
        .transpose()?
        .flatten()
        .and_then(|env| {
            env.get("KEEPALIVE_INTERVAL_MS")
                .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64()))
        })
        .unwrap_or(DEFAULT_KEEPALIVE_MS);
    if let Some(d) = distribution {
        let methods: Vec<String> = m
            .attribute(d, &["default_cache_behavior", "allowed_methods"])?
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let needed: &[&str] = if cors {
            &["POST", "OPTIONS"]
        } else {
            &["POST"]
        };
        let missing: Vec<&&str> = needed
            .iter()
            .filter(|n| !methods.iter().any(|m| m == **n))
            .collect();
        l.check("methods-allowed", missing.is_empty(), m.location_of(d, "allowed_methods"),
            format!("allowed_methods = {methods:?}"),
            "allow all 7 methods (DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT) on the chatbot's behavior");
        let set_ok = crate::topology::allowed_method_set(&methods);
        l.check("allowed-methods-set", set_ok, m.location_of(d, "allowed_methods"),
            if set_ok {
                format!("allowed_methods = {methods:?} is one of CloudFront's sets")
            } else {
                format!("allowed_methods = {methods:?}: CloudFront accepts only [GET, HEAD], [GET, HEAD, OPTIONS] or all 7, and refuses any other set at apply")
            },
            "list all 7 methods: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
        error_pages(&mut l, m, d)?;
        let orp = text(m.attribute(d, &["default_cache_behavior", "origin_request_policy_id"])?);
        let orp_name = managed_policy_name(&orp).unwrap_or(&orp);
        l.check(
            "origin-request-no-host",
            orp_name != "Managed-AllViewer",
            m.location_of(d, "origin_request_policy_id"),
            format!("origin request policy {orp_name}"),
            "use Managed-AllViewerExceptHostHeader: forwarding Host breaks the OAC signature (403)",
        );
        let cache = text(m.attribute(d, &["default_cache_behavior", "cache_policy_id"])?);
        let cache_name = managed_policy_name(&cache).unwrap_or(&cache);
        l.check(
            "caching-disabled",
            cache_name == "Managed-CachingDisabled",
            m.location_of(d, "cache_policy_id"),
            format!("cache policy {cache_name}"),
            "use Managed-CachingDisabled: answers are per user and streamed",
        );
        let read_timeout = m
            .attribute(
                d,
                &["origin", "custom_origin_config", "origin_read_timeout"],
            )?
            .and_then(|v| v.as_u64())
            .unwrap_or(30);
        l.check("origin-read-timeout", read_timeout * 1000 > keepalive_ms, m.location_of(d, "origin_read_timeout"),
            format!("origin_read_timeout = {read_timeout} s; the function's keep-alive interval is {} s", keepalive_ms / 1000),
            "set origin_read_timeout above KEEPALIVE_INTERVAL_MS (CloudFront cuts an origin silent for longer)");
        let viewer = text(m.attribute(d, &["default_cache_behavior", "viewer_protocol_policy"])?);
        l.check(
            "viewer-https",
            viewer == "redirect-to-https" || viewer == "https-only",
            m.location_of(d, "viewer_protocol_policy"),
            format!("viewer_protocol_policy = {viewer:?}"),
            "set viewer_protocol_policy = \"redirect-to-https\" (tokens must not travel in clear)",
        );
        let origin_domain = text(m.attribute(d, &["origin", "domain_name"])?);
        let url_domain = m
            .resource("aws_lambda_function_url")
            .map(|u| super::Module::resource_attribute_public(m, u, "function_url"))
            .transpose()?
            .map(|url| {
                url.trim_start_matches("https://")
                    .trim_end_matches('/')
                    .to_owned()
            })
            .unwrap_or_default();
        let oac_attached = m
            .attribute(d, &["origin", "origin_access_control_id"])?
            .is_some();
        l.check("origin-is-function-url", origin_domain == url_domain && oac_attached, m.location_of(d, "domain_name"),
            format!("origin {origin_domain:?}, OAC attached: {oac_attached}"),
            "point the origin at the function URL's domain and attach the OAC (origin_access_control_id)");
    } else {
        l.need(
            "aws_cloudfront_distribution",
            "methods-allowed",
            "add the aws_cloudfront_distribution",
        );
    }

    if let Some(function) = m.resource("aws_lambda_function") {
        let env = m
            .attribute(function, &["environment", "variables"])?
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        let has = |name: &str| env.contains_key(name);
        let mut problems = Vec::new();
        for required in [
            "COGNITO_USER_POOL_ID",
            "COGNITO_CLIENT_ID",
            "COGNITO_REGION",
        ] {
            if !has(required) {
                problems.push(format!("{required} is missing"));
            }
        }
        if !has("GEMINI_API_KEY") && !has("GEMINI_API_KEY_PARAMETER") {
            problems.push("GEMINI_API_KEY_PARAMETER is missing".into());
        }
        for local_only in env.keys().filter(|k| {
            *k == "COGNITO_JWKS_URL" || *k == "GEMINI_BASE_URL" || k.starts_with("AWS_ENDPOINT_URL")
        }) {
            problems.push(format!(
                "{local_only} is a local override and must not be deployed"
            ));
        }
        l.check("function-env", problems.is_empty(), m.location_of(function, "variables"),
            if problems.is_empty() { "the function's environment has what its config needs".into() } else { problems.join("; ") },
            "set COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID, COGNITO_REGION and GEMINI_API_KEY_PARAMETER; never COGNITO_JWKS_URL, GEMINI_BASE_URL or AWS_ENDPOINT_URL*");
    } else {
        l.need(
            "aws_lambda_function",
            "function-env",
            "add the aws_lambda_function",
        );
    }
    Ok(l.findings)
}
