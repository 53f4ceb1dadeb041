//! Per-request traces: one line per hop (edge, OAC, URL auth, policy, runtime, function) with its
//! decision, the rule, and — for a refusal — a hint saying what to change. The id travels as
//! `x-emulator-trace-id`; `GET /__emulator/traces/{id}` on the edge and URL listeners returns the JSON,
//! and `up` prints a readable block per request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The header that carries a trace id between hops and back to the caller.
pub const TRACE_HEADER: &str = "x-emulator-trace-id";

/// How many traces are kept.
const CAPACITY: usize = 2000;

/// A hop's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Allowed through.
    Pass,
    /// Refused here.
    Refuse,
    /// Something worth knowing that did not decide the outcome.
    Note,
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// `edge`, `oac`, `url_auth`, `policy`, `runtime` or `function`.
    pub hop: String,
    /// The decision.
    pub decision: Decision,
    /// The rule applied.
    pub rule: String,
    /// What was seen.
    pub detail: String,
    /// What to change, for refusals and notable notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A request's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// The id.
    pub id: String,
    /// `POST /chatbot`.
    pub request: String,
    /// The status the caller got, once known.
    pub status: Option<u16>,
    /// The hops, in order.
    pub hops: Vec<Hop>,
}

impl Trace {
    /// The hop that refused, if any.
    pub fn refusal(&self) -> Option<&Hop> {
        self.hops
            .iter()
            .rev()
            .find(|h| h.decision == Decision::Refuse)
    }

    /// One readable block: a header line and a line per hop.
    pub fn render(&self) -> String {
        let status = self
            .status
            .map_or_else(|| "…".to_owned(), |s| s.to_string());
        let mut out = format!("trace {} {} → {status}\n", self.id, self.request);
        for hop in &self.hops {
            let decision = match hop.decision {
                Decision::Pass => "pass",
                Decision::Refuse => "REFUSE",
                Decision::Note => "note",
            };
            out.push_str(&format!(
                "  {:<9} {:<7} {}: {}\n",
                hop.hop, decision, hop.rule, hop.detail
            ));
            if let Some(hint) = &hop.hint {
                out.push_str(&format!("  {:<9} {:<7} hint: {hint}\n", "", ""));
            }
        }
        out
    }
}

#[derive(Debug, Default)]
struct Inner {
    traces: HashMap<String, Trace>,
    order: VecDeque<String>,
}

/// Shared by the edge and the URL; finished traces are announced to subscribers.
#[derive(Debug, Clone)]
pub struct TraceStore {
    inner: Arc<Mutex<Inner>>,
    finished: broadcast::Sender<Trace>,
}

impl Default for TraceStore {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            finished: broadcast::channel(256).0,
        }
    }
}

impl TraceStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a trace (or continues one started by an earlier hop).
    pub fn begin(&self, id: &str, request: &str) {
        let mut inner = self.lock();
        if inner.traces.contains_key(id) {
            return;
        }
        inner.traces.insert(
            id.to_owned(),
            Trace {
                id: id.to_owned(),
                request: request.to_owned(),
                status: None,
                hops: Vec::new(),
            },
        );
        inner.order.push_back(id.to_owned());
        while inner.order.len() > CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                inner.traces.remove(&old);
            }
        }
    }

    /// Adds a hop.
    pub fn record(
        &self,
        id: &str,
        hop: &str,
        decision: Decision,
        rule: &str,
        detail: &str,
        hint: Option<&str>,
    ) {
        if let Some(trace) = self.lock().traces.get_mut(id) {
            trace.hops.push(Hop {
                hop: hop.to_owned(),
                decision,
                rule: rule.to_owned(),
                detail: detail.to_owned(),
                hint: hint.map(str::to_owned),
            });
        }
    }

    /// Records the status the caller got and announces the trace.
    pub fn finish(&self, id: &str, status: u16) {
        let trace = {
            let mut inner = self.lock();
            let Some(trace) = inner.traces.get_mut(id) else {
                return;
            };
            trace.status = Some(status);
            trace.clone()
        };
        let _ = self.finished.send(trace);
    }

    /// A trace by id.
    pub fn get(&self, id: &str) -> Option<Trace> {
        self.lock().traces.get(id).cloned()
    }

    /// Finished traces as they complete.
    pub fn subscribe(&self) -> broadcast::Receiver<Trace> {
        self.finished.subscribe()
    }
}

/// `GET /__emulator/traces/{id}`.
pub fn routes(store: TraceStore) -> axum::Router {
    axum::Router::new().route(
        "/__emulator/traces/{id}",
        axum::routing::get(
            move |axum::extract::Path(id): axum::extract::Path<String>| {
                let store = store.clone();
                async move {
                    use axum::response::IntoResponse as _;
                    match store.get(&id) {
                        Some(trace) => axum::Json(trace).into_response(),
                        None => (
                            axum::http::StatusCode::NOT_FOUND,
                            axum::Json(serde_json::json!({"error": format!("no trace {id}")})),
                        )
                            .into_response(),
                    }
                }
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_record_render_and_announce() {
        let store = TraceStore::default();
        let mut finished = store.subscribe();
        store.begin("t1", "POST /chatbot");
        store.record(
            "t1",
            "edge",
            Decision::Pass,
            "allowed methods",
            "POST is allowed",
            None,
        );
        store.record(
            "t1",
            "function",
            Decision::Refuse,
            "401",
            "missing token",
            Some("send x-chatbot-authorization"),
        );
        store.finish("t1", 401);
        let trace = finished.try_recv().unwrap();
        assert_eq!(trace.refusal().unwrap().hop, "function");
        let text = trace.render();
        assert!(text.starts_with("trace t1 POST /chatbot → 401\n"));
        assert!(text.contains("hint: send x-chatbot-authorization"));
    }
}
