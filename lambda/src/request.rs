//! The chat request the browser sends, and its limits:
//! `{"messages":[{"role":"user"|"model","content":"…"}…],"context":{"problemId","title","statement","language","code"}}`.

use serde::{Deserialize, Serialize};

/// Largest accepted body (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// At most this many messages.
pub const MAX_MESSAGES: usize = 50;
/// Longest single message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Field limits of `context`, in bytes: (JSON name, limit).
const CONTEXT_LIMITS: [(&str, usize); 5] = [
    ("problemId", 128),
    ("title", 512),
    ("statement", 32 * 1024),
    ("language", 64),
    ("code", 48 * 1024),
];

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The student.
    User,
    /// The assistant, earlier in the conversation.
    Model,
}

/// One turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// `user` or `model`.
    pub role: Role,
    /// The text.
    pub content: String,
}

/// What the student is working on; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Context {
    /// The problem's id.
    pub problem_id: Option<String>,
    /// The problem's title.
    pub title: Option<String>,
    /// The problem statement.
    pub statement: Option<String>,
    /// The programming language.
    pub language: Option<String>,
    /// The student's current code.
    pub code: Option<String>,
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The conversation, oldest first, ending with the user's question.
    pub messages: Vec<Message>,
    /// The problem context.
    #[serde(default)]
    pub context: Option<Context>,
}

/// Why a body is refused: the message names the limit or the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Over [`MAX_BODY_BYTES`] (413).
    #[error("request body is {0} bytes; the limit is {MAX_BODY_BYTES}")]
    TooLarge(usize),
    /// Anything else (400).
    #[error("{0}")]
    Invalid(String),
}

impl ChatRequest {
    /// Parses and validates a body.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(RequestError::TooLarge(body.len()));
        }
        let text = std::str::from_utf8(body).map_err(|e| {
            RequestError::Invalid(format!(
                "request body is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        let request: ChatRequest = serde_json::from_str(text).map_err(|e| {
            RequestError::Invalid(format!("request body is not a valid chat request: {e}"))
        })?;
        request.validate()?;
        Ok(request)
    }

    fn validate(&self) -> Result<(), RequestError> {
        let invalid = |m: String| Err(RequestError::Invalid(m));
        if self.messages.is_empty() {
            return invalid("messages must contain at least 1 message".into());
        }
        if self.messages.len() > MAX_MESSAGES {
            return invalid(format!(
                "messages has {} entries; the limit is {MAX_MESSAGES}",
                self.messages.len()
            ));
        }
        for (i, message) in self.messages.iter().enumerate() {
            if message.content.trim().is_empty() {
                return invalid(format!("messages[{i}].content must not be empty"));
            }
            if message.content.len() > MAX_MESSAGE_BYTES {
                return invalid(format!(
                    "messages[{i}].content is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                    message.content.len()
                ));
            }
        }
        if self.messages.last().map(|m| m.role) != Some(Role::User) {
            return invalid("the last message must have role \"user\"".into());
        }
        if let Some(context) = &self.context {
            let fields = [
                &context.problem_id,
                &context.title,
                &context.statement,
                &context.language,
                &context.code,
            ];
            for ((name, limit), value) in CONTEXT_LIMITS.iter().zip(fields) {
                if let Some(value) = value {
                    if value.len() > *limit {
                        return invalid(format!(
                            "context.{name} is {} bytes; the limit is {limit}",
                            value.len()
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(body: &str) -> String {
        ChatRequest::parse(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_and_a_full_request_parse() {
        let r = ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        assert_eq!(r.context, None);
        let r = ChatRequest::parse(
            br#"{"messages":[{"role":"user","content":"a"},{"role":"model","content":"b"},{"role":"user","content":"c"}],
                "context":{"problemId":"p1","title":"Two Sum","language":"rust"}}"#,
        )
        .unwrap();
        assert_eq!(r.context.unwrap().title.as_deref(), Some("Two Sum"));
    }

    #[test]
    fn each_limit_is_named() {
        assert_eq!(
            error(r#"{"messages":[]}"#),
            "messages must contain at least 1 message"
        );
        assert_eq!(
            error(r#"{"messages":[{"role":"user","content":"  "}]}"#),
            "messages[0].content must not be empty"
        );
        assert_eq!(
            error(r#"{"messages":[{"role":"model","content":"x"}]}"#),
            "the last message must have role \"user\""
        );
        let many = format!(
            r#"{{"messages":[{}]}}"#,
            vec![r#"{"role":"user","content":"x"}"#; 51].join(",")
        );
        assert_eq!(error(&many), "messages has 51 entries; the limit is 50");
        let long_title = format!(
            r#"{{"messages":[{{"role":"user","content":"x"}}],"context":{{"title":"{}"}}}}"#,
            "t".repeat(513)
        );
        assert_eq!(
            error(&long_title),
            "context.title is 513 bytes; the limit is 512"
        );
        assert!(
            error(r#"{"messages":[{"role":"system","content":"x"}]}"#)
                .contains("unknown variant `system`")
        );
        assert!(
            error(r#"{"messages":[{"role":"user","content":"x"}],"extra":1}"#)
                .contains("unknown field `extra`")
        );
        assert!(error(r#"{"messages":["#).contains("EOF while parsing"));
        assert_eq!(
            ChatRequest::parse(b"{\"messages\":\xff}")
                .unwrap_err()
                .to_string(),
            "request body is not valid UTF-8 (invalid byte at offset 12)"
        );
        assert_eq!(
            ChatRequest::parse(&vec![b' '; MAX_BODY_BYTES + 1]).unwrap_err(),
            RequestError::TooLarge(MAX_BODY_BYTES + 1)
        );
    }
}
