//! The sweep's thread pool: jobs run on a rayon pool of their own, and each finished job is
//! handed back to the calling thread as it finishes.
//!
//! The pool is the sweep's own, sized by `--parallel`, rather than rayon's global one, so
//! that the flag means what it says and the global pool stays free for the work a finished
//! job starts (the SHAP files of a logged run are computed on it).
//!
//! Results come back to the caller instead of being handled on the pool for two reasons:
//! MLflow logging then happens on one thread that is not a rayon worker, so it needs no lock,
//! and it blocks no worker that rayon could make steal another job (a worker waiting inside a
//! nested `par_iter` runs queued jobs on its own stack, which would start a second tokio
//! `block_on` inside the first one).
//!
//! A panic in one job is caught there and handed back as that job's [`Panicked`] result: the
//! other jobs run to the end.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

/// A job that panicked, with what it said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("panicked: {0}")]
pub(crate) struct Panicked(pub String);

/// Runs `work(job)` for every job on a new pool of `threads` threads (at least one, at most
/// one per job), and calls `done(job, result)` on the calling thread as each one finishes,
/// in the order they finish.
///
/// # Errors
/// When the pool's threads cannot be started.
pub(super) fn for_each<T: Send>(
    jobs: &[usize],
    threads: usize,
    work: &(dyn Fn(usize) -> T + Sync),
    done: &mut dyn FnMut(usize, Result<T, Panicked>),
) -> Result<(), rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.clamp(1, jobs.len().max(1)))
        .thread_name(|i| format!("sweep-{i}"))
        .build()?;
    let (send, receive) = mpsc::channel();
    pool.in_place_scope(|scope| {
        for &job in jobs {
            let send = send.clone();
            scope.spawn(move |_| {
                let result = catch_unwind(AssertUnwindSafe(|| work(job)))
                    .map_err(|payload| Panicked(message(payload.as_ref())));
                // The receiver lives until every job has reported (the loop below).
                let _ = send.send((job, result));
            });
        }
        // Only the jobs hold senders now: the loop ends when the last one has reported.
        drop(send);
        for (job, result) in receive {
            done(job, result);
        }
    });
    Ok(())
}

/// What a panic said: its `&str` or `String` payload, as the default hook prints it.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_job_that_panics_is_reported_as_such_and_every_other_job_completes() {
        let jobs: Vec<usize> = (0..8).collect();
        let mut results = Vec::new();
        for_each(
            &jobs,
            4,
            &|job| {
                assert_ne!(job, 5, "job {job} went wrong");
                job * 10
            },
            &mut |job, result| results.push((job, result)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        results.sort_by_key(|(job, _)| *job);
        assert_eq!(results.len(), 8, "{results:?}");
        for (job, result) in &results {
            match result {
                Ok(value) => assert_eq!(*value, job * 10),
                Err(Panicked(said)) => {
                    assert_eq!(*job, 5);
                    assert!(said.contains("job 5 went wrong"), "{said}");
                }
            }
        }
        assert_eq!(results.iter().filter(|(_, r)| r.is_err()).count(), 1);
    }

    #[test]
    fn no_more_jobs_run_at_once_than_the_pool_has_threads() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let jobs: Vec<usize> = (0..12).collect();
        let mut done = 0;
        for_each(
            &jobs,
            3,
            &|_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            },
            &mut |_, result| {
                assert!(result.is_ok());
                done += 1;
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(done, 12);
        let most = most.load(Ordering::SeqCst);
        assert!((1..=3).contains(&most), "{most} jobs ran at once");
    }

    #[test]
    fn a_panic_with_a_formatted_message_keeps_its_text() {
        let payload: Box<dyn std::any::Any + Send> = Box::new(format!("bad {}", 7));
        assert_eq!(message(payload.as_ref()), "bad 7");
        let payload: Box<dyn std::any::Any + Send> = Box::new(42_u8);
        assert_eq!(message(payload.as_ref()), "a panic without a message");
    }
}
