//! A behavior's `response_headers_policy_id`, read into the topology: the
//! `aws_cloudfront_response_headers_policy` of this module it names — its `security_headers_config`
//! (the headers the edge sets) and its `cors_config` (a second CORS layer, which the gate refuses
//! beside the function URL's).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Module, Resource, TfError, string_list, text};
use crate::topology::{EdgeCors, ResponseHeadersPolicy};

/// The policy a behavior names, if any.
pub fn of_behavior(
    module: &Module,
    distribution: &Resource,
    block: &str,
) -> Result<Option<ResponseHeadersPolicy>, TfError> {
    let Some(id) = text(module.attribute(distribution, &[block, "response_headers_policy_id"])?)
    else {
        return Ok(None);
    };
    let resource = policy_named(module, &id)?.ok_or_else(|| TfError::Unsupported {
        location: module.location_of(distribution, "response_headers_policy_id"),
        what: format!(
            "the response headers policy {id:?} (the gate evaluates an aws_cloudfront_response_headers_policy of this module)"
        ),
    })?;
    read(module, resource).map(Some)
}

/// The module's policy whose id is `id`.
pub fn policy_named<'m>(module: &'m Module, id: &str) -> Result<Option<&'m Resource>, TfError> {
    for resource in module.all("aws_cloudfront_response_headers_policy") {
        if module.resource_attribute_public(resource, "id")? == id {
            return Ok(Some(resource));
        }
    }
    Ok(None)
}

fn flag(value: Option<Value>) -> bool {
    value.and_then(|v| v.as_bool()).unwrap_or(false)
}

/// A policy's security headers and CORS.
pub fn read(module: &Module, policy: &Resource) -> Result<ResponseHeadersPolicy, TfError> {
    let get = |path: &[&str]| module.attribute(policy, path);
    let present = |path: &[&str]| module.has_block(policy, path);
    let config = "security_headers_config";
    let mut headers = BTreeMap::new();
    if present(&[config, "strict_transport_security"]) {
        let block = [config, "strict_transport_security"];
        let age = get(&[block[0], block[1], "access_control_max_age_sec"])?
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let mut value = format!("max-age={age}");
        if flag(get(&[block[0], block[1], "include_subdomains"])?) {
            value.push_str("; includeSubDomains");
        }
        if flag(get(&[block[0], block[1], "preload"])?) {
            value.push_str("; preload");
        }
        headers.insert("strict-transport-security".to_owned(), value);
    }
    if present(&[config, "content_type_options"]) {
        headers.insert("x-content-type-options".to_owned(), "nosniff".to_owned());
    }
    if let Some(option) = text(get(&[config, "frame_options", "frame_option"])?) {
        headers.insert("x-frame-options".to_owned(), option);
    }
    if let Some(referrer) = text(get(&[config, "referrer_policy", "referrer_policy"])?) {
        headers.insert("referrer-policy".to_owned(), referrer);
    }
    if let Some(csp) = text(get(&[
        config,
        "content_security_policy",
        "content_security_policy",
    ])?) {
        headers.insert("content-security-policy".to_owned(), csp);
    }
    let cors = if present(&["cors_config"]) {
        let list = |name: &str| -> Result<Vec<String>, TfError> {
            Ok(string_list(get(&["cors_config", name, "items"])?))
        };
        Some(EdgeCors {
            allow_origins: list("access_control_allow_origins")?,
            allow_headers: list("access_control_allow_headers")?,
            allow_methods: list("access_control_allow_methods")?,
            expose_headers: list("access_control_expose_headers")?,
            allow_credentials: flag(get(&["cors_config", "access_control_allow_credentials"])?),
            max_age: get(&["cors_config", "access_control_max_age_sec"])?
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            origin_override: flag(get(&["cors_config", "origin_override"])?),
        })
    } else {
        None
    };
    Ok(ResponseHeadersPolicy {
        cors,
        security_headers: headers,
    })
}
