//! The browser half in a real headless Chromium (Debian's `chromium`, driven by playwright-core from
//! `web/`): the local chat page signs in with Amplify v6 (SRP) and streams an answer through the edge;
//! rendering is proven incremental with a gate; the original plan's mistake and a missing body hash
//! render their refusals with hop and hint; Stop cancels upstream; keep-alives and a mid-stream error
//! render; a 100 KB multi-byte answer arrives byte-exact; a page on an origin CORS does not allow is
//! blocked while the trace names CORS and the origin.
//!
//! Without Chromium or `web/node_modules` these tests skip, saying what to install — unless
//! `REQUIRE_BROWSER=1` (CI), where a skip is a failure.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use e2e::{Setup, TestChain};
use fake_gemini::{End, Scenario};
use serde_json::{Value, json};

use crate::support::function;

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Whether the browser tests can run here; `Err` says what to install.
fn missing() -> Option<String> {
    if !chromium().exists() {
        return Some(format!(
            "{} not found: install it with `apt-get install chromium` (Debian's package; a browser that playwright downloads does not run here)",
            chromium().display()
        ));
    }
    if !web_dir().join("node_modules/playwright-core").exists() {
        return Some("web/node_modules is missing: run `npm ci` in web/".into());
    }
    None
}

/// `true` to run; `false` after printing why not (a failure when `REQUIRE_BROWSER=1`).
fn browser_ready() -> bool {
    let Some(why) = missing() else {
        amplify_bundle();
        return true;
    };
    if std::env::var("REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("browser tests required (REQUIRE_BROWSER=1) but cannot run: {why}");
    }
    eprintln!("skipping the browser test: {why}");
    false
}

/// Builds `web/dist/amplify.js` once (what the page signs in with), if it is not there.
fn amplify_bundle() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if web_dir().join("dist/amplify.js").exists() {
            return;
        }
        let status = std::process::Command::new("npm")
            .args(["run", "--silent", "build"])
            .current_dir(web_dir())
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm run build in web/ failed");
    });
}

