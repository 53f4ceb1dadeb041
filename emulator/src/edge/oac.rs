//! Origin Access Control: how CloudFront signs the origin request for a Lambda URL origin with the
//! `aws-sigv4` crate — `always` (the viewer's `Authorization` is replaced), `never` (nothing is signed;
//! the viewer's headers go as they are), `no-override` (a viewer `Authorization` is passed instead of
//! signing). The payload hash is the viewer's `x-amz-content-sha256`; without one CloudFront signs
//! `UNSIGNED-PAYLOAD` (UNSURE: undocumented; what a simulator of record chose, and what makes Lambda
//! refuse a POST whose viewer omitted the hash, as observed).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use crate::function_url::auth::oac_identity;

/// Headers OAC signs (besides those the signer adds: `x-amz-date`, `x-amz-security-token`).
const SIGNED: [&str; 4] = [
    "host",
    "x-amz-content-sha256",
    "x-amz-source-account",
    "x-amz-source-arn",
];

/// What signing did, for the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Signed; `replaced_viewer_authorization` if the viewer had sent one.
    Signed {
        /// Whether a viewer `Authorization` header was dropped.
        replaced_viewer_authorization: bool,
    },
    /// `never`: not signed.
    NotSigned,
    /// `no-override` with a viewer `Authorization`: passed unsigned.
    PassedViewerAuthorization,
}

/// Signs `headers` (the origin request's, Host already the origin's) in place.
pub fn apply(
    behavior: &str,
    method: &str,
    url: &str,
    region: &str,
    headers: &mut Vec<(String, String)>,
    now: SystemTime,
) -> Result<Outcome, String> {
    let viewer_authorization = headers.iter().any(|(n, _)| n == "authorization");
    match behavior {
        "never" => return Ok(Outcome::NotSigned),
        "no-override" if viewer_authorization => return Ok(Outcome::PassedViewerAuthorization),
        _ => {}
    }
    headers.retain(|(n, _)| n != "authorization");
    let payload = match headers.iter().find(|(n, _)| n == "x-amz-content-sha256") {
        Some((_, value)) => value.clone(),
        None => {
            headers.push(("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
            "UNSIGNED-PAYLOAD".into()
        }
    };
    let identity = oac_identity();
    let credentials = Credentials::new(
        identity.access_key_id,
        identity.secret_access_key,
        identity.session_token,
        None,
        "cloudfront-oac",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&credentials)
        .region(region)
        .name("lambda")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| SIGNED.contains(&n.as_str()))
        .cloned()
        .collect();
    let signable = SignableRequest::new(
        method,
        url,
        signed.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Precomputed(payload),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (new_headers, _) = instructions.into_parts();
    for header in new_headers {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(header.name()));
        headers.push((
            header.name().to_ascii_lowercase(),
            header.value().to_owned(),
        ));
    }
    Ok(Outcome::Signed {
        replaced_viewer_authorization: viewer_authorization,
    })
}
