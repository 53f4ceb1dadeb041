//! Verifying a signed request in context: who signed it (their secret and session token), when (five
//! minutes of skew, or a presigned URL's expiry), for what (region and service), and over which body
//! (`x-amz-content-sha256` against the SHA-256 of the bytes received; `UNSIGNED-PAYLOAD` refused with a
//! body when the service refuses it, as Function URLs do).

use std::time::{Duration, SystemTime};

use super::compute;
use super::parse::{self, ParseError};

/// A caller's credentials, as the emulator knows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// The session token temporary credentials must present.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The request as received.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Method.
    pub method: &'a str,
    /// The path as the signer saw it (on the wire: the raw, percent-encoded path).
    pub path: &'a [u8],
    /// The raw query string.
    pub query: &'a str,
    /// Headers in arrival order.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// What the service expects.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The service's region.
    pub region: String,
    /// The signing name (`lambda`).
    pub service: String,
    /// Normalise the path (every service but S3).
    pub normalize_path: bool,
    /// Allowed clock skew (AWS: 5 minutes).
    pub max_skew: Duration,
    /// Whether `UNSIGNED-PAYLOAD` is accepted with a non-empty body (Function URLs: no).
    pub allow_unsigned_payload: bool,
}

/// Why a signature is refused, with AWS's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No signature at all.
    #[error("Missing Authentication Token")]
    Missing,
    /// Syntax errors in the signature.
    #[error("{0}")]
    Incomplete(String),
    /// Unknown access key, or a session token that does not belong to it.
    #[error("The security token included in the request is invalid.")]
    InvalidToken,
    /// Too old or too new. UNSURE (reference/aws-edge.md §3.1: no Function URL capture): the
    /// Lambda API's 403 `InvalidSignatureException` with this message (pulumi/pulumi-aws#55,
    /// serverless/serverless#27), sent with the lower-case `message` key of the URL's other
    /// signature failures; a real URL called with a request signed six minutes ago would settle it.
    /// Pinned by `a_signature_older_than_five_minutes_is_refused` (e2e) and the URL's wire tests.
    #[error("Signature expired: {amz_date} is now earlier than {earliest} ({now} - 5 min.)")]
    Expired {
        /// The request's date.
        amz_date: String,
        /// The earliest accepted.
        earliest: String,
        /// Now.
        now: String,
    },
    /// Dated in the future.
    #[error("Signature not yet current: {amz_date} is still later than {latest} ({now} + 5 min.)")]
    NotYetCurrent {
        /// The request's date.
        amz_date: String,
        /// The latest accepted.
        latest: String,
        /// Now.
        now: String,
    },
    /// A presigned URL past its expiry.
    #[error("Request has expired")]
    PresignExpired,
    /// The scope names another region or service, or another date.
    #[error("{0}")]
    Scope(String),
    /// The body is not the one signed, or is unsigned where it must be signed.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    PayloadMismatch,
    /// `x-amz-content-sha256` is the body's hash in uppercase hex (SigV4 wants lowercase).
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    PayloadHashCase,
    /// The signature does not match.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key that signed.
    pub access_key_id: String,
    /// The signed header names.
    pub signed_headers: Vec<String>,
    /// The canonical request that matched (for traces and tests).
    pub canonical_request: String,
}

/// `X-Amz-Date`: ISO 8601 basic format.
const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

fn amz_date(time: SystemTime) -> String {
    time::OffsetDateTime::from(time)
        .format(AMZ_DATE)
        .unwrap_or_default()
}

fn parse_amz_date(text: &str) -> Option<SystemTime> {
    time::PrimitiveDateTime::parse(text, AMZ_DATE)
        .ok()
        .map(|t| SystemTime::from(t.assume_utc()))
}

