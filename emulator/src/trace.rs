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

/// Where along the chain a trace line was written, in request order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hop {
    /// The CloudFront edge: behaviors, methods, limits, the origin request, timeouts.
    Edge,
    /// Origin Access Control signing.
    Oac,
    /// CORS: preflights and the headers on actual responses.
    Cors,
    /// The Function URL's authentication (SigV4, body hash).
    UrlAuth,
    /// The Function URL's authorization (identity and resource-based policy).
    Policy,
    /// The Runtime API and the execution environments.
    Runtime,
    /// The function's own answer.
    Function,
}

impl Hop {
    /// Its name in traces (`url_auth`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edge => "edge",
            Self::Oac => "oac",
            Self::Cors => "cors",
            Self::UrlAuth => "url_auth",
            Self::Policy => "policy",
            Self::Runtime => "runtime",
            Self::Function => "function",
        }
    }
}

impl std::fmt::Display for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Hop {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Which hop wrote it.
    pub hop: Hop,
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

impl Line {
    fn new(
        hop: Hop,
        decision: Decision,
        rule: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            hop,
            decision,
            rule: rule.into(),
            detail: detail.into(),
            hint: None,
        }
    }

    /// A hop let the request through.
    pub fn pass(hop: Hop, rule: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(hop, Decision::Pass, rule, detail)
    }

    /// Something worth knowing that did not decide the outcome.
    pub fn note(hop: Hop, rule: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(hop, Decision::Note, rule, detail)
    }

    /// A hop refused the request.
    pub fn refuse(hop: Hop, rule: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(hop, Decision::Refuse, rule, detail)
    }

    /// With what to change.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
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
    /// The lines, in order.
    pub hops: Vec<Line>,
}

impl Trace {
    /// The hop that refused, if any.
    pub fn refusal(&self) -> Option<&Line> {
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
                hop.hop.as_str(),
                decision,
                hop.rule,
                hop.detail
            ));
            if let Some(hint) = &hop.hint {
                out.push_str(&format!("  {:<9} {:<7} hint: {hint}\n", "", ""));
            }
        }
        out
    }
}

/// How many traces are kept at most, however small.
const MAX_TRACES: usize = 2000;
/// How many bytes of trace text are kept at most (oldest traces go first).
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// How many lines one trace takes; later ones are counted, not kept.
const MAX_LINES: usize = 64;
/// How long one field of a line may be; longer text is cut (a client controls some of it).
const MAX_FIELD: usize = 2048;

#[derive(Debug, Default)]
struct Inner {
    traces: HashMap<String, Stored>,
    order: VecDeque<String>,
    bytes: usize,
}

#[derive(Debug)]
struct Stored {
    trace: Trace,
    bytes: usize,
    /// Opened by the edge and not yet taken up by the Function URL.
    awaiting_origin: bool,
    dropped_lines: usize,
}

fn clip(mut text: String) -> String {
    if text.len() > MAX_FIELD {
        let mut end = MAX_FIELD;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

impl Line {
    fn bounded(self) -> Self {
        Self {
            rule: clip(self.rule),
            detail: clip(self.detail),
            hint: self.hint.map(clip),
            ..self
        }
    }

    fn size(&self) -> usize {
        self.rule.len() + self.detail.len() + self.hint.as_ref().map_or(0, String::len) + 32
    }
}

impl Inner {
    fn evict(&mut self) {
        while self.order.len() > MAX_TRACES || (self.bytes > MAX_BYTES && self.order.len() > 1) {
            let Some(old) = self.order.pop_front() else {
                return;
            };
            if let Some(stored) = self.traces.remove(&old) {
                self.bytes -= stored.bytes;
            }
        }
    }
}

/// Shared by the edge and the URL; finished traces are announced to subscribers. Bounded in count and
/// in bytes: the oldest traces are dropped first.
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

    fn begin(&self, id: &str, request: &str, awaiting_origin: bool) {
        let request = clip(request.to_owned());
        let mut inner = self.lock();
        let bytes = id.len() + request.len() + 64;
        inner.traces.insert(
            id.to_owned(),
            Stored {
                trace: Trace {
                    id: id.to_owned(),
                    request,
                    status: None,
                    hops: Vec::new(),
                },
                bytes,
                awaiting_origin,
                dropped_lines: 0,
            },
        );
        inner.order.push_back(id.to_owned());
        inner.bytes += bytes;
        inner.evict();
    }

    /// Takes up a trace the edge opened and handed to its origin — once, and only that: an id a
    /// caller made up, or one already taken up, is not continued.
    fn take_up(&self, id: &str) -> bool {
        self.lock()
            .traces
            .get_mut(id)
            .is_some_and(|stored| std::mem::take(&mut stored.awaiting_origin))
    }

    /// Adds a line to a trace (beyond its line limit, only counted).
    pub fn record(&self, id: &str, line: Line) {
        let line = line.bounded();
        let mut inner = self.lock();
        let Some(stored) = inner.traces.get_mut(id) else {
            return;
        };
        if stored.trace.hops.len() >= MAX_LINES {
            stored.dropped_lines += 1;
            return;
        }
        let size = line.size();
        stored.bytes += size;
        stored.trace.hops.push(line);
        inner.bytes += size;
        inner.evict();
    }

    /// Records the status the caller got and announces the trace.
    pub fn finish(&self, id: &str, status: u16) {
        let trace = {
            let mut inner = self.lock();
            let Some(stored) = inner.traces.get_mut(id) else {
                return;
            };
            stored.trace.status = Some(status);
            stored.awaiting_origin = false;
            if stored.dropped_lines > 0 {
                tracing::debug!(
                    trace = id,
                    dropped = stored.dropped_lines,
                    "trace lines over the limit"
                );
            }
            stored.trace.clone()
        };
        let _ = self.finished.send(trace);
    }

    /// A trace by id.
    pub fn get(&self, id: &str) -> Option<Trace> {
        self.lock()
            .traces
            .get(id)
            .map(|stored| stored.trace.clone())
    }

    /// How many traces and bytes are kept now.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.traces.len(), inner.bytes)
    }

    /// Finished traces as they complete.
    pub fn subscribe(&self) -> broadcast::Receiver<Trace> {
        self.finished.subscribe()
    }
}

