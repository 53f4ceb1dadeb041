//! `bench`: measures the chain against DESIGN.md's performance targets, side by side in one run, and
//! prints the table BENCHMARKS.md records. Run it through `scripts/bench` (release build, moto venv).
//!
//! Everything is measured on this machine, in one process where possible: micro benchmarks of the hot
//! pieces, then the chain (ready time, added latency over the function's handler, per-event delay,
//! throughput, concurrent streams, memory, cold start), then fake-cognito against moto when
//! `BENCH_MOTO_SERVER` names a `moto_server` executable.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use chatbot_query::{App, Config, handle};
use e2e::{Setup, TestChain, real_function};
use emulator::client::{Answer, Options, Received, question};
use emulator::runtime::prelude::PreludeDecoder;
use fake_gemini::Scenario;
use http_body_util::BodyExt as _;

fn function() -> emulator::runtime::FunctionProcess {
    let exe = std::env::current_exe().expect("own path");
    real_function(
        exe.with_file_name("chatbot-function")
            .to_str()
            .expect("utf-8 path"),
    )
}

/// The function's app in this process, cold-started from the environment the chain gives its
/// function processes (same Cognito, Gemini, SSM and role), for calling the handler directly.
async fn direct_app(chain: &TestChain) -> App {
    let env = chain.chain.invoker.environment();
    App::cold_start(Config::from_lookup(|name| env.get(name).cloned()).expect("config"))
        .await
        .expect("cold start")
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Times `iterations` calls of `f`; returns the mean.
fn time_each(iterations: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

struct Table(Vec<(String, String, String)>);

impl Table {
    fn row(&mut self, what: &str, figure: String, target: &str) {
        println!("| {what} | {figure} | {target} |");
        self.0.push((what.into(), figure, target.into()));
    }
}

#[tokio::main]
async fn main() {
    let mut table = Table(Vec::new());
    println!("| measurement | figure | DESIGN.md target |");
    println!("|---|---|---|");
    // BENCH_SECTIONS=micro,chain runs only those sections (default: all four).
    let sections = std::env::var("BENCH_SECTIONS").unwrap_or_default();
    let wanted = |name: &str| sections.is_empty() || sections.split(',').any(|s| s.trim() == name);
    if wanted("micro") {
        micro(&mut table).await;
    }
    if wanted("chain") {
        chain(&mut table).await;
    }
    if wanted("moto") {
        moto(&mut table).await;
    }
    if wanted("browser") {
        browser(&mut table).await;
    }
}

/// Click on Ask → first delta in the DOM, in headless Chromium on the local chat page (20 asks).
async fn browser(table: &mut Table) {
    use tokio::io::AsyncWriteExt as _;
    const WHAT: &str = "browser: click → first delta in the DOM (Chromium, 20 asks) p50 / max";
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    if !std::path::Path::new("/usr/bin/chromium").exists() || !web.join("node_modules").exists() {
        table.row(
            WHAT,
            "skipped: needs /usr/bin/chromium and npm ci in web/".into(),
            "—",
        );
        return;
    }
    let mut setup = Setup::new(function(), vec![Scenario::stream(["first", " rest"])]);
    setup.site_addr = Some("127.0.0.1:0".parse().unwrap());
    let chain = TestChain::start(setup).await;
    let plan = serde_json::json!({
        "pageUrl": format!("{}/", chain.chain.site.as_ref().unwrap().url()),
        "measure": 20,
    });
    let mut child = tokio::process::Command::new("node")
        .arg("tests/browser/drive.mjs")
        .current_dir(&web)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(plan.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let mut samples: Vec<Duration> = result["firstDeltaMs"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|ms| ms.as_f64())
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
                .collect()
        })
        .unwrap_or_default();
    if samples.is_empty() {
        table.row(WHAT, format!("failed: {}", result["failure"]), "—");
        return;
    }
    let p50 = percentile(&mut samples, 0.5);
    let max = percentile(&mut samples, 1.0);
    table.row(
        WHAT,
        format!(
            "{} / {} (signed in with {})",
            millis(p50),
            millis(max),
            result["signIn"]["flow"]
        ),
        "—",
    );
}

async fn micro(table: &mut Table) {
    // SigV4 verify and OAC sign.
    let topology = emulator::Topology::default();
    let body = question("How do I start?").to_string().into_bytes();
    let mut headers = vec![
        ("host".to_owned(), topology.function_url_host()),
        ("content-type".to_owned(), "application/json".to_owned()),
        (
            "x-amz-content-sha256".to_owned(),
            emulator::client::body_hash(&body),
        ),
    ];
    let now = SystemTime::now();
    let url = format!("https://{}/chatbot", topology.function_url_host());
    let sign_time = time_each(2_000, || {
        let mut h = headers.clone();
        emulator::edge::oac::apply(
            emulator::topology::SigningBehavior::Always,
            "POST",
            &url,
            "us-east-1",
            &mut h,
            now,
        )
        .expect("signs");
    });
    table.row("OAC sign (aws-sigv4)", micros(sign_time), "—");
    emulator::edge::oac::apply(
        emulator::topology::SigningBehavior::Always,
        "POST",
        &url,
        "us-east-1",
        &mut headers,
        now,
    )
    .expect("signs");
    let options = emulator::sigv4::VerifyOptions {
        region: "us-east-1".into(),
        service: "lambda".into(),
        normalize_path: true,
        max_skew: Duration::from_secs(300),
        allow_unsigned_payload: false,
    };
    let verify_time = time_each(2_000, || {
        emulator::sigv4::verify(
            &emulator::sigv4::verify::Request {
                method: "POST",
                path: b"/chatbot",
                query: "",
                headers: &headers,
                body: &body,
            },
            |akid| emulator::function_url::auth::lookup(&topology, akid),
            &options,
            now,
        )
        .expect("verifies");
    });
    table.row("SigV4 verify (ours)", micros(verify_time), "—");

    // Prelude decode, SSE format and parse, event build.
    let mut response = br#"{"statusCode":200,"headers":{"content-type":"text/event-stream; charset=utf-8","cache-control":"no-cache"},"cookies":[]}"#.to_vec();
    response.extend_from_slice(&[0; 8]);
    response.extend_from_slice(&b"event: delta\ndata: {\"text\":\"hello\"}\n\n".repeat(16));
    let response = Bytes::from(response);
    let decode_time = time_each(20_000, || {
        let mut decoder = PreludeDecoder::new();
        decoder.feed(response.clone()).expect("decodes");
    });
    table.row("prelude decode (1 KB response)", micros(decode_time), "—");
    let event = chatbot_query::sse::Event::Delta(chatbot_query::sse::Delta {
        text: "a typical chunk of a tutor's answer, thirty-odd words".into(),
    });
    let format_time = time_each(100_000, || {
        std::hint::black_box(event.encode());
    });
    table.row("SSE event format", micros(format_time), "—");
    let chunk = b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a typical chunk of a tutor's answer\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n".repeat(8);
    let parse_time = time_each(20_000, || {
        let mut decoder = chatbot_query::gemini::decoder::Decoder::new();
        std::hint::black_box(decoder.feed(&chunk));
    });
    table.row("Gemini SSE parse (8 events)", micros(parse_time), "—");
    let caller = emulator::function_url::auth::Caller::CloudFront {
        source_arn: Some(topology.distribution_arn()),
        source_account: Some("123456789012".into()),
    };
    let event_time = time_each(20_000, || {
        let incoming = emulator::function_url::event::Incoming {
            method: "POST",
            path: "/chatbot",
            query: "",
            headers: &headers,
            body: &body,
            source_ip: "127.0.0.1",
        };
        std::hint::black_box(emulator::function_url::event::build(
            &topology, &incoming, &caller, "id", now,
        ));
    });
    table.row("event v2.0 build", micros(event_time), "—");

    // JWT verify with warm keys, through the function's own verifier, beside its floor: one RSA-2048
    // PKCS#1 v1.5 verify of the same token's signature with the same key and library (ring).
    let chain = TestChain::start(Setup::new(function(), vec![])).await;
    let app = direct_app(&chain).await;
    let token = chain.mint(&fake_cognito::MintRequest::access());
    app.verifier()
        .verify(&token)
        .await
        .expect("warm-up fetches the keys");
    let (signing_input, signature) = token.rsplit_once('.').expect("a JWT");
    let signature = base64_url(signature);
    let jwks = chain
        .chain
        .cognito
        .jwks(fake_cognito::config::DEFAULT_POOL_ID)
        .expect("the default pool's JWKS");
    let header: serde_json::Value =
        serde_json::from_slice(&base64_url(token.split('.').next().expect("a header")))
            .expect("a JSON header");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["kid"] == header["kid"])
        .expect("the token's kid is in the JWKS");
    let (n, e) = (
        base64_url(jwk["n"].as_str().expect("n")),
        base64_url(jwk["e"].as_str().expect("e")),
    );
    let key = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
    let mut floor_samples = Vec::new();
    let mut full_samples = Vec::new();
    for _ in 0..15 {
        floor_samples.push(time_each(300, || {
            key.verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &signature,
            )
            .expect("the token's own signature verifies");
        }));
        let start = Instant::now();
        for _ in 0..300 {
            app.verifier().verify(&token).await.expect("verifies");
        }
        full_samples.push(start.elapsed() / 300);
    }
    let (floor, full) = (median(&mut floor_samples), median(&mut full_samples));
    table.row(
        "RSA-2048 verify of the token's signature (ring), median of 15",
        micros(floor),
        "—",
    );
    table.row(
        "JWT verify, warm keys, median of 15",
        format!(
            "{} (×{:.2} the RSA verify)",
            micros(full),
            full.as_secs_f64() / floor.as_secs_f64()
        ),
        "< 50 µs, within 2× the RSA verify",
    );
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn chain(table: &mut Table) {
    // `up` ready time: the emulator binary as a process, to its one JSON line.
    let emulator_exe = std::env::current_exe()
        .expect("own path")
        .with_file_name("emulator");
    if emulator_exe.exists() {
        let mut samples = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let mut child = tokio::process::Command::new(&emulator_exe)
                .args([
                    "up",
                    "--json",
                    "--edge-addr",
                    "127.0.0.1:0",
                    "--url-addr",
                    "127.0.0.1:0",
                    "--cognito-addr",
                    "127.0.0.1:0",
                    "--gemini-addr",
                    "127.0.0.1:0",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("emulator up");
            use tokio::io::AsyncBufReadExt as _;
            let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
            lines.next_line().await.expect("a line");
            samples.push(start.elapsed());
            let _ = child.kill().await;
        }
        table.row(
            "`emulator up` ready (process start → JSON line), median of 5",
            millis(percentile(&mut samples, 0.5)),
            "< 150 ms",
        );
    }

    // Added latency: the full chain vs the function's handler called directly, same fake-gemini.
    let chain = TestChain::start(Setup::new(function(), vec![Scenario::stream(["ok"])])).await;
    let viewer = chain.viewer().await;
    let app = Arc::new(direct_app(&chain).await);
    let body = question("hi").to_string();
    let direct = || {
        let request = http::Request::builder()
            .method("POST")
            .uri("/chatbot")
            .header("content-type", "application/json")
            .header(
                "x-chatbot-authorization",
                format!("Bearer {}", viewer.token),
            )
            .body(Bytes::from(body.clone()))
            .expect("request");
        let app = app.clone();
        async move {
            let response = handle(app, request).await;
            response.into_body().collect().await.expect("body");
        }
    };
    direct().await;
    viewer.ask("warm").await.events();
    let (mut direct_samples, mut chain_samples) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let start = Instant::now();
        direct().await;
        direct_samples.push(start.elapsed());
        chain.settle().await;
        let start = Instant::now();
        viewer.ask("hi").await.events();
        chain_samples.push(start.elapsed());
    }
    let (d50, d99) = (
        percentile(&mut direct_samples, 0.5),
        percentile(&mut direct_samples, 0.99),
    );
    let (c50, c99) = (
        percentile(&mut chain_samples, 0.5),
        percentile(&mut chain_samples, 0.99),
    );
    table.row(
        "request, handler called directly (p50 / p99)",
        format!("{} / {}", millis(d50), millis(d99)),
        "—",
    );
    table.row(
        "request, full chain (p50 / p99)",
        format!("{} / {}", millis(c50), millis(c99)),
        "—",
    );
    table.row(
        "added latency of the chain (p50 / p99)",
        format!(
            "{} / {} (×{:.1} at p50)",
            millis(c50.saturating_sub(d50)),
            millis(c99.saturating_sub(d99)),
            c50.as_secs_f64() / d50.as_secs_f64()
        ),
        "p50 < 1 ms, p99 < 3 ms",
    );

    // Per-event delay: fake-gemini releases chunk i at a gate; the viewer's arrival minus the release.
    let count = 50;
    let chunks: Vec<fake_gemini::Chunk> = (0..count)
        .map(|i| fake_gemini::Chunk {
            text: format!("{i} "),
            gate: Some(format!("e{i}")),
            ..Default::default()
        })
        .collect();
    let gated = TestChain::start(Setup::new(
        function(),
        vec![Scenario::chunks(chunks, fake_gemini::End::default())],
    ))
    .await;
    let gated_viewer = gated.viewer().await;
    // The function answers its prelude with the first chunk, so the first gate opens while sending.
    let (gated_question, gated_options) = (question("hi"), Options::default());
    let ask = gated_viewer
        .client
        .send(&gated_question, &gated_viewer.token, &gated_options);
    let first_gate = async {
        gated.chain.gemini.wait_for_gate("e0", 1).await;
        let released = Instant::now();
        gated.chain.gemini.release("e0");
        released
    };
    let (answer, first_released) = tokio::join!(ask, first_gate);
    let Answer::Stream(mut stream) = answer.expect("send") else {
        panic!("the gated chain refused the question")
    };
    let mut delays = Vec::new();
    for i in 0..count {
        let released = if i == 0 {
            first_released
        } else {
            gated.chain.gemini.wait_for_gate(&format!("e{i}"), 1).await;
            let released = Instant::now();
            gated.chain.gemini.release(&format!("e{i}"));
            released
        };
        loop {
            match stream.next().await.expect("event").expect("readable").0 {
                Received::Event(chatbot_query::sse::Event::Delta(_)) => break,
                _ => continue,
            }
        }
        delays.push(released.elapsed());
    }
    table.row(
        "per-event delay, fake-gemini write → viewer read (p50 / max)",
        format!(
            "{} / {}",
            millis(percentile(&mut delays, 0.5)),
            millis(*delays.iter().max().expect("samples"))
        ),
        "< 2 ms",
    );

    // Throughput of short conversations.
    for viewers in [1usize, 10, 100] {
        let busy = TestChain::start({
            let mut setup = Setup::new(function(), vec![Scenario::stream(["short answer"])]);
            // Headroom: a viewer's next question can arrive before its environment is back at /next.
            setup.topology.function.reserved_concurrency = 2 * viewers as u32;
            setup
        })
        .await;
        let viewer = Arc::new(busy.viewer().await);
        let per_viewer = 2000 / viewers.max(1);
        let per_viewer = per_viewer.clamp(10, 200);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..viewers {
            let viewer = viewer.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..per_viewer {
                    viewer.ask("hi").await.events();
                }
            }));
        }
        for task in tasks {
            task.await.expect("viewer");
        }
        let total = viewers * per_viewer;
        let rate = total as f64 / start.elapsed().as_secs_f64();
        table.row(
            &format!("throughput, {viewers} concurrent viewer(s)"),
            format!(
                "{rate:.0} conversations/s ({total} in {:.1} s, {} environments)",
                start.elapsed().as_secs_f64(),
                busy.chain.invoker.cold_starts()
            ),
            "—",
        );
    }

    // Concurrent streams held open at once (each its own environment).
    let target = std::env::var("BENCH_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000usize);
    let held = TestChain::start({
        let mut setup = Setup::new(
            function(),
            vec![Scenario::stream(["open", " closed"]).gate_before(1, "all")],
        );
        setup.topology.function.reserved_concurrency = target as u32;
        // Opening a thousand environments takes about a minute: the first invocations must not reach
        // the function's timeout (60 s, faithfully enforced) before the gate opens. 900 s is Lambda's
        // maximum.
        setup.topology.function.timeout_s = 900;
        setup
    })
    .await;
    let viewer = Arc::new(held.viewer().await);
    let start = Instant::now();
    let mut streams = Vec::new();
    let mut failures = 0;
    for _ in 0..target {
        match viewer
            .client
            .send(&question("hi"), &viewer.token, &Options::default())
            .await
        {
            Ok(Answer::Stream(mut stream)) => match stream.next().await {
                Some(Ok(_)) => streams.push(stream),
                _ => failures += 1,
            },
            _ => failures += 1,
        }
        if failures > 0 {
            break;
        }
    }
    let open = streams.len();
    let pid = std::process::id();
    let env_rss: Vec<u64> = emulator::testing::child_processes(pid)
        .into_iter()
        .map(rss_kb)
        .filter(|kb| *kb > 0)
        .collect();
    let own_rss = rss_kb(pid);
    held.chain.gemini.release("all");
    let (mut completed, mut first_error) = (0, None);
    for stream in streams {
        let trace_id = stream.trace_id.clone();
        match stream.collect().await {
            Ok(_) => completed += 1,
            Err(error) => {
                first_error.get_or_insert_with(|| {
                    let last_hop =
                        trace_id
                            .and_then(|id| held.chain.traces.get(&id))
                            .map(|trace| {
                                trace
                                    .hops
                                    .iter()
                                    .rev()
                                    .take(2)
                                    .map(|hop| {
                                        format!("{}: {} — {}", hop.hop, hop.rule, hop.detail)
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" ← ")
                            });
                    format!("{error}; the trace's last hops: {last_hop:?}")
                });
            }
        }
    }
    table.row(
        "concurrent streams held open (each an environment)",
        format!(
            "{open} of {target} opened in {:.1} s, {completed} completed, {failures} failed{}",
            start.elapsed().as_secs_f64(),
            first_error
                .map(|e| format!(" (first cut stream: {e})"))
                .unwrap_or_default()
        ),
        "≥ 1,000 without error",
    );
    if !env_rss.is_empty() {
        let mut sorted = env_rss.clone();
        sorted.sort_unstable();
        table.row(
            "RSS of one function environment (median)",
            format!("{:.1} MB", sorted[sorted.len() / 2] as f64 / 1024.0),
            "< 30 MB",
        );
    }
    table.row(
        "RSS of the emulator process (all components, streams open)",
        format!("{:.1} MB", own_rss as f64 / 1024.0),
        "—",
    );

    // Cold start: first invocation of a fresh environment vs a warm one.
    let cold_chain = TestChain::start(Setup::new(function(), vec![Scenario::stream(["ok"])])).await;
    let v = cold_chain.viewer().await;
    let start = Instant::now();
    v.ask("cold").await.events();
    let cold = start.elapsed();
    cold_chain.settle().await;
    let start = Instant::now();
    v.ask("warm").await.events();
    let warm = start.elapsed();
    table.row(
        "cold vs warm request (init ≈ difference)",
        format!(
            "{} vs {} (≈ {} init)",
            millis(cold),
            millis(warm),
            millis(cold.saturating_sub(warm))
        ),
        "init < 30 ms",
    );
}

async fn moto(table: &mut Table) {
    let Ok(moto_server) = std::env::var("BENCH_MOTO_SERVER") else {
        table.row(
            "fake-cognito vs moto",
            "skipped: BENCH_MOTO_SERVER not set (scripts/bench sets it)".into(),
            "—",
        );
        return;
    };
    let http = reqwest::Client::new();
    // moto: process start to ready, then a pool, client and user, then sign-in + JWKS.
    let port = 5599u16;
    let start = Instant::now();
    let mut moto = tokio::process::Command::new(&moto_server)
        .args(["-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("moto_server starts");
    let base = format!("http://127.0.0.1:{port}");
    while http.get(format!("{base}/moto-api/")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let moto_ready = start.elapsed();
    let call = |target: &'static str, body: serde_json::Value| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.post(format!("{base}/"))
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{target}"))
                .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0")
                .body(body.to_string())
                .send()
                .await
                .expect("moto answers")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let pool = call("CreateUserPool", serde_json::json!({"PoolName": "bench"})).await;
    let pool_id = pool["UserPool"]["Id"].as_str().expect("pool id").to_owned();
    let client = call("CreateUserPoolClient", serde_json::json!({"UserPoolId": pool_id, "ClientName": "bench", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"]})).await;
    let client_id = client["UserPoolClient"]["ClientId"]
        .as_str()
        .expect("client id")
        .to_owned();
    call(
        "AdminCreateUser",
        serde_json::json!({"UserPoolId": pool_id, "Username": "demo"}),
    )
    .await;
    call("AdminSetUserPassword", serde_json::json!({"UserPoolId": pool_id, "Username": "demo", "Password": "Demo-passw0rd!", "Permanent": true})).await;
    let sign_in = serde_json::json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id, "AuthParameters": {"USERNAME": "demo", "PASSWORD": "Demo-passw0rd!"}});
    let mut moto_samples = Vec::new();
    for _ in 0..100 {
        let start = Instant::now();
        let answer = call("InitiateAuth", sign_in.clone()).await;
        assert!(
            answer["AuthenticationResult"]["AccessToken"].is_string(),
            "{answer}"
        );
        http.get(format!("{base}/{pool_id}/.well-known/jwks.json"))
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0")
            .send().await.expect("jwks").bytes().await.expect("jwks body");
        moto_samples.push(start.elapsed());
    }
    let _ = moto.kill().await;

    // fake-cognito: the same, as a process (its own binary) with cached keys.
    let fake_exe = std::env::current_exe()
        .expect("own path")
        .with_file_name("fake-cognito");
    let cache = std::env::temp_dir().join("bench-fake-cognito-keys");
    let start_fake = || {
        tokio::process::Command::new(&fake_exe)
            .args(["--addr", "127.0.0.1:0", "--key-cache-dir"])
            .arg(&cache)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("fake-cognito starts")
    };
    use tokio::io::AsyncBufReadExt as _;
    // A first start generates and caches the keys; the timed start uses the cache, as `up` does.
    {
        let mut first = start_fake();
        let mut lines = tokio::io::BufReader::new(first.stdout.take().expect("stdout")).lines();
        lines.next_line().await.expect("line");
        let _ = first.kill().await;
    }
    let start = Instant::now();
    let mut fake = start_fake();
    let mut lines = tokio::io::BufReader::new(fake.stdout.take().expect("stdout")).lines();
    let first = lines.next_line().await.expect("line").expect("a line");
    let fake_ready = start.elapsed();
    let fake_base = first
        .trim_start_matches("fake-cognito listening on ")
        .to_owned();
    let fake_sign_in = serde_json::json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": fake_cognito::config::DEFAULT_CLIENT_ID, "AuthParameters": {"USERNAME": "demo", "PASSWORD": "Demo-passw0rd!"}});
    let mut fake_samples = Vec::new();
    for _ in 0..100 {
        let start = Instant::now();
        let answer: serde_json::Value = http
            .post(format!("{fake_base}/"))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AWSCognitoIdentityProviderService.InitiateAuth",
            )
            .body(fake_sign_in.to_string())
            .send()
            .await
            .expect("fake answers")
            .json()
            .await
            .expect("json");
        assert!(answer["AuthenticationResult"]["AccessToken"].is_string());
        http.get(format!(
            "{fake_base}/us-east-1_LocalPool1/.well-known/jwks.json"
        ))
        .send()
        .await
        .expect("jwks")
        .bytes()
        .await
        .expect("body");
        fake_samples.push(start.elapsed());
    }
    let _ = fake.kill().await;
    let (m50, f50) = (
        percentile(&mut moto_samples, 0.5),
        percentile(&mut fake_samples, 0.5),
    );
    table.row(
        "process start → ready: fake-cognito vs moto_server",
        format!(
            "{} vs {} (×{:.0})",
            millis(fake_ready),
            millis(moto_ready),
            moto_ready.as_secs_f64() / fake_ready.as_secs_f64()
        ),
        "—",
    );
    table.row(
        "sign-in + JWKS fetch (p50): fake-cognito vs moto_server",
        format!(
            "{} vs {} (×{:.1})",
            millis(f50),
            millis(m50),
            m50.as_secs_f64() / f50.as_secs_f64()
        ),
        "—",
    );
}
