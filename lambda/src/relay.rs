//! Relays Gemini's stream to the browser as the function's SSE events: a `delta` per chunk, written the
//! moment it arrives; `: keep-alive` after every keep-alive interval of upstream silence; `done`; or
//! `error` and close. Stops (dropping the upstream request) as soon as the browser's side is gone.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::gemini::decoder::UpstreamEvent;
use crate::gemini::{Next, UpstreamStream};
use crate::sse::{Delta, Done, Event, KEEP_ALIVE, StreamError};

/// What one upstream chunk contributes.
#[derive(Debug, PartialEq)]
struct ChunkParts {
    text: String,
    finish: Option<Done>,
}

fn read_chunk(chunk: &Value) -> ChunkParts {
    let candidate = chunk.pointer("/candidates/0");
    let mut text = String::new();
    if let Some(parts) = candidate
        .and_then(|c| c.pointer("/content/parts"))
        .and_then(Value::as_array)
    {
        for part in parts {
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(piece) = part.get("text").and_then(Value::as_str) {
                text.push_str(piece);
            }
        }
    }
    let usage = chunk.get("usageMetadata").cloned().unwrap_or(Value::Null);
    let finish = if let Some(reason) = candidate
        .and_then(|c| c.get("finishReason"))
        .and_then(Value::as_str)
    {
        Some(Done {
            finish_reason: reason.to_owned(),
            usage,
        })
    } else {
        chunk
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
            .map(|reason| Done {
                finish_reason: format!("BLOCKED_{reason}"),
                usage,
            })
    };
    ChunkParts { text, finish }
}

fn upstream_error(error: &Value) -> StreamError {
    let code = error.get("code").and_then(Value::as_u64).unwrap_or(0);
    let status = error
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN");
    StreamError {
        code: if code == 503 {
            "upstream_unavailable"
        } else {
            "upstream_error"
        }
        .into(),
        message: format!("the model stopped with {code} {status}"),
        retryable: matches!(code, 429 | 500 | 503 | 504),
    }
}

fn truncated(why: &str) -> StreamError {
    StreamError {
        code: "upstream_truncated".into(),
        message: format!("the model's answer ended early: {why}"),
        retryable: true,
    }
}

/// Sends `bytes`; `Err` when the browser's side is gone.
async fn send(tx: &mpsc::Sender<Bytes>, bytes: Bytes) -> Result<(), ()> {
    tx.send(bytes).await.map_err(|_| ())
}

/// Plays the answer into `tx` until done, failed, or the receiver is dropped.
pub async fn relay(
    first: UpstreamEvent,
    mut upstream: UpstreamStream,
    tx: mpsc::Sender<Bytes>,
    keepalive: Duration,
) {
    let mut next = Some(Next::Event(first));
    loop {
        let item = match next.take() {
            Some(item) => item,
            None => tokio::select! {
                item = upstream.next() => item,
                _ = tokio::time::sleep(keepalive) => {
                    if send(&tx, Bytes::from_static(KEEP_ALIVE)).await.is_err() {
                        return;
                    }
                    continue;
                }
                _ = tx.closed() => {
                    tracing::info!("client went away; cancelling the Gemini request");
                    return;
                }
            },
        };
        let outcome = match item {
            Next::Event(UpstreamEvent::Chunk(chunk)) => {
                let parts = read_chunk(&chunk);
                if !parts.text.is_empty() {
                    let delta = Event::Delta(Delta { text: parts.text });
                    if send(&tx, delta.encode()).await.is_err() {
                        return;
                    }
                }
                parts.finish.map(Event::Done)
            }
            Next::Event(UpstreamEvent::Error(error)) => Some(Event::Error(upstream_error(&error))),
            Next::Event(UpstreamEvent::Garbage(_)) => Some(Event::Error(StreamError {
                code: "upstream_error".into(),
                message: "the model sent an unreadable stream".into(),
                retryable: true,
            })),
            Next::Broken(why) => Some(Event::Error(truncated(&why))),
            Next::End => Some(Event::Error(truncated("no finish reason"))),
        };
        if let Some(last) = outcome {
            let _ = send(&tx, last.encode()).await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn chunks_give_text_and_finish() {
        let chunk = json!({"candidates": [{"content": {"parts": [{"text": "a"}, {"text": "think", "thought": true}, {"text": "b"}]}, "finishReason": "MAX_TOKENS"}], "usageMetadata": {"totalTokenCount": 9}});
        assert_eq!(
            read_chunk(&chunk),
            ChunkParts {
                text: "ab".into(),
                finish: Some(Done {
                    finish_reason: "MAX_TOKENS".into(),
                    usage: json!({"totalTokenCount": 9})
                })
            }
        );
        let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {}});
        assert_eq!(
            read_chunk(&blocked).finish.unwrap().finish_reason,
            "BLOCKED_SAFETY"
        );
        let safety = json!({"candidates": [{"finishReason": "SAFETY", "index": 0}]});
        let parts = read_chunk(&safety);
        assert_eq!(
            (
                parts.text.as_str(),
                parts.finish.unwrap().finish_reason.as_str()
            ),
            ("", "SAFETY")
        );
    }

    #[test]
    fn upstream_errors_say_whether_to_retry() {
        let e = upstream_error(&json!({"code": 503, "status": "UNAVAILABLE"}));
        assert_eq!(
            (e.code.as_str(), e.retryable),
            ("upstream_unavailable", true)
        );
        let e = upstream_error(&json!({"code": 400, "status": "INVALID_ARGUMENT"}));
        assert_eq!((e.code.as_str(), e.retryable), ("upstream_error", false));
    }
}
