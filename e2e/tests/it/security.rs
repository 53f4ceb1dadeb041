//! Every row of DESIGN.md's security table, each its own test: exact status and body, the hop and rule
//! that refused, and no Gemini call for refused requests.

use std::time::Duration;

use e2e::{Refusal, TestChain};
use emulator::client::{BodyHash, Options, TokenPlacement, question};
use fake_cognito::{MintRequest, Signing};
use fake_gemini::Scenario;
use serde_json::json;

use crate::support::{chain, chain_with, last, scripted_chain};

const SIGNATURE_MISMATCH: &str = r#"{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}"#;
const ACCESS_DENIED: &str = r#"{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}"#;

fn assert_refusal(refusal: &Refusal, status: u16, body: &str, hop: &str) {
    assert_eq!(refusal.status, status, "{refusal:?}");
    assert_eq!(refusal.body, body, "{refusal:?}");
    assert_eq!(refusal.hop.as_deref(), Some(hop), "{refusal:?}");
}

async fn no_gemini_call(chain: &TestChain) {
    assert!(
        chain.chain.gemini.received_requests().is_empty(),
        "Gemini was called"
    );
}

#[tokio::test]
async fn a_method_outside_the_behavior_is_cloudfronts_403_page() {
    let chain = chain_with(vec![], |s| {
        s.topology.distribution.behaviors[0].allowed_methods = vec!["GET".into(), "HEAD".into()];
    })
    .await;
    let viewer = chain.viewer().await;
    let refusal = viewer
        .send(&question("hi"), &viewer.token, &Options::default())
        .await
        .refusal();
    assert_eq!(refusal.status, 403);
    assert!(
        refusal
            .body
            .contains("This distribution is not configured to allow the HTTP request method")
    );
    assert_eq!(refusal.headers["x-cache"], "Error from cloudfront");
    assert_eq!(
        (refusal.hop.as_deref(), refusal.rule.as_deref()),
        (Some("edge"), Some("behavior \"*\": allowed methods"))
    );
    assert_eq!(chain.chain.invoker.cold_starts(), 0);
}

#[tokio::test]
async fn a_post_without_a_body_hash_is_an_invalid_signature() {
    let chain = chain(vec![]).await;
    let viewer = chain.viewer().await;
    let refusal = viewer
        .send(
            &question("hi"),
            &viewer.token,
            &Options {
                hash: BodyHash::Omit,
                ..Options::default()
            },
        )
        .await
        .refusal();
    assert_refusal(&refusal, 403, SIGNATURE_MISMATCH, "url_auth");
    assert_eq!(
        refusal.headers["x-amzn-errortype"],
        "InvalidSignatureException"
    );
    assert!(
        refusal
            .hints
            .iter()
            .any(|h| h.contains("Lambda refuses unsigned payloads")),
        "{:?}",
        refusal.hints
    );
    no_gemini_call(&chain).await;
}

#[tokio::test]
async fn a_post_with_a_wrong_body_hash_is_an_invalid_signature() {
    let chain = chain(vec![]).await;
    let viewer = chain.viewer().await;
    let refusal = viewer
        .send(
            &question("hi"),
            &viewer.token,
            &Options {
                hash: BodyHash::Wrong,
                ..Options::default()
            },
        )
        .await
        .refusal();
    assert_refusal(&refusal, 403, SIGNATURE_MISMATCH, "url_auth");
    no_gemini_call(&chain).await;
}

#[tokio::test]
async fn a_post_declaring_unsigned_payload_is_an_invalid_signature() {
    let chain = chain(vec![]).await;
    let viewer = chain.viewer().await;
    let body = question("hi").to_string();
    let response = reqwest::Client::new()
        .post(format!("{}/chatbot", chain.chain.edge.url()))
        .header("content-type", "application/json")
        .header(
            "x-chatbot-authorization",
            format!("Bearer {}", viewer.token),
        )
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );
    assert_eq!(response.text().await.unwrap(), SIGNATURE_MISMATCH);
}

