//! The emulator's integration tests, through real processes and sockets.

mod check;
mod edge;
mod function_url;
mod limits;
mod runtime;
mod sigv4_suite;
mod support;
