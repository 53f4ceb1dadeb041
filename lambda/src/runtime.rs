//! Running the function under the Lambda Runtime API: tracing in Lambda's JSON log format, the cold
//! start (with init errors reported to `/runtime/init/error`), and the streaming invocation loop. The
//! `bootstrap` binary is this function; the emulator's hidden `function` mode calls it too, so both run
//! the same code through the same protocol.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Body, Request, run_with_streaming_response, service_fn};

use crate::{App, Config, handle};

/// Initialises logging, cold-starts, and serves invocations until the runtime goes away. A failed cold
/// start is reported to the Runtime API and ends the process with status 1.
pub async fn run() -> Result<(), lambda_http::Error> {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
    let app = match cold_start().await {
        Ok(app) => Arc::new(app),
        Err(message) => {
            tracing::error!(%message, "cold start failed");
            report_init_error(&message).await;
            std::process::exit(1);
        }
    };
    run_with_streaming_response(service_fn(move |request: Request| {
        let app = app.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes = match body {
                Body::Text(text) => bytes::Bytes::from(text),
                Body::Binary(binary) => bytes::Bytes::from(binary),
                _ => bytes::Bytes::new(),
            };
            Ok::<_, Infallible>(handle(app, http::Request::from_parts(parts, bytes)).await)
        }
    }))
    .await
}

async fn cold_start() -> Result<App, String> {
    let config = Config::from_lookup(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    App::cold_start(config).await.map_err(|e| e.to_string())
}

/// Tells the Runtime API why the cold start failed (`/runtime/init/error`), as Lambda expects.
async fn report_init_error(message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = serde_json::json!({"errorType": "Runtime.InitError", "errorMessage": message});
    let _ = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .json(&body)
        .send()
        .await;
}
