//! The function's Server-Sent Events, the wire contract with the browser (DESIGN.md "The Lambda
//! contract"):
//!
//! ```text
//! event: delta   data: {"text":"…"}
//! : keep-alive
//! event: done    data: {"finishReason":"STOP","usage":{…}}
//! event: error   data: {"code":"upstream_unavailable","message":"…","retryable":true}
//! ```
//!
//! Exported so the emulator's reference client and the e2e suite parse exactly what is sent.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event the function sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "lowercase")]
pub enum Event {
    /// A piece of the answer, exactly as Gemini sent it.
    Delta(Delta),
    /// The answer is complete.
    Done(Done),
    /// The answer failed after streaming started; the stream closes after this.
    Error(StreamError),
}

/// `event: delta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// The text, byte for byte.
    pub text: String,
}

/// `event: done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    /// Gemini's `finishReason` (`STOP`, `MAX_TOKENS`, `SAFETY`, `RECITATION`, …), or the prompt's
    /// `blockReason` prefixed with `BLOCKED_` when the prompt itself was refused.
    pub finish_reason: String,
    /// Gemini's `usageMetadata`, passed through.
    pub usage: Value,
}

/// `event: error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamError {
    /// `upstream_unavailable`, `upstream_error`, `upstream_truncated`, `upstream_timeout`.
    pub code: String,
    /// What happened, for people.
    pub message: String,
    /// Whether retrying the same request may work.
    pub retryable: bool,
}

/// The comment line sent after every keep-alive interval of upstream silence.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// `Content-Type` of the stream.
pub const CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";

impl Event {
    /// The SSE name of the event.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Delta(_) => "delta",
            Self::Done(_) => "done",
            Self::Error(_) => "error",
        }
    }

    /// `event: <name>\ndata: <one-line JSON>\n\n`.
    pub fn encode(&self) -> Bytes {
        let data = match self {
            Self::Delta(d) => serde_json::to_string(d),
            Self::Done(d) => serde_json::to_string(d),
            Self::Error(e) => serde_json::to_string(e),
        }
        .expect("event payloads serialise");
        Bytes::from(format!("event: {}\ndata: {data}\n\n", self.name()))
    }

    /// Parses one SSE event (name and data) back into an [`Event`].
    pub fn from_parts(name: &str, data: &str) -> Result<Self, serde_json::Error> {
        Ok(match name {
            "delta" => Self::Delta(serde_json::from_str(data)?),
            "done" => Self::Done(serde_json::from_str(data)?),
            _ => Self::Error(serde_json::from_str(data)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_encode_as_the_contract_says() {
        let delta = Event::Delta(Delta {
            text: "line\n\"quoted\" é".into(),
        });
        assert_eq!(
            delta.encode(),
            Bytes::from("event: delta\ndata: {\"text\":\"line\\n\\\"quoted\\\" é\"}\n\n")
        );
        let done = Event::Done(Done {
            finish_reason: "STOP".into(),
            usage: json!({"totalTokenCount": 3}),
        });
        assert_eq!(
            done.encode(),
            Bytes::from(
                "event: done\ndata: {\"finishReason\":\"STOP\",\"usage\":{\"totalTokenCount\":3}}\n\n"
            )
        );
        let error = Event::Error(StreamError {
            code: "upstream_unavailable".into(),
            message: "m".into(),
            retryable: true,
        });
        assert_eq!(
            error.encode(),
            Bytes::from(
                "event: error\ndata: {\"code\":\"upstream_unavailable\",\"message\":\"m\",\"retryable\":true}\n\n"
            )
        );
        assert_eq!(
            Event::from_parts("done", "{\"finishReason\":\"STOP\",\"usage\":{}}")
                .unwrap()
                .name(),
            "done"
        );
    }
}
