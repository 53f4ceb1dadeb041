//! The pure parts of SigV4: canonical URI (normalised, URI-encoded — which double-encodes a path that
//! arrives percent-encoded, as non-S3 services do), canonical query, canonical headers, the canonical
//! request, the string to sign, the signing key and the signature.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 encoding of every byte but the unreserved ones (and `/` unless `encode_slash`).
pub fn uri_encode(text: &[u8], encode_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text {
        if is_unreserved(b) || (b == b'/' && !encode_slash) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decoding (`+` stays `+`).
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hi = (bytes[i + 1] as char).to_digit(16);
            let lo = (bytes[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// RFC 3986 dot-segment removal, with empty segments (`//`) dropped; a trailing `/` is kept.
pub fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical URI of `path` as the signer saw it.
pub fn canonical_uri(path: &[u8], normalize: bool) -> String {
    let path = String::from_utf8_lossy(path);
    let path = if normalize {
        normalize_path(&path)
    } else if path.is_empty() {
        "/".to_owned()
    } else {
        path.into_owned()
    };
    uri_encode(path.as_bytes(), false)
}

/// Splits a raw query string into raw (still encoded) pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Decoded pairs (what a presigned URL's parameters mean).
pub fn decoded_pairs(query: &str) -> Vec<(String, String)> {
    query_pairs(query)
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&percent_decode(&k)).into_owned(),
                String::from_utf8_lossy(&percent_decode(&v)).into_owned(),
            )
        })
        .collect()
}

/// The canonical query string: every pair decoded, re-encoded, sorted; `exclude` names (decoded) are
/// left out (`X-Amz-Signature` for presigned URLs).
pub fn canonical_query(query: &str, exclude: &[&str]) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .map(|(k, v)| (percent_decode(&k), percent_decode(&v)))
        .filter(|(k, _)| !exclude.iter().any(|e| e.as_bytes() == k.as_slice()))
        .map(|(k, v)| (uri_encode(&k, true), uri_encode(&v, true)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trims and collapses runs of whitespace, as SigV4 canonical header values require.
fn canonical_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical headers block (each `name:value\n`) and the signed-headers line, for the named
/// headers; several headers with one name are joined with `,` in arrival order.
pub fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> (String, String) {
    let mut names: Vec<String> = signed.iter().map(|n| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let mut block = String::new();
    for name in &names {
        let values: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| canonical_value(v))
            .collect();
        block.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    (block, names.join(";"))
}

/// The canonical request.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    )
}

/// The string to sign.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key size");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `kSigning` from the secret and the scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The hex signature of a string to sign.
pub fn signature(signing_key: &[u8], string_to_sign: &str) -> String {
    hex(&hmac(signing_key, string_to_sign.as_bytes()))
}

/// Constant-time comparison of two hex signatures. Exact: a signature is lowercase hex, and AWS
/// compares it as a string, so an uppercase one does not match.
pub fn signatures_match(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_the_suite() {
        assert_eq!(normalize_path("//example//"), "/example/");
        assert_eq!(normalize_path("/example1/example2/../.."), "/");
        assert_eq!(normalize_path("/./example"), "/example");
        assert_eq!(normalize_path("/./"), "/");
        assert_eq!(normalize_path("/example/.."), "/");
        assert_eq!(normalize_path(""), "/");
    }

    #[test]
    fn an_encoded_path_is_encoded_again() {
        assert_eq!(canonical_uri(b"/a%3Db", true), "/a%253Db");
        assert_eq!(canonical_uri("/ሴ".as_bytes(), true), "/%E1%88%B4");
        assert_eq!(
            canonical_query("b=2&a=%E1%88%B4&a=1", &[]),
            "a=%E1%88%B4&a=1&b=2"
        );
        assert_eq!(percent_decode("%4"), b"%4");
    }

    #[test]
    fn aws_documented_signing_key_example() {
        // The signing-key example from the SigV4 documentation.
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
