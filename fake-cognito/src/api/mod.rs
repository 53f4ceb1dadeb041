//! The Identity Provider JSON API: `POST /` with `x-amz-target: AWSCognitoIdentityProviderService.<Op>`
//! and `application/x-amz-json-1.1` bodies. Parses the envelope, dispatches, renders results and errors.

pub mod error;
mod operations;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::server::AppState;
use error::{CognitoError, MAX_BODY_BYTES};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// Handles one API call.
pub(crate) async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match dispatch(&state, &headers, body).await {
        Ok(value) => json_response(&value),
        Err(error) => {
            tracing::info!(code = error.code(), message = ?error.message(), "refused");
            error.into_response()
        }
    }
}

async fn dispatch(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, CognitoError> {
    let bytes = read_body(body).await?;
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    let (operation, request) = parse_call(target, &bytes)?;
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    tracing::debug!(%operation, "call");
    operations::run(state, &operation, request, signed)
}

/// A call's envelope: the operation named by `x-amz-target`
/// (`AWSCognitoIdentityProviderService.<Op>`) and the body, a JSON object (an empty body is `{}`),
/// refused with Cognito's errors otherwise.
pub fn parse_call(target: Option<&str>, body: &[u8]) -> Result<(String, Value), CognitoError> {
    let operation = target
        .and_then(|target| target.strip_prefix(TARGET_PREFIX))
        .ok_or(CognitoError::UnknownOperation)?
        .to_owned();
    let request: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| CognitoError::Serialization(format!("Malformed request body: {e}")))?
    };
    if !request.is_object() {
        return Err(CognitoError::Serialization(
            "Start of structure or map found where not expected.".into(),
        ));
    }
    Ok((operation, request))
}

/// The whole body: over the limit is `BodyTooLarge` (413); a body whose framing is broken (bad chunked
/// encoding, a connection cut mid-body) is a `SerializationException` (400), not a size problem.
async fn read_body(body: Body) -> Result<bytes::Bytes, CognitoError> {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            CognitoError::Serialization(format!(
                "Malformed request body: it could not be read: {e}"
            ))
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_BODY_BYTES {
                return Err(CognitoError::BodyTooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.into())
}

/// Deserialises an operation's request, mapping type mismatches to `SerializationException`.
fn parse<T: DeserializeOwned>(request: Value) -> Result<T, CognitoError> {
    serde_json::from_value(request).map_err(|e| CognitoError::Serialization(e.to_string()))
}

fn json_response(value: &Value) -> Response {
    let mut response = (StatusCode::OK, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}
