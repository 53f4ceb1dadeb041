//! The chatbot chain, offline: a CloudFront edge, a Lambda Function URL and the Lambda Runtime API
//! around the real `chatbot-query` function, with fake Cognito and Gemini.
//!
//! # Layout (along a request's path)
//! - [`topology`]: the deployment being emulated (embedded default, TOML).
//! - [`sigv4`]: SigV4 verification (parse → compute → verify).
//! - [`runtime`]: the Runtime API host and execution environments ([`runtime::Invoker`]), and the
//!   incremental response-prelude decoder.
//!
//! Still to come (see the README): the Function URL (SigV4, resource policy, AWS's refusals, event
//! v2.0), the CloudFront edge (OAC signing, traces), and the `up` / `chat` / `check` commands.

pub mod runtime;
pub mod sigv4;
pub mod topology;

pub use runtime::{Invoker, InvokerConfig};
pub use topology::Topology;
