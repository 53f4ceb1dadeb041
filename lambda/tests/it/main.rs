//! chatbot-query's integration tests: the handler behind a real socket, with fake-cognito and
//! fake-gemini as the upstreams, and the `bootstrap` binary under a minimal Runtime API.

mod auth;
mod bootstrap;
mod ssm;
mod streaming;
mod support;
mod validation;
