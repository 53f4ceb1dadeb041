//! The chatbot chain, offline: a CloudFront edge, a Lambda Function URL and the Lambda Runtime API
//! around the real `chatbot-query` function, with fake Cognito and Gemini.
//!
//! # Layout (along a request's path)
//! - [`chain`]: every component started together (`up`, the e2e suite).
//! - [`topology`]: the deployment being emulated (embedded default, TOML).
//! - [`server`]: the contract every listener follows (bind, serve, limits, shutdown).
//! - [`edge`]: the CloudFront edge, a pipeline of steps (behavior → viewer headers → OAC sign →
//!   forward → idle timeout).
//! - [`function_url`]: the Function URL, a pipeline of steps (receive → CORS → verify → authorize →
//!   event → invoke → respond).
//! - [`refusal`]: the refusal both hops' steps return (the surface's error, the hop, rule and hint).
//! - [`pattern`]: `*`/`?` wildcards (path patterns, `ArnLike`).
//! - [`sigv4`]: SigV4 verification (parse → compute → verify).
//! - [`ssm`]: SSM `GetParameter` for the function's Gemini key.
//! - [`site`]: the local chat page `up` serves (the browser half).
//! - [`client`]: the reference client (what the browser must do); [`scenarios`]: the canonical scenarios.
//! - [`check`]: `emulator check`, the pre-apply gate.
//! - [`terraform`]: the Terraform reader, the gate's lint rules, and the topology it describes.
//! - [`clock`]: the injected time source.
//! - [`trace`]: per-request traces (which hop refused, which rule, what to change).
//! - [`testing`]: the harness the emulator's tests and the e2e suite share.
//! - [`runtime`]: the Runtime API host and execution environments ([`runtime::Invoker`]), and the
//!   incremental response-prelude decoder.
//!

pub mod chain;
pub mod check;
pub mod client;
pub mod clock;
#[cfg(feature = "testcontainers")]
pub mod containers;
pub mod edge;
pub mod function_url;
pub mod health;
pub mod pattern;
pub mod refusal;
pub mod runtime;
pub mod scenarios;
pub mod server;
pub mod sigv4;
pub mod site;
pub mod ssm;
pub mod terraform;
pub mod testing;
pub mod topology;
pub mod trace;

pub use runtime::{Invoker, InvokerConfig};
pub use topology::Topology;
