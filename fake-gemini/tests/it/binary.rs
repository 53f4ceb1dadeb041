//! The `fake-gemini` executable: prints where it listens and a working curl, streams, stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_streams_the_default_answer_and_exits_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-gemini"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let uri = first
        .trim()
        .strip_prefix("fake-gemini listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let mut rest = String::new();
    for _ in 0..6 {
        stdout.read_line(&mut rest).unwrap();
    }
    assert!(rest.contains("curl -N"), "{rest}");

    let curl = tokio::process::Command::new("curl")
        .args([
            "-sN",
            &format!("{uri}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        ])
        .args([
            "-H",
            "x-goog-api-key: fake-gemini-key",
            "-H",
            "content-type: application/json",
        ])
        .args([
            "-d",
            r#"{"contents":[{"role":"user","parts":[{"text":"How do I start?"}]}]}"#,
        ])
        .output()
        .await
        .unwrap();
    let body = String::from_utf8(curl.stdout).unwrap();
    assert!(body.starts_with("data: {\"candidates\""), "{body}");
    assert!(body.contains("\"finishReason\": \"STOP\""));

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success());
}
