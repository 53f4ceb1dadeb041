//! The images `scripts/build-images` builds, started through their testcontainers modules and used
//! from outside, as another repository's CI would: the chain's canonical scenarios (sign-in, a
//! streamed answer, the body-hash and token refusals judged by the trace fetched by id) plus an
//! unsigned call straight to the Function URL; each fake alone.
//!
//! They run when a Docker engine answers and the images exist; otherwise they skip, saying what to
//! do — unless `REQUIRE_DOCKER=1` (CI), where a skip is a failure. This machine kind's engine has no
//! bridge, so they use host networking on free loopback ports.

use emulator::containers::{ChatbotChain, HostPorts};
use fake_cognito::container::FakeCognitoImage;
use fake_gemini::container::FakeGeminiImage;

/// `true` to run; `false` after printing why not (a failure when `REQUIRE_DOCKER=1`).
fn docker_ready(image: &str) -> bool {
    let why = docker_missing(image);
    let Some(why) = why else { return true };
    if std::env::var("REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("container tests required (REQUIRE_DOCKER=1) but cannot run: {why}");
    }
    eprintln!("skipping the container test: {why}");
    false
}

fn docker_missing(image: &str) -> Option<String> {
    let engine = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    match engine {
        Err(_) => return Some("no `docker` client: install Debian's docker.io (`apt-get install docker.io`)".into()),
        Ok(out) if !out.status.success() => return Some(
            "no Docker engine answers: start one (here: `dockerd --storage-driver vfs --iptables=false --ip6tables=false --bridge=none &`)".into(),
        ),
        Ok(_) => {}
    }
    let present = std::process::Command::new("docker")
        .args(["image", "inspect", &format!("{image}:local")])
        .output()
        .is_ok_and(|out| out.status.success());
    (!present).then(|| format!("no image {image}:local: run scripts/build-images"))
}

/// `n` loopback ports free a moment ago (the container binds them next).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("addr").port())
}

#[tokio::test]
async fn the_chain_image_runs_the_canonical_scenarios_from_outside() {
    if !docker_ready("chatbot-chain") {
        return;
    }
    let [edge, function_url, cognito, gemini, site] = free_ports();
    let chain = ChatbotChain::default()
        .with_host_network(HostPorts {
            edge,
            function_url,
            cognito,
            gemini,
            site,
        })
        .start()
        .await
        .expect("the chatbot-chain container starts and prints its JSON line");
    let summary = &chain.summary;
    assert_eq!(summary.edge_url, format!("http://127.0.0.1:{edge}"));
    assert!(!summary.iam_users.is_empty(), "{summary:?}");

    let client =
        emulator::client::Client::new(&summary.edge_url, &summary.cognito_url, &summary.client_id);
    let outcomes =
        emulator::scenarios::run_all(&client, &summary.username, &summary.password).await;
    assert!(outcomes.len() >= 5, "{outcomes:?}");
    for outcome in &outcomes {
        assert!(outcome.passed, "{outcome:?}");
    }

    // Past the edge, without OAC's signature: the Function URL's IAM auth refuses it.
    let direct = reqwest::Client::new()
        .post(format!("{}/chatbot", summary.function_url))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("the Function URL answers");
    assert_eq!(direct.status(), 403);
    assert_eq!(
        direct.text().await.expect("a body"),
        r#"{"Message":"Forbidden"}"#
    );
}

#[tokio::test]
async fn the_fake_cognito_image_signs_in_the_demo_user() {
    if !docker_ready("fake-cognito") {
        return;
    }
    let [port] = free_ports();
    let cognito = FakeCognitoImage::default()
        .with_host_network(port)
        .start()
        .await
        .expect("the fake-cognito container starts");
    let answer: serde_json::Value = reqwest::Client::new()
        .post(&cognito.url)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .body(
            serde_json::json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": fake_cognito::config::DEFAULT_CLIENT_ID,
                "AuthParameters": {
                    "USERNAME": fake_cognito::config::DEFAULT_USERNAME,
                    "PASSWORD": fake_cognito::config::DEFAULT_PASSWORD,
                },
            })
            .to_string(),
        )
        .send()
        .await
        .expect("fake-cognito answers")
        .json()
        .await
        .expect("JSON");
    assert!(
        answer["AuthenticationResult"]["AccessToken"].is_string(),
        "{answer}"
    );
}

#[tokio::test]
async fn the_fake_gemini_image_streams_a_scripted_answer() {
    if !docker_ready("fake-gemini") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("script.toml");
    std::fs::write(
        &script,
        r#"
[[scenario]]
name = "containers"
match = { last_user_contains = "containers" }
reply = { type = "stream", chunks = [{ text = "Images " }, { text = "and modules." }], end = { kind = "finish", reason = "STOP" } }
"#,
    )
    .expect("write the script");
    let [port] = free_ports();
    let gemini = FakeGeminiImage::default()
        .with_host_network(port)
        .with_script(&script)
        .start()
        .await
        .expect("the fake-gemini container starts");
    let body = reqwest::Client::new()
        .post(format!(
            "{}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            gemini.url
        ))
        .header("x-goog-api-key", fake_gemini::DEFAULT_API_KEY)
        .header("content-type", "application/json")
        .body(r#"{"contents":[{"role":"user","parts":[{"text":"Tell me about containers"}]}]}"#)
        .send()
        .await
        .expect("fake-gemini answers")
        .text()
        .await
        .expect("a body");
    assert!(
        body.contains("Images ") && body.contains("and modules."),
        "{body}"
    );
}
