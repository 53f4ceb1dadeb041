//! The emulator's integration tests, through real processes and sockets.

mod runtime;
mod sigv4_suite;
mod support;