#[tokio::test]
async fn a_direct_unsigned_call_to_the_function_url_is_forbidden() {
    let chain = chain(vec![]).await;
    let caller = chain.direct("local-admin");
    let (status, _, body) = caller
        .post(
            &[("content-type".into(), "application/json".into())],
            question("hi").to_string().into_bytes(),
        )
        .await;
    assert_eq!((status, body.as_str()), (403, r#"{"Message":"Forbidden"}"#));
}

#[tokio::test]
async fn a_principal_with_no_grant_is_access_denied() {
    let chain = chain(vec![]).await;
    let caller = chain.direct("local-nobody");
    let body = question("hi").to_string().into_bytes();
    let (status, headers, text) = caller.post(&caller.sign(&body, &[]), body).await;
    assert_eq!((status, text.as_str()), (403, ACCESS_DENIED));
    assert_eq!(headers["x-amzn-errortype"], "AccessDeniedException");
}

#[tokio::test]
async fn cloudfront_from_another_distribution_is_access_denied() {
    let chain = chain_with(vec![], |s| {
        for statement in &mut s.topology.resource_policy {
            statement.source_arn =
                Some("arn:aws:cloudfront::123456789012:distribution/EANOTHERDIST01".into());
        }
    })
    .await;
    let viewer = chain.viewer().await;
    let refusal = viewer
        .send(&question("hi"), &viewer.token, &Options::default())
        .await
        .refusal();
    assert_refusal(&refusal, 403, ACCESS_DENIED, "policy");
    no_gemini_call(&chain).await;
}

#[tokio::test]
async fn a_grant_for_invoke_function_url_only_is_access_denied() {
    let chain = chain_with(vec![], |s| {
        s.topology
            .resource_policy
            .retain(|st| st.action == "lambda:InvokeFunctionUrl")
    })
    .await;
    let viewer = chain.viewer().await;
    let refusal = viewer
        .send(&question("hi"), &viewer.token, &Options::default())
        .await
        .refusal();
    assert_refusal(&refusal, 403, ACCESS_DENIED, "policy");
}

#[tokio::test]
async fn a_signature_older_than_five_minutes_is_refused() {
    let chain = chain(vec![]).await;
    let mut caller = chain.direct("local-admin");
    caller.now -= Duration::from_secs(6 * 60);
    let body = question("hi").to_string().into_bytes();
    let (status, headers, text) = caller.post(&caller.sign(&body, &[]), body).await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-amzn-errortype"], "InvalidSignatureException");
    assert!(
        text.starts_with(r#"{"message":"Signature expired: "#),
        "{text}"
    );
}

#[tokio::test]
async fn a_tampered_signed_header_is_refused() {
    let chain = chain(vec![]).await;
    let caller = chain.direct("local-admin");
    let body = question("hi").to_string().into_bytes();
    let mut headers = caller.sign(&body, &[]);
    for (name, value) in headers.iter_mut() {
        if name == "content-type" {
            *value = "text/plain".into();
        }
    }
    let (status, _, text) = caller.post(&headers, body).await;
    assert_eq!((status, text.as_str()), (403, SIGNATURE_MISMATCH));
}

#[tokio::test]
async fn a_tampered_body_is_refused() {
    let chain = chain(vec![]).await;
    let caller = chain.direct("local-admin");
    let body = question("hi").to_string().into_bytes();
    let headers = caller.sign(&body, &[]);
    let (status, _, text) = caller
        .post(&headers, question("ho").to_string().into_bytes())
        .await;
    assert_eq!((status, text.as_str()), (403, SIGNATURE_MISMATCH));
}

#[tokio::test]
async fn the_original_plans_authorization_bearer_is_401_and_the_trace_names_oac() {
    let chain = chain(vec![Scenario::stream(["x"])]).await;
    let viewer = chain.viewer().await;
    let refusal = viewer
        .send(
            &question("hi"),
            &viewer.token,
            &Options {
                token: TokenPlacement::Authorization,
                ..Options::default()
            },
        )
        .await
        .refusal();
    assert_refusal(
        &refusal,
        401,
        r#"{"error":{"code":"invalid_token","message":"missing bearer token in x-chatbot-authorization"}}"#,
        "function",
    );
    assert_eq!(
        refusal.hints[0],
        "OAC signing `always` replaced the viewer's Authorization header; a JWT sent there never reaches the function — send it in x-chatbot-authorization"
    );
    no_gemini_call(&chain).await;
}

async fn token_refused(mint: impl FnOnce(&TestChain) -> Option<String>, message: &str) {
    let chain = chain(vec![Scenario::stream(["never"])]).await;
    let viewer = chain.viewer().await;
    let token = mint(&chain);
    let options = Options {
        token: if token.is_some() {
            TokenPlacement::ChatbotHeader
        } else {
            TokenPlacement::Omit
        },
        ..Options::default()
    };
    let refusal = viewer
        .send(&question("hi"), token.as_deref().unwrap_or(""), &options)
        .await
        .refusal();
    let body = json!({"error": {"code": "invalid_token", "message": message}}).to_string();
    assert_refusal(&refusal, 401, &body, "function");
    assert!(
        refusal.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    no_gemini_call(&chain).await;
}

#[tokio::test]
async fn no_jwt_is_401() {
    token_refused(|_| None, "missing bearer token in x-chatbot-authorization").await;
}

#[tokio::test]
async fn an_expired_jwt_is_401() {
    token_refused(
        |c| Some(c.mint(&MintRequest::access().expired(60))),
        "token expired",
    )
    .await;
}

#[tokio::test]
async fn a_not_yet_valid_jwt_is_401() {
    token_refused(
        |c| Some(c.mint(&MintRequest::access().not_yet_valid(600))),
        "token not yet valid",
    )
    .await;
}

#[tokio::test]
async fn a_jwt_from_another_issuer_is_401() {
    token_refused(
        |c| {
            Some(c.mint(&MintRequest::access().claim(
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Elsewhere"),
            )))
        },
        "token issuer is not the expected user pool",
    )
    .await;
}

#[tokio::test]
async fn a_jwt_for_another_client_is_401() {
    token_refused(
        |c| {
            Some(c.mint(
                &MintRequest::access().claim("client_id", json!("anotherclient0000000000001")),
            ))
        },
        "token was issued to another app client",
    )
    .await;
}

#[tokio::test]
async fn an_id_token_where_an_access_token_is_required_is_401() {
    token_refused(
        |c| Some(c.mint(&MintRequest::id())),
        "token_use \"id\" is not accepted",
    )
    .await;
}

#[tokio::test]
async fn a_jwt_with_an_unknown_kid_is_401() {
    token_refused(
        |c| Some(c.mint(&MintRequest::access().signed(Signing::UnknownKid))),
        "token signed by an unknown key",
    )
    .await;
}

#[tokio::test]
async fn an_alg_none_jwt_is_401() {
    token_refused(
        |c| Some(c.mint(&MintRequest::access().signed(Signing::AlgNone))),
        "unsupported token algorithm none; only RS256 is accepted",
    )
    .await;
}

#[tokio::test]
async fn an_hs256_jwt_signed_with_the_public_key_is_401() {
    token_refused(
        |c| Some(c.mint(&MintRequest::access().signed(Signing::Hs256PublicKey))),
        "unsupported token algorithm HS256; only RS256 is accepted",
    )
    .await;
}

#[tokio::test]
async fn a_jwt_with_a_bad_signature_is_401() {
    token_refused(
        |c| Some(c.mint(&MintRequest::access().signed(Signing::TamperedSignature))),
        "token signature is invalid",
    )
    .await;
}

/// A viewer's question to a function that fails before its first byte: the URL's 502, decided at the
/// runtime hop.
async fn assert_function_failed(chain: &TestChain) {
    let viewer = chain.viewer().await;
    let refusal = viewer
        .send(&question("hi"), &viewer.token, &Options::default())
        .await
        .refusal();
    assert_refusal(
        &refusal,
        502,
        r#"{"message":"Internal Server Error"}"#,
        "runtime",
    );
}

#[tokio::test]
async fn a_crashing_function_is_502() {
    let chain = scripted_chain("crash", |_| {}).await;
    assert_function_failed(&chain).await;
}

#[tokio::test]
async fn a_function_timing_out_before_its_first_byte_is_502() {
    let chain = scripted_chain("hang", |setup| setup.topology.function.timeout_s = 1).await;
    assert_function_failed(&chain).await;
    assert_eq!(
        chain.chain.invoker.environments().await,
        0,
        "the timed-out environment was replaced"
    );
}

#[tokio::test]
async fn a_function_timing_out_mid_stream_cuts_the_stream() {
    let chain = chain_with(
        vec![Scenario::stream(["begun", "never"]).gate_before(1, "never")],
        |s| {
            s.topology.function.timeout_s = 1;
        },
    )
    .await;
    let viewer = chain.viewer().await;
    let emulator::client::Answer::Stream(mut stream) = viewer
        .client
        .send(&question("hi"), &viewer.token, &Options::default())
        .await
        .unwrap()
    else {
        panic!("the stream starts")
    };
    let mut errored = false;
    while let Some(item) = stream.next().await {
        if item.is_err() {
            errored = true;
        }
    }
    assert!(errored, "the viewer sees the stream cut, not a clean end");
}

#[tokio::test]
async fn more_requests_than_the_reserved_concurrency_get_429() {
    let chain = chain_with(
        vec![Scenario::stream(["held", " then done"]).gate_before(1, "hold")],
        |s| {
            s.topology.function.reserved_concurrency = 1;
        },
    )
    .await;
    let viewer = chain.viewer().await;
    let emulator::client::Answer::Stream(busy) = viewer
        .client
        .send(&question("1"), &viewer.token, &Options::default())
        .await
        .unwrap()
    else {
        panic!("the first request streams")
    };
    let refusal = viewer.ask("2").await.refusal();
    assert_refusal(&refusal, 429, r#"{"Message":"Rate Exceeded."}"#, "runtime");
    chain.chain.gemini.release("hold");
    let events = busy.collect().await.unwrap();
    assert!(matches!(last(&events), chatbot_query::sse::Event::Done(_)));
}

#[tokio::test]
async fn a_viewer_cannot_forge_the_source_arn_cloudfront_signs() {
    const OTHER: &str = "arn:aws:cloudfront::123456789012:distribution/EOTHERDIST0001";
    // The grants name another distribution: this one's requests must be refused …
    let chain = chain_with(vec![Scenario::stream(["must not answer"])], |s| {
        for statement in &mut s.topology.resource_policy {
            statement.source_arn = Some(OTHER.into());
        }
    })
    .await;
    let viewer = chain.viewer().await;
    let body = question("hi").to_string();
    // … even when the viewer sends that distribution's ARN (and CloudFront's other headers) itself.
    let response = reqwest::Client::new()
        .post(format!("{}/chatbot", chain.chain.edge.url()))
        .header("content-type", "application/json")
        .header(
            "x-chatbot-authorization",
            format!("Bearer {}", viewer.token),
        )
        .header(
            "x-amz-content-sha256",
            emulator::client::body_hash(body.as_bytes()),
        )
        .header("x-amz-source-arn", OTHER)
        .header("x-amz-source-account", "123456789012")
        .header("x-amz-date", "20200101T000000Z")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "AccessDeniedException"
    );
    let trace = chain.trace(response.headers()["x-emulator-trace-id"].to_str().unwrap());
    assert!(
        trace
            .hops
            .iter()
            .any(|l| l.rule == "headers CloudFront owns"
                && l.detail
                    .contains("x-amz-source-arn, x-amz-source-account, x-amz-date")),
        "{trace:#?}"
    );
    assert_eq!(trace.refusal().unwrap().hop, "policy");
    no_gemini_call(&chain).await;
}

/// Sends `body` (raw bytes) through the edge with a right hash and token.
async fn post_raw(chain: &TestChain, body: Vec<u8>) -> reqwest::Response {
    let viewer = chain.viewer().await;
    reqwest::Client::new()
        .post(format!("{}/chatbot", chain.chain.edge.url()))
        .header("content-type", "application/json")
        .header(
            "x-chatbot-authorization",
            format!("Bearer {}", viewer.token),
        )
        .header("x-amz-content-sha256", emulator::client::body_hash(&body))
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn invalid_utf8_reaches_the_function_as_sent_and_gets_its_400() {
    let chain = chain(vec![]).await;
    let response = post_raw(
        &chain,
        b"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "request body is not valid UTF-8 (invalid byte at offset 39)"
    );
    no_gemini_call(&chain).await;
}

#[tokio::test]
async fn a_body_over_six_megabytes_is_the_urls_413_naming_the_limit() {
    let chain = chain(vec![]).await;
    let response = post_raw(&chain, vec![b' '; 7 * 1024 * 1024]).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "RequestEntityTooLargeException"
    );
    let trace = chain.trace(response.headers()["x-emulator-trace-id"].to_str().unwrap());
    let refusal = trace.refusal().unwrap();
    assert_eq!(
        (refusal.hop, refusal.rule.as_str()),
        (emulator::trace::Hop::UrlAuth, "payload limit")
    );
    assert!(refusal.detail.contains("6 MB"), "{refusal:?}");
    assert_eq!(chain.chain.invoker.cold_starts(), 0);
}

/// A raw HTTP/1.1 exchange (what no client library sends: broken chunked encoding).
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

const BROKEN_CHUNKED: &[u8] = b"POST /chatbot HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZZ\r\nnot a chunk\r\n\r\n";

#[tokio::test]
async fn a_malformed_chunked_body_is_400_at_the_edge_the_url_and_cognito() {
    let chain = chain(vec![]).await;
    let edge = raw_exchange(chain.chain.edge.addr(), BROKEN_CHUNKED).await;
    assert!(edge.starts_with("HTTP/1.1 400"), "{edge}");
    assert!(edge.contains("<H1>400 ERROR</H1>"), "{edge}");
    let url = raw_exchange(chain.chain.url.addr(), BROKEN_CHUNKED).await;
    assert!(url.starts_with("HTTP/1.1 400"), "{url}");
    assert!(url.contains(r#"{"message":"Bad Request"}"#), "{url}");
    let cognito = raw_exchange(
        chain.chain.cognito.addr(),
        &[
            b"POST / HTTP/1.1\r\nHost: x\r\nx-amz-target: AWSCognitoIdentityProviderService.InitiateAuth\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZZ\r\n".as_slice(),
        ]
        .concat(),
    )
    .await;
    assert!(cognito.starts_with("HTTP/1.1 400"), "{cognito}");
    assert!(cognito.contains("SerializationException"), "{cognito}");
}

/// The event the scripted function received, as it dumped it: `/next`'s head, then the event JSON.
fn dumped_event(path: &std::path::Path) -> (String, serde_json::Value) {
    let text = std::fs::read_to_string(path).expect("the scripted function dumped its event");
    let (head, event) = text.split_once("\n\n").expect("head, blank line, event");
    (
        head.to_owned(),
        serde_json::from_str(event).expect("the event is JSON"),
    )
}

#[tokio::test]
async fn an_error_posted_to_the_runtime_api_is_502_and_the_origin_request_carries_cloudfronts_headers()
 {
    let dump = tempfile::tempdir().expect("tempdir");
    let event_path = dump.path().join("event");
    let chain = scripted_chain("error", |setup| {
        let env = &mut setup.topology.function.env;
        env.insert("EVENT_DUMP".into(), event_path.display().to_string());
    })
    .await;
    // A function error before any byte streamed: the Function URL's 502, as for a crash.
    assert_function_failed(&chain).await;

    let (head, event) = dumped_event(&event_path);
    let head = head.to_lowercase();
    for name in [
        "lambda-runtime-aws-request-id:",
        "lambda-runtime-deadline-ms:",
        "lambda-runtime-invoked-function-arn:",
        "lambda-runtime-trace-id:",
    ] {
        assert!(head.contains(name), "{name} missing from /next: {head}");
    }
    let headers = &event["headers"];
    let text = |name: &str| {
        headers[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {headers}"))
    };
    assert!(
        text("via").starts_with("2.0 ") && text("via").ends_with(".cloudfront.net (CloudFront)"),
        "{}",
        text("via")
    );
    assert_eq!(text("user-agent"), "Amazon CloudFront");
    assert!(!text("x-amz-cf-id").is_empty());
    assert_eq!(text("x-forwarded-proto"), "https");
    assert_eq!(text("x-forwarded-port"), "443");
    assert!(!text("x-forwarded-for").is_empty());
    assert!(
        text("x-amzn-trace-id").starts_with("Root=1-"),
        "{}",
        text("x-amzn-trace-id")
    );
    assert_eq!(text("x-amzn-tls-version"), "TLSv1.3");
    assert!(text("x-amz-source-arn").starts_with("arn:aws:cloudfront::"));
    // The viewer's token rides in its own header; OAC's signature was consumed by the URL's IAM auth.
    assert!(text("x-chatbot-authorization").starts_with("Bearer "));
    assert!(headers.get("authorization").is_none(), "{headers}");
    assert!(headers["cloudfront-viewer-address"].is_string());
}
