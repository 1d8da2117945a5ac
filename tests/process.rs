//! The real `legendary` binary as a process: graceful shutdown under load on SIGTERM, its
//! log lines (text and JSON, request ids, secrets never printed), and a hostile model refused
//! at start-up in bounded memory; and the CLI synopsis of docs/cli.md against `--help`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test crate: a failed step is a failed test"
)]

mod support;

mod process {
    mod bodies;
    mod bundled;
    mod catalogue;
    mod cli_doc;
    mod connections;
    mod echoing_registry;
    mod hostile_model;
    mod hostile_registry;
    mod logs;
    mod permits;
    mod sandbox;
    mod shutdown;
}
