//! Who may read a body, and who may explain, at once.
//!
//! A body is read only under a permit of its class, taken before the first byte is buffered:
//! small bodies (under [`SMALL_BODY_BYTES`], a few rows) from `--max-small-requests` permits,
//! large ones from `--max-large-requests`. Memory is then bounded by the permits, not by the
//! connections: a thousand uploads that stall hold sockets, not buffers. The classes are apart
//! so that a 1-row request never waits behind a large upload, however slowly that one drips.
//!
//! Explanations take a permit of their own (as many as large requests): their cost is CPU,
//! not memory, and a 1-row `/explain` must not wait for the large-body permits either.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::state::ServerLimits;

/// Bodies under this many bytes are small: about 3,000 rows or fewer in any format.
pub(crate) const SMALL_BODY_BYTES: usize = 64 * 1024;

/// The server's permits.
#[derive(Debug)]
pub(crate) struct Permits {
    small: Arc<Semaphore>,
    large: Arc<Semaphore>,
    explanations: Arc<Semaphore>,
}

/// A held permit; the slot frees when it drops.
#[derive(Debug)]
pub(crate) struct Permit(#[allow(dead_code, reason = "held for its drop")] OwnedSemaphorePermit);

impl Permits {
    /// Permits as `limits` count them (at least one of each).
    pub(crate) fn new(limits: &ServerLimits) -> Self {
        let semaphore = |n: usize| Arc::new(Semaphore::new(n.max(1)));
        Self {
            small: semaphore(limits.max_small_requests),
            large: semaphore(limits.max_large_requests),
            explanations: semaphore(limits.max_large_requests),
        }
    }

    /// Waits for a permit to read a small body.
    pub(crate) async fn small(&self) -> Option<Permit> {
        Self::take(&self.small).await
    }

    /// Waits for a permit to read (and score) a large body.
    pub(crate) async fn large(&self) -> Option<Permit> {
        Self::take(&self.large).await
    }

    /// Waits for a permit to compute an explanation.
    pub(crate) async fn explanation(&self) -> Option<Permit> {
        Self::take(&self.explanations).await
    }

    /// The semaphores are never closed, so this is `None` only if one were.
    async fn take(semaphore: &Arc<Semaphore>) -> Option<Permit> {
        Arc::clone(semaphore).acquire_owned().await.ok().map(Permit)
    }
}
