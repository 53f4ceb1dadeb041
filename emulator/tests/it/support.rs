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
