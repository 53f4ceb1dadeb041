//! fake-gemini's integration tests: everything through real sockets.

mod binary;
mod errors;
mod faults;
mod independent_client;
mod scripts;
mod streaming;
mod support;
mod verification;
