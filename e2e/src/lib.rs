//! The end-to-end harness: [`TestChain`] starts fake-cognito, fake-gemini, SSM, the Runtime API, the
//! Function URL and the edge on port 0 (several chains run in parallel) and shuts them down on drop;
//! [`Viewer`] behaves like the browser (built on `emulator::client`, with knobs to do each step wrong);
//! [`DirectCaller`] calls the Function URL signed with the `aws-sigv4` crate as an IAM user; refusals are
//! checked by status, body bytes, and the trace's hop and rule ([`Refusal`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use emulator::chain::Chain;
use emulator::client::{Answer, Client, Options, Received};
use emulator::clock::{Clock, ManualClock};
use emulator::runtime::{FunctionProcess, Logs};
use emulator::testing::Signer;
use emulator::topology::Topology;
use serde_json::Value;

/// The real function, through this package's `chatbot-function` binary.
pub fn real_function(program: &str) -> FunctionProcess {
    FunctionProcess {
        program: PathBuf::from(program),
        args: Vec::new(),
        logs: Logs::Discard,
    }
}

/// How to build a chain.
pub struct Setup {
    /// The topology.
    pub topology: Topology,
    /// fake-gemini's scenarios (no default answer).
    pub scenarios: Vec<fake_gemini::Scenario>,
    /// The function process.
    pub function: FunctionProcess,
    /// Serve Gemini over TLS (its CA goes to the function's `SSL_CERT_FILE`).
    pub gemini_tls: bool,
    /// Origin read timeout override.
    pub origin_read_timeout: Option<Duration>,
    /// Serve the local chat page here (its origins join CORS).
    pub site_addr: Option<std::net::SocketAddr>,
}

impl Setup {
    /// The embedded topology, the real function, these scenarios.
    pub fn new(function: FunctionProcess, scenarios: Vec<fake_gemini::Scenario>) -> Self {
        Self {
            topology: Topology::default(),
            scenarios,
            function,
            gemini_tls: false,
            origin_read_timeout: None,
            site_addr: None,
        }
    }
}

/// A running chain; dropping it stops everything.
pub struct TestChain {
    /// The chain.
    pub chain: Chain,
    /// The clock signatures are checked against.
    pub clock: Arc<ManualClock>,
    _tls: Option<tempfile::TempDir>,
}

impl TestChain {
    /// Starts a chain.
    pub async fn start(setup: Setup) -> Self {
        let clock = Arc::new(ManualClock::default());
        let mut config = emulator::testing::chain_config(setup.function, setup.scenarios);
        config.topology = setup.topology;
        config.clock = clock.clone();
        config.origin_read_timeout = setup.origin_read_timeout;
        config.site_addr = setup.site_addr;
        config.amplify_bundle = Some(emulator::site::default_amplify_bundle());
        let tls = setup
            .gemini_tls
            .then(|| tempfile::tempdir().expect("a temp dir for the CA"));
        if let Some(dir) = &tls {
            let ca = dir.path().join("ca.pem");
            config.gemini.tls_ca_path = Some(ca.clone());
            config
                .topology
                .function
                .env
                .insert("SSL_CERT_FILE".into(), ca.display().to_string());
        }
        let chain = Chain::start(config).await.expect("the chain starts");
        Self {
            chain,
            clock,
            _tls: tls,
        }
    }

    /// A browser-like viewer, signed in as the demo user.
    pub async fn viewer(&self) -> Viewer {
        let (client, token) = emulator::testing::demo_client(&self.chain).await;
        Viewer { client, token }
    }

    /// Waits until every execution environment is back in `/next` (panics after the invoker's bound).
    pub async fn settle(&self) {
        self.chain
            .invoker
            .wait_until_idle()
            .await
            .expect("the environments settle");
    }

    /// A token minted by fake-cognito's hooks.
    pub fn mint(&self, request: &fake_cognito::MintRequest) -> String {
        self.chain
            .cognito
            .mint(fake_cognito::config::DEFAULT_POOL_ID, request)
            .expect("mint")
    }

    /// A direct caller signing as the topology's IAM user `name`.
    pub fn direct(&self, name: &str) -> DirectCaller {
        DirectCaller {
            url: self.chain.url.url().to_owned(),
            topology: self.chain.topology.clone(),
            signer: Signer::user(&self.chain.topology, name),
            now: self.clock.now(),
        }
    }

    /// A trace by id.
    pub fn trace(&self, id: &str) -> emulator::trace::Trace {
        self.chain.traces.get(id).expect("a trace")
    }
}

/// The browser, through the edge.
pub struct Viewer {
    /// The client.
    pub client: Client,
    /// The demo user's access token.
    pub token: String,
}

