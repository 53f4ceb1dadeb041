//! Execution environments through real processes: streaming chunk by chunk, cold then warm, the
//! concurrency limit, timeouts, crashes, init errors, the overlay, and the environment Lambda gives.

use std::time::Duration;

use emulator::runtime::{FunctionResponse, InvokeError, StreamFault};
use fake_cognito::config::DEFAULT_POOL_ID;
use fake_gemini::Scenario;
use futures_util::StreamExt as _;

use crate::support::{chat_event, fakes, invoker, real_function, scripted_function, topology};

/// Reads a streamed response until `needle` has arrived.
async fn read_until(body: &mut emulator::runtime::BodyStream, needle: &str) -> String {
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let chunk = body.next().await.expect("more body").expect("no fault");
        seen.extend_from_slice(&chunk);
    }
    String::from_utf8(seen).unwrap()
}

#[tokio::test]
async fn an_invocation_streams_chunk_by_chunk() {
    let fakes = fakes(vec![Scenario::stream(["one ", "two"]).gate_before(1, "g")]).await;
    let invoker = invoker(topology(), real_function(), fakes.overlay());
    let invocation = invoker
        .invoke(chat_event(&fakes.token(), "hi"))
        .await
        .unwrap();
    assert!(invocation.cold_start);
    let FunctionResponse::Streaming { prelude, mut body } = invocation.response else {
        panic!("a streaming response")
    };
    assert_eq!(prelude.status, 200);
    assert!(prelude.headers.contains(&(
        "content-type".into(),
        "text/event-stream; charset=utf-8".into()
    )));
    let first = read_until(&mut body, "event: delta").await;
    assert!(first.contains(r#"{"text":"one "}"#));
    fakes.gemini.wait_for_gate("g", 1).await;
    assert!(
        !fakes.gemini.gate("g").open,
        "chunk 2 is still held while chunk 1 is in hand"
    );
    fakes.gemini.release("g");
    let rest = read_until(&mut body, "event: done").await;
    assert!(rest.contains(r#"{"text":"two"}"#));
    // The overlay pointed the function at the fakes.
    assert_eq!(fakes.cognito.jwks_fetch_count(DEFAULT_POOL_ID), 1);
    assert_eq!(fakes.gemini.received_requests().len(), 1);
}

async fn drain(response: FunctionResponse) -> String {
    match response {
        FunctionResponse::Streaming { mut body, .. } => {
            let mut all = Vec::new();
            while let Some(chunk) = body.next().await {
                all.extend_from_slice(&chunk.expect("no fault"));
            }
            String::from_utf8(all).unwrap()
        }
        FunctionResponse::Buffered { body, .. } => String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn cold_then_warm_reuses_one_process() {
    let fakes = fakes(vec![Scenario::stream(["ok"])]).await;
    let invoker = invoker(topology(), real_function(), fakes.overlay());
    let first = invoker
        .invoke(chat_event(&fakes.token(), "1"))
        .await
        .unwrap();
    assert!(first.cold_start);
    assert!(drain(first.response).await.contains("event: done"));
    invoker
        .wait_until_idle()
        .await
        .expect("the environments settle");
    let second = invoker
        .invoke(chat_event(&fakes.token(), "2"))
        .await
        .unwrap();
    assert!(!second.cold_start, "the idle environment is reused");
    assert!(drain(second.response).await.contains("event: done"));
    assert_eq!(invoker.cold_starts(), 1);
    assert_eq!(invoker.environments().await, 1);
    assert_eq!(
        fakes.cognito.jwks_fetch_count(DEFAULT_POOL_ID),
        1,
        "keys cached across invocations"
    );
}

#[tokio::test]
async fn over_the_reserved_concurrency_is_throttled() {
    let fakes = fakes(vec![
        Scenario::stream(["held", "back"]).gate_before(1, "hold"),
    ])
    .await;
    let mut topology = topology();
    topology.function.reserved_concurrency = 1;
    let invoker = invoker(topology, real_function(), fakes.overlay());
    let busy = invoker
        .invoke(chat_event(&fakes.token(), "1"))
        .await
        .unwrap();
    assert_eq!(
        invoker
            .invoke(chat_event(&fakes.token(), "2"))
            .await
            .unwrap_err(),
        InvokeError::Throttled
    );
    fakes.gemini.release("hold");
    drain(busy.response).await;
    invoker
        .wait_until_idle()
        .await
        .expect("the environments settle");
    let after = invoker
        .invoke(chat_event(&fakes.token(), "3"))
        .await
        .unwrap();
    drain(after.response).await;
}

#[tokio::test]
async fn a_function_that_overruns_its_timeout_is_stopped_and_replaced() {
    let mut topology = topology();
    topology.function.timeout_s = 1;
    topology
        .function
        .env
        .insert("BEHAVIOUR".into(), "hang".into());
    let invoker = invoker(topology, scripted_function(), Default::default());
    let error = invoker
        .invoke(bytes::Bytes::from_static(b"{}"))
        .await
        .unwrap_err();
    assert_eq!(error, InvokeError::Timeout);
    assert_eq!(
        invoker.environments().await,
        0,
        "the timed-out environment is gone"
    );
    let again = invoker
        .invoke(bytes::Bytes::from_static(b"{}"))
        .await
        .unwrap_err();
    assert_eq!(again, InvokeError::Timeout);
    assert_eq!(invoker.cold_starts(), 2, "a new environment replaced it");
}

#[tokio::test]
async fn a_timeout_mid_stream_cuts_the_body() {
    let fakes = fakes(vec![
        Scenario::stream(["started", "never"]).gate_before(1, "never"),
    ])
    .await;
    let mut topology = topology();
    topology.function.timeout_s = 1;
    let invoker = invoker(topology, real_function(), fakes.overlay());
    let invocation = invoker
        .invoke(chat_event(&fakes.token(), "hi"))
        .await
        .unwrap();
    let FunctionResponse::Streaming { mut body, .. } = invocation.response else {
        panic!()
    };
    read_until(&mut body, "started").await;
    let mut fault = None;
    while let Some(item) = body.next().await {
        if let Err(f) = item {
            fault = Some(f);
        }
    }
    assert_eq!(fault, Some(StreamFault::Timeout));
}

#[tokio::test]
async fn a_crash_is_detected() {
    let invoker = invoker(topology(), scripted_function(), Default::default());
    let error = invoker
        .invoke(bytes::Bytes::from_static(b"{}"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        InvokeError::Crashed("the function process exited (exit status: 3)".into())
    );
    assert_eq!(invoker.environments().await, 0);
}

#[tokio::test]
async fn an_init_error_is_reported_with_its_message() {
    let fakes = fakes(vec![]).await;
    let mut topology = topology();
    topology.function.env.remove("COGNITO_CLIENT_ID");
    let invoker = invoker(topology, real_function(), fakes.overlay());
    let error = invoker.invoke(chat_event("x", "hi")).await.unwrap_err();
    assert_eq!(
        error,
        InvokeError::InitFailed {
            error_type: "Runtime.InitError".into(),
            message: "COGNITO_CLIENT_ID is not set".into()
        }
    );
}

#[tokio::test]
async fn the_environment_is_lambdas_plus_the_function_env_plus_the_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("env");
    let mut topology = topology();
    topology
        .function
        .env
        .insert("ENV_DUMP".into(), dump.display().to_string());
    let overlay = [(
        "GEMINI_BASE_URL".to_owned(),
        "http://127.0.0.1:9300".to_owned(),
    )]
    .into();
    let invoker = invoker(topology, scripted_function(), overlay);
    let _ = invoker.invoke(bytes::Bytes::from_static(b"{}")).await;
    let text = std::fs::read_to_string(&dump).unwrap();
    let shell_added = ["PWD", "SHLVL", "_", "OLDPWD"];
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| {
            !shell_added
                .iter()
                .any(|v| line.starts_with(&format!("{v}=")))
        })
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap();
            let value = match name {
                "AWS_LAMBDA_RUNTIME_API" => "127.0.0.1:[port]".to_owned(),
                "AWS_LAMBDA_LOG_STREAM_NAME" => {
                    assert!(
                        value.contains("/[$LATEST]") && value.len() == 10 + 10 + 32,
                        "{value}"
                    );
                    "[yyyy/mm/dd]/[$LATEST][32 hex]".to_owned()
                }
                "ENV_DUMP" => "[path]".to_owned(),
                _ => value.to_owned(),
            };
            format!("{name}={value}")
        })
        .collect();
    lines.sort();
    insta::assert_snapshot!("lambda_environment", lines.join("\n"));
    let _ = Duration::ZERO;
}

#[tokio::test]
async fn the_invoke_command_streams_the_body_and_prints_the_report() {
    let fakes = fakes(vec![Scenario::stream(["from ", "the command"])]).await;
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, chat_event(&fakes.token(), "hi")).unwrap();
    let topology_file = dir.path().join("topology.toml");
    let mut topology = topology();
    topology.function.timeout_s = 30;
    std::fs::write(&topology_file, toml::to_string(&topology).unwrap()).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_emulator"));
    command
        .arg("invoke")
        .arg("--event")
        .arg(&event)
        .arg("--topology")
        .arg(&topology_file);
    for (key, value) in fakes.overlay() {
        command.arg("--env").arg(format!("{key}={value}"));
    }
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("event: delta\ndata: {\"text\":\"from \"}"),
        "{stdout}"
    );
    assert!(stdout.contains("event: done"));
    assert!(stderr.contains("status 200 (streaming)"), "{stderr}");
    let report = stderr
        .lines()
        .find(|l| l.contains("REPORT RequestId: "))
        .expect("a REPORT line");
    for field in [
        "Duration: ",
        "Billed Duration: ",
        "Memory Size: 256 MB",
        "Max Memory Used: ",
        "Init Duration: ",
    ] {
        assert!(report.contains(field), "{report}");
    }
}

#[tokio::test]
async fn the_invoke_command_runs_any_function_binary_and_fails_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{}").unwrap();
    let script = emulator::testing::scripted_function().program;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_emulator"))
        .arg("invoke")
        .arg("--event")
        .arg(&event)
        .arg("--function-binary")
        .arg(&script)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invocation failed: the function process exited (exit status: 3)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_idle_environment_is_reclaimed_and_the_next_request_cold_starts() {
    let fakes = fakes(vec![Scenario::stream(["ok"])]).await;
    let invoker = emulator::Invoker::new(emulator::InvokerConfig {
        topology: topology(),
        process: real_function(),
        overlay: fakes.overlay(),
        idle_timeout: Duration::from_millis(200),
    });
    let first = invoker
        .invoke(chat_event(&fakes.token(), "1"))
        .await
        .unwrap();
    assert!(drain(first.response).await.contains("event: done"));
    invoker
        .wait_until_idle()
        .await
        .expect("the environments settle");
    // Bounded: the reaper runs every 50 ms here.
    let reclaimed = async {
        while invoker.environments().await > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), reclaimed)
        .await
        .expect("the idle environment was not reclaimed within 10 s");
    let second = invoker
        .invoke(chat_event(&fakes.token(), "2"))
        .await
        .unwrap();
    assert!(second.cold_start);
    assert!(drain(second.response).await.contains("event: done"));
    assert_eq!(invoker.cold_starts(), 2);
}

