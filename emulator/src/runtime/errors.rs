//! Every answer the Runtime API gives a runtime, through one table: 202 `{"status":"OK"}` for an
//! accepted post (as AWS's runtime interface emulator answers), and each refusal's status,
//! `errorType` and `errorMessage`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse as _, Response};
use serde_json::json;

/// Lambda's limit on a buffered response, in its own error message.
pub const PAYLOAD_TOO_LARGE_MESSAGE: &str =
    "Response payload size exceeded maximum allowed payload size (6291556 bytes).";

/// A refusal the Runtime API answers a runtime with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeApiError {
    /// The request id is not the running invocation's.
    InvalidRequestId,
    /// The streamed response is not a valid prelude and body.
    InvalidResponse(String),
    /// A buffered response over 6 MB.
    PayloadTooLarge,
    /// The caller left mid-stream: the response connection is closed.
    ClientDisconnected,
    /// The environment is shutting down: no next invocation.
    ShuttingDown,
}

impl RuntimeApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::InvalidRequestId => (
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                "Invalid request ID".into(),
            ),
            Self::InvalidResponse(why) => (StatusCode::BAD_REQUEST, "InvalidResponse", why.clone()),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                PAYLOAD_TOO_LARGE_MESSAGE.into(),
            ),
            Self::ClientDisconnected => (
                StatusCode::GONE,
                "Runtime.ClientDisconnected",
                "the client closed the connection".into(),
            ),
            Self::ShuttingDown => (
                StatusCode::GONE,
                "Runtime.Shutdown",
                "the environment is shutting down".into(),
            ),
        }
    }

    /// The response: status and `{"errorMessage","errorType"}`.
    pub fn response(&self) -> Response {
        let (status, error_type, message) = self.parts();
        let mut response = (
            status,
            axum::Json(json!({"errorMessage": message, "errorType": error_type})),
        )
            .into_response();
        if *self == Self::ClientDisconnected {
            response
                .headers_mut()
                .insert("connection", HeaderValue::from_static("close"));
        }
        response
    }
}

/// A post the Runtime API took: 202 `{"status":"OK"}`.
pub fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}