/// A refusal, as the viewer saw it, with the trace's verdict.
#[derive(Debug)]
pub struct Refusal {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: String,
    /// The hop that refused (from the trace).
    pub hop: Option<String>,
    /// Its rule.
    pub rule: Option<String>,
    /// Every hint in the trace.
    pub hints: Vec<String>,
}

/// What a viewer got.
#[derive(Debug)]
pub enum Outcome {
    /// The answer streamed: every event, in order.
    Streamed(Vec<Received>),
    /// A refusal.
    Refused(Refusal),
}

impl Outcome {
    /// The refusal, or a panic naming what streamed.
    pub fn refusal(self) -> Refusal {
        match self {
            Self::Refused(refusal) => refusal,
            Self::Streamed(events) => panic!("expected a refusal, got a stream: {events:?}"),
        }
    }

    /// The events, or a panic naming the refusal.
    pub fn events(self) -> Vec<Received> {
        match self {
            Self::Streamed(events) => events,
            Self::Refused(refusal) => panic!("expected a stream, got {refusal:?}"),
        }
    }
}

impl Viewer {
    /// Sends `body` with `token` as `options` say, and reads everything.
    pub async fn send(&self, body: &Value, token: &str, options: &Options) -> Outcome {
        match self
            .client
            .send(body, token, options)
            .await
            .expect("the edge answers")
        {
            Answer::Stream(stream) => {
                Outcome::Streamed(stream.collect().await.expect("a readable stream"))
            }
            Answer::Refused {
                status,
                headers,
                body,
                trace_id,
            } => {
                let trace = match &trace_id {
                    Some(id) => self.client.trace(id).await.ok(),
                    None => None,
                };
                let refusal = trace.as_ref().and_then(|t| t.refusal().cloned());
                Outcome::Refused(Refusal {
                    status,
                    headers,
                    body,
                    hop: refusal.as_ref().map(|h| h.hop.to_string()),
                    rule: refusal.map(|h| h.rule),
                    hints: trace
                        .map(|t| t.hops.into_iter().filter_map(|h| h.hint).collect())
                        .unwrap_or_default(),
                })
            }
        }
    }

    /// Asks one question the right way.
    pub async fn ask(&self, question: &str) -> Outcome {
        self.send(
            &emulator::client::question(question),
            &self.token,
            &Options::default(),
        )
        .await
    }
}

/// Calls the Function URL directly, signed as an IAM user.
pub struct DirectCaller {
    url: String,
    topology: Topology,
    signer: Signer,
    /// When the signature is dated.
    pub now: SystemTime,
}

impl DirectCaller {
    /// The signed headers for `POST /chatbot` with `body` and `extra` headers.
    pub fn sign(&self, body: &[u8], extra: &[(&str, &str)]) -> Vec<(String, String)> {
        self.signer.sign(&self.topology, body, extra, self.now)
    }

    /// Sends exactly these headers and body to the URL; returns status, headers and body.
    pub async fn post(
        &self,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/chatbot", self.url))
            .body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.send().await.expect("the URL answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap_or_default())
    }
}

/// Live mode: the deployed stack named by `E2E_TARGET_URL` and the Cognito test-user variables, or
/// `None` with the reason it is skipped.
pub fn live_target() -> Result<LiveTarget, String> {
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let names = [
        "E2E_TARGET_URL",
        "E2E_COGNITO_REGION",
        "E2E_USER_POOL_ID",
        "E2E_CLIENT_ID",
        "E2E_USERNAME",
        "E2E_PASSWORD",
    ];
    let missing: Vec<&str> = names.iter().copied().filter(|n| get(n).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!("live mode skipped: {} not set", missing.join(", ")));
    }
    Ok(LiveTarget {
        url: get("E2E_TARGET_URL").unwrap_or_default(),
        cognito_url: format!(
            "https://cognito-idp.{}.amazonaws.com",
            get("E2E_COGNITO_REGION").unwrap_or_default()
        ),
        client_id: get("E2E_CLIENT_ID").unwrap_or_default(),
        username: get("E2E_USERNAME").unwrap_or_default(),
        password: get("E2E_PASSWORD").unwrap_or_default(),
    })
}

/// A deployed stack to run the fault-free scenarios against.
#[derive(Debug, Clone)]
pub struct LiveTarget {
    /// The distribution's URL.
    pub url: String,
    /// Cognito's endpoint.
    pub cognito_url: String,
    /// The app client id.
    pub client_id: String,
    /// Test user.
    pub username: String,
    /// Test password.
    pub password: String,
}
