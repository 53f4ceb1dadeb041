//! Every refusal the Function URL answers, through one table: status, `x-amzn-ErrorType`, body — the
//! bytes AWS sends (`reference/aws-edge.md` §3.1; `Message` and `message` casings as AWS has them).
//! The internal cause goes to the log, never to the body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Link in AWS's AccessDenied message.
const AUTH_DOC: &str = "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html";

/// One Function URL refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// AWS_IAM and no signature: 403 `{"Message":"Forbidden"}`.
    #[error("the request is not signed")]
    Unsigned,
    /// Bad or expired signature, wrong body hash, `UNSIGNED-PAYLOAD` with a body: 403
    /// `InvalidSignatureException` with AWS's lower-case `message`.
    #[error("{0}")]
    InvalidSignature(String),
    /// Unknown access key or session token. UNSURE: not captured for Function URLs; this is the
    /// shape AWS JSON services use (`UnrecognizedClientException`, 403).
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// Authenticated, but no grant for both invoke actions: 403 `AccessDeniedException`.
    #[error("{0}")]
    AccessDenied(String),
    /// Over the reserved concurrency. UNSURE (no capture): 429 with Lambda's throttling body.
    #[error("Rate Exceeded.")]
    Throttled,
    /// The function crashed, timed out, errored, or answered badly: 502.
    #[error("{0}")]
    FunctionFailed(String),
    /// A request body over the 6 MB invocation payload limit: 413.
    #[error("request too large")]
    PayloadTooLarge,
    /// A body whose framing is broken, or that stopped arriving. UNSURE (no capture): 400 with the
    /// lower-case `message` AWS's HTTP front ends use for a request they cannot parse.
    #[error("{0}")]
    MalformedRequest(String),
}

impl UrlError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unsigned
            | Self::InvalidSignature(_)
            | Self::UnrecognizedClient
            | Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Self::FunctionFailed(_) => StatusCode::BAD_GATEWAY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MalformedRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// `x-amzn-ErrorType`, where AWS sends one.
    pub fn error_type(&self) -> Option<&'static str> {
        match self {
            Self::InvalidSignature(_) => Some("InvalidSignatureException"),
            Self::UnrecognizedClient => Some("UnrecognizedClientException"),
            Self::AccessDenied(_) => Some("AccessDeniedException"),
            Self::Throttled => Some("TooManyRequestsException"),
            Self::PayloadTooLarge => Some("RequestEntityTooLargeException"),
            Self::Unsigned | Self::FunctionFailed(_) | Self::MalformedRequest(_) => None,
        }
    }

    /// The body, exactly.
    pub fn body(&self) -> String {
        match self {
            Self::Unsigned => json!({"Message": "Forbidden"}),
            Self::InvalidSignature(message) => json!({"message": message}),
            Self::UnrecognizedClient => {
                json!({"message": "The security token included in the request is invalid."})
            }
            Self::AccessDenied(_) => json!({
                "Message": format!("Forbidden. For troubleshooting Function URL authorization issues, see: {AUTH_DOC}")
            }),
            Self::Throttled => json!({"Message": "Rate Exceeded."}),
            Self::FunctionFailed(_) => json!({"message": "Internal Server Error"}),
            Self::PayloadTooLarge => json!({
                "Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
            }),
            Self::MalformedRequest(_) => json!({"message": "Bad Request"}),
        }
        .to_string()
    }

    /// The response; `request_id` becomes `x-amzn-RequestId`.
    pub fn response(&self, request_id: &str) -> Response {
        let mut response = (self.status(), self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", id);
        }
        if let Some(error_type) = self.error_type() {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        }
        response
    }
}
