//! `emulator health`: the container health check. `up --ready-file PATH` writes the same JSON line it
//! prints once every listener is bound; `health` reads it and connects to each URL in it, so the check
//! follows whatever addresses `up` was given (a `FROM scratch` image has no curl to do this).

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

/// How long one listener may take to accept the probe's connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The summary's keys that name a listener.
const LISTENERS: [&str; 5] = [
    "edge_url",
    "function_url",
    "cognito_url",
    "gemini_url",
    "site_url",
];

/// Writes `summary` to `path` (as one line), replacing it whole so a probe never reads half a file.
pub fn write_ready_file(path: &Path, summary: &Value) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, format!("{summary}\n"))
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
}

/// Ok when `up` has written its ready file and every listener in it accepts a TCP connection.
pub async fn probe(ready_file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(ready_file)
        .with_context(|| format!("not ready: no {}", ready_file.display()))?;
    let summary: Value = serde_json::from_str(&text).context("the ready file is not JSON")?;
    for key in LISTENERS {
        let Some(url) = summary.get(key).and_then(Value::as_str) else {
            continue;
        };
        let parsed = reqwest::Url::parse(url).with_context(|| format!("{key} {url}: not a URL"))?;
        let authority = (
            parsed.host_str().unwrap_or_default().to_owned(),
            parsed.port_or_known_default().unwrap_or(80),
        );
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(authority))
            .await
            .with_context(|| format!("{key} {url}: no answer within {CONNECT_TIMEOUT:?}"))?
            .with_context(|| format!("{key} {url}: refused"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn healthy_only_when_every_listener_in_the_ready_file_accepts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ready = dir.path().join("ready.json");
        assert!(probe(&ready).await.is_err(), "no file yet");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let open = format!("http://{}", listener.local_addr().expect("addr"));
        write_ready_file(
            &ready,
            &serde_json::json!({ "edge_url": open, "site_url": null }),
        )
        .expect("write");
        probe(&ready).await.expect("the one listener accepts");

        let closed = {
            let gone = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            format!("http://{}/", gone.local_addr().expect("addr"))
        };
        write_ready_file(
            &ready,
            &serde_json::json!({ "edge_url": open, "cognito_url": closed }),
        )
        .expect("write");
        let error = probe(&ready)
            .await
            .expect_err("a closed listener fails the check");
        assert!(format!("{error:#}").contains("cognito_url"), "{error:#}");
    }
}
