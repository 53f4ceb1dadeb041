//! The invocation event a Function URL builds: payload format v2.0 (`reference/aws-edge.md` §8.1) with a
//! faithful `requestContext` — the caller's IAM identity (OAC's assumed role when CloudFront calls, the
//! IAM user's when a user calls, none for `AuthType NONE`), `timeEpoch` in ms — the text/base64 body rule,
//! headers lower-cased, and no `authorization` header passed to the function.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Context;
use super::auth::{self, Caller, OAC_ACCESS_KEY_ID, OAC_ACCOUNT, OAC_ROLE_ID};
use super::receive::Received;
use crate::topology::Topology;

/// The request as the URL received it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// Method.
    pub method: &'a str,
    /// The raw path.
    pub path: &'a str,
    /// The raw query string.
    pub query: &'a str,
    /// Headers in arrival order.
    pub headers: &'a [(String, String)],
    /// Body.
    pub body: &'a [u8],
    /// The peer's address.
    pub source_ip: &'a str,
}

/// Whether a body of this content type reaches the function as text. UNSURE (undocumented): as
/// measured for the same payload format, `text/*`, JSON, XML and JavaScript are text; everything else
/// (a missing type and form-urlencoded included) is base64.
pub fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/")
        || matches!(
            media.as_str(),
            "application/json" | "application/xml" | "application/javascript"
        )
        || media.ends_with("+json")
        || media.ends_with("+xml")
}

/// `requestContext.time`: `12/Mar/2020:19:03:58 +0000`.
fn clf_time(time: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from(time)
        .format(format)
        .unwrap_or_default()
}

fn decode(text: &str) -> String {
    String::from_utf8_lossy(&crate::sigv4::compute::percent_decode(
        &text.replace('+', " "),
    ))
    .into_owned()
}

/// Builds the event.
pub fn build(
    topology: &Topology,
    incoming: &Incoming<'_>,
    caller: &Caller,
    request_id: &str,
    now: SystemTime,
) -> Value {
    let mut headers = Map::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in incoming.headers {
        let name = name.to_ascii_lowercase();
        if name == "authorization" {
            continue; // Lambda consumes the SigV4 header; the function never sees it.
        }
        // UNSURE: the cookie header moves into `cookies[]` and leaves `headers`, as API Gateway's v2.0
        // payload documents ("Cookies … combined in the cookies field"); the aws-lambda-rust-runtime
        // fixture for a Function URL keeps both (reference aws-edge.md §4). Runtimes rebuild the header
        // from the array (lambda_http re-joins it with "; "), so a function sees the same cookies
        // either way; a captured Function URL event with a Cookie header would settle it.
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, json!(value));
            }
        }
    }
    let mut query = Map::new();
    for (key, value) in crate::sigv4::compute::query_pairs(incoming.query) {
        let (key, value) = (decode(&key), decode(&value));
        match query.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key, json!(value));
            }
        }
    }
    let (account_id, authorizer) = match caller {
        Caller::Anonymous => ("anonymous".to_owned(), Value::Null),
        Caller::CloudFront { .. } => (
            OAC_ACCOUNT.to_owned(),
            json!({"iam": {
                "accessKey": OAC_ACCESS_KEY_ID,
                "accountId": OAC_ACCOUNT,
                "callerId": format!("{OAC_ROLE_ID}:OriginAccessSession"),
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": format!("arn:aws:sts::{OAC_ACCOUNT}:assumed-role/OriginAccessControlRole/OriginAccessSession"),
                "userId": format!("{OAC_ROLE_ID}:OriginAccessSession")
            }}),
        ),
        Caller::User {
            name,
            access_key_id,
            ..
        } => {
            let id = auth::user_id(name);
            (
                topology.account_id.clone(),
                json!({"iam": {
                    "accessKey": access_key_id,
                    "accountId": topology.account_id,
                    "callerId": id,
                    "cognitoIdentity": null,
                    "principalOrgId": null,
                    "userArn": format!("arn:aws:iam::{}:user/{name}", topology.account_id),
                    "userId": id
                }}),
            )
        }
    };
    add_front_end_headers(&mut headers, incoming.source_ip, request_id, now);
    let header = |name: &str| {
        incoming
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let epoch_ms = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!("$default"));
    event.insert("rawPath".into(), json!(incoming.path));
    event.insert("rawQueryString".into(), json!(incoming.query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), Value::Object(headers));
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": account_id,
            "apiId": topology.function_url.url_id,
            "authentication": null,
            "authorizer": authorizer,
            "domainName": topology.function_url_host(),
            "domainPrefix": topology.function_url.url_id,
            "http": {
                "method": incoming.method,
                "path": incoming.path,
                "protocol": "HTTP/1.1",
                "sourceIp": incoming.source_ip,
                "userAgent": header("user-agent").unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": clf_time(now),
            "timeEpoch": epoch_ms,
        }),
    );
    if !incoming.body.is_empty() {
        // A text type whose bytes are not UTF-8 goes as base64 too: the function sees the bytes that
        // were sent (and can refuse them), never a lossy replacement (reference §8.1: a body that is
        // not text is base64-encoded with isBase64Encoded).
        let text = is_text(header("content-type"))
            .then(|| std::str::from_utf8(incoming.body).ok())
            .flatten();
        if let Some(text) = text {
            event.insert("body".into(), json!(text));
            event.insert("isBase64Encoded".into(), json!(false));
        } else {
            event.insert(
                "body".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(incoming.body)),
            );
            event.insert("isBase64Encoded".into(), json!(true));
        }
    } else {
        event.insert("isBase64Encoded".into(), json!(false));
    }
    event.insert("pathParameters".into(), Value::Null);
    event.insert("stageVariables".into(), Value::Null);
    Value::Object(event)
}

