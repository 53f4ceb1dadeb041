//! Step 3 of the edge, Origin Access Control: how CloudFront signs the origin request for a Lambda URL
//! origin, with the `aws-sigv4` crate — `always` (the viewer's `Authorization` is replaced), `never`
//! (nothing is signed; the viewer's headers go as they are), `no-override` (a viewer `Authorization`
//! is passed instead of signing).
//!
//! The payload hash is the viewer's `x-amz-content-sha256`; without one CloudFront signs the SHA-256
//! of an empty body (`e3b0c442…`). Observed: OAC-signed GETs reach the function with that value
//! (`reference/aws-edge.md` §2.2, rimutaka's capture), and a POST whose viewer sent no hash is refused
//! by Lambda with InvalidSignatureException (§2.2, html-share#4 and the field notes). Inferred, not
//! documented: that CloudFront signs the empty-body hash in the POST case too — the one rule that
//! explains both observations (it never reads the body), and it lets an empty POST through, as
//! html-share#4 implies.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as sigv4_sign};
use aws_sigv4::sign::v4;

use super::origin_request::OriginRequest;
use super::pages::Page;
use super::{Context, EdgeRefusal};
use crate::function_url::auth::oac_identity;
use crate::refusal::Refusal;
use crate::topology::SigningBehavior;
use crate::trace::{Hop, Line};

/// The SHA-256 of an empty body, which CloudFront signs when the viewer sends no payload hash.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

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
    /// Signed; `replaced_viewer_authorization` if the viewer had sent one, `viewer_hash` if the
    /// viewer sent the payload hash.
    Signed {
        /// Whether a viewer `Authorization` header was dropped.
        replaced_viewer_authorization: bool,
        /// Whether the viewer sent `x-amz-content-sha256`.
        viewer_hash: bool,
    },
    /// `never`: not signed.
    NotSigned,
    /// `no-override` with a viewer `Authorization`: passed unsigned.
    PassedViewerAuthorization,
}

/// Signs `headers` (the origin request's, Host already the origin's) in place.
pub fn apply(
    behavior: SigningBehavior,
    method: &str,
    url: &str,
    region: &str,
    headers: &mut Vec<(String, String)>,
    now: SystemTime,
) -> Result<Outcome, String> {
    let viewer_authorization = headers.iter().any(|(n, _)| n == "authorization");
    match behavior {
        SigningBehavior::Never => return Ok(Outcome::NotSigned),
        SigningBehavior::NoOverride if viewer_authorization => {
            return Ok(Outcome::PassedViewerAuthorization);
        }
        SigningBehavior::Always | SigningBehavior::NoOverride => {}
    }
    headers.retain(|(n, _)| n != "authorization");
    let (payload, viewer_hash) = match headers.iter().find(|(n, _)| n == "x-amz-content-sha256") {
        Some((_, value)) => (value.clone(), true),
        None => {
            headers.push(("x-amz-content-sha256".into(), EMPTY_SHA256.into()));
            (EMPTY_SHA256.to_owned(), false)
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
    let (instructions, _) = sigv4_sign(signable, &params)
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
        viewer_hash,
    })
}

