//! What tests steer and observe: gates that hold a stream before a chunk, stream lifecycle counts
//! (started, completed, cancelled by the client), the journal of received requests, and the per-connection
//! handle that lets a script reset its TCP connection.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A gate's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GateState {
    /// How many streams have arrived at the gate.
    pub reached: u64,
    /// Whether it has been released (it then stays open).
    pub open: bool,
}

/// Named gates; a stream arriving at a closed gate waits until it is released.
#[derive(Debug)]
pub(crate) struct Gates {
    states: Mutex<HashMap<String, GateState>>,
    changed: watch::Sender<u64>,
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            states: Mutex::default(),
            changed: watch::Sender::new(0),
        }
    }
}

impl Gates {
    fn bump(&self) {
        self.changed.send_modify(|version| *version += 1);
    }

    pub fn state(&self, name: &str) -> GateState {
        lock(&self.states).get(name).copied().unwrap_or_default()
    }

    /// Records an arrival and waits until the gate is open.
    pub async fn pass(&self, name: &str) {
        lock(&self.states)
            .entry(name.to_owned())
            .or_default()
            .reached += 1;
        self.bump();
        self.wait_until(|| self.state(name).open).await;
    }

    pub fn release(&self, name: &str) {
        lock(&self.states).entry(name.to_owned()).or_default().open = true;
        self.bump();
    }

    pub fn close(&self, name: &str) {
        lock(&self.states).entry(name.to_owned()).or_default().open = false;
        self.bump();
    }

    pub async fn wait_reached(&self, name: &str, count: u64) {
        self.wait_until(|| self.state(name).reached >= count).await;
    }

    async fn wait_until(&self, condition: impl Fn() -> bool) {
        let mut changes = self.changed.subscribe();
        loop {
            changes.borrow_and_update();
            if condition() {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Counts of streamed answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StreamCounts {
    /// Streams that began.
    pub started: u64,
    /// Streams that ran to their scripted end.
    pub completed: u64,
    /// Streams stopped because the client went away.
    pub cancelled: u64,
}

/// One request as received, with the API key redacted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string (`key=` redacted).
    pub query: Option<String>,
    /// Headers, lower-case names, in arrival order (`x-goog-api-key` redacted).
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or as a string when it is not JSON.
    pub body: Value,
    /// The scenario that answered, if one did.
    pub scenario: Option<String>,
}

impl RecordedRequest {
    /// The value of a header (first occurrence).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The placeholder that replaces the API key in recorded requests.
pub const REDACTED: &str = "[redacted]";

/// How many requests the journal keeps (older ones are dropped, and counted).
pub const JOURNAL_MAX_REQUESTS: usize = 1000;
/// How many bytes of request bodies the journal keeps.
pub const JOURNAL_MAX_BYTES: usize = 8 * 1024 * 1024;
/// The most of one body the journal keeps; a longer body is recorded as its size only.
pub const JOURNAL_MAX_BODY: usize = 1024 * 1024;

/// One journal entry: what verification needs, the body as the raw bytes (parsed when read).
#[derive(Debug)]
pub(crate) struct Entry {
    pub index: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
    pub body_len: usize,
    pub scenario: Option<String>,
}

impl Entry {
    fn recorded(&self) -> RecordedRequest {
        let body = if self.body_len > self.body.len() {
            Value::String(format!("[a body of {} bytes, not kept]", self.body_len))
        } else {
            serde_json::from_slice(&self.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()))
        };
        RecordedRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body,
            scenario: self.scenario.clone(),
        }
    }
}

/// The request journal: bounded in count and bytes, the oldest dropped first.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: std::collections::VecDeque<Entry>,
    bytes: usize,
    total: u64,
    dropped: u64,
}

/// Journal, stream counts and expectations.
#[derive(Debug)]
pub(crate) struct Observations {
    pub journal: Mutex<Journal>,
    pub streams: watch::Sender<StreamCounts>,
    pub expected: Mutex<Option<usize>>,
}

impl Default for Observations {
    fn default() -> Self {
        Self {
            journal: Mutex::default(),
            streams: watch::Sender::new(StreamCounts::default()),
            expected: Mutex::default(),
        }
    }
}

impl Observations {
    /// Records a request (its body cut to [`JOURNAL_MAX_BODY`]); returns its index.
    pub fn record(&self, mut entry: Entry) -> u64 {
        entry.body_len = entry.body.len();
        if entry.body.len() > JOURNAL_MAX_BODY {
            entry.body = bytes::Bytes::new();
        }
        let mut journal = lock(&self.journal);
        entry.index = journal.total;
        journal.total += 1;
        journal.bytes += entry.body.len();
        journal.entries.push_back(entry);
        while journal.entries.len() > JOURNAL_MAX_REQUESTS || journal.bytes > JOURNAL_MAX_BYTES {
            match journal.entries.pop_front() {
                Some(old) => {
                    journal.bytes -= old.body.len();
                    journal.dropped += 1;
                }
                None => break,
            }
        }
        journal.total - 1
    }

    pub fn set_scenario(&self, index: u64, scenario: &str) {
        let mut journal = lock(&self.journal);
        if let Some(entry) = journal.entries.iter_mut().rev().find(|e| e.index == index) {
            entry.scenario = Some(scenario.to_owned());
        }
    }

    /// The requests still kept, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.journal)
            .entries
            .iter()
            .map(Entry::recorded)
            .collect()
    }

    /// How many requests were received, and how many of those were dropped from the journal.
    pub fn counts(&self) -> (u64, u64) {
        let journal = lock(&self.journal);
        (journal.total, journal.dropped)
    }

    pub fn count_stream(&self, change: impl FnOnce(&mut StreamCounts)) {
        self.streams.send_modify(change);
    }

    pub async fn wait_streams(&self, condition: impl Fn(&StreamCounts) -> bool) {
        let mut changes = self.streams.subscribe();
        // The sender lives as long as the server state, so `wait_for` only fails if it is gone.
        let _ = changes.wait_for(|counts| condition(counts)).await;
    }
}

/// The accepted socket of one connection, kept so a script can reset it.
#[derive(Debug)]
pub(crate) struct ConnectionControl {
    socket: Mutex<Option<socket2::Socket>>,
}

impl ConnectionControl {
    pub fn new(stream: &tokio::net::TcpStream) -> Self {
        let socket = socket2::SockRef::from(stream).try_clone().ok();
        Self {
            socket: Mutex::new(socket),
        }
    }

    /// Arranges for the connection to close with RST: linger 0 on the socket, and this duplicate
    /// descriptor closed so that the server's own close is the last one.
    pub fn arm_reset(&self) {
        if let Some(socket) = lock(&self.socket).take() {
            let _ = socket.set_linger(Some(Duration::ZERO));
        }
    }
}
