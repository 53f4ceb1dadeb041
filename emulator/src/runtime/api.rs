//! One execution environment's Runtime API (`/2018-06-01/runtime/…`), served on its own port so every
//! request is known to come from that environment's process: `/invocation/next` hands over the next
//! event with Lambda's headers, `/invocation/{id}/response` takes a buffered or streamed response
//! (prelude, body, error trailers), `/invocation/{id}/error` and `/init/error` take failures. Every
//! answer comes from the table in [`super::errors`]; every state change goes through the
//! environment's [`Lifecycle`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use super::errors::{PAYLOAD_TOO_LARGE_MESSAGE, RuntimeApiError, accepted};
use super::lifecycle::Lifecycle;
use super::prelude::{Decoded, PreludeDecoder};
use super::quickack::QuickAckStream;
use super::{FunctionResponse, InvokeError, StreamFault};
use crate::server::{Limits, Served};

/// Largest buffered response (Lambda's 6 MB synchronous payload limit).
const MAX_BUFFERED_BYTES: usize = 6 * 1024 * 1024;

/// What one environment's Runtime API needs.
#[derive(Debug)]
pub(crate) struct Config {
    /// Where to listen (port 0: one listener per environment).
    pub addr: SocketAddr,
    /// The environment it serves.
    pub lifecycle: Arc<Lifecycle>,
}

/// Binds and serves the environment's Runtime API (quick ACKs re-armed on every read).
pub(crate) async fn spawn(config: Config) -> std::io::Result<Served> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    // The runtime holds `/next` open for as long as the environment is idle (no header timeout
    // applies once the request head is in). An environment that is dropped is being torn down, its
    // process killed: nothing is left to drain.
    let limits = Limits {
        drain_timeout: std::time::Duration::ZERO,
        ..Limits::default()
    };
    crate::server::serve_listener(
        listener,
        router(config.lifecycle),
        limits,
        QuickAckStream::new,
    )
    .await
}

pub(crate) fn router(shared: Arc<Lifecycle>) -> axum::Router {
    axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(shared)
}

async fn next(State(shared): State<Arc<Lifecycle>>) -> Response {
    let Some(invocation) = shared.next().await else {
        return RuntimeApiError::ShuttingDown.response();
    };
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put("lambda-runtime-aws-request-id", &invocation.request_id);
    put(
        "lambda-runtime-deadline-ms",
        &invocation.deadline_ms.to_string(),
    );
    put("lambda-runtime-invoked-function-arn", &shared.function_arn);
    put("lambda-runtime-trace-id", &invocation.trace_id);
    put("content-type", "application/json");
    let event = invocation.event.clone();
    shared.start(invocation);
    (StatusCode::OK, headers, event).into_response()
}

async fn response(
    State(shared): State<Arc<Lifecycle>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !shared.is_current(&id) {
        return RuntimeApiError::InvalidRequestId.response();
    }
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("streaming"));
    if streaming {
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        stream_response(shared, id, content_type, body).await
    } else {
        buffered_response(shared, id, body).await
    }
}

/// The content type that announces the HTTP-integration prelude (`reference/aws-edge.md` §8.2).
const PRELUDE_CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";

