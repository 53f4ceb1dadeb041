//! The Function URL: SigV4 from real signers, every refusal of DESIGN.md's security table with AWS's
//! exact bytes, streaming vs buffered proven with gates, CORS, and the key read through emulated SSM.

use std::time::{Duration, SystemTime};

use emulator::clock::Clock as _;
use emulator::topology::Cors;
use fake_gemini::Scenario;
use futures_util::StreamExt as _;

use crate::support::{
    Signer, Url, chat_body, post, real_function, scripted_function, signed_headers, start_url, wire,
};

fn token_header(url: &Url) -> (String, String) {
    (
        "x-chatbot-authorization".into(),
        format!("Bearer {}", url.fakes.token()),
    )
}

/// Headers of a request signed like CloudFront's OAC does, for `source_arn`.
fn oac_headers(url: &Url, body: &[u8], source_arn: &str) -> Vec<(String, String)> {
    let token = token_header(url);
    signed_headers(
        &url.topology,
        &Signer::oac(),
        body,
        &[
            ("x-amz-source-arn", source_arn),
            ("x-amz-source-account", "123456789012"),
            (&token.0, &token.1),
        ],
        url.clock.now(),
    )
}

#[tokio::test]
async fn an_admin_signed_request_streams_and_the_key_came_from_ssm() {
    let url = start_url(
        emulator::Topology::default(),
        real_function(),
        vec![Scenario::stream(["first ", "second"]).gate_before(1, "g")],
    )
    .await;
    let body = chat_body("hi");
    let token = token_header(&url);
    let headers = signed_headers(
        &url.topology,
        &Signer::user(&url.topology, "local-admin"),
        &body,
        &[(&token.0, &token.1)],
        url.clock.now(),
    );
    let response = post(&url, &headers, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let mut stream = response.bytes_stream();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("first ") {
        seen.extend_from_slice(&stream.next().await.unwrap().unwrap());
    }
    // RESPONSE_STREAM: chunk 1 is at the caller while Gemini still holds chunk 2.
    url.fakes.gemini.wait_for_gate("g", 1).await;
    assert!(!url.fakes.gemini.gate("g").open);
    url.fakes.gemini.release("g");
    while let Some(chunk) = stream.next().await {
        seen.extend_from_slice(&chunk.unwrap());
    }
    assert!(String::from_utf8_lossy(&seen).contains("event: done"));
    // The function's Gemini key is the one the emulated SSM served (fake-gemini accepted it).
    let requests = url.fakes.gemini.received_requests();
    assert_eq!(requests.len(), 1);
}

#[tokio::test]
async fn curl_aws_sigv4_with_the_local_admin_keys_is_accepted() {
    let url = start_url(
        emulator::Topology::default(),
        real_function(),
        vec![Scenario::stream(["signed by curl"])],
    )
    .await;
    let admin = Signer::user(&url.topology, "local-admin");
    let body = String::from_utf8(chat_body("hi")).unwrap();
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "-N", "--aws-sigv4", "aws:amz:us-east-1:lambda"])
        .arg("--user")
        .arg(format!("{}:{}", admin.access_key_id, admin.secret))
        .args(["-H", "content-type: application/json"])
        .arg("-H")
        .arg(format!(
            "x-chatbot-authorization: Bearer {}",
            url.fakes.token()
        ))
        .arg("-H")
        .arg(format!("host: {}", url.topology.function_url_host()))
        .args(["--data-binary", &body])
        .arg(format!("{}/chatbot", url.url.url()))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(r#"{"text":"signed by curl"}"#),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn cloudfront_through_oac_with_both_grants_is_accepted() {
    let url = start_url(
        emulator::Topology::default(),
        real_function(),
        vec![Scenario::stream(["via OAC"])],
    )
    .await;
    let body = chat_body("hi");
    let headers = oac_headers(&url, &body, &url.topology.distribution_arn());
    let response = post(&url, &headers, body).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("via OAC"));
}

