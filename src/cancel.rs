//! Cooperative cancellation of work that runs off the async workers.
//!
//! A request that times out (or whose client goes away) is dropped by the server, but work it
//! handed to the blocking pool or to rayon cannot be dropped: it runs on, holding a thread and
//! a permit, unless it looks. A [`Cancel`] is what it looks at: the request holds the
//! [`OnDrop`] guard, and the work checks [`Cancel::is_cancelled`] between blocks of rows (or
//! explained rows, or coalitions) and returns early once it is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the work's requester has gone; cheap to clone and to check.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token nobody cancels (batch jobs, tests, benchmarks).
    pub fn never() -> Self {
        Self::default()
    }

    /// A token, and the guard that cancels it when dropped: keep the guard in the request's
    /// future and move the token into the work.
    pub fn on_drop() -> (Self, OnDrop) {
        let cancel = Self::default();
        (cancel.clone(), OnDrop(cancel))
    }

    /// True once the guard was dropped.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Cancels its token when dropped.
#[derive(Debug)]
pub struct OnDrop(Cancel);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_guard_cancels_every_clone() {
        let (cancel, guard) = Cancel::on_drop();
        let work = cancel.clone();
        assert!(!work.is_cancelled());
        drop(guard);
        assert!(work.is_cancelled() && cancel.is_cancelled());
        assert!(!Cancel::never().is_cancelled());
    }
}
