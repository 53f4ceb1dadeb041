//! Starting the fake, sending generation requests, and reading answers as raw bytes or events.

use fake_gemini::{Config, FakeGemini, Handle, Scenario};
use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const KEY: &str = fake_gemini::DEFAULT_API_KEY;

/// A fake with no default answer and these scenarios mounted.
pub async fn start_with(scenarios: Vec<Scenario>) -> Handle {
    let config = Config {
        default_scenario: false,
        scenarios,
        ..Config::default()
    };
    FakeGemini::spawn(config).await.expect("fake-gemini starts")
}

pub fn body(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

pub fn stream_url(handle: &Handle, model: &str) -> String {
    format!(
        "{}/v1beta/models/{model}:streamGenerateContent?alt=sse",
        handle.url()
    )
}

/// A complete answer: status, headers, raw body text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub async fn post(url: &str, key: Option<&str>, body: &Value) -> Answer {
    let mut request = reqwest::Client::new().post(url).json(body);
    if let Some(key) = key {
        request = request.header("x-goog-api-key", key);
    }
    let response = request.send().await.expect("request reaches the fake");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response
            .text()
            .await
            .unwrap_or_else(|e| format!("<body error: {e}>")),
    }
}

pub async fn stream(handle: &Handle, model: &str, text: &str) -> Answer {
    post(&stream_url(handle, model), Some(KEY), &body(text)).await
}

/// Replaces the random `responseId` so transcripts can be snapshotted.
pub fn redact_response_id(text: &str) -> String {
    let re = regex_lite(r#""responseId": "[A-Za-z0-9_-]+""#);
    re.replace_all(text, r#""responseId": "[id]""#).into_owned()
}

fn regex_lite(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap()
}

/// The `text` of every part of every `data:` event, in order.
pub fn event_texts(body: &str) -> Vec<String> {
    body.split("\r\n\r\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(|json| serde_json::from_str::<Value>(json).unwrap())
        .flat_map(|value| {
            value["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|part| part["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Opens a stream and returns its response, so a test can read it piece by piece.
pub async fn open(handle: &Handle, model: &str, text: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(stream_url(handle, model))
        .header("x-goog-api-key", KEY)
        .json(&body(text))
        .send()
        .await
        .unwrap()
}

/// Reads body bytes until `needle` has arrived; returns everything read.
pub async fn read_until(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    needle: &str,
) -> String {
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let chunk = stream.next().await.expect("more bytes").expect("readable");
        seen.extend_from_slice(&chunk);
    }
    String::from_utf8(seen).unwrap()
}

/// Google's Python client (`google-genai`) in a virtualenv under the target dir, installed from PyPI on
/// first use; returns the virtualenv's python.
pub fn genai_python() -> &'static std::path::Path {
    static PYTHON: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("genai-venv");
        let python = venv.join("bin/python");
        let ready = std::process::Command::new(&python)
            .args(["-c", "import google.genai"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ready {
            let run = |command: &mut std::process::Command| {
                let output = command.output().expect("python3 runs");
                assert!(
                    output.status.success(),
                    "{command:?}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            };
            run(std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv));
            run(std::process::Command::new(venv.join("bin/pip")).args([
                "install",
                "--quiet",
                "google-genai>=1,<4",
            ]));
        }
        python
    })
}