/// The headers the Function URL's own front end puts in every event, behind CloudFront or not: public
/// captures of direct calls and of calls through CloudFront both show `x-forwarded-proto: https`,
/// `x-forwarded-port: 443`, `x-forwarded-for`, `x-amzn-trace-id` and the TLS pair (reference §3.2; the
/// capture in its §5.3 is CloudFront *removing the viewer's* `X-Forwarded-Proto` — the URL then sets its
/// own, so the two sections agree once the hops are told apart).
fn add_front_end_headers(
    headers: &mut Map<String, Value>,
    source_ip: &str,
    request_id: &str,
    now: SystemTime,
) {
    headers.insert("x-forwarded-proto".into(), json!("https"));
    headers.insert("x-forwarded-port".into(), json!("443"));
    // UNSURE: behind CloudFront the captures show only the viewer's address (the edge's is not
    // appended), so a value that arrives is kept; a direct call gets the caller's address.
    if !headers.contains_key("x-forwarded-for") {
        headers.insert("x-forwarded-for".into(), json!(source_ip));
    }
    // UNSURE: the negotiated TLS session; locally there is none, so the values every public capture of
    // a modern client shows (TLSv1.3, TLS_AES_128_GCM_SHA256). An older client would see TLSv1.2.
    headers.insert("x-amzn-tls-version".into(), json!("TLSv1.3"));
    headers.insert(
        "x-amzn-tls-cipher-suite".into(),
        json!("TLS_AES_128_GCM_SHA256"),
    );
    // UNSURE: captures show `Root=1-…` and, for some direct calls, `Self=1-…;Root=1-…`; a caller's own
    // trace header is continued with a `Self` segment in front, as AWS's load balancers do. The id is
    // derived from the request id so an event stays reproducible under an injected clock.
    let seconds = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let digest = Sha256::digest(request_id.as_bytes());
    let segment = format!("1-{seconds:08x}-{}", hex::encode(&digest[..12]));
    let trace = match headers.get("x-amzn-trace-id").and_then(Value::as_str) {
        Some(caller) => format!("Self={segment};{caller}"),
        None => format!("Root={segment}"),
    };
    headers.insert("x-amzn-trace-id".into(), json!(trace));
}

