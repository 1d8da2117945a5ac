//! The real `legendary` binary as a process: graceful shutdown under load on SIGTERM, and its
//! log lines (text and JSON, request ids, secrets never printed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test crate: a failed step is a failed test"
)]

mod support;

mod process {
    mod bodies;
    mod connections;
    mod hostile_registry;
    mod logs;
    mod shutdown;
}
