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
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| target.strip_prefix(TARGET_PREFIX))
        .ok_or(CognitoError::UnknownOperation)?
        .to_owned();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| CognitoError::BodyTooLarge)?;
    let request: Value = if bytes.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| CognitoError::Serialization(format!("Malformed request body: {e}")))?
    };
    if !request.is_object() {
        return Err(CognitoError::Serialization(
            "Start of structure or map found where not expected.".into(),
        ));
    }
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    tracing::debug!(%operation, "call");
    operations::run(state, &operation, request, signed)
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