#[tokio::test]
async fn every_function_url_refusal_has_awss_bytes() {
    let url = start_url(
        emulator::Topology::default(),
        real_function(),
        vec![Scenario::stream(["x"])],
    )
    .await;
    let body = chat_body("hi");
    let token = token_header(&url);

    let unsigned = post(
        &url,
        &[
            ("content-type".into(), "application/json".into()),
            token.clone(),
        ],
        body.clone(),
    )
    .await;
    insta::assert_snapshot!("url_unsigned", wire(unsigned).await);

    let nobody = signed_headers(
        &url.topology,
        &Signer::user(&url.topology, "local-nobody"),
        &body,
        &[(&token.0, &token.1)],
        url.clock.now(),
    );
    insta::assert_snapshot!(
        "url_no_grant",
        wire(post(&url, &nobody, body.clone()).await).await
    );

    let other_distribution = oac_headers(
        &url,
        &body,
        "arn:aws:cloudfront::123456789012:distribution/EOTHERDIST0001",
    );
    insta::assert_snapshot!(
        "url_other_distribution",
        wire(post(&url, &other_distribution, body.clone()).await).await
    );

    let mut unsigned_payload = oac_headers(&url, &body, &url.topology.distribution_arn());
    for (name, value) in unsigned_payload.iter_mut() {
        if name == "x-amz-content-sha256" {
            *value = "UNSIGNED-PAYLOAD".into();
        }
    }
    insta::assert_snapshot!(
        "url_unsigned_payload",
        wire(post(&url, &unsigned_payload, body.clone()).await).await
    );

    let mut wrong_hash = oac_headers(&url, &body, &url.topology.distribution_arn());
    for (name, value) in wrong_hash.iter_mut() {
        if name == "x-amz-content-sha256" {
            *value = "0".repeat(64);
        }
    }
    let response = post(&url, &wrong_hash, body.clone()).await;
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );

    let good = oac_headers(&url, &body, &url.topology.distribution_arn());
    let mut tampered_body = body.clone();
    tampered_body[5] ^= 1;
    let response = post(&url, &good, tampered_body).await;
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );
    let mut tampered_header = good.clone();
    for (name, value) in tampered_header.iter_mut() {
        if name == "x-amz-source-arn" {
            value.push('X');
        }
    }
    let response = post(&url, &tampered_header, body.clone()).await;
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );

    let stranger = Signer {
        access_key_id: "AKIAUNKNOWNCALLER001".into(),
        secret: "s".into(),
        session_token: None,
        content_sha256_header: false,
    };
    let unknown = signed_headers(&url.topology, &stranger, &body, &[], url.clock.now());
    insta::assert_snapshot!(
        "url_unknown_key",
        wire(post(&url, &unknown, body.clone()).await).await
    );

    let old = signed_headers(
        &url.topology,
        &Signer::user(&url.topology, "local-admin"),
        &body,
        &[(&token.0, &token.1)],
        url.clock.now() - Duration::from_secs(301),
    );
    let response = post(&url, &old, body.clone()).await;
    let text = wire(response).await;
    assert!(text.contains("Signature expired: "), "{text}");
    assert!(
        text.starts_with(
            "403\ncontent-type: application/json\nx-amzn-errortype: InvalidSignatureException\n"
        ),
        "{text}"
    );
    assert_eq!(
        url.invoker.cold_starts(),
        0,
        "no refused request reached the function"
    );
}

#[tokio::test]
async fn a_grant_for_invoke_function_url_alone_is_not_enough() {
    let mut topology = emulator::Topology::default();
    topology
        .resource_policy
        .retain(|s| s.action == "lambda:InvokeFunctionUrl");
    let url = start_url(topology, real_function(), vec![Scenario::stream(["x"])]).await;
    let body = chat_body("hi");
    let headers = oac_headers(&url, &body, &url.topology.distribution_arn());
    insta::assert_snapshot!(
        "url_invoke_function_url_only",
        wire(post(&url, &headers, body).await).await
    );
}