/// The trace line for what signing did.
fn line(behavior: SigningBehavior, outcome: &Outcome, body_is_empty: bool) -> Line {
    match outcome {
        Outcome::Signed {
            replaced_viewer_authorization: true,
            ..
        } => Line::note(
            Hop::Oac,
            "signing behavior always",
            "signed with SigV4 (service lambda); replaced the viewer's Authorization header",
        )
        .with_hint("OAC signing `always` replaced the viewer's Authorization header; a JWT sent there never reaches the function — send it in x-chatbot-authorization"),
        Outcome::Signed {
            viewer_hash: false, ..
        } if !body_is_empty => Line::note(
            Hop::Oac,
            format!("signing behavior {behavior}"),
            "signed with SigV4 (service lambda) over the empty-body hash: the viewer sent no x-amz-content-sha256",
        )
        .with_hint("Lambda refuses unsigned payloads: the viewer must send x-amz-content-sha256 = hex SHA-256 of the body (observed: Lambda refuses a body sent without it; inferred: CloudFront then signs the empty-body hash, which is not the body's)"),
        Outcome::Signed { viewer_hash, .. } => Line::pass(
            Hop::Oac,
            format!("signing behavior {behavior}"),
            if *viewer_hash {
                "signed with SigV4 (service lambda) over the viewer's x-amz-content-sha256"
            } else {
                "signed with SigV4 (service lambda) over the empty-body hash (no body)"
            },
        ),
        Outcome::NotSigned => Line::note(
            Hop::Oac,
            "signing behavior never",
            "the origin request is not signed",
        )
        .with_hint("an AWS_IAM function URL refuses unsigned requests: set signing_behavior = \"always\""),
        Outcome::PassedViewerAuthorization => Line::note(
            Hop::Oac,
            "signing behavior no-override",
            "the viewer sent Authorization, so CloudFront did not sign and passed it on",
        )
        .with_hint("with no-override a viewer Authorization (e.g. a Bearer JWT) is not a SigV4 signature for the function URL: use signing `always` and put the JWT in x-chatbot-authorization"),
    }
}

/// Step 3: sign the origin request for the function URL's host (with a Host-forwarding policy the
/// viewer's Host then goes out instead, which is what breaks the signature on AWS too).
pub fn sign(ctx: &Context<'_>, mut request: OriginRequest) -> Result<OriginRequest, EdgeRefusal> {
    let topology = &ctx.config.topology;
    let behavior = topology.distribution.oac.signing_behavior;
    let url = format!("https://{}{}", topology.function_url_host(), request.target);
    let outcome = apply(
        behavior,
        request.method.as_str(),
        &url,
        &topology.region,
        &mut request.headers,
        ctx.config.clock.now(),
    )
    .map_err(|why| Refusal::new(Page::OriginUnreachable, Hop::Oac, "signing", why))?;
    ctx.trace
        .record(line(behavior, &outcome, request.body_is_empty));
    if let Some(viewer_host) = request.viewer_host.take() {
        if let Some(host) = request.headers.iter_mut().find(|(n, _)| n == "host") {
            host.1 = viewer_host;
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<(String, String)> {
        vec![
            ("host".into(), "u.lambda-url.us-east-1.on.aws".into()),
            ("authorization".into(), "Bearer jwt".into()),
        ]
    }

    #[test]
    fn always_replaces_the_viewer_authorization_and_signs_the_empty_hash_without_one() {
        let mut h = headers();
        let outcome = apply(
            SigningBehavior::Always,
            "GET",
            "https://u.lambda-url.us-east-1.on.aws/",
            "us-east-1",
            &mut h,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(
            outcome,
            Outcome::Signed {
                replaced_viewer_authorization: true,
                viewer_hash: false
            }
        );
        let get = |name: &str| h.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert!(
            get("authorization")
                .unwrap()
                .starts_with("AWS4-HMAC-SHA256 ")
        );
        assert_eq!(get("x-amz-content-sha256").as_deref(), Some(EMPTY_SHA256));
        assert!(get("x-amz-security-token").is_some() && get("x-amz-date").is_some());
    }

    #[test]
    fn never_and_no_override() {
        let mut h = headers();
        let url = "https://u.lambda-url.us-east-1.on.aws/";
        let now = SystemTime::now();
        assert_eq!(
            apply(
                SigningBehavior::Never,
                "POST",
                url,
                "us-east-1",
                &mut h,
                now
            ),
            Ok(Outcome::NotSigned)
        );
        assert_eq!(
            apply(
                SigningBehavior::NoOverride,
                "POST",
                url,
                "us-east-1",
                &mut h,
                now
            ),
            Ok(Outcome::PassedViewerAuthorization)
        );
        assert_eq!(h, headers(), "nothing was changed");
    }

    #[test]
    fn the_empty_hash_is_the_sha256_of_nothing() {
        assert_eq!(
            EMPTY_SHA256,
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b""))
        );
    }
}