async fn stream_response(
    shared: Arc<Lifecycle>,
    id: String,
    content_type: Option<String>,
    body: Body,
) -> Response {
    use http_body_util::BodyExt as _;
    let mut body = body;
    // Without the prelude's content type the body is the answer itself: "Propagates the Content-Type
    // header from the runtime to send to the client" (Lambda DG, custom runtimes, response
    // streaming) — a 200 with the runtime's type, `application/octet-stream` when it sent none.
    let with_prelude = content_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(PRELUDE_CONTENT_TYPE));
    let mut decoder = if with_prelude {
        PreludeDecoder::new()
    } else {
        PreludeDecoder::passthrough()
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, StreamFault>>(16);
    let mut rx = Some(rx);
    if !with_prelude {
        let prelude = super::Prelude {
            status: 200,
            headers: vec![(
                "content-type".into(),
                content_type.unwrap_or_else(|| "application/octet-stream".into()),
            )],
            cookies: Vec::new(),
        };
        if let Some(rx) = rx.take() {
            shared.attach_body(&id, tx.clone());
            shared.respond(
                &id,
                Ok(FunctionResponse::Streaming {
                    prelude,
                    body: super::BodyStream::new(rx),
                }),
            );
        }
    }
    loop {
        let frame = match body.frame().await {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => {
                // The function's connection broke mid-response (it crashed, or was stopped).
                if !decoder.has_prelude() {
                    shared.fail(
                        &id,
                        InvokeError::BadResponse(format!("the response broke: {error}")),
                    );
                }
                return accepted();
            }
            None => break,
        };
        match frame.into_data() {
            Ok(data) => {
                let items = match decoder.feed(data) {
                    Ok(items) => items,
                    Err(error) => {
                        shared.fail(&id, InvokeError::BadResponse(error.to_string()));
                        return RuntimeApiError::InvalidResponse(error.to_string()).response();
                    }
                };
                for item in items {
                    match item {
                        Decoded::Prelude(prelude) => {
                            if let Some(rx) = rx.take() {
                                shared.attach_body(&id, tx.clone());
                                shared.respond(
                                    &id,
                                    Ok(FunctionResponse::Streaming {
                                        prelude,
                                        body: super::BodyStream::new(rx),
                                    }),
                                );
                            }
                        }
                        Decoded::Body(bytes) => {
                            if tx.send(Ok(bytes)).await.is_err() {
                                // The viewer is gone: close the function's response connection,
                                // which is how the function learns of it.
                                shared.finish(&id, "viewer disconnected");
                                return RuntimeApiError::ClientDisconnected.response();
                            }
                        }
                    }
                }
            }
            Err(frame) => {
                if let Some(trailers) = frame.trailers_ref() {
                    if let Some(error_type) = trailers
                        .get("lambda-runtime-function-error-type")
                        .and_then(|v| v.to_str().ok())
                    {
                        let error_body = trailers
                            .get("lambda-runtime-function-error-body")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        let fault = StreamFault::FunctionError {
                            error_type: error_type.to_owned(),
                            error_body,
                        };
                        if decoder.has_prelude() {
                            let _ = tx.send(Err(fault)).await;
                        } else {
                            shared.fail(
                                &id,
                                InvokeError::FunctionError {
                                    error_type: error_type.to_owned(),
                                    message: "the function failed before its first byte".into(),
                                },
                            );
                        }
                    }
                }
            }
        }
    }
    if let Err(error) = decoder.finish() {
        shared.fail(&id, InvokeError::BadResponse(error.to_string()));
    }
    shared.finish(&id, "completed");
    accepted()
}

async fn buffered_response(shared: Arc<Lifecycle>, id: String, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, MAX_BUFFERED_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            shared.fail(
                &id,
                InvokeError::BadResponse(PAYLOAD_TOO_LARGE_MESSAGE.into()),
            );
            shared.finish(&id, "payload too large");
            return RuntimeApiError::PayloadTooLarge.response();
        }
    };
    shared.respond(&id, buffered(&bytes));
    shared.finish(&id, "completed");
    accepted()
}

/// A buffered result in the payload v2.0 response format; JSON without `statusCode` is a 200
/// `application/json` body, as Lambda treats it (`reference/aws-edge.md` §8.1).
fn buffered(bytes: &Bytes) -> Result<FunctionResponse, InvokeError> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) => {
            return Ok(FunctionResponse::Buffered {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                cookies: Vec::new(),
                body: bytes.clone(),
            });
        }
    };
    let Some(status) = value.get("statusCode") else {
        return Ok(FunctionResponse::Buffered {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            cookies: Vec::new(),
            body: bytes.clone(),
        });
    };
    let status = status
        .as_u64()
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| InvokeError::BadResponse("statusCode must be 100..=599".into()))?
        as u16;
    let mut headers: Vec<(String, String)> = value
        .get("headers")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(multi) = value.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            for v in values.as_array().into_iter().flatten() {
                headers.push((
                    name.to_ascii_lowercase(),
                    v.as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    let cookies = value
        .get("cookies")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let text = value.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if value.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| InvokeError::BadResponse("body is not valid base64".into()))?,
        )
    } else {
        Bytes::copy_from_slice(text.as_bytes())
    };
    Ok(FunctionResponse::Buffered {
        status,
        headers,
        cookies,
        body,
    })
}