/// A URL whose function is the scripted stand-in doing `behaviour`, and local-admin's signed POST to it.
async fn admin_post_to_scripted(behaviour: &str) -> (Url, reqwest::Response) {
    let mut topology = emulator::Topology::default();
    topology
        .function
        .env
        .insert("BEHAVIOUR".into(), behaviour.into());
    let url = start_url(topology, scripted_function(), vec![]).await;
    let body = chat_body("hi");
    let headers = signed_headers(
        &url.topology,
        &Signer::user(&url.topology, "local-admin"),
        &body,
        &[],
        url.clock.now(),
    );
    let response = post(&url, &headers, body).await;
    (url, response)
}

#[tokio::test]
async fn a_crash_is_502_and_too_many_at_once_is_429() {
    let (_url, response) = admin_post_to_scripted("crash").await;
    insta::assert_snapshot!("url_function_crashed", wire(response).await);

    let mut topology = emulator::Topology::default();
    topology.function.reserved_concurrency = 1;
    let url = start_url(
        topology,
        real_function(),
        vec![Scenario::stream(["a", "b"]).gate_before(1, "hold")],
    )
    .await;
    let body = chat_body("hi");
    let token = token_header(&url);
    let headers = signed_headers(
        &url.topology,
        &Signer::user(&url.topology, "local-admin"),
        &body,
        &[(&token.0, &token.1)],
        url.clock.now(),
    );
    let first = post(&url, &headers, body.clone()).await;
    assert_eq!(first.status(), 200);
    insta::assert_snapshot!(
        "url_throttled",
        wire(post(&url, &headers, body).await).await
    );
    url.fakes.gemini.release("hold");
    first.text().await.unwrap();
}

#[tokio::test]
async fn an_error_mid_stream_cuts_the_callers_body_after_what_was_sent() {
    // The UNSURE choice in function_url::respond::relayed: the caller gets the bytes written before
    // the error, then a body that breaks off (no terminating chunk), never a clean end.
    let (url, response) = admin_post_to_scripted("trailer").await;
    assert_eq!(response.status(), 200);
    let trace = url_trace(&url, &response);
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    let ending = loop {
        match futures_util::StreamExt::next(&mut stream).await {
            Some(Ok(bytes)) => received.extend_from_slice(&bytes),
            Some(Err(error)) => break Some(error),
            None => break None,
        }
    };
    assert_eq!(received, b"partial ");
    assert!(ending.is_some(), "the body ended cleanly after an error");
    let trace = url.traces.get(&trace.id).unwrap();
    assert!(
        trace.refusal().is_some_and(
            |r| r.rule == "response stream" && r.detail.contains("Runtime.StreamError")
        ),
        "{}",
        trace.render()
    );
}

