//! A running function (the handler behind an HTTP server on port 0) wired to fake-cognito and
//! fake-gemini, a clock tests can move, and helpers to call it and read its events.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use chatbot_query::auth::Clock;
use chatbot_query::{App, Config, handle};
use fake_cognito::config::DEFAULT_POOL_ID;
use fake_cognito::{FakeCognito, KeySource, MintRequest};
use fake_gemini::{FakeGemini, Scenario};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};

pub const ID_PEM: &str = include_str!("../../../fake-cognito/tests/data/pool1-id.pem");
pub const ACCESS_PEM: &str = include_str!("../../../fake-cognito/tests/data/pool1-access.pem");

/// The real time plus an offset a test can move forward (fake-cognito mints with the real time, so the
/// function's clock must keep running too).
#[derive(Debug, Default)]
pub struct ManualClock(Mutex<Duration>);

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *self.0.lock().unwrap()
    }
}

/// What a test can change about the function's environment.
pub struct Setup {
    pub env: HashMap<String, String>,
    pub gemini_scenarios: Vec<Scenario>,
    pub gemini_tls: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            env: HashMap::new(),
            gemini_scenarios: vec![Scenario::stream(["Hello", ", student"])],
            gemini_tls: false,
        }
    }
}

impl Setup {
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn only(mut self, scenario: Scenario) -> Self {
        self.gemini_scenarios = vec![scenario];
        self
    }
}

pub struct Function {
    pub url: String,
    pub app: Arc<App>,
    pub cognito: fake_cognito::Handle,
    pub gemini: fake_gemini::Handle,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    _tls_dir: Option<tempfile::TempDir>,
}

pub async fn start_cognito() -> fake_cognito::Handle {
    let mut config = fake_cognito::Config::default();
    config.pools[0].id_token_key = KeySource::Pem(ID_PEM.into());
    config.pools[0].access_token_key = KeySource::Pem(ACCESS_PEM.into());
    FakeCognito::spawn(config).await.unwrap()
}

/// The environment Lambda would give the function, pointed at the fakes.
pub fn base_env(cognito: &fake_cognito::Handle, gemini_uri: &str) -> HashMap<String, String> {
    let pairs = [
        ("COGNITO_USER_POOL_ID", DEFAULT_POOL_ID.to_owned()),
        (
            "COGNITO_CLIENT_ID",
            fake_cognito::config::DEFAULT_CLIENT_ID.to_owned(),
        ),
        ("COGNITO_REGION", "us-east-1".to_owned()),
        ("COGNITO_JWKS_URL", cognito.jwks_url(DEFAULT_POOL_ID)),
        ("GEMINI_BASE_URL", gemini_uri.to_owned()),
        ("GEMINI_API_KEY", fake_gemini::DEFAULT_API_KEY.to_owned()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

pub async fn start(setup: Setup) -> Function {
    let cognito = start_cognito().await;
    let tls_dir = setup.gemini_tls.then(|| tempfile::tempdir().unwrap());
    let gemini = FakeGemini::spawn(fake_gemini::Config {
        default_scenario: false,
        scenarios: setup.gemini_scenarios,
        tls_ca_path: tls_dir.as_ref().map(|d| d.path().join("ca.pem")),
        ..fake_gemini::Config::default()
    })
    .await
    .unwrap();
    let mut env = base_env(&cognito, gemini.url());
    if let Some(dir) = &tls_dir {
        env.insert(
            "SSL_CERT_FILE".into(),
            dir.path().join("ca.pem").display().to_string(),
        );
    }
    env.extend(setup.env);
    let config = Config::from_lookup(|name| env.get(name).cloned()).expect("valid test config");
    let clock = Arc::new(ManualClock::default());
    let app = Arc::new(
        App::cold_start_with_clock(config, clock.clone())
            .await
            .expect("cold start"),
    );
    let url = serve(app.clone()).await;
    Function {
        url,
        app,
        cognito,
        gemini,
        clock,
        http: reqwest::Client::new(),
        _tls_dir: tls_dir,
    }
}

/// Serves the handler over HTTP/1.1 on port 0 (what the Function URL does in front of it).
pub async fn serve(app: Arc<App>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let app = app.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let app = app.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let bytes = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            Ok::<_, Infallible>(
                                handle(app, http::Request::from_parts(parts, bytes)).await,
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/chatbot")
}

pub fn chat_body(question: &str) -> Value {
    json!({
        "messages": [{"role": "user", "content": question}],
        "context": {"problemId": "two-sum", "title": "Two Sum", "language": "rust", "code": "fn main() {}"}
    })
}

impl Function {
    pub fn access_token(&self) -> String {
        self.mint(MintRequest::access())
    }

    pub fn mint(&self, request: MintRequest) -> String {
        self.cognito.mint(DEFAULT_POOL_ID, &request).unwrap()
    }

    /// POSTs a chat with `token` in `x-chatbot-authorization`.
    pub async fn ask_with(&self, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.http.post(&self.url).json(body);
        if let Some(token) = token {
            request = request.header("x-chatbot-authorization", format!("Bearer {token}"));
        }
        request.send().await.unwrap()
    }

    pub async fn ask(&self, question: &str) -> reqwest::Response {
        let token = self.access_token();
        self.ask_with(Some(&token), &chat_body(question)).await
    }
}

/// Status, the headers a test looks at, and the body: the wire form of a refusal.
pub async fn wire(response: reqwest::Response) -> String {
    let status = response.status().as_u16();
    let mut lines = vec![status.to_string()];
    for name in ["content-type", "www-authenticate", "allow", "retry-after"] {
        if let Some(value) = response.headers().get(name) {
            lines.push(format!("{name}: {}", value.to_str().unwrap()));
        }
    }
    lines.push(response.text().await.unwrap());
    lines.join("\n")
}

/// Reads the body until `needle` arrives.
pub async fn read_until(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<Bytes>> + Unpin),
    needle: &str,
) -> String {
    use futures_util::StreamExt as _;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(needle) {
        match stream.next().await {
            Some(chunk) => seen.extend_from_slice(&chunk.expect("readable")),
            None => panic!(
                "stream ended before {needle:?}: {}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    String::from_utf8(seen).unwrap()
}
