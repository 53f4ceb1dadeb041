//! fake-cognito's integration tests: everything through a real socket.

mod api;
mod aws_cli;
mod binary;
mod cors;
mod discovery;
mod hooks;
mod independent_verifier;
mod refresh;
mod srp;
mod support;