fn scripted(behaviour: &str) -> (emulator::Topology, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut topology = topology();
    topology.function.timeout_s = 30;
    let env = &mut topology.function.env;
    env.insert("BEHAVIOUR".into(), behaviour.into());
    env.insert(
        "EVENT_DUMP".into(),
        dir.path().join("event").display().to_string(),
    );
    (topology, dir)
}

#[tokio::test]
async fn a_streamed_response_without_the_prelude_is_the_body_with_the_runtimes_content_type() {
    let (topology, _dir) = scripted("raw");
    let invoker = invoker(topology, scripted_function(), Default::default());
    let invocation = invoker
        .invoke(bytes::Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let FunctionResponse::Streaming { prelude, body } = invocation.response else {
        panic!("streamed")
    };
    assert_eq!(prelude.status, 200);
    assert_eq!(
        prelude.headers,
        [("content-type".to_owned(), "text/plain".to_owned())]
    );
    let text: Vec<u8> = body
        .map(|chunk| chunk.unwrap())
        .collect::<Vec<_>>()
        .await
        .concat();
    assert_eq!(text, b"raw bytes, no prelude");
}

#[tokio::test]
async fn error_trailers_mid_stream_end_the_body_with_the_functions_error() {
    let (topology, _dir) = scripted("trailer");
    let invoker = invoker(topology, scripted_function(), Default::default());
    let invocation = invoker
        .invoke(bytes::Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let FunctionResponse::Streaming { mut body, .. } = invocation.response else {
        panic!("streamed")
    };
    let first = body.next().await.unwrap().unwrap();
    assert_eq!(&first[..], b"partial ");
    let fault = body.next().await.unwrap().unwrap_err();
    assert_eq!(
        fault,
        StreamFault::FunctionError {
            error_type: "Runtime.StreamError".into(),
            error_body: r#"{"errorType":"Runtime.StreamError","errorMessage":"boom"}"#.into(),
        }
    );
}

#[tokio::test]
async fn an_error_post_is_the_functions_error_and_next_carries_lambdas_headers() {
    let (topology, dir) = scripted("error");
    let timeout_ms = u128::from(topology.function.timeout_s) * 1000;
    let arn = topology.function_arn();
    let invoker = invoker(topology, scripted_function(), Default::default());
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let error = invoker
        .invoke_with_id(
            "8c5e6a0e-2a0b-4f55-9a43-4e0e7c1d2b3a".into(),
            bytes::Bytes::from_static(br#"{"hello":"event"}"#),
        )
        .await
        .unwrap_err();
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert_eq!(
        error,
        InvokeError::FunctionError {
            error_type: "Function.Boom".into(),
            message: "it broke".into()
        }
    );
    let dump = std::fs::read_to_string(dir.path().join("event")).unwrap();
    let (head, event) = dump.split_once("\n\n").unwrap();
    assert_eq!(event, r#"{"hello":"event"}"#);
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {head}"))
            .to_owned()
    };
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(
        header("lambda-runtime-aws-request-id"),
        "8c5e6a0e-2a0b-4f55-9a43-4e0e7c1d2b3a"
    );
    let deadline: u128 = header("lambda-runtime-deadline-ms").parse().unwrap();
    assert!(
        (before + timeout_ms..=after + timeout_ms).contains(&deadline),
        "the deadline is now + the timeout, in epoch ms: {deadline}"
    );
    assert_eq!(header("lambda-runtime-invoked-function-arn"), arn);
    let trace = header("lambda-runtime-trace-id");
    assert!(
        trace.starts_with("Root=1-") && trace.contains(";Parent=") && trace.ends_with(";Sampled=0"),
        "{trace}"
    );
}

#[tokio::test]
async fn the_invoke_command_sends_the_functions_stdout_to_stderr_with_its_other_logs() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{}").unwrap();
    let topology = dir.path().join("topology.toml");
    std::fs::write(
        &topology,
        "[function.env]\nBEHAVIOUR = \"log\"\nCOGNITO_USER_POOL_ID = \"us-east-1_LocalPool1\"\n",
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_emulator"))
        .arg("invoke")
        .arg("--event")
        .arg(&event)
        .arg("--topology")
        .arg(&topology)
        .arg("--function-binary")
        .arg(emulator::testing::scripted_function().program)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout, "answered", "only the response body on stdout");
    assert!(stderr.contains("Executing 'index.handler'"), "{stderr}");
}
