//! The end-to-end suite: each test one scenario, through the whole chain, offline.

mod cors;
mod faults;
mod happy;
mod integrity;
mod lifecycle;
mod live;
mod security;
mod support;