/// Step 5 of the Function URL: the event for this request, as the bytes the invoker sends.
pub fn for_request(ctx: &Context<'_>, request: &Received, caller: &Caller) -> bytes::Bytes {
    let incoming = Incoming {
        method: request.method.as_str(),
        path: &request.path,
        query: &request.query,
        headers: &request.header_list,
        body: &request.body,
        source_ip: &ctx.peer.ip().to_string(),
    };
    let event = build(
        &ctx.config.topology,
        &incoming,
        caller,
        &ctx.request_id,
        ctx.config.clock.now(),
    );
    bytes::Bytes::from(event.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn incoming<'a>(
        headers: &'a [(String, String)],
        body: &'a [u8],
        query: &'a str,
    ) -> Incoming<'a> {
        Incoming {
            method: "POST",
            path: "/chatbot",
            query,
            headers,
            body,
            source_ip: "127.0.0.1",
        }
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_event_from_cloudfront() {
        let t = Topology::default();
        let headers = h(&[
            (
                "Host",
                "chatbotlocalurl0000000000000001a.lambda-url.us-east-1.on.aws",
            ),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=…"),
            ("Content-Type", "application/json"),
            (
                "X-Amz-Source-Arn",
                "arn:aws:cloudfront::123456789012:distribution/E2CHATBOTLOCAL1",
            ),
            ("Cookie", "a=1; b=2"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("User-Agent", "Mozilla/5.0"),
        ]);
        let caller = Caller::CloudFront {
            source_arn: None,
            source_account: None,
        };
        let at = UNIX_EPOCH + Duration::from_millis(1_795_924_800_123);
        let event = build(
            &t,
            &incoming(&headers, br#"{"messages":[]}"#, "a=1&a=2&b=x%20y"),
            &caller,
            "3f1b9a7e-0c6d-4e8f-9a2b-1c3d5e7f9a0b",
            at,
        );
        insta::assert_json_snapshot!("event_from_cloudfront", event);
        let iam = &event["requestContext"]["authorizer"]["iam"];
        assert_eq!(event["requestContext"]["accountId"], "856369053181");
        assert_eq!(
            iam["userArn"],
            "arn:aws:sts::856369053181:assumed-role/OriginAccessControlRole/OriginAccessSession"
        );
        assert_eq!(iam["callerId"], "AROA4OY4SXX6VEIZRJRCJ:OriginAccessSession");
        assert!(event["headers"].get("authorization").is_none());
        // The cookie header becomes cookies[] and leaves headers (the UNSURE choice in build).
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert!(event["headers"].get("cookie").is_none());
    }

    #[test]
    fn the_front_end_adds_its_headers_to_a_direct_call() {
        let t = Topology::default();
        let headers = h(&[
            ("x-forwarded-proto", "http"),
            ("x-amzn-tls-version", "SSLv3"),
        ]);
        let at = UNIX_EPOCH + Duration::from_secs(0x6661_bc42);
        let event = build(
            &t,
            &incoming(&headers, b"", ""),
            &Caller::Anonymous,
            "id",
            at,
        );
        let headers = &event["headers"];
        assert_eq!(
            headers["x-forwarded-proto"], "https",
            "the caller's is replaced"
        );
        assert_eq!(headers["x-forwarded-port"], "443");
        assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
        assert_eq!(headers["x-amzn-tls-version"], "TLSv1.3");
        assert_eq!(headers["x-amzn-tls-cipher-suite"], "TLS_AES_128_GCM_SHA256");
        let trace = headers["x-amzn-trace-id"].as_str().unwrap();
        assert!(trace.starts_with("Root=1-6661bc42-"), "{trace}");
        assert_eq!(trace.len(), "Root=1-6661bc42-".len() + 24, "{trace}");
    }

    #[test]
    fn a_forwarded_for_and_a_trace_header_that_arrive_are_continued() {
        let t = Topology::default();
        let headers = h(&[
            ("x-forwarded-for", "203.0.113.7"),
            (
                "x-amzn-trace-id",
                "Root=1-00000000-000000000000000000000001",
            ),
        ]);
        let event = build(
            &t,
            &incoming(&headers, b"", ""),
            &Caller::Anonymous,
            "id",
            UNIX_EPOCH,
        );
        assert_eq!(event["headers"]["x-forwarded-for"], "203.0.113.7");
        let trace = event["headers"]["x-amzn-trace-id"].as_str().unwrap();
        assert!(trace.starts_with("Self=1-00000000-"), "{trace}");
        assert!(
            trace.ends_with(";Root=1-00000000-000000000000000000000001"),
            "{trace}"
        );
    }

    #[test]
    fn binary_bodies_are_base64_and_anonymous_callers_have_no_authorizer() {
        let t = Topology::default();
        let headers = h(&[("content-type", "application/x-www-form-urlencoded")]);
        let event = build(
            &t,
            &incoming(&headers, b"a=1", ""),
            &Caller::Anonymous,
            "id",
            UNIX_EPOCH,
        );
        assert_eq!(event["body"], "YT0x");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["requestContext"]["accountId"], "anonymous");
        assert!(event["requestContext"]["authorizer"].is_null());
        let empty = build(
            &t,
            &incoming(&[], b"", ""),
            &Caller::Anonymous,
            "id",
            UNIX_EPOCH,
        );
        assert!(empty.get("body").is_none());
        assert_eq!(
            empty["requestContext"]["time"],
            "01/Jan/1970:00:00:00 +0000"
        );
    }

    #[test]
    fn a_text_body_that_is_not_utf8_goes_as_base64_byte_for_byte() {
        let t = Topology::default();
        let headers = h(&[("content-type", "application/json")]);
        let bytes = b"{\"messages\":\"\xff\xfe\"}";
        let event = build(
            &t,
            &incoming(&headers, bytes, ""),
            &Caller::Anonymous,
            "id",
            UNIX_EPOCH,
        );
        assert_eq!(event["isBase64Encoded"], true);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(event["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, bytes);
    }
}
