//! The `bootstrap` binary under a minimal Lambda Runtime API written here (the emulator replaces it):
//! it polls `/next`, streams its response with the HTTP-integration prelude, and reports init errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{base_env, chat_body, start_cognito};

/// What the runtime API saw.
#[derive(Clone)]
struct RuntimeApi {
    events: Arc<tokio::sync::Mutex<mpsc::Receiver<Value>>>,
    polled: mpsc::UnboundedSender<Instant>,
    response_chunks: mpsc::UnboundedSender<(String, Vec<u8>)>,
    response_headers: Arc<Mutex<Vec<HeaderMap>>>,
    init_errors: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn next(State(api): State<RuntimeApi>) -> impl IntoResponse {
    let _ = api.polled.send(Instant::now());
    let event = api.events.lock().await.recv().await;
    let Some(event) = event else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd".parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:chatbot-query"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
            .parse()
            .unwrap(),
    );
    (StatusCode::OK, headers, event.to_string())
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> StatusCode {
    api.response_headers.lock().unwrap().push(headers);
    let mut stream = body.into_data_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let _ = api.response_chunks.send((id.clone(), chunk.to_vec()));
    }
    StatusCode::ACCEPTED
}

async fn init_error(
    State(api): State<RuntimeApi>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    api.init_errors.lock().unwrap().push((headers, body));
    StatusCode::ACCEPTED
}

struct Harness {
    events: mpsc::Sender<Value>,
    polled: mpsc::UnboundedReceiver<Instant>,
    chunks: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    api: RuntimeApi,
    addr: std::net::SocketAddr,
}

async fn runtime_api() -> Harness {
    let (events_tx, events_rx) = mpsc::channel(8);
    let (polled_tx, polled_rx) = mpsc::unbounded_channel();
    let (chunks_tx, chunks_rx) = mpsc::unbounded_channel();
    let api = RuntimeApi {
        events: Arc::new(tokio::sync::Mutex::new(events_rx)),
        polled: polled_tx,
        response_chunks: chunks_tx,
        response_headers: Arc::default(),
        init_errors: Arc::default(),
    };
    let router = axum::Router::new()
        .route(
            "/2018-06-01/runtime/invocation/next",
            axum::routing::get(next),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            axum::routing::post(response),
        )
        .route(
            "/2018-06-01/runtime/init/error",
            axum::routing::post(init_error),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Harness {
        events: events_tx,
        polled: polled_rx,
        chunks: chunks_rx,
        api,
        addr,
    }
}

fn lambda_env(
    runtime: std::net::SocketAddr,
    function: HashMap<String, String>,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "chatbot-query".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/chatbot-query".into(),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/29/[$LATEST]0123456789abcdef0123456789abcdef".into(),
        ),
        ("AWS_REGION", "us-east-1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(function);
    env
}

fn spawn_bootstrap(env: &HashMap<String, String>) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn function_url_event(token: &str, body: &Value) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/chatbot", "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-chatbot-authorization": format!("Bearer {token}"),
                    "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {"method": "POST", "path": "/chatbot", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "it"},
            "requestId": "8476a536-e9f4-11e8-9739-2dfe598c3fcd", "routeKey": "$default", "stage": "$default",
            "time": "29/Nov/2026:04:00:00 +0000", "timeEpoch": 1795924800000u64
        },
        "body": body.to_string(), "isBase64Encoded": false
    })
}

#[tokio::test]
async fn bootstrap_streams_through_the_runtime_api_with_the_prelude() {
    let cognito = start_cognito().await;
    let gemini = fake_gemini::FakeGemini::spawn(fake_gemini::Config {
        default_scenario: false,
        scenarios: vec![
            fake_gemini::Scenario::stream(["streamed ", "through the runtime"]).gate_before(1, "g"),
        ],
        ..fake_gemini::Config::default()
    })
    .await
    .unwrap();
    let mut harness = runtime_api().await;
    let env = lambda_env(harness.addr, base_env(&cognito, gemini.url()));
    let started = Instant::now();
    let _child = spawn_bootstrap(&env);
    let first_poll = harness.polled.recv().await.unwrap();
    eprintln!(
        "bootstrap cold start (spawn to first /next): {:?}",
        first_poll - started
    );

    let token = cognito
        .mint("us-east-1_LocalPool1", &fake_cognito::MintRequest::access())
        .unwrap();
    harness
        .events
        .send(function_url_event(&token, &chat_body("hi")))
        .await
        .unwrap();
    let mut received = Vec::new();
    while !String::from_utf8_lossy(&received).contains("streamed ") {
        let (id, chunk) = harness.chunks.recv().await.unwrap();
        assert_eq!(id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        received.extend(chunk);
    }
    // The first delta reached the runtime API while Gemini still holds the second chunk.
    gemini.wait_for_gate("g", 1).await;
    gemini.release("g");
    while !String::from_utf8_lossy(&received).contains("event: done") {
        received.extend(harness.chunks.recv().await.unwrap().1);
    }
    let headers = harness.api.response_headers.lock().unwrap()[0].clone();
    assert_eq!(
        headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    assert_eq!(
        headers["content-type"],
        "application/vnd.awslambda.http-integration-response"
    );
    let separator = received
        .windows(8)
        .position(|w| w == [0u8; 8])
        .expect("8 NULs after the prelude");
    let prelude: Value = serde_json::from_slice(&received[..separator]).unwrap();
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(
        prelude["headers"]["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let body = String::from_utf8(received[separator + 8..].to_vec()).unwrap();
    assert!(
        body.starts_with("event: delta\ndata: {\"text\":\"streamed \"}\n\n"),
        "{body}"
    );
    // Warm: the same process polls again for the next invocation.
    harness.polled.recv().await.unwrap();
}

#[tokio::test]
async fn a_bad_configuration_is_reported_as_an_init_error() {
    let cognito = start_cognito().await;
    let harness = runtime_api().await;
    let mut function_env = base_env(&cognito, "http://127.0.0.1:9");
    function_env.remove("COGNITO_CLIENT_ID");
    let env = lambda_env(harness.addr, function_env);
    let mut child = spawn_bootstrap(&env);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    let errors = harness.api.init_errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].0["lambda-runtime-function-error-type"],
        "Runtime.InitError"
    );
    assert_eq!(
        errors[0].1,
        json!({"errorType": "Runtime.InitError", "errorMessage": "COGNITO_CLIENT_ID is not set"})
    );
}
