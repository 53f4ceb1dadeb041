//! `chatbot-query`: the production Lambda behind the coding-test site's AI assistant.
//!
//! A browser sends `POST /chatbot` with a Cognito access token in `x-chatbot-authorization`; the function
//! verifies the token, asks Gemini with the conversation and the problem context, and relays the streamed
//! answer as Server-Sent Events (see [`sse`]).
//!
//! # Layout (along the data's path)
//! - [`config`]: the environment, read once per cold start.
//! - [`handler`]: the HTTP handler and the cold start ([`handler::App`]).
//! - [`errors`]: every answer before the stream starts, through one table.
//! - [`request`]: the chat request and its limits.
//! - [`auth`]: bearer token, JWKS cache, RS256 verification, [`auth::VerifiedClaims`].
//! - [`ssm`]: the Gemini key from SSM Parameter Store, SigV4-signed.
//! - [`gemini`]: the Gemini request, the start of its stream, and [`gemini::decoder`] (incremental SSE).
//! - [`relay`]: Gemini's events to the function's events, with keep-alives and cancellation.
//! - [`sse`]: the function's SSE wire types, shared with the emulator's client.
//! - [`runtime`]: the Lambda Runtime API loop the `bootstrap` binary runs.

pub mod auth;
pub mod config;
pub mod errors;
pub mod gemini;
pub mod handler;
pub mod relay;
pub mod request;
pub mod runtime;
pub mod sse;
pub mod ssm;

pub use config::Config;
pub use handler::{App, handle};
