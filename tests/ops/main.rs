//! Operations: `/metrics` (parsed with a Prometheus text parser), request ids, JSON logs,
//! readiness and liveness, and graceful shutdown in process. The process-level shutdown
//! test under load is `tests/shutdown.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/app.rs"]
mod app;
mod harness;
mod logs;
mod metrics;
mod process;
mod readiness;
mod shutdown;
