//! Starting the fake with known keys, calling its API, reading tokens, and finding the independent
//! tools (Node's aws-jwt-verify, the AWS CLI), installing them on first use when the machine lacks them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_cognito::config::{
    DEFAULT_CLIENT_ID, DEFAULT_PASSWORD, DEFAULT_POOL_ID, DEFAULT_USERNAME,
};
use fake_cognito::{Config, FakeCognito, FixedClock, Handle, KeySource, SystemClock};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

pub const ID_PEM: &str = include_str!("../data/pool1-id.pem");
pub const ACCESS_PEM: &str = include_str!("../data/pool1-access.pem");
/// 2023-11-14T22:13:20Z, where the fixed clock starts.
pub const T0: u64 = 1_700_000_000;
pub const DEMO_SUB: &str = "5f1a3b9e-2c4d-4e6f-8a0b-1c2d3e4f5a6b";

/// The embedded default with the test keys, a fixed `sub` for the demo user, and `clock`.
pub fn config_with_clock(clock: Arc<dyn fake_cognito::Clock>) -> Config {
    let mut config = Config {
        clock,
        ..Config::default()
    };
    let pool = &mut config.pools[0];
    pool.id_token_key = KeySource::Pem(ID_PEM.to_owned());
    pool.access_token_key = KeySource::Pem(ACCESS_PEM.to_owned());
    pool.users[0].sub = Some(DEMO_SUB.to_owned());
    config
}

/// A running fake on the default config with a clock fixed at [`T0`].
pub async fn start_fixed() -> (Fake, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at_epoch_seconds(T0));
    (start(config_with_clock(clock.clone())).await, clock)
}

/// A running fake on the default config and the real clock (for verifiers that read the real time).
pub async fn start_real_time() -> Fake {
    start(config_with_clock(Arc::new(SystemClock))).await
}

pub async fn start(config: Config) -> Fake {
    let handle = FakeCognito::spawn(config)
        .await
        .expect("fake-cognito starts");
    Fake {
        url: handle.url().to_owned(),
        handle,
        http: reqwest::Client::new(),
    }
}

pub struct Fake {
    pub handle: Handle,
    pub url: String,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// Status, error type header (namespace kept) and body: what a Cognito error looks like on the wire.
    pub fn error_wire(&self) -> String {
        format!(
            "{}\ncontent-type: {}\nx-amzn-errortype: {}\n{}",
            self.status.as_u16(),
            header(&self.headers, "content-type"),
            header(&self.headers, "x-amzn-errortype"),
            self.text
        )
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

impl Fake {
    /// An unsigned Identity Provider API call.
    pub async fn call(&self, operation: &str, body: Value) -> Reply {
        self.raw(Some(operation), body.to_string().into_bytes(), None)
            .await
    }

    /// An admin call carrying a SigV4-looking Authorization header (the fake checks presence only).
    pub async fn admin(&self, operation: &str, body: Value) -> Reply {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";
        self.raw(Some(operation), body.to_string().into_bytes(), Some(auth))
            .await
    }

    pub async fn raw(&self, operation: Option<&str>, body: Vec<u8>, auth: Option<&str>) -> Reply {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-amz-json-1.1")
            .body(body);
        if let Some(operation) = operation {
            request = request.header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{operation}"),
            );
        }
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.expect("request reaches the fake");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Reply {
        self.call(
            "InitiateAuth",
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": DEFAULT_CLIENT_ID,
                "AuthParameters": {"USERNAME": username, "PASSWORD": password},
            }),
        )
        .await
    }

    /// Signs the demo user in and returns `AuthenticationResult`.
    pub async fn demo_tokens(&self) -> Value {
        let reply = self.sign_in(DEFAULT_USERNAME, DEFAULT_PASSWORD).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["AuthenticationResult"].clone()
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    pub fn jwks(&self) -> Value {
        self.handle.jwks(DEFAULT_POOL_ID).unwrap()
    }
}

/// The decoded JOSE header and payload of a JWT (no verification).
pub fn decode(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next = || {
        let part = parts.next().expect("three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    (next(), next())
}

// ---- independent tools ---------------------------------------------------------------------------

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `tests/node` with its `node_modules` installed (`npm ci` on first use).
pub fn node_project() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    static INSTALL: Mutex<()> = Mutex::new(());
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
        let _guard = INSTALL.lock().unwrap();
        if !dir.join("node_modules/aws-jwt-verify").exists() {
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir));
        }
        dir
    })
}

/// The AWS CLI: `aws` on PATH, or one installed from PyPI into a virtualenv under the target dir.
pub fn aws_cli() -> &'static Path {
    static CLI: OnceLock<PathBuf> = OnceLock::new();
    CLI.get_or_init(|| {
        if Command::new("aws")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return PathBuf::from("aws");
        }
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("awscli-venv");
        let aws = venv.join("bin/aws");
        if !aws.exists() {
            run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
            run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "awscli"]));
        }
        aws
    })
}

/// Runs a script of `tests/node` with `input` on stdin and parses its JSON stdout.
pub async fn node_script(script: &str, input: Value) -> Value {
    let dir = node_project();
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    // kill_on_drop: a script that hangs is stopped when the bound fails the test.
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within 60 s"))
        .unwrap();
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Verifies each case with AWS's `aws-jwt-verify` (`CognitoJwtVerifier`, `cacheJwks(jwks)`,
/// `verifySync`): per case `{"ok": true, "payload"}` or `{"ok": false, "error": "<class>"}`.
pub async fn aws_jwt_verify(jwks: &Value, cases: Value) -> Vec<Value> {
    let input = json!({"userPoolId": DEFAULT_POOL_ID, "jwks": jwks, "cases": cases});
    serde_json::from_value(node_script("verify.mjs", input).await).unwrap()
}

/// The outcome names of [`aws_jwt_verify`] results: `ok` or the error class.
pub fn outcomes(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| match r["ok"].as_bool() {
            Some(true) => "ok".to_owned(),
            _ => r["error"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}
