//! Every answer the function gives before its stream starts, through one table: the status, the
//! `{"error":{"code","message"}}` body, and the header some carry (`Allow`, `WWW-Authenticate`,
//! `Retry-After`). The messages say what was wrong without echoing a token.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use serde_json::json;

use crate::auth::AuthError;
use crate::gemini::StartError;
use crate::handler::{PATH, ResponseBody};
use crate::request::RequestError;

/// One refusal of the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 404: a path other than `/chatbot`.
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// 405 with `Allow: POST`.
    MethodNotAllowed {
        /// The method used.
        method: String,
    },
    /// 415: not `application/json`.
    UnsupportedMediaType,
    /// 413: a body or field over its limit.
    PayloadTooLarge(String),
    /// 401 with `WWW-Authenticate`: no token, or a token refused for the reason given.
    InvalidToken(String),
    /// 503: no signing key cached and the JWKS cannot be fetched.
    AuthUnavailable,
    /// 400: not a valid chat request (says where).
    InvalidRequest(String),
    /// 429, with `Retry-After` when Gemini said how long.
    RateLimited {
        /// Seconds to wait.
        retry_after_s: Option<u64>,
        /// The message.
        message: String,
    },
    /// 503: Gemini is overloaded.
    UpstreamUnavailable(String),
    /// 502: Gemini failed otherwise.
    UpstreamError(String),
    /// 504: no first event in time.
    UpstreamTimeout(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::AuthUnavailable | Self::UpstreamUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UpstreamError(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The body's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::InvalidToken(_) => "invalid_token",
            Self::AuthUnavailable => "auth_unavailable",
            Self::InvalidRequest(_) => "invalid_request",
            Self::RateLimited { .. } => "rate_limited",
            Self::UpstreamUnavailable(_) => "upstream_unavailable",
            Self::UpstreamError(_) => "upstream_error",
            Self::UpstreamTimeout(_) => "upstream_timeout",
        }
    }

    /// The body's `message`.
    pub fn message(&self) -> String {
        match self {
            Self::NotFound { path } => format!("no route for {path}; the chatbot is at {PATH}"),
            Self::MethodNotAllowed { method } => {
                format!("{method} is not allowed on {PATH}; use POST")
            }
            Self::UnsupportedMediaType => "the body must be application/json".into(),
            Self::AuthUnavailable => {
                "the sign-in service's keys cannot be fetched right now; try again shortly".into()
            }
            Self::PayloadTooLarge(message)
            | Self::InvalidToken(message)
            | Self::InvalidRequest(message)
            | Self::RateLimited { message, .. }
            | Self::UpstreamUnavailable(message)
            | Self::UpstreamError(message)
            | Self::UpstreamTimeout(message) => message.clone(),
        }
    }

    /// The response.
    pub fn response(&self) -> Response<ResponseBody> {
        let message = self.message();
        let body = json!({"error": {"code": self.code(), "message": message}}).to_string();
        let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match self {
            Self::MethodNotAllowed { .. } => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            Self::InvalidToken(description) => {
                let challenge = format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    description.replace('"', "'")
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Self::RateLimited {
                retry_after_s: Some(seconds),
                ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
            _ => {}
        }
        response
    }
}

impl From<&AuthError> for ApiError {
    fn from(failure: &AuthError) -> Self {
        match failure {
            AuthError::KeysUnavailable(_) => Self::AuthUnavailable,
            other => Self::InvalidToken(other.to_string()),
        }
    }
}

impl From<&StartError> for ApiError {
    fn from(failure: &StartError) -> Self {
        let message = failure.to_string();
        match failure {
            StartError::RateLimited { retry_after_s } => Self::RateLimited {
                retry_after_s: *retry_after_s,
                message,
            },
            StartError::Unavailable => Self::UpstreamUnavailable(message),
            StartError::BadGateway(_) => Self::UpstreamError(message),
            StartError::Timeout => Self::UpstreamTimeout(message),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(failure: RequestError) -> Self {
        match failure {
            RequestError::TooLarge(_) => Self::PayloadTooLarge(failure.to_string()),
            RequestError::Invalid(why) => Self::InvalidRequest(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status_code_and_header() {
        let token = ApiError::InvalidToken("token \"x\" expired".into()).response();
        assert_eq!(token.status(), 401);
        assert_eq!(
            token.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"token 'x' expired\""
        );
        let method = ApiError::MethodNotAllowed {
            method: "GET".into(),
        };
        assert_eq!(method.response().headers()[header::ALLOW], "POST");
        assert_eq!(method.message(), "GET is not allowed on /chatbot; use POST");
        let limited = ApiError::RateLimited {
            retry_after_s: Some(13),
            message: "m".into(),
        }
        .response();
        assert_eq!(limited.headers()[header::RETRY_AFTER], "13");
        assert_eq!(ApiError::AuthUnavailable.status(), 503);
        assert_eq!(
            ApiError::UpstreamTimeout("t".into()).code(),
            "upstream_timeout"
        );
    }
}
