//! Plays a scripted answer into a response body, chunk by chunk: delays, gates, split writes, and the
//! ending (finish, raw error object, clean close, abort, reset, stall). Stops as soon as the client goes
//! away, and counts how each stream ended.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::control::{ConnectionControl, Gates, Observations};
use crate::errors::GeminiError;
use crate::json;
use crate::request::GenerateRequest;
use crate::scenario::{Chunk, End, Reply};
use crate::wire::{self, ResponseBuilder};

/// One piece of the body, or an error that aborts the connection.
pub(crate) type BodyItem = Result<Bytes, std::io::Error>;

/// A stream reduced to chunks and an ending.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub chunks: Vec<Chunk>,
    pub end: End,
}

impl Plan {
    /// The plan for a streaming reply (`None` for replies that are not streams).
    pub fn for_reply(reply: &Reply, request: &GenerateRequest) -> Option<Self> {
        match reply {
            Reply::Stream { chunks, end } => Some(Self {
                chunks: chunks.clone(),
                end: end.clone(),
            }),
            Reply::Echo {
                prefix,
                chunk_chars,
                delay_ms,
            } => {
                let text = format!("{prefix}{}", request.last_user_text);
                let chars: Vec<char> = text.chars().collect();
                let chunks = chars
                    .chunks((*chunk_chars).max(1))
                    .map(|piece| Chunk {
                        text: piece.iter().collect(),
                        delay_ms: *delay_ms,
                        ..Chunk::default()
                    })
                    .collect();
                Some(Self {
                    chunks,
                    end: End::default(),
                })
            }
            Reply::Generated { count, delay_ms } => Some(Self {
                chunks: (0..*count)
                    .map(|i| Chunk {
                        text: format!("{i} "),
                        delay_ms: *delay_ms,
                        ..Chunk::default()
                    })
                    .collect(),
                end: End::default(),
            }),
            Reply::Error { .. } | Reply::Blocked { .. } => None,
        }
    }
}

/// How the stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `?alt=sse`.
    Sse,
    /// No `alt`: one JSON array.
    JsonArray,
}

/// Everything a playing stream needs besides its plan.
#[derive(Debug, Clone)]
pub(crate) struct Stage {
    pub gates: Arc<Gates>,
    pub observations: Arc<Observations>,
    pub connection: Option<Arc<ConnectionControl>>,
}

struct Closed;

/// Sends one piece, or learns that the client has gone.
async fn send(tx: &mpsc::Sender<BodyItem>, bytes: impl Into<Bytes>) -> Result<(), Closed> {
    tx.send(Ok(bytes.into())).await.map_err(|_| Closed)
}

/// Waits for `wait`, unless the client goes away first.
async fn or_closed(
    tx: &mpsc::Sender<BodyItem>,
    wait: impl std::future::Future,
) -> Result<(), Closed> {
    tokio::select! {
        _ = wait => Ok(()),
        _ = tx.closed() => Err(Closed),
    }
}

/// Sends an event in several writes cut at `offsets` of its text. Each cut waits until the previous
/// piece was taken by the server and then pauses a millisecond, so the pieces leave in separate writes.
async fn send_split(
    tx: &mpsc::Sender<BodyItem>,
    frame: String,
    text: &str,
    offsets: &[usize],
) -> Result<(), Closed> {
    let escaped = json::compact(&serde_json::Value::String(text.to_owned()));
    let escaped = &escaped[1..escaped.len() - 1];
    let start = frame
        .find(&format!("\"text\": \"{escaped}\""))
        .map_or(0, |at| at + "\"text\": \"".len());
    let bytes = Bytes::from(frame);
    let mut cuts: Vec<usize> = offsets
        .iter()
        .map(|o| (start + o).min(bytes.len()))
        .filter(|&at| at > 0 && at < bytes.len())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut from = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        if from > 0 {
            let permit = tx.reserve().await.map_err(|_| Closed)?;
            tokio::time::sleep(Duration::from_millis(1)).await;
            permit.send(Ok(bytes.slice(from..cut)));
        } else {
            send(tx, bytes.slice(from..cut)).await?;
        }
        from = cut;
    }
    Ok(())
}

