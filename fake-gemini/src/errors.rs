//! Google's error bodies, rendered through one table (`reference/gemini.md` §4.2): the google.rpc
//! `Status` inside `error`, pretty-printed with two spaces and a trailing newline.

use serde_json::{Value, json};

use crate::json;

/// One error Gemini answers with.
#[derive(Debug, Clone, PartialEq)]
pub enum GeminiError {
    /// 400 `API_KEY_INVALID`: a key was given but is not valid (400, not 403).
    ApiKeyInvalid {
        /// The key, which Google echoes in `DebugInfo`.
        key: String,
    },
    /// 403: no key at all.
    Unregistered,
    /// 404: the model does not exist for `v1beta`.
    ModelNotFound {
        /// `models/…` as requested.
        model: String,
    },
    /// 400 with a `BadRequest.fieldViolations` detail (unknown field, malformed JSON).
    InvalidJsonPayload {
        /// The field path (`contents[0].parts`), empty for the whole body.
        field: String,
        /// The message.
        message: String,
    },
    /// 400 with no details (semantic validation: `* GenerateContentRequest.contents: …\n`).
    InvalidArgument {
        /// The message.
        message: String,
    },
    /// 429 with `QuotaFailure`, `Help` and `RetryInfo.retryDelay` (e.g. `"22s"`); no `Retry-After`.
    ResourceExhausted {
        /// The protobuf Duration string.
        retry_delay: String,
        /// The model named in the quota dimensions.
        model: String,
    },
    /// 500 INTERNAL.
    Internal,
    /// 503 UNAVAILABLE, "The model is overloaded".
    Unavailable,
    /// 504 DEADLINE_EXCEEDED.
    DeadlineExceeded,
    /// Any status with Google's canonical name and a chosen message.
    Other {
        /// HTTP status.
        code: u16,
        /// Canonical status (`FAILED_PRECONDITION`, …).
        status: String,
        /// Message.
        message: String,
    },
}

impl GeminiError {
    /// The error named by an HTTP status, with Google's default message for it.
    pub fn for_status(code: u16, model: &str) -> Self {
        match code {
            400 => Self::InvalidArgument {
                message: "Request contains an invalid argument.".into(),
            },
            403 => Self::Unregistered,
            404 => Self::ModelNotFound {
                model: format!("models/{model}"),
            },
            429 => Self::ResourceExhausted {
                retry_delay: "22s".into(),
                model: model.into(),
            },
            500 => Self::Internal,
            503 => Self::Unavailable,
            504 => Self::DeadlineExceeded,
            code => Self::Other {
                code,
                status: canonical_status(code).into(),
                message: format!("Injected error {code}."),
            },
        }
    }

    /// The HTTP status.
    pub fn code(&self) -> u16 {
        match self {
            Self::ApiKeyInvalid { .. }
            | Self::InvalidJsonPayload { .. }
            | Self::InvalidArgument { .. } => 400,
            Self::Unregistered => 403,
            Self::ModelNotFound { .. } => 404,
            Self::ResourceExhausted { .. } => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::DeadlineExceeded => 504,
            Self::Other { code, .. } => *code,
        }
    }

    /// The `error` object.
    pub fn error_object(&self) -> Value {
        let code = self.code();
        let (status, message, details): (&str, String, Option<Value>) = match self {
            Self::ApiKeyInvalid { key } => (
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.".into(),
                Some(json!([
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"}
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": "API key not valid. Please pass a valid API key."
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.DebugInfo",
                        "detail": format!("Invalid API key: {key}")
                    }
                ])),
            ),
            Self::Unregistered => (
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.".into(),
                None,
            ),
            Self::ModelNotFound { model } => (
                "NOT_FOUND",
                format!("{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."),
                None,
            ),
            Self::InvalidJsonPayload { field, message } => (
                "INVALID_ARGUMENT",
                message.clone(),
                Some(json!([{
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field, "description": message}]
                }])),
            ),
            Self::InvalidArgument { message } => ("INVALID_ARGUMENT", message.clone(), None),
            Self::ResourceExhausted { retry_delay, model } => (
                "RESOURCE_EXHAUSTED",
                format!("You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in {retry_delay}."),
                Some(json!([
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                            "quotaDimensions": {"location": "global", "model": model},
                            "quotaValue": "10"
                        }]
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": retry_delay
                    }
                ])),
            ),
            Self::Internal => (
                "INTERNAL",
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting".into(),
                None,
            ),
            Self::Unavailable => (
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.".into(),
                None,
            ),
            // No verbatim 504 body was found (reference §4.2); this is the canonical shape.
            Self::DeadlineExceeded => (
                "DEADLINE_EXCEEDED",
                "Deadline expired before operation could complete.".into(),
                None,
            ),
            Self::Other { status, message, .. } => (status.as_str(), message.clone(), None),
        };
        let mut error = json!({"code": code, "message": message, "status": status});
        if let Some(details) = details {
            error["details"] = details;
        }
        error
    }

    /// The whole body: `{"error": …}`, pretty, with the trailing newline.
    pub fn body(&self) -> String {
        json::pretty(&json!({ "error": self.error_object() }))
    }
}

/// google.rpc canonical status names by HTTP status.
pub fn canonical_status(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 | 429 => "RESOURCE_EXHAUSTED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_body_is_byte_exact() {
        assert_eq!(
            GeminiError::Unavailable.body(),
            "{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The model is overloaded. Please try again later.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n"
        );
    }

    #[test]
    fn retry_delay_is_in_retry_info_and_the_message() {
        let error = GeminiError::for_status(429, "gemini-2.5-flash");
        let object = error.error_object();
        assert_eq!(object["details"][2]["retryDelay"], "22s");
        assert!(
            object["message"]
                .as_str()
                .unwrap()
                .ends_with("Please retry in 22s.")
        );
    }
}
