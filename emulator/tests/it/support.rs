//! Fakes, a topology pointed at them, events, and ways to start an invoker.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use emulator::runtime::{FunctionProcess, Logs};
use emulator::{Invoker, InvokerConfig, Topology};
use fake_cognito::config::DEFAULT_POOL_ID;
use fake_cognito::{FakeCognito, MintRequest};
use fake_gemini::{FakeGemini, Scenario};
use serde_json::{Value, json};

pub use emulator::testing::{Signer, scripted_function};

pub struct Fakes {
    pub cognito: fake_cognito::Handle,
    pub gemini: fake_gemini::Handle,
}

pub async fn fakes(scenarios: Vec<Scenario>) -> Fakes {
    let cognito = FakeCognito::spawn(emulator::testing::cognito_config())
        .await
        .unwrap();
    let gemini = FakeGemini::spawn(fake_gemini::Config {
        default_scenario: false,
        scenarios,
        ..fake_gemini::Config::default()
    })
    .await
    .unwrap();
    Fakes { cognito, gemini }
}

impl Fakes {
    /// What the emulator lays over the function's environment.
    pub fn overlay(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "COGNITO_JWKS_URL".to_owned(),
                self.cognito.jwks_url(DEFAULT_POOL_ID),
            ),
            ("GEMINI_BASE_URL".to_owned(), self.gemini.url().to_owned()),
        ])
    }

    pub fn token(&self) -> String {
        self.cognito
            .mint(DEFAULT_POOL_ID, &MintRequest::access())
            .unwrap()
    }
}

/// The default topology with the Gemini key given directly (the SSM emulation is not part of this
/// layer).
pub fn topology() -> Topology {
    let mut topology = Topology::default();
    topology.function.env.remove("GEMINI_API_KEY_PARAMETER");
    topology
        .function
        .env
        .insert("GEMINI_API_KEY".into(), fake_gemini::DEFAULT_API_KEY.into());
    topology
}

/// The real function, through the emulator's hidden `function` mode.
pub fn real_function() -> FunctionProcess {
    FunctionProcess {
        program: PathBuf::from(env!("CARGO_BIN_EXE_emulator")),
        args: vec!["function".into()],
        logs: Logs::Discard,
    }
}

pub fn invoker(
    topology: Topology,
    process: FunctionProcess,
    overlay: BTreeMap<String, String>,
) -> Invoker {
    Invoker::new(InvokerConfig {
        topology,
        process,
        overlay,
        idle_timeout: emulator::runtime::IDLE_TIMEOUT,
    })
}

/// A Function URL event (payload v2.0) for `POST /chatbot`.
pub fn chat_event(token: &str, question: &str) -> Bytes {
    let body = json!({"messages": [{"role": "user", "content": question}]});
    let event: Value = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/chatbot", "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-chatbot-authorization": format!("Bearer {token}")},
        "requestContext": {
            "accountId": "123456789012", "apiId": "chatbotlocalurl0000000000000001a",
            "domainName": "chatbotlocalurl0000000000000001a.lambda-url.us-east-1.on.aws",
            "domainPrefix": "chatbotlocalurl0000000000000001a",
            "http": {"method": "POST", "path": "/chatbot", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "it"},
            "requestId": "00000000-0000-4000-8000-000000000000", "routeKey": "$default", "stage": "$default",
            "time": "29/Nov/2026:04:00:00 +0000", "timeEpoch": 1795924800000u64
        },
        "body": body.to_string(), "isBase64Encoded": false
    });
    Bytes::from(event.to_string())
}

/// A Function URL (with SSM) in front of an invoker, on port 0.
pub struct Url {
    pub fakes: Fakes,
    pub url: emulator::function_url::Handle,
    pub ssm: emulator::ssm::Handle,
    pub invoker: Invoker,
    pub clock: std::sync::Arc<emulator::clock::ManualClock>,
    pub topology: Topology,
    pub traces: emulator::trace::TraceStore,
}

/// The default topology as deployed (the key read from SSM), the real function, the fakes.
pub async fn start_url(
    topology: Topology,
    process: FunctionProcess,
    scenarios: Vec<Scenario>,
) -> Url {
    let fakes = fakes(scenarios).await;
    let clock = std::sync::Arc::new(emulator::clock::ManualClock::default());
    let ssm = emulator::ssm::spawn(emulator::ssm::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        topology: topology.clone(),
        clock: clock.clone(),
        limits: Default::default(),
    })
    .await
    .unwrap();
    let mut overlay = fakes.overlay();
    overlay.insert("AWS_ENDPOINT_URL_SSM".into(), ssm.url().to_owned());
    let invoker = invoker(topology.clone(), process, overlay);
    let traces = emulator::trace::TraceStore::default();
    let url = emulator::function_url::spawn(emulator::function_url::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        topology: topology.clone(),
        invoker: invoker.clone(),
        clock: clock.clone(),
        traces: traces.clone(),
        limits: Default::default(),
    })
    .await
    .unwrap();
    Url {
        fakes,
        url,
        ssm,
        invoker,
        clock,
        topology,
        traces,
    }
}

/// Signs `POST /chatbot` with `body` and `extra` headers for the URL's AWS host, at `time`.
pub fn signed_headers(
    topology: &Topology,
    signer: &Signer,
    body: &[u8],
    extra: &[(&str, &str)],
    time: std::time::SystemTime,
) -> Vec<(String, String)> {
    signer.sign(topology, body, extra, time)
}

/// The chat body the function expects.
pub fn chat_body(question: &str) -> Vec<u8> {
    json!({"messages": [{"role": "user", "content": question}]})
        .to_string()
        .into_bytes()
}

/// Sends a POST to the URL with exactly these headers and body.
pub async fn post(url: &Url, headers: &[(String, String)], body: Vec<u8>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/chatbot", url.url.url()))
        .body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    request.send().await.unwrap()
}

/// Status, the headers that matter, and the body.
pub async fn wire(response: reqwest::Response) -> String {
    let mut lines = vec![response.status().as_u16().to_string()];
    for name in ["content-type", "x-amzn-errortype"] {
        if let Some(value) = response.headers().get(name) {
            lines.push(format!("{name}: {}", value.to_str().unwrap()));
        }
    }
    assert!(response.headers().contains_key("x-amzn-requestid"));
    lines.push(response.text().await.unwrap());
    lines.join("\n")
}
