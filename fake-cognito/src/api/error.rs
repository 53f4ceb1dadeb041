//! Every error the Identity Provider API answers, rendered through one table: code → status → headers →
//! body, as Cognito does (`reference/cognito.md` §3.4):
//!
//! ```text
//! HTTP/1.1 400 Bad Request
//! content-type: application/x-amz-json-1.1
//! x-amzn-errortype: NotAuthorizedException:http://internal.amazon.com/coral/com.amazonaws.cognito.identity.idp.model/
//! x-amzn-requestid: <uuid>
//!
//! {"__type":"NotAuthorizedException","message":"Incorrect username or password."}
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The suffix Cognito puts after the code in `x-amzn-errortype` (clients strip everything after `:`).
const ERRORTYPE_NAMESPACE: &str =
    ":http://internal.amazon.com/coral/com.amazonaws.cognito.identity.idp.model/";

/// Largest request body accepted. Cognito publishes no figure (UNSURE): its largest legitimate
/// requests (SignUp with 50 attributes of 2 KiB, ClientMetadata) stay well under 128 KiB, so anything
/// larger is refused rather than buffered.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// One Cognito error. The message is the one AWS sends for that situation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CognitoError {
    /// Wrong password, bad secret hash, invalid refresh token, disabled user, …
    #[error("NotAuthorizedException: {0}")]
    NotAuthorized(String),
    /// The user does not exist (only when the client's `PreventUserExistenceErrors` is `LEGACY`, and
    /// for admin operations).
    #[error("UserNotFoundException: {0}")]
    UserNotFound(String),
    /// The user never confirmed sign-up.
    #[error("UserNotConfirmedException")]
    UserNotConfirmed,
    /// A validation or configuration problem with the request.
    #[error("InvalidParameterException: {0}")]
    InvalidParameter(String),
    /// The password breaks the pool's policy.
    #[error("InvalidPasswordException: {0}")]
    InvalidPassword(String),
    /// The pool or client named does not exist.
    #[error("ResourceNotFoundException: {0}")]
    ResourceNotFound(String),
    /// The username is taken.
    #[error("UsernameExistsException: {0}")]
    UsernameExists(String),
    /// Wrong confirmation code.
    #[error("CodeMismatchException")]
    CodeMismatch,
    /// The operation in `x-amz-target` does not exist (or is not implemented by this fake).
    #[error("UnknownOperationException")]
    UnknownOperation,
    /// The body is not JSON, or a field has the wrong JSON type.
    #[error("SerializationException: {0}")]
    Serialization(String),
    /// An IAM-authorised (admin) operation arrived without a SigV4 signature.
    #[error("MissingAuthenticationTokenException")]
    MissingAuthenticationToken,
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("request body too large")]
    BodyTooLarge,
}

impl CognitoError {
    /// The `__type` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAuthorized(_) => "NotAuthorizedException",
            Self::UserNotFound(_) => "UserNotFoundException",
            Self::UserNotConfirmed => "UserNotConfirmedException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::InvalidPassword(_) => "InvalidPasswordException",
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::UsernameExists(_) => "UsernameExistsException",
            Self::CodeMismatch => "CodeMismatchException",
            // The coral framework answers these before the service sees the request, with its own
            // namespaced type (UNSURE: shape recalled from AWS JSON-protocol services, not captured
            // for cognito-idp; SDKs strip the `namespace#` prefix either way).
            Self::UnknownOperation => "com.amazon.coral.service#UnknownOperationException",
            Self::Serialization(_) => "com.amazon.coral.service#SerializationException",
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::BodyTooLarge => "com.amazon.coral.service#SerializationException",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The `message`, or `None` where AWS sends none.
    pub fn message(&self) -> Option<String> {
        match self {
            Self::NotAuthorized(m)
            | Self::UserNotFound(m)
            | Self::InvalidParameter(m)
            | Self::InvalidPassword(m)
            | Self::ResourceNotFound(m)
            | Self::UsernameExists(m)
            | Self::Serialization(m) => Some(m.clone()),
            Self::UserNotConfirmed => Some("User is not confirmed.".to_owned()),
            Self::CodeMismatch => {
                Some("Invalid verification code provided, please try again.".to_owned())
            }
            Self::UnknownOperation => None,
            Self::MissingAuthenticationToken => Some("Missing Authentication Token".to_owned()),
            Self::BodyTooLarge => Some(format!(
                "Request body exceeds the {MAX_BODY_BYTES}-byte limit"
            )),
        }
    }

    /// `InvalidParameterException` for a required member that is absent, worded as AWS's validator
    /// words it.
    pub fn missing_member(member: &str) -> Self {
        Self::InvalidParameter(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// The generic "wrong username or password" every sign-in failure collapses to.
    pub fn incorrect_credentials() -> Self {
        Self::NotAuthorized("Incorrect username or password.".to_owned())
    }
}

impl IntoResponse for CognitoError {
    fn into_response(self) -> Response {
        let code = self.code();
        let body = match self.message() {
            Some(message) => json!({ "__type": code, "message": message }),
            None => json!({ "__type": code }),
        };
        let short_code = code.rsplit('#').next().unwrap_or(code);
        let mut response = (self.status(), body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!("{short_code}{ERRORTYPE_NAMESPACE}")) {
            headers.insert("x-amzn-errortype", value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_a_4xx_with_a_known_code() {
        for error in [
            CognitoError::incorrect_credentials(),
            CognitoError::UserNotFound("User does not exist.".into()),
            CognitoError::UserNotConfirmed,
            CognitoError::missing_member("clientId"),
            CognitoError::InvalidPassword("x".into()),
            CognitoError::ResourceNotFound("x".into()),
            CognitoError::UsernameExists("x".into()),
            CognitoError::CodeMismatch,
            CognitoError::UnknownOperation,
            CognitoError::Serialization("x".into()),
            CognitoError::MissingAuthenticationToken,
            CognitoError::BodyTooLarge,
        ] {
            assert!(error.status().is_client_error(), "{error}");
            assert!(error.code().ends_with("Exception"), "{error}");
        }
    }
}