async fn invocation_error(
    State(shared): State<Arc<Lifecycle>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.is_current(&id) {
        return RuntimeApiError::InvalidRequestId.response();
    }
    let (error_type, message) = error_details(&headers, &body, "Unhandled", "");
    shared.fail(
        &id,
        InvokeError::FunctionError {
            error_type,
            message,
        },
    );
    shared.finish(&id, "function error");
    accepted()
}

async fn init_error(
    State(shared): State<Arc<Lifecycle>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, message) = error_details(
        &headers,
        &body,
        "Runtime.InitError",
        "the function failed to initialise",
    );
    shared.init_failed(error_type, message);
    accepted()
}

/// The error type (`Lambda-Runtime-Function-Error-Type`, else the body's `errorType`) and message
/// (`errorMessage`) of an error a runtime posts.
fn error_details(
    headers: &HeaderMap,
    body: &[u8],
    default_type: &str,
    default_message: &str,
) -> (String, String) {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .or_else(|| value.get("errorType").and_then(Value::as_str))
        .unwrap_or(default_type)
        .to_owned();
    let message = value
        .get("errorMessage")
        .and_then(Value::as_str)
        .unwrap_or(default_message)
        .to_owned();
    (error_type, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(json: &str) -> (u16, Vec<(String, String)>, Vec<String>, Bytes) {
        match buffered(&Bytes::copy_from_slice(json.as_bytes())).expect("a valid response") {
            FunctionResponse::Buffered {
                status,
                headers,
                cookies,
                body,
            } => (status, headers, cookies, body),
            other => panic!("not buffered: {other:?}"),
        }
    }

    #[test]
    fn json_without_status_code_is_a_200_json_body_as_is() {
        let (status, headers, cookies, body) = parts(r#"{"answer":42}"#);
        assert_eq!(status, 200);
        assert_eq!(
            headers,
            [("content-type".to_owned(), "application/json".to_owned())]
        );
        assert!(cookies.is_empty());
        assert_eq!(body, r#"{"answer":42}"#);
        let (status, _, _, body) = parts("not json at all");
        assert_eq!((status, &body[..]), (200, &b"not json at all"[..]));
    }

    #[test]
    fn status_code_headers_cookies_and_base64_bodies_are_lambdas_rules() {
        let (status, headers, cookies, body) = parts(
            r#"{"statusCode":404,"headers":{"Content-Type":"text/plain","X-N":7},
                "multiValueHeaders":{"X-M":["a","b"]},"cookies":["s=1; Secure","t=2"],
                "body":"bm90IGZvdW5k","isBase64Encoded":true}"#,
        );
        assert_eq!(status, 404);
        assert!(headers.contains(&("content-type".into(), "text/plain".into())));
        assert!(headers.contains(&("x-n".into(), "7".into())));
        assert!(headers.contains(&("x-m".into(), "a".into())));
        assert!(headers.contains(&("x-m".into(), "b".into())));
        assert_eq!(cookies, ["s=1; Secure", "t=2"]);
        assert_eq!(body, "not found");
    }

    #[test]
    fn a_status_code_out_of_range_or_a_bad_base64_body_is_a_bad_response() {
        for bad in [
            r#"{"statusCode":99}"#,
            r#"{"statusCode":"200"}"#,
            r#"{"statusCode":200,"body":"***","isBase64Encoded":true}"#,
        ] {
            assert!(
                matches!(
                    buffered(&Bytes::from(bad)),
                    Err(InvokeError::BadResponse(_))
                ),
                "{bad}"
            );
        }
    }
}