/// Headers SigV4 reads as one value each.
const SINGLE_VALUED: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Verifies `request`; `lookup` gives the credentials for an access key id.
pub fn verify(
    request: &Request<'_>,
    lookup: impl Fn(&str) -> Option<Identity>,
    options: &VerifyOptions,
    now: SystemTime,
) -> Result<Verified, SigV4Error> {
    let decoded_query = compute::decoded_pairs(request.query);
    let signature = parse::signature(request.headers, &decoded_query).map_err(|e| match e {
        ParseError::Unsigned => SigV4Error::Missing,
        ParseError::Algorithm => SigV4Error::Incomplete("Unsupported AWS 'algorithm'".into()),
        ParseError::Malformed(m) => SigV4Error::Incomplete(m),
    })?;
    let identity = lookup(&signature.credential.access_key_id).ok_or(SigV4Error::InvalidToken)?;
    // Temporary credentials need their own token; long-term keys (AKIA…) take none — AWS refuses an
    // arbitrary X-Amz-Security-Token beside them as an invalid token.
    if identity.session_token != signature.session_token {
        return Err(SigV4Error::InvalidToken);
    }
    for name in SINGLE_VALUED {
        let count = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count();
        if count > 1 {
            // UNSURE (no captured message): AWS reads these as single values; two are ambiguous.
            return Err(SigV4Error::Incomplete(format!(
                "the request has {count} {name} headers; it takes one"
            )));
        }
    }
    let signed_at = parse_amz_date(&signature.amz_date).ok_or_else(|| {
        SigV4Error::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'.",
            signature.amz_date
        ))
    })?;
    // Checked arithmetic: no date or expiry a caller sends can overflow the clock.
    let latest = now.checked_add(options.max_skew).unwrap_or(now);
    match signature.expires_s {
        None => {
            if signed_at
                .checked_add(options.max_skew)
                .is_none_or(|t| t < now)
            {
                return Err(SigV4Error::Expired {
                    amz_date: signature.amz_date.clone(),
                    earliest: amz_date(now.checked_sub(options.max_skew).unwrap_or(now)),
                    now: amz_date(now),
                });
            }
            if signed_at > latest {
                return Err(SigV4Error::NotYetCurrent {
                    amz_date: signature.amz_date.clone(),
                    latest: amz_date(latest),
                    now: amz_date(now),
                });
            }
        }
        Some(expires) => {
            let until = signed_at.checked_add(Duration::from_secs(expires));
            if until.is_none_or(|t| t < now) || signed_at > latest {
                return Err(SigV4Error::PresignExpired);
            }
        }
    }
    let scope = &signature.credential;
    if scope.date != signature.amz_date[..8] {
        return Err(SigV4Error::Scope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            scope.date,
            &signature.amz_date[..8],
            signature.amz_date
        )));
    }
    if scope.region != options.region {
        return Err(SigV4Error::Scope(format!(
            "Credential should be scoped to a valid region. Credential={}",
            scope.region
        )));
    }
    if scope.service != options.service {
        return Err(SigV4Error::Scope(format!(
            "Credential should be scoped to correct service: '{}'. ",
            options.service
        )));
    }
    if !signature
        .signed_headers
        .iter()
        .any(|h| h == "host" || h == ":authority")
    {
        return Err(SigV4Error::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let body_hash = compute::sha256_hex(request.body);
    let declared = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
        .map(|(_, v)| v.trim().to_owned());
    let payload_hash = match declared {
        Some(declared) if declared == "UNSIGNED-PAYLOAD" => {
            if !request.body.is_empty() && !options.allow_unsigned_payload {
                return Err(SigV4Error::PayloadMismatch);
            }
            declared
        }
        Some(declared) => {
            // SigV4's HashedPayload is lowercase hex ("Create a canonical request", AWS IAM user
            // guide: "Lowercase(HexEncode(Hash(requestPayload)))"), and services put the header's
            // value in the canonical request as sent: an uppercase hash is a different payload
            // hash, refused as one (with the body-hash hint), not as an unexplained mismatch.
            if declared != body_hash {
                return Err(if declared.eq_ignore_ascii_case(&body_hash) {
                    SigV4Error::PayloadHashCase
                } else {
                    SigV4Error::PayloadMismatch
                });
            }
            declared
        }
        None => body_hash,
    };
    let exclude: &[&str] = if signature.expires_s.is_some() {
        &["X-Amz-Signature"]
    } else {
        &[]
    };
    let (headers_block, signed_line) =
        compute::canonical_headers(request.headers, &signature.signed_headers);
    let canonical_request = compute::canonical_request(
        request.method,
        &compute::canonical_uri(request.path, options.normalize_path),
        &compute::canonical_query(request.query, exclude),
        &headers_block,
        &signed_line,
        &payload_hash,
    );
    let string_to_sign =
        compute::string_to_sign(&signature.amz_date, &scope.scope(), &canonical_request);
    let key = compute::signing_key(
        &identity.secret_access_key,
        &scope.date,
        &scope.region,
        &scope.service,
    );
    let expected = compute::signature(&key, &string_to_sign);
    if !compute::signatures_match(&expected, &signature.signature) {
        return Err(SigV4Error::SignatureMismatch);
    }
    Ok(Verified {
        access_key_id: identity.access_key_id,
        signed_headers: signature.signed_headers,
        canonical_request,
    })
}