/// Runs the page driver with `plan`; its JSON result.
async fn drive(plan: Value) -> Value {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new("node")
        .arg("tests/browser/drive.mjs")
        .current_dir(web_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(plan.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the browser driver did not finish within 120 s")
        .unwrap();
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "driver output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(result["ok"], true, "{result:#}");
    result
}

async fn chain_with_page(
    scenarios: Vec<Scenario>,
    site: SocketAddr,
    change: impl FnOnce(&mut Setup),
) -> TestChain {
    let mut setup = Setup::new(function(), scenarios);
    setup.site_addr = Some(site);
    change(&mut setup);
    TestChain::start(setup).await
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn page_url(chain: &TestChain) -> String {
    format!("{}/", chain.chain.site.as_ref().unwrap().url())
}

#[tokio::test]
async fn a_page_on_the_sites_dev_origin_signs_in_with_amplify_and_streams_through_the_edge() {
    if !browser_ready() {
        return;
    }
    // The site's Vite dev origin, http://localhost:5173, which the embedded CORS allows.
    let site = SocketAddr::from(([127, 0, 0, 1], 5173));
    let chain = chain_with_page(
        vec![Scenario::stream(["Start with ", "a hash map."])],
        site,
        |_| {},
    )
    .await;
    let result = drive(json!({"pageUrl": "http://localhost:5173/"})).await;
    assert_eq!(result["signIn"]["flow"], "amplify-srp", "{result:#}");
    assert_eq!(result["answer"], "Start with a hash map.");
    assert_eq!(result["state"], "done (STOP)");
    // What Amplify v6's preflight to Cognito asked for, as Chromium sent it.
    let preflights = chain.chain.cognito.preflights();
    let asked = &preflights.first().expect("a preflight to Cognito").headers;
    for header in ["content-type", "x-amz-target", "x-amz-user-agent"] {
        assert!(asked.contains(header), "{asked}");
    }
    eprintln!("Amplify v6's preflight asked for: {asked}");
}

#[tokio::test]
async fn a_page_on_an_origin_cors_does_not_allow_is_blocked_and_the_trace_names_cors() {
    if !browser_ready() {
        return;
    }
    let chain = chain_with_page(vec![Scenario::stream(["never shown"])], any_port(), |_| {}).await;
    // A second page, on an origin the chain was not told about.
    let listener = tokio::net::TcpListener::bind(any_port()).await.unwrap();
    let stranger = format!("http://{}", listener.local_addr().unwrap());
    let _page = emulator::site::serve(
        listener,
        emulator::site::Config {
            chatbot_url: format!("{}/chatbot", chain.chain.edge.url()),
            cognito_url: chain.chain.cognito.url().to_owned(),
            user_pool_id: fake_cognito::config::DEFAULT_POOL_ID.into(),
            client_id: fake_cognito::config::DEFAULT_CLIENT_ID.into(),
            username: fake_cognito::config::DEFAULT_USERNAME.into(),
            password: fake_cognito::config::DEFAULT_PASSWORD.into(),
            amplify_bundle: Some(emulator::site::default_amplify_bundle()),
            limits: Default::default(),
        },
    )
    .await
    .unwrap();
    let mut finished = chain.chain.traces.subscribe();
    let result = drive(json!({"pageUrl": format!("{stranger}/")})).await;
    assert_eq!(
        result["signIn"]["state"], "signed-in",
        "Cognito answers any origin"
    );
    assert_eq!(result["state"], "failed");
    assert_eq!(
        result["errorData"]["status"], "0",
        "the browser hides the refusal"
    );
    assert!(result["console"].to_string().contains("CORS"), "{result:#}");
    let mut rendered = Vec::new();
    while let Ok(trace) = finished.try_recv() {
        rendered.push(trace.render());
    }
    assert!(
        rendered
            .iter()
            .any(|t| t.contains("CORS") && t.contains(&stranger) && t.contains("--allow-origin")),
        "{rendered:#?}"
    );
}

#[tokio::test]
async fn chunk_one_is_in_the_dom_while_gemini_holds_chunk_two() {
    if !browser_ready() {
        return;
    }
    let chain = chain_with_page(
        vec![Scenario::stream(["first chunk, ", "then the rest"]).gate_before(1, "second")],
        any_port(),
        |_| {},
    )
    .await;
    let result = drive(json!({
        "pageUrl": page_url(&chain), "geminiUrl": chain.chain.gemini.url(),
        "gate": {"name": "second", "firstText": "first chunk"},
    }))
    .await;
    assert_eq!(result["answerAtGate"], "first chunk, ");
    assert_eq!(result["gateAtFirst"]["open"], false, "{result:#}");
    assert_eq!(result["gateAtFirst"]["reached"], 1);
    assert_eq!(result["stateAtGate"], "asking…");
    assert_eq!(result["answer"], "first chunk, then the rest");
    assert_eq!(result["state"], "done (STOP)");
}

#[tokio::test]
async fn the_token_in_authorization_renders_401_at_the_function_with_the_oac_hint() {
    if !browser_ready() {
        return;
    }
    // With the deployed CORS the browser already refuses to send Authorization cross-origin.
    let chain = chain_with_page(vec![], any_port(), |_| {}).await;
    let mut finished = chain.chain.traces.subscribe();
    let blocked = drive(json!({"pageUrl": page_url(&chain), "tokenHeader": "authorization"})).await;
    assert_eq!(blocked["errorData"]["status"], "0", "{blocked:#}");
    let mut cors = Vec::new();
    while let Ok(trace) = finished.try_recv() {
        cors.extend(
            trace
                .hops
                .into_iter()
                .filter(|l| l.hop == emulator::trace::Hop::Cors),
        );
    }
    assert!(
        cors.iter()
            .any(|l| l.detail.contains("header(s) authorization")),
        "{cors:#?}"
    );
    // With CORS that lets Authorization through (what the original plan would have configured), the
    // request arrives — and OAC has replaced the token by then.
    let chain = chain_with_page(vec![], any_port(), |s| {
        if let Some(cors) = s.topology.function_url.cors.as_mut() {
            cors.allow_headers.push("authorization".into());
        }
    })
    .await;
    let result = drive(json!({"pageUrl": page_url(&chain), "tokenHeader": "authorization"})).await;
    assert_eq!(result["errorData"]["status"], "401", "{result:#}");
    assert_eq!(result["errorData"]["hop"], "function");
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("invalid_token"), "{error}");
    assert!(
        error.contains("hint: OAC signing `always` replaced the viewer's Authorization header"),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_body_hash_renders_the_urls_403_and_its_hint() {
    if !browser_ready() {
        return;
    }
    let chain = chain_with_page(vec![], any_port(), |_| {}).await;
    let result = drive(json!({"pageUrl": page_url(&chain), "bodyHash": false})).await;
    assert_eq!(result["errorData"]["status"], "403", "{result:#}");
    assert_eq!(result["errorData"]["hop"], "url_auth");
    let error = result["error"].as_str().unwrap();
    // x-amzn-ErrorType is not exposed to page scripts (CORS exposes only what is configured).
    assert!(
        error.contains("The request signature we calculated does not match"),
        "{error}"
    );
    assert!(
        error.contains("hint: Lambda refuses unsigned payloads"),
        "{error}"
    );
}

#[tokio::test]
async fn stop_mid_stream_cancels_gemini_and_the_environment_is_reused() {
    if !browser_ready() {
        return;
    }
    let chain = chain_with_page(
        vec![
            Scenario::stream(["again"]).when_last_user_contains("again"),
            Scenario::stream(["partial ", "never"])
                .gate_before(1, "hold")
                .times(1),
        ],
        any_port(),
        |_| {},
    )
    .await;
    let result = drive(json!({"pageUrl": page_url(&chain), "stopAfter": "partial"})).await;
    assert_eq!(result["state"], "stopped", "{result:#}");
    assert_eq!(result["answer"], "partial ");
    chain
        .chain
        .gemini
        .wait_for_streams(|c| c.cancelled == 1)
        .await;
    chain.settle().await;
    let again = drive(json!({"pageUrl": page_url(&chain), "question": "again"})).await;
    assert_eq!(again["answer"], "again");
    assert_eq!(
        chain.chain.invoker.cold_starts(),
        1,
        "the environment was reused"
    );
}

#[tokio::test]
async fn keep_alives_and_a_mid_stream_error_render() {
    if !browser_ready() {
        return;
    }
    let chain = chain_with_page(
        vec![
            Scenario::stream(["before", " after"])
                .gate_before(1, "silence")
                .ending(End::Error { status: 503 }),
        ],
        any_port(),
        |s| {
            s.topology
                .function
                .env
                .insert("KEEPALIVE_INTERVAL_MS".into(), "50".into());
        },
    )
    .await;
    let result = drive(json!({
        "pageUrl": page_url(&chain), "geminiUrl": chain.chain.gemini.url(),
        "gate": {"name": "silence", "firstText": "before", "keepAlive": true},
    }))
    .await;
    assert!(
        result["keepAlivesAtGate"]
            .as_str()
            .unwrap()
            .starts_with("keep-alives: "),
        "{result:#}"
    );
    assert_eq!(result["answer"], "before after");
    assert_eq!(result["state"], "failed");
    assert_eq!(result["errorData"]["code"], "upstream_unavailable");
    assert!(
        result["error"]
            .as_str()
            .unwrap()
            .contains("503 UNAVAILABLE")
    );
}

#[tokio::test]
async fn a_100_kb_multi_byte_answer_arrives_byte_exact_in_the_dom() {
    if !browser_ready() {
        return;
    }
    let piece = "café ☕ 🚀 naïve — 漢字 ";
    let chunks: Vec<String> = (0..200)
        .map(|i| format!("{i}: {}", piece.repeat(16)))
        .collect();
    let expected: String = chunks.concat();
    assert!(expected.len() > 100_000);
    let mut scenario = Scenario::stream(chunks);
    for i in (0..200).step_by(7) {
        // Cut inside the ☕ and the 🚀 of this chunk's TCP writes.
        scenario = scenario.split_chunk(i, &[i.to_string().len() + 7, i.to_string().len() + 12]);
    }
    let chain = chain_with_page(vec![scenario], any_port(), |_| {}).await;
    let result = drive(json!({"pageUrl": page_url(&chain)})).await;
    assert_eq!(result["state"], "done (STOP)", "{}", result["error"]);
    assert_eq!(result["answer"].as_str().unwrap(), expected);
}
