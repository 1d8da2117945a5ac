//! Helpers shared by the three integration-test binaries (`in_process`, `end_to_end`,
//! `process`): each declares `mod support;` and uses what it needs.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod mlflow_server;
pub mod process;
pub mod prometheus;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

/// The repository's root, so tests find `models/` and `data/` from any working directory.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A loopback port free right now (for child processes that need a port on the command line;
/// in-process servers bind port 0 instead).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binding an ephemeral port")
        .local_addr()
        .expect("reading the bound address")
        .port()
}

/// Polls `check` every `every` until it returns `Some`, for at most `limit`; panics naming
/// `what` when the time runs out.
pub fn wait_until<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

/// [`wait_until`] for async checks, sleeping on the runtime between polls.
pub async fn wait_until_async<T, F: Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(every).await;
    }
}