/// Plays `plan` into `tx` and records how the stream ended.
pub(crate) async fn play(
    plan: Plan,
    mut builder: ResponseBuilder,
    framing: Framing,
    tx: mpsc::Sender<BodyItem>,
    stage: Stage,
) {
    stage.observations.count_stream(|c| c.started += 1);
    let finished = run(plan, &mut builder, framing, &tx, &stage).await;
    stage.observations.count_stream(|c| match finished {
        Ok(()) => c.completed += 1,
        Err(Closed) => c.cancelled += 1,
    });
}

/// The wire chunks for one scripted chunk: its text (or thought), and the finish when it is the last
/// chunk of an answer that finishes.
pub(crate) fn chunk_values(
    builder: &mut ResponseBuilder,
    chunk: &crate::scenario::Chunk,
    last_finish: Option<(&str, Option<&str>)>,
) -> Vec<serde_json::Value> {
    match (chunk.thought, last_finish) {
        (true, None) => vec![builder.thought_part(&chunk.text)],
        (true, Some((reason, message))) => {
            let mut values = vec![builder.thought_part(&chunk.text)];
            values.extend(builder.final_chunks("", reason, message));
            values
        }
        (false, Some((reason, message))) => builder.final_chunks(&chunk.text, reason, message),
        (false, None) => vec![builder.text_chunk(&chunk.text)],
    }
}

async fn run(
    plan: Plan,
    builder: &mut ResponseBuilder,
    framing: Framing,
    tx: &mpsc::Sender<BodyItem>,
    stage: &Stage,
) -> Result<(), Closed> {
    let mut first = true;
    let mut frame = |value: &serde_json::Value| -> String {
        let framed = match framing {
            Framing::Sse => wire::sse_event(value),
            Framing::JsonArray => wire::array_element(value, first),
        };
        first = false;
        framed
    };
    if let Some(thought) = builder.thought_chunk() {
        send(tx, frame(&thought)).await?;
    }
    let count = plan.chunks.len();
    let finish = match &plan.end {
        End::Finish { reason, message } => Some((reason.clone(), message.clone())),
        _ => None,
    };
    for (i, chunk) in plan.chunks.iter().enumerate() {
        if chunk.delay_ms > 0 {
            or_closed(
                tx,
                tokio::time::sleep(Duration::from_millis(chunk.delay_ms)),
            )
            .await?;
        }
        if let Some(gate) = &chunk.gate {
            or_closed(tx, stage.gates.pass(gate)).await?;
        }
        let last_finish = finish
            .as_ref()
            .filter(|_| i + 1 == count)
            .map(|(reason, message)| (reason.as_str(), message.as_deref()));
        for value in chunk_values(builder, chunk, last_finish) {
            let framed = frame(&value);
            if chunk.split_at.is_empty() {
                send(tx, framed).await?;
            } else {
                send_split(tx, framed, &chunk.text, &chunk.split_at).await?;
            }
        }
    }
    match plan.end {
        End::Finish { reason, message } => {
            if count == 0 {
                for value in builder.final_chunks("", &reason, message.as_deref()) {
                    send(tx, frame(&value)).await?;
                }
            }
            if framing == Framing::JsonArray {
                send(tx, wire::ARRAY_END).await?;
            }
            Ok(())
        }
        End::Error { status } => {
            let error = GeminiError::for_status(status, "");
            send(tx, error.body()).await?;
            Ok(())
        }
        End::Close => Ok(()),
        End::Abort | End::Reset => {
            if plan.end == End::Reset {
                if let Some(connection) = &stage.connection {
                    connection.arm_reset();
                }
            }
            let cut = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "scripted fault");
            let _ = tx.send(Err(cut)).await;
            Ok(())
        }
        End::Stall => {
            tx.closed().await;
            Err(Closed)
        }
    }
}
