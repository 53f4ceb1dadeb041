//! Fakes, a topology pointed at them, events, and ways to start an invoker.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use emulator::runtime::{FunctionProcess, Logs};
use emulator::{Invoker, InvokerConfig, Topology};
use fake_cognito::config::DEFAULT_POOL_ID;
use fake_cognito::{FakeCognito, KeySource, MintRequest};
use fake_gemini::{FakeGemini, Scenario};
use serde_json::{Value, json};

pub const ID_PEM: &str = include_str!("../../../fake-cognito/tests/data/pool1-id.pem");
pub const ACCESS_PEM: &str = include_str!("../../../fake-cognito/tests/data/pool1-access.pem");

pub struct Fakes {
    pub cognito: fake_cognito::Handle,
    pub gemini: fake_gemini::Handle,
}

pub async fn fakes(scenarios: Vec<Scenario>) -> Fakes {
    let mut config = fake_cognito::Config::default();
    config.pools[0].id_token_key = KeySource::Pem(ID_PEM.into());
    config.pools[0].access_token_key = KeySource::Pem(ACCESS_PEM.into());
    let cognito = FakeCognito::spawn(config).await.unwrap();
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
            ("GEMINI_BASE_URL".to_owned(), self.gemini.uri().to_owned()),
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

/// The bash stand-in that crashes or hangs.
pub fn scripted_function() -> FunctionProcess {
    FunctionProcess {
        program: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/functions/scripted.sh"),
        args: Vec::new(),
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
}

/// The default topology as deployed (the key read from SSM), the real function, the fakes.
pub async fn start_url(
    topology: Topology,
    process: FunctionProcess,
    scenarios: Vec<Scenario>,
) -> Url {
    let fakes = fakes(scenarios).await;
    let clock = std::sync::Arc::new(emulator::clock::ManualClock::default());
    let ssm = emulator::ssm::spawn(
        "127.0.0.1:0".parse().unwrap(),
        topology.clone(),
        clock.clone(),
    )
    .await
    .unwrap();
    let mut overlay = fakes.overlay();
    overlay.insert("AWS_ENDPOINT_URL_SSM".into(), ssm.url());
    let invoker = invoker(topology.clone(), process, overlay);
    let url = emulator::function_url::spawn(emulator::function_url::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        topology: topology.clone(),
        invoker: invoker.clone(),
        clock: clock.clone(),
        traces: emulator::trace::TraceStore::default(),
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
    }
}

/// How to sign a request to the URL.
pub struct Signer {
    pub access_key_id: String,
    pub secret: String,
    pub session_token: Option<String>,
    /// Add `x-amz-content-sha256` (what CloudFront's OAC sends).
    pub content_sha256_header: bool,
}

impl Signer {
    pub fn user(topology: &Topology, name: &str) -> Self {
        let user = topology.iam_users.iter().find(|u| u.name == name).unwrap();
        Self {
            access_key_id: user.access_key_id.clone(),
            secret: user.secret_access_key.clone(),
            session_token: None,
            content_sha256_header: false,
        }
    }

    pub fn oac() -> Self {
        let identity = emulator::function_url::auth::oac_identity();
        Self {
            access_key_id: identity.access_key_id,
            secret: identity.secret_access_key,
            session_token: identity.session_token,
            content_sha256_header: true,
        }
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
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
    };
    use aws_sigv4::sign::v4;
    let host = topology.function_url_host();
    let url = format!("https://{host}/chatbot");
    let identity = Credentials::new(
        &signer.access_key_id,
        &signer.secret,
        signer.session_token.clone(),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if signer.content_sha256_header {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&topology.region)
        .name("lambda")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.clone()),
        ("content-type".into(), "application/json".into()),
    ];
    headers.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = http::Request::builder().method("POST").uri(&url);
    for (k, v) in &headers {
        request = request.header(k, v);
    }
    let mut request = request.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
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
