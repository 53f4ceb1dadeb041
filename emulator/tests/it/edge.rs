//! The CloudFront edge and the whole chain: every edge row of the security table with exact bytes, the
//! original plan's `Authorization: Bearer` refused with the OAC hint in the trace, AllViewer, each OAC
//! signing behavior, the origin read timeout before and after the first byte, gated streaming at the
//! viewer, the canonical scenarios, and `up --json` + `chat` as processes.

use std::time::Duration;

use emulator::chain::{Chain, ChainConfig};
use emulator::client::{Answer, BodyHash, Client, Options, Received, TokenPlacement, question};
use emulator::trace::Decision;
use fake_gemini::Scenario;

use crate::support::real_function;

async fn chain_with(
    scenarios: Vec<Scenario>,
    change: impl FnOnce(&mut ChainConfig),
) -> (Chain, Client, String) {
    let mut config = emulator::testing::chain_config(real_function(), scenarios);
    change(&mut config);
    let chain = Chain::start(config).await.unwrap();
    let (client, token) = emulator::testing::demo_client(&chain).await;
    (chain, client, token)
}

async fn refused(
    client: &Client,
    token: &str,
    options: Options,
) -> (
    u16,
    reqwest::header::HeaderMap,
    String,
    emulator::trace::Trace,
) {
    match client.send(&question("hi"), token, &options).await.unwrap() {
        Answer::Refused {
            status,
            headers,
            body,
            trace_id,
        } => {
            let trace = client.trace(&trace_id.expect("a trace id")).await.unwrap();
            (status, headers, body, trace)
        }
        Answer::Stream(_) => panic!("expected a refusal"),
    }
}

#[tokio::test]
async fn a_question_streams_through_every_hop_with_cloudfronts_headers() {
    let (chain, client, token) = chain_with(
        vec![Scenario::stream(["one ", "two"]).gate_before(1, "g")],
        |_| {},
    )
    .await;
    let Answer::Stream(mut stream) = client
        .send(&question("hi"), &token, &Options::default())
        .await
        .unwrap()
    else {
        panic!("a stream")
    };
    // Event 1 is at the viewer while fake-gemini holds chunk 2.
    let (first, _) = stream.next().await.unwrap().unwrap();
    assert_eq!(
        first,
        Received::Event(chatbot_query::sse::Event::Delta(
            chatbot_query::sse::Delta {
                text: "one ".into()
            }
        ))
    );
    chain.gemini.wait_for_gate("g", 1).await;
    assert!(!chain.gemini.gate("g").open);
    chain.gemini.release("g");
    let trace_id = stream.trace_id.clone().unwrap();
    let rest = stream.collect().await.unwrap();
    assert!(matches!(
        rest.last(),
        Some(Received::Event(chatbot_query::sse::Event::Done(_)))
    ));
    let trace = client.trace(&trace_id).await.unwrap();
    let hops: Vec<&str> = trace.hops.iter().map(|h| h.hop.as_str()).collect();
    assert_eq!(
        hops,
        ["edge", "oac", "url_auth", "policy", "runtime", "function"]
    );
    assert!(trace.hops.iter().all(|h| h.decision == Decision::Pass));
    assert_eq!(trace.status, Some(200));

    let response = reqwest::Client::new()
        .post(format!("{}/chatbot", chain.edge.url()))
        .header("content-type", "application/json")
        .header("x-chatbot-authorization", format!("Bearer {token}"))
        .header(
            "x-amz-content-sha256",
            emulator::client::body_hash(question("x").to_string().as_bytes()),
        )
        .body(question("x").to_string())
        .send()
        .await
        .unwrap();
    let h = response.headers();
    assert_eq!(h["x-cache"], "Miss from cloudfront");
    assert!(
        h["via"]
            .to_str()
            .unwrap()
            .ends_with(".cloudfront.net (CloudFront)")
    );
    assert_eq!(h["x-amz-cf-pop"], emulator::edge::POP);
    assert_eq!(h["x-amz-cf-id"].len(), 56);
    assert!(h.contains_key("x-amzn-requestid") && h.contains_key("x-emulator-trace-id"));
    response.text().await.unwrap();
}