#[tokio::test]
async fn buffered_mode_delivers_nothing_until_the_function_ends() {
    let mut topology = emulator::Topology::default();
    topology.function_url.invoke_mode = emulator::topology::InvokeMode::Buffered;
    let url = start_url(
        topology,
        real_function(),
        vec![Scenario::stream(["one ", "two"]).gate_before(1, "g")],
    )
    .await;
    let body = chat_body("hi");
    let token = token_header(&url);
    let headers = signed_headers(
        &url.topology,
        &Signer::user(&url.topology, "local-admin"),
        &body,
        &[(&token.0, &token.1)],
        url.clock.now(),
    );
    let address = format!("{}/chatbot", url.url.url());
    let pending = tokio::spawn(async move {
        let mut request = reqwest::Client::new().post(address).body(body);
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        let response = request.send().await.unwrap();
        (
            response.headers().get("transfer-encoding").cloned(),
            response.text().await.unwrap(),
        )
    });
    // The function has written "one " (Gemini now holds chunk 2), yet the caller has no response.
    url.fakes.gemini.wait_for_gate("g", 1).await;
    assert!(
        !pending.is_finished(),
        "BUFFERED must not deliver before the function ends"
    );
    url.fakes.gemini.release("g");
    let (encoding, text) = pending.await.unwrap();
    assert!(encoding.is_none(), "a buffered response has a length");
    assert!(text.contains(r#"{"text":"one "}"#) && text.contains("event: done"));
}

#[tokio::test]
async fn a_cors_preflight_is_answered_without_invoking_the_function() {
    let mut topology = emulator::Topology::default();
    topology.function_url.cors = Some(Cors {
        allow_credentials: true,
        allow_headers: vec!["content-type".into(), "x-chatbot-authorization".into()],
        allow_methods: vec!["POST".into()],
        allow_origins: vec!["https://practice.example.com".into()],
        expose_headers: vec![],
        max_age: 300,
    });
    let url = start_url(topology, real_function(), vec![]).await;
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/chatbot", url.url.url()),
        )
        .header("origin", "https://practice.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-chatbot-authorization",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(
        h["access-control-allow-origin"],
        "https://practice.example.com"
    );
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(
        h["access-control-allow-headers"],
        "content-type,x-chatbot-authorization"
    );
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["vary"], "Origin");
    assert_eq!(url.invoker.cold_starts(), 0, "the function was not invoked");
}

#[tokio::test]
async fn ssm_refuses_what_the_role_may_not_read() {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let mut topology = emulator::Topology::default();
    topology
        .ssm_parameters
        .push(emulator::topology::SsmParameter {
            name: "/other/secret".into(),
            parameter_type: "SecureString".into(),
            value: "nope".into(),
        });
    // Granted but absent: the IAM check passes, then the parameter is not found.
    topology
        .function
        .role
        .ssm_get_parameter
        .push("/chatbot/none".into());
    let url = start_url(topology.clone(), real_function(), vec![]).await;
    let call = |name: &'static str, akid: &'static str, token: Option<String>| {
        let ssm = url.ssm.url();
        let role = topology.function.role.clone();
        async move {
            let body = format!(r#"{{"Name":"{name}","WithDecryption":true}}"#);
            let host = ssm.trim_start_matches("http://").to_owned();
            let identity = Credentials::new(akid, role.secret_access_key, token, None, "t").into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name("ssm")
                .time(SystemTime::now())
                .settings(SigningSettings::default())
                .build()
                .unwrap()
                .into();
            let headers = [
                ("host", host.as_str()),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "AmazonSSM.GetParameter"),
            ];
            let signable = SignableRequest::new(
                "POST",
                format!("{ssm}/"),
                headers.iter().copied(),
                SignableBody::Bytes(body.as_bytes()),
            )
            .unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            let mut request = http::Request::builder()
                .method("POST")
                .uri(format!("{ssm}/"));
            for (k, v) in headers {
                request = request.header(k, v);
            }
            let mut request = request.body(body.clone()).unwrap();
            instructions.apply_to_request_http1x(&mut request);
            let response = reqwest::Client::new()
                .execute(reqwest::Request::try_from(request).unwrap())
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let role = &topology.function.role;
    let (status, ok) = call(
        "/chatbot/gemini-api-key",
        "ASIACHATBOTLOCALROLE",
        Some(role.session_token.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ok.contains(r#""Value":"fake-gemini-key""#), "{ok}");
    let (_, missing) = call(
        "/chatbot/none",
        "ASIACHATBOTLOCALROLE",
        Some(role.session_token.clone()),
    )
    .await;
    assert_eq!(missing, r#"{"__type":"ParameterNotFound","message":""}"#);
    let (_, denied) = call(
        "/other/secret",
        "ASIACHATBOTLOCALROLE",
        Some(role.session_token.clone()),
    )
    .await;
    insta::assert_snapshot!("ssm_access_denied", denied);
    let (_, no_token) = call("/chatbot/gemini-api-key", "ASIACHATBOTLOCALROLE", None).await;
    assert!(
        no_token.contains("UnrecognizedClientException"),
        "{no_token}"
    );
}

/// The trace of a response from the URL.
fn url_trace(url: &Url, response: &reqwest::Response) -> emulator::trace::Trace {
    let id = response.headers()["x-emulator-trace-id"].to_str().unwrap();
    url.traces.get(id).unwrap()
}

#[tokio::test]
async fn lenient_sigv4_forms_are_refused() {
    let url = start_url(
        emulator::Topology::default(),
        real_function(),
        vec![Scenario::stream(["x"])],
    )
    .await;
    let body = chat_body("hi");
    let admin = Signer::user(&url.topology, "local-admin");
    let signed = |extra: &[(&str, &str)]| {
        signed_headers(&url.topology, &admin, &body, extra, url.clock.now())
    };

    // A long-term key with an arbitrary session token.
    let with_token = signed(&[("x-amz-security-token", "made-up")]);
    let response = post(&url, &with_token, body.clone()).await;
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "UnrecognizedClientException"
    );

    // An uppercase signature.
    let mut upper = signed(&[]);
    for (name, value) in upper.iter_mut() {
        if name == "authorization" {
            let (head, signature) = value.rsplit_once("Signature=").unwrap();
            *value = format!("{head}Signature={}", signature.to_ascii_uppercase());
        }
    }
    let response = post(&url, &upper, body.clone()).await;
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );

    // Signature= given twice.
    let mut twice = signed(&[]);
    for (name, value) in twice.iter_mut() {
        if name == "authorization" {
            value.push_str(", Signature=00");
        }
    }
    assert_eq!(post(&url, &twice, body.clone()).await.status(), 403);

    // x-amz-date twice.
    let mut dates = signed(&[]);
    dates.push(("x-amz-date".into(), "20200101T000000Z".into()));
    assert_eq!(post(&url, &dates, body.clone()).await.status(), 403);

    // A presigned URL valid for longer than u64 seconds can count: refused, not a panic.
    let credential = format!(
        "{}/20261202/us-east-1/lambda/aws4_request",
        admin.access_key_id
    );
    let presigned = format!(
        "{}/chatbot?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date=20261202T000000Z&X-Amz-Expires=18446744073709551615&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
        url.url.url(),
        credential.replace('/', "%2F")
    );
    let response = reqwest::Client::new()
        .post(presigned)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("less than a week"));
    assert_eq!(url.invoker.cold_starts(), 0);
}

#[tokio::test]
async fn an_uppercase_body_hash_gets_the_body_hash_hint() {
    let url = start_url(emulator::Topology::default(), real_function(), vec![]).await;
    let body = chat_body("hi");
    let hash = emulator::client::body_hash(&body).to_ascii_uppercase();
    let headers = signed_headers(
        &url.topology,
        &Signer::user(&url.topology, "local-admin"),
        &body,
        &[("x-amz-content-sha256", &hash)],
        url.clock.now(),
    );
    let response = post(&url, &headers, body).await;
    assert_eq!(response.status(), 403);
    let trace = url_trace(&url, &response);
    let refusal = trace.refusal().unwrap();
    assert_eq!(refusal.rule, "AuthType AWS_IAM: body hash");
    assert!(
        refusal.hint.as_deref().unwrap().contains("lowercase"),
        "{refusal:?}"
    );
}

#[tokio::test]
async fn a_second_source_arn_matches_no_grant() {
    let url = start_url(
        emulator::Topology::default(),
        real_function(),
        vec![Scenario::stream(["x"])],
    )
    .await;
    let body = chat_body("hi");
    let headers = signed_headers(
        &url.topology,
        &Signer::oac(),
        &body,
        &[
            (
                "x-amz-source-arn",
                "arn:aws:cloudfront::999999999999:distribution/EFORGED",
            ),
            ("x-amz-source-arn", &url.topology.distribution_arn()),
            ("x-amz-source-account", "123456789012"),
        ],
        url.clock.now(),
    );
    let response = post(&url, &headers, body).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "AccessDeniedException"
    );
}
