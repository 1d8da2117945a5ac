//! The payload log's queue: encoded rows waiting for the writer, bounded in bytes.
//!
//! The bound counts every byte accepted and not yet written, the batch the writer is writing
//! included, so a stalled sink holds at most the bound, whatever arrives. A request only ever
//! tries to push: when its rows do not fit, they are dropped (the caller counts them), never
//! waited for. The one lock is held for a push or a swap of the pending list, never across
//! a write.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Encoded rows of one request: the bytes (their capacity is what is counted) and how many
/// rows they hold.
pub(super) struct Chunk {
    pub(super) bytes: Vec<u8>,
    pub(super) rows: usize,
}

/// What the writer takes at once.
pub(super) struct Batch {
    pub(super) chunks: Vec<Chunk>,
    /// Bytes counted against the bound for these chunks (released once written or dropped).
    pub(super) counted: usize,
    /// The queue is closed: this is the last batch.
    pub(super) closed: bool,
}

impl Batch {
    pub(super) fn rows(&self) -> usize {
        self.chunks.iter().map(|c| c.rows).sum()
    }
}

#[derive(Default)]
struct Pending {
    chunks: VecDeque<Chunk>,
    bytes: usize,
}

/// The bounded queue shared by the requests and the writer.
pub(super) struct Queue {
    max_bytes: usize,
    /// A batch is due as soon as this many bytes are pending.
    flush_bytes: usize,
    /// Accepted and not yet written (or dropped): what the bound applies to.
    counted: AtomicUsize,
    /// The most `counted` ever was.
    peak: AtomicUsize,
    pending: Mutex<Pending>,
    due: Condvar,
    closed: AtomicBool,
}

impl Queue {
    /// A queue of at most `max_bytes`, due for a write at half of it.
    pub(super) fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            flush_bytes: (max_bytes / 2).max(1),
            counted: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            pending: Mutex::new(Pending::default()),
            due: Condvar::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// Bytes that may still be pushed now.
    pub(super) fn available(&self) -> usize {
        self.max_bytes.saturating_sub(self.counted.load(Relaxed))
    }

    /// Bytes accepted and not yet written.
    pub(super) fn counted(&self) -> usize {
        self.counted.load(Relaxed)
    }

    /// The most bytes ever held at once.
    pub(super) fn peak(&self) -> usize {
        self.peak.load(Relaxed)
    }

    /// The bound.
    pub(super) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Queues `chunk` when it fits under the bound and the queue is open; else gives it back.
    pub(super) fn try_push(&self, chunk: Chunk) -> Result<(), Chunk> {
        let size = chunk.bytes.capacity();
        if self.is_closed() {
            return Err(chunk);
        }
        let reserved = self
            .counted
            .fetch_update(Relaxed, Relaxed, |counted| {
                counted
                    .checked_add(size)
                    .filter(|&after| after <= self.max_bytes)
            })
            .is_ok();
        if !reserved {
            return Err(chunk);
        }
        self.peak.fetch_max(self.counted.load(Relaxed), Relaxed);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.bytes += size;
        pending.chunks.push_back(chunk);
        if pending.bytes >= self.flush_bytes {
            self.due.notify_one();
        }
        Ok(())
    }

    /// Waits until a batch is due (half the bound pending, `interval` passed, or the queue
    /// closed), then takes everything pending.
    pub(super) fn take(&self, interval: Duration) -> Batch {
        let deadline = Instant::now() + interval;
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let closed = self.is_closed();
            let now = Instant::now();
            if closed || pending.bytes >= self.flush_bytes || now >= deadline {
                let taken = std::mem::take(&mut *pending);
                return Batch {
                    counted: taken.bytes,
                    chunks: taken.chunks.into(),
                    closed,
                };
            }
            pending = self
                .due
                .wait_timeout(pending, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Gives back the bytes of a batch written or dropped.
    pub(super) fn release(&self, bytes: usize) {
        self.counted.fetch_sub(bytes, Relaxed);
    }

    /// Stops taking rows and wakes the writer for its last batch.
    pub(super) fn close(&self) {
        self.closed.store(true, Relaxed);
        let _guard = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        self.due.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(size: usize) -> Chunk {
        let mut bytes = Vec::with_capacity(size);
        bytes.resize(size, b'x');
        Chunk { bytes, rows: 1 }
    }

    #[test]
    fn pushes_stop_at_the_bound_until_a_batch_is_released() {
        let queue = Queue::new(100);
        assert!(queue.try_push(chunk(60)).is_ok());
        assert!(queue.try_push(chunk(60)).is_err());
        assert!(queue.try_push(chunk(40)).is_ok());
        assert_eq!(
            (queue.counted(), queue.peak(), queue.available()),
            (100, 100, 0)
        );
        // Half the bound is pending: due at once, whatever the interval.
        let batch = queue.take(Duration::from_secs(3600));
        assert_eq!((batch.rows(), batch.counted, batch.closed), (2, 100, false));
        // Taken but not written: still counted.
        assert!(queue.try_push(chunk(1)).is_err());
        queue.release(batch.counted);
        assert!(queue.try_push(chunk(10)).is_ok());
    }

    #[test]
    fn a_batch_is_due_after_the_interval_and_a_closed_queue_takes_nothing_more() {
        let queue = Queue::new(1000);
        assert!(queue.try_push(chunk(10)).is_ok());
        let started = Instant::now();
        let batch = queue.take(Duration::from_millis(50));
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(batch.rows(), 1);
        queue.close();
        assert!(queue.try_push(chunk(10)).is_err());
        let last = queue.take(Duration::from_secs(3600));
        assert!(last.closed && last.chunks.is_empty());
    }
}