#[tokio::test]
async fn the_original_plan_is_refused_at_the_function_and_the_trace_names_oac() {
    let (_chain, client, token) = chain_with(vec![Scenario::stream(["x"])], |_| {}).await;
    let (status, headers, body, trace) = refused(
        &client,
        &token,
        Options {
            token: TokenPlacement::Authorization,
            ..Options::default()
        },
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    insta::assert_snapshot!("edge_original_plan_body", body);
    assert_eq!(trace.refusal().unwrap().hop, "function");
    let oac = trace.hops.iter().find(|h| h.hop == "oac").unwrap();
    assert_eq!(
        oac.hint.as_deref(),
        Some(
            "OAC signing `always` replaced the viewer's Authorization header; a JWT sent there never reaches the function — send it in x-chatbot-authorization"
        )
    );
}

#[tokio::test]
async fn a_method_outside_the_behavior_gets_cloudfronts_403_page() {
    let (chain, client, token) = chain_with(vec![], |c| {
        c.topology.distribution.behaviors[0].allowed_methods =
            vec!["GET".into(), "HEAD".into(), "OPTIONS".into()];
    })
    .await;
    let (status, headers, body, trace) = refused(&client, &token, Options::default()).await;
    assert_eq!(status, 403);
    assert_eq!(headers["content-type"], "text/html");
    assert_eq!(headers["server"], "CloudFront");
    assert_eq!(headers["x-cache"], "Error from cloudfront");
    let request_id = headers["x-amz-cf-id"].to_str().unwrap().to_owned();
    insta::assert_snapshot!(
        "edge_method_not_allowed_page",
        body.replace(&request_id, "[request id]")
    );
    assert_eq!(trace.refusal().unwrap().hop, "edge");
    assert_eq!(chain.invoker.cold_starts(), 0);
}

#[tokio::test]
async fn body_hash_rules_hold_through_the_edge() {
    let (_chain, client, token) = chain_with(vec![Scenario::stream(["x"])], |_| {}).await;
    for (hash, name) in [(BodyHash::Omit, "missing"), (BodyHash::Wrong, "wrong")] {
        let (status, headers, body, trace) = refused(
            &client,
            &token,
            Options {
                hash,
                ..Options::default()
            },
        )
        .await;
        assert_eq!(status, 403, "{name}");
        assert_eq!(headers["x-amzn-errortype"], "InvalidSignatureException");
        assert_eq!(
            body,
            r#"{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}"#
        );
        assert_eq!(trace.refusal().unwrap().hop, "url_auth");
    }
}

#[tokio::test]
async fn all_viewer_forwards_host_and_breaks_the_signature() {
    let (_chain, client, token) = chain_with(vec![Scenario::stream(["x"])], |c| {
        c.topology.distribution.behaviors[0].origin_request_policy =
            emulator::topology::OriginRequestPolicy::AllViewer;
    })
    .await;
    let (status, headers, _, trace) = refused(&client, &token, Options::default()).await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-amzn-errortype"], "InvalidSignatureException");
    let refusal = trace.refusal().unwrap();
    assert_eq!(refusal.hop, "url_auth");
    assert!(
        refusal
            .hint
            .as_deref()
            .unwrap()
            .contains("Managed-AllViewerExceptHostHeader")
    );
}

#[tokio::test]
async fn each_oac_signing_behavior() {
    let (_chain, client, token) = chain_with(vec![Scenario::stream(["x"])], |c| {
        c.topology.distribution.oac.signing_behavior = emulator::topology::SigningBehavior::Never;
    })
    .await;
    let (status, _, body, trace) = refused(&client, &token, Options::default()).await;
    assert_eq!((status, body.as_str()), (403, r#"{"Message":"Forbidden"}"#));
    assert_eq!(trace.refusal().unwrap().hop, "url_auth");

    let (chain, client, token) = chain_with(vec![Scenario::stream(["no-override signs"])], |c| {
        c.topology.distribution.oac.signing_behavior =
            emulator::topology::SigningBehavior::NoOverride;
    })
    .await;
    let Answer::Stream(stream) = client
        .send(&question("hi"), &token, &Options::default())
        .await
        .unwrap()
    else {
        panic!("no viewer Authorization: CloudFront signs")
    };
    stream.collect().await.unwrap();
    let (status, _, body, trace) = refused(
        &client,
        &token,
        Options {
            token: TokenPlacement::Authorization,
            ..Options::default()
        },
    )
    .await;
    assert_eq!((status, body.as_str()), (403, r#"{"Message":"Forbidden"}"#));
    assert!(
        trace
            .hops
            .iter()
            .any(|h| h.rule == "signing behavior no-override")
    );
    drop(chain);
}

#[tokio::test]
async fn the_origin_read_timeout_is_a_504_page_before_the_first_byte() {
    let (_chain, client, token) = chain_with(
        vec![Scenario::stream(["never"]).gate_before(0, "never")],
        |c| {
            c.origin_read_timeout = Some(Duration::from_millis(300));
        },
    )
    .await;
    let (status, headers, body, trace) = refused(&client, &token, Options::default()).await;
    assert_eq!(status, 504);
    assert_eq!(headers["x-cache"], "Error from cloudfront");
    assert!(body.contains("<H1>504 ERROR</H1>"));
    assert_eq!(trace.refusal().unwrap().rule, "origin read timeout");
}

#[tokio::test]
async fn the_origin_read_timeout_cuts_a_silent_stream_after_the_first_byte() {
    let (_chain, client, token) = chain_with(
        vec![Scenario::stream(["first", "never"]).gate_before(1, "never")],
        |c| {
            c.origin_read_timeout = Some(Duration::from_millis(300));
        },
    )
    .await;
    let Answer::Stream(mut stream) = client
        .send(&question("hi"), &token, &Options::default())
        .await
        .unwrap()
    else {
        panic!("the stream starts")
    };
    let (first, _) = stream.next().await.unwrap().unwrap();
    assert!(matches!(
        first,
        Received::Event(chatbot_query::sse::Event::Delta(_))
    ));
    let mut cut = false;
    while let Some(item) = stream.next().await {
        if item.is_err() {
            cut = true;
        }
    }
    assert!(
        cut,
        "the edge cut the connection instead of ending the body"
    );
}

#[tokio::test]
async fn the_canonical_scenarios_pass_on_the_default_chain() {
    let (_chain, client, _) = chain_with(vec![Scenario::stream(["answer"])], |_| {}).await;
    let outcomes = emulator::scenarios::run_all(
        &client,
        fake_cognito::config::DEFAULT_USERNAME,
        fake_cognito::config::DEFAULT_PASSWORD,
    )
    .await;
    assert_eq!(outcomes.len(), 5);
    for outcome in &outcomes {
        assert!(outcome.passed, "{outcome:?}");
    }
}

#[tokio::test]
async fn up_json_then_chat_then_sigterm_leaves_no_process_behind() {
    use tokio::io::AsyncBufReadExt as _;
    let key_cache = tempfile::tempdir().unwrap();
    let mut up = tokio::process::Command::new(env!("CARGO_BIN_EXE_emulator"))
        .args(["up", "--json"])
        .args(["--edge-addr", "127.0.0.1:0", "--url-addr", "127.0.0.1:0"])
        .args([
            "--cognito-addr",
            "127.0.0.1:0",
            "--gemini-addr",
            "127.0.0.1:0",
            "--site-addr",
            "127.0.0.1:0",
        ])
        .env("XDG_CACHE_HOME", key_cache.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(up.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("one JSON line");
    let summary: serde_json::Value = serde_json::from_str(&line).unwrap();
    for key in [
        "edge_url",
        "function_url",
        "cognito_url",
        "gemini_url",
        "region",
        "user_pool_id",
        "client_id",
        "username",
        "password",
        "iam_users",
        "site_url",
    ] {
        assert!(summary.get(key).is_some(), "{key} in {line}");
    }
    assert_eq!(summary["iam_users"][0]["name"], "local-admin");

    let chat = tokio::process::Command::new(env!("CARGO_BIN_EXE_emulator"))
        .args(["chat", "How do I start?"])
        .args(["--edge-url", summary["edge_url"].as_str().unwrap()])
        .args(["--cognito-url", summary["cognito_url"].as_str().unwrap()])
        .output()
        .await
        .unwrap();
    let answer = String::from_utf8(chat.stdout).unwrap();
    assert!(
        chat.status.success(),
        "{}",
        String::from_utf8_lossy(&chat.stderr)
    );
    assert!(answer.contains("hash map"), "{answer}");

    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_emulator"))
        .args(["chat", "hi", "--token-in-authorization"])
        .args(["--edge-url", summary["edge_url"].as_str().unwrap()])
        .args(["--cognito-url", summary["cognito_url"].as_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    let reason = String::from_utf8(refused.stderr).unwrap();
    assert!(reason.contains("HTTP 401: refused at function"), "{reason}");
    assert!(
        reason.contains("OAC signing `always` replaced the viewer's Authorization header"),
        "{reason}"
    );

    let pid = up.id().unwrap();
    let functions = emulator::testing::child_processes(pid);
    assert!(
        !functions.is_empty(),
        "the function environment is a child of up"
    );
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), up.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    for child in functions {
        let alive = std::fs::read_to_string(format!("/proc/{child}/status"))
            .is_ok_and(|s| !s.contains("State:\tZ"));
        assert!(!alive, "function process {child} outlived up");
    }
}

#[tokio::test]
async fn a_path_of_kilobytes_is_matched_without_recursion_and_one_over_the_url_limit_is_413() {
    let (chain, client, token) = chain_with(vec![], |c| {
        let mut api = c.topology.distribution.behaviors[0].clone();
        api.path_pattern = "/api/*/v?/*".into();
        c.topology.distribution.behaviors.insert(0, api);
    })
    .await;
    // Under the 8,192-byte limit: matched (the recursive matcher this replaced overflowed the stack of a
    // debug build on a few KB), passed to the function, which answers 404 for any path but /chatbot.
    let long = format!("/{}", "a".repeat(8000));
    let (status, _, _, trace) = refused(
        &client,
        &token,
        Options {
            path: long,
            ..Options::default()
        },
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(trace.refusal().unwrap().hop, "function");
    let over = format!("/{}", "a".repeat(emulator::edge::viewer::MAX_URL_BYTES));
    let (status, headers, body, trace) = refused(
        &client,
        &token,
        Options {
            path: over,
            ..Options::default()
        },
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(headers["x-cache"], "Error from cloudfront");
    assert!(body.contains("<H1>413 ERROR</H1>"));
    assert_eq!(trace.refusal().unwrap().rule, "request limits: URL");
    drop(chain);
}

/// The single-page-app setting: a 403 answered with the site's `/index.html` and a 200.
fn spa_error_page(error_code: u16) -> emulator::topology::CustomErrorResponse {
    emulator::topology::CustomErrorResponse {
        error_code,
        response_code: Some(200),
        response_page_path: Some("/index.html".into()),
        error_caching_min_ttl_s: Some(10),
    }
}

/// A POST whose body hash is wrong: the Function URL refuses it with 403 before any function runs.
async fn post_with_a_wrong_hash(chain: &Chain) -> (u16, reqwest::header::HeaderMap, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/chatbot", chain.edge.url()))
        .header("content-type", "application/json")
        .header("x-amz-content-sha256", "0".repeat(64))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn a_custom_error_response_masks_the_403_as_the_sites_200_page_and_the_trace_keeps_the_refusal()
 {
    let (chain, client, _) = chain_with(vec![], |c| {
        c.function = emulator::testing::scripted_function();
        c.topology
            .function
            .env
            .insert("BEHAVIOUR".into(), "page".into());
        c.topology.distribution.custom_error_responses = vec![spa_error_page(403)];
    })
    .await;
    let (status, headers, body) = post_with_a_wrong_hash(&chain).await;
    assert_eq!(status, 200, "the browser sees a success");
    assert_eq!(body, "<!doctype html><title>the site</title>");
    assert_eq!(headers["content-type"], "text/html");
    assert_eq!(headers["x-cache"], "Error from cloudfront");
    let trace = client
        .trace(headers[emulator::trace::TRACE_HEADER].to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(trace.status, Some(200));
    let refusal = trace.refusal().unwrap();
    assert_eq!(
        (refusal.hop, refusal.rule.as_str()),
        (emulator::trace::Hop::UrlAuth, "AuthType AWS_IAM: body hash"),
        "{}",
        trace.render()
    );
    let note = trace
        .hops
        .iter()
        .find(|h| h.rule == "custom error response 403")
        .unwrap_or_else(|| panic!("no custom error line in\n{}", trace.render()));
    assert_eq!(note.decision, Decision::Note);
    assert!(
        note.hint
            .as_deref()
            .is_some_and(|h| h.starts_with("the browser sees a 200 page, not the refusal above")),
        "{note:?}"
    );
    let page_trace_id = note.detail.rsplit(' ').next().unwrap();
    let page = client.trace(page_trace_id).await.unwrap();
    assert_eq!(
        (page.request.as_str(), page.status),
        ("GET /index.html (custom error page for a 403)", Some(200))
    );
}

#[tokio::test]
async fn a_custom_error_page_the_origin_cannot_serve_gives_the_page_fetchs_status_and_one_without_a_page_changes_nothing()
 {
    // The chatbot function answers 404 for /index.html: the viewer gets that 404, not the 403.
    let (chain, client, _) = chain_with(vec![], |c| {
        c.topology.distribution.custom_error_responses = vec![spa_error_page(403)];
    })
    .await;
    let (status, headers, _) = post_with_a_wrong_hash(&chain).await;
    assert_eq!(status, 404);
    let trace = client
        .trace(headers[emulator::trace::TRACE_HEADER].to_str().unwrap())
        .await
        .unwrap();
    let note = trace
        .hops
        .iter()
        .find(|h| h.rule == "custom error response 403")
        .unwrap();
    assert!(
        note.detail
            .starts_with("the 403 answer was replaced by the status of its page fetch, 404"),
        "{note:?}"
    );
    assert_eq!(note.hint, None);
    assert_eq!(trace.refusal().unwrap().hop, "url_auth");

    // Only a caching TTL: the origin's error passes as it was.
    let (chain, _, _) = chain_with(vec![], |c| {
        c.topology.distribution.custom_error_responses =
            vec![emulator::topology::CustomErrorResponse {
                error_code: 403,
                response_code: None,
                response_page_path: None,
                error_caching_min_ttl_s: Some(10),
            }];
    })
    .await;
    let (status, headers, _) = post_with_a_wrong_hash(&chain).await;
    assert_eq!(
        (status, headers["x-amzn-errortype"].to_str().unwrap()),
        (403, "InvalidSignatureException")
    );
}
