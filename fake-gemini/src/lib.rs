//! A scriptable fake of Google's Gemini API (`streamGenerateContent?alt=sse`, the JSON-array stream,
//! `generateContent`), byte-faithful to real captures, with faults, gates and wiremock-style request
//! verification.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fake_gemini::SpawnError> {
//! use fake_gemini::{Config, FakeGemini, Scenario};
//! let gemini = FakeGemini::spawn(Config::default()).await?;
//! gemini.mount(Scenario::stream(["Hello", ", world"]).gate_before(1, "second"));
//! // … the client reads "Hello" while the second chunk is held …
//! gemini.release("second");
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: address, key, models, scenario files.
//! - [`scenario`]: matchers and replies (Rust builder and TOML).
//! - [`request`]: request validation as the API does it.
//! - [`wire`]: chunk shapes per model family and the framings; [`json`]: Google's JSON spelling.
//! - [`errors`]: Google's error bodies.
//! - `play`: plays a script into a body (delays, gates, split writes, endings).
//! - `control`: gates, stream counts, the request journal, connection resets.
//! - `server`: the accept loop (TLS, resets), the router, [`spawn`], [`Handle`].
//! - [`tls`]: the generated CA and certificate for `--tls`.

pub mod config;
#[cfg(feature = "testcontainers")]
pub mod container;
mod control;
pub mod errors;
pub mod json;
mod play;
pub mod request;
pub mod scenario;
mod server;
pub mod tls;
pub mod wire;

pub use config::{Config, DEFAULT_API_KEY, DEFAULT_MODELS, Script};
pub use control::{
    GateState, JOURNAL_MAX_BODY, JOURNAL_MAX_BYTES, JOURNAL_MAX_REQUESTS, REDACTED,
    RecordedRequest, StreamCounts,
};
pub use scenario::{Chunk, End, Matcher, Reply, Scenario};
pub use server::{Handle, SpawnError, WAIT_LIMIT, reachable, spawn};

/// The entry point: `FakeGemini::spawn(config)`.
#[derive(Debug)]
pub struct FakeGemini;

impl FakeGemini {
    /// Starts the fake on `config.addr` (port 0 by default).
    pub async fn spawn(config: Config) -> Result<Handle, SpawnError> {
        server::spawn(config).await
    }
}
