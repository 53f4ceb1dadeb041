//! The emulator's integration tests, through real processes and sockets.

mod runtime;
mod support;
