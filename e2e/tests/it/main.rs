//! The end-to-end suite: each test one scenario, through the whole chain, offline.

mod browser;
mod containers;
mod cors;
mod faults;
mod happy;
mod integrity;
mod lifecycle;
mod live;
mod security;
mod support;
mod web_client;
