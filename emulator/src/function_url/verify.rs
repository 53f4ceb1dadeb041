//! Step 3 of the Function URL: who is calling. `AuthType AWS_IAM` verifies the SigV4 signature (with
//! the body hash) against the keys the URL knows — CloudFront's OAC role and the topology's IAM users —
//! and maps each failure to AWS's refusal with a hint; `AuthType NONE` lets anyone through.

use std::time::Duration;

use super::auth::{self, Caller};
use super::errors::UrlError;
use super::receive::Received;
use super::{Context, UrlRefusal};
use crate::refusal::Refusal;
use crate::sigv4::{self, SigV4Error, VerifyOptions};
use crate::topology::AuthType;
use crate::trace::{Hop, Line};

const RULE: &str = "AuthType AWS_IAM: SigV4";

/// How the URL verifies: service `lambda` in the topology's region, five minutes of skew, no
/// unsigned payloads.
pub fn options(region: &str) -> VerifyOptions {
    VerifyOptions {
        region: region.to_owned(),
        service: "lambda".into(),
        normalize_path: true,
        max_skew: Duration::from_secs(300),
        allow_unsigned_payload: false,
    }
}

/// A SigV4 failure as the URL answers it.
pub fn refusal(failure: SigV4Error, headers: &[(String, String)]) -> UrlRefusal {
    match failure {
        SigV4Error::Missing => Refusal::new(
            UrlError::Unsigned,
            Hop::UrlAuth,
            RULE,
            "the request carries no SigV4 signature",
        )
        .hint("call through CloudFront (OAC signs), or sign with SigV4 for service \"lambda\" (e.g. curl --aws-sigv4 \"aws:amz:us-east-1:lambda\" with an IAM user's keys)"),
        SigV4Error::InvalidToken => Refusal::new(
            UrlError::UnrecognizedClient,
            Hop::UrlAuth,
            RULE,
            "unknown access key or session token",
        )
        .hint("sign with the keys of an IAM user in the topology (local-admin)"),
        failure @ SigV4Error::PayloadHashCase => Refusal::new(
            UrlError::InvalidSignature(failure.to_string()),
            Hop::UrlAuth,
            "AuthType AWS_IAM: body hash",
            "x-amz-content-sha256 is the body's SHA-256 in uppercase hex; SigV4's payload hash is lowercase",
        )
        .hint("send x-amz-content-sha256 as lowercase hex (the SHA-256 of the exact body)"),
        failure @ SigV4Error::PayloadMismatch => Refusal::new(
            UrlError::InvalidSignature(failure.to_string()),
            Hop::UrlAuth,
            "AuthType AWS_IAM: body hash",
            "x-amz-content-sha256 is missing, UNSIGNED-PAYLOAD, or not the SHA-256 of the body",
        )
        .hint("send x-amz-content-sha256: <hex SHA-256 of the exact body> (Lambda does not accept unsigned payloads; CloudFront signs with the value the viewer sends)"),
        other => {
            let why = other.to_string();
            let forwarded_host = headers
                .iter()
                .any(|(n, v)| n == "host" && !v.contains(".lambda-url."));
            let hint = if forwarded_host {
                "the Host header is not the function URL's: an origin request policy that forwards Host (Managed-AllViewer) breaks the OAC signature; use Managed-AllViewerExceptHostHeader"
            } else {
                "re-sign the request: the signature, date or a signed header does not match"
            };
            Refusal::new(UrlError::InvalidSignature(why.clone()), Hop::UrlAuth, RULE, why).hint(hint)
        }
    }
}

/// Step 3: the caller behind the request.
pub fn verify(ctx: &Context<'_>, request: &Received) -> Result<Caller, UrlRefusal> {
    let topology = &ctx.config.topology;
    if topology.function_url.auth_type == AuthType::None {
        ctx.trace.record(Line::pass(
            Hop::UrlAuth,
            "AuthType NONE",
            "no signature required",
        ));
        return Ok(Caller::Anonymous);
    }
    let verified = sigv4::verify(
        &sigv4::verify::Request {
            method: request.method.as_str(),
            path: request.path.as_bytes(),
            query: &request.query,
            headers: &request.header_list,
            body: &request.body,
        },
        |akid| auth::lookup(topology, akid),
        &options(&topology.region),
        ctx.config.clock.now(),
    )
    .map_err(|failure| refusal(failure, &request.header_list))?;
    let caller = auth::caller(topology, &verified.access_key_id, &request.header_list);
    ctx.trace.record(Line::pass(
        Hop::UrlAuth,
        RULE,
        format!(
            "signature by {} verified, body hash matches",
            caller.describe()
        ),
    ));
    Ok(caller)
}