/// One request's trace, as a hop holds it: lines go in through it, and the hop that started it
/// finishes it with the status the caller got.
#[derive(Debug, Clone)]
pub struct RequestTrace {
    store: TraceStore,
    id: String,
    owned: bool,
}

impl RequestTrace {
    /// A new trace for `request` (`POST /chatbot`), owned by the caller.
    pub fn start(store: &TraceStore, request: &str) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        store.begin(&id, request, false);
        Self {
            store: store.clone(),
            id,
            owned: true,
        }
    }

    /// A new trace the edge will hand to its origin (which may take it up once).
    pub fn start_at_edge(store: &TraceStore, request: &str) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        store.begin(&id, request, true);
        Self {
            store: store.clone(),
            id,
            owned: true,
        }
    }

    /// The edge's trace named by `incoming` if it is one the edge handed over, else a new one.
    pub fn continue_or_start(store: &TraceStore, incoming: Option<&str>, request: &str) -> Self {
        match incoming {
            Some(id) if store.take_up(id) => Self {
                store: store.clone(),
                id: id.to_owned(),
                owned: false,
            },
            _ => Self::start(store, request),
        }
    }

    /// The id (`x-emulator-trace-id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Adds a line.
    pub fn record(&self, line: Line) {
        self.store.record(&self.id, line);
    }

    /// Puts the id on the response and, when this hop owns the trace, finishes it.
    pub fn finish(&self, response: &mut axum::response::Response) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&self.id) {
            response.headers_mut().insert(TRACE_HEADER, value);
        }
        if self.owned {
            self.store.finish(&self.id, response.status().as_u16());
        }
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
                    let mut response = match store.get(&id) {
                        Some(trace) => axum::Json(trace).into_response(),
                        None => (
                            axum::http::StatusCode::NOT_FOUND,
                            axum::Json(serde_json::json!({"error": format!("no trace {id}")})),
                        )
                            .into_response(),
                    };
                    // Emulator-only: a page on any origin may read why its request was refused.
                    response.headers_mut().insert(
                        "access-control-allow-origin",
                        axum::http::HeaderValue::from_static("*"),
                    );
                    response
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
        store.begin("t1", "POST /chatbot", false);
        store.record(
            "t1",
            Line::pass(Hop::Edge, "allowed methods", "POST is allowed"),
        );
        store.record(
            "t1",
            Line::refuse(Hop::Function, "401", "missing token")
                .with_hint("send x-chatbot-authorization"),
        );
        store.finish("t1", 401);
        let trace = finished.try_recv().unwrap();
        assert_eq!(trace.refusal().unwrap().hop, "function");
        let text = trace.render();
        assert!(text.starts_with("trace t1 POST /chatbot → 401\n"));
        assert!(text.contains("hint: send x-chatbot-authorization"));
    }

    #[test]
    fn only_a_trace_the_edge_handed_over_is_continued_and_only_once() {
        let store = TraceStore::default();
        let edge = RequestTrace::start_at_edge(&store, "POST /chatbot");
        let forged = RequestTrace::continue_or_start(&store, Some("made-up"), "POST /chatbot");
        assert_ne!(forged.id(), "made-up");
        let url = RequestTrace::continue_or_start(&store, Some(edge.id()), "POST /chatbot");
        assert_eq!(url.id(), edge.id());
        let again = RequestTrace::continue_or_start(&store, Some(edge.id()), "POST /chatbot");
        assert_ne!(again.id(), edge.id(), "a trace is taken up once");
        let direct = RequestTrace::start(&store, "POST /chatbot");
        let replay = RequestTrace::continue_or_start(&store, Some(direct.id()), "POST /chatbot");
        assert_ne!(
            replay.id(),
            direct.id(),
            "a direct call's trace is not continued"
        );
    }

    #[test]
    fn the_store_is_bounded_in_lines_fields_and_bytes() {
        let store = TraceStore::default();
        let trace = RequestTrace::start(&store, "POST /chatbot");
        for _ in 0..MAX_LINES + 10 {
            trace.record(Line::note(Hop::Edge, "r", "x".repeat(10 * MAX_FIELD)));
        }
        let kept = store.get(trace.id()).unwrap();
        assert_eq!(kept.hops.len(), MAX_LINES);
        assert!(kept.hops[0].detail.len() <= MAX_FIELD + '…'.len_utf8());
        for _ in 0..(MAX_BYTES / (MAX_LINES * MAX_FIELD)) * 4 {
            let flood = RequestTrace::start(&store, "POST /chatbot");
            for _ in 0..MAX_LINES {
                flood.record(Line::note(Hop::Edge, "r", "y".repeat(MAX_FIELD)));
            }
        }
        let (count, bytes) = store.usage();
        assert!(
            bytes <= MAX_BYTES + MAX_LINES * (MAX_FIELD + 64),
            "{bytes} bytes kept"
        );
        assert!(count < MAX_TRACES, "{count} traces kept");
        assert!(store.get(trace.id()).is_none(), "the oldest went first");
    }
}
