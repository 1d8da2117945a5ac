//! `RetryPolicy`: which failures are retried and how long to wait between attempts
//! (exponential backoff with jitter, bounded by a retry budget and a ceiling).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use reqwest::StatusCode;

/// Bounded retries with exponential backoff and "equal jitter".
///
/// Attempt `n` (0-based) waits a random duration in `[d/2, d]` where
/// `d = min(max_backoff, initial_backoff * 2^n)`, so clients that failed together spread out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; `0` disables retrying.
    pub max_retries: u32,
    /// The backoff ceiling for the first retry.
    pub initial_backoff: Duration,
    /// No wait is longer than this.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 retries, 0.5 s doubling up to 8 s: about 15 s at most before giving up.
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub const NONE: Self = Self {
        max_retries: 0,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// The upper bound of the wait before retry number `retry` (0-based), before jitter.
    pub(crate) fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(30));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The wait before retry number `retry` (0-based): uniform in `[ceiling/2, ceiling]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            random_u64() % (spread + 1)
        };
        half + Duration::from_nanos(jitter)
    }

    /// Statuses worth another attempt: 429 (rate limited) and every 5xx.
    pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
    }

    /// Transport failures worth another attempt: the request never got an answer.
    pub(crate) fn is_retryable_error(error: &reqwest::Error) -> bool {
        error.is_connect() || error.is_timeout() || error.is_request()
    }
}

/// A random number from the standard library's per-process random hash keys; enough for jitter.
fn random_u64() -> u64 {
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling_and_stays_within_jitter_bounds() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let ceilings: Vec<u128> = (0..6).map(|n| policy.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        for retry in 0..40 {
            for _ in 0..50 {
                let wait = policy.backoff(retry);
                let ceiling = policy.ceiling(retry);
                assert!(wait >= ceiling / 2 && wait <= ceiling, "{retry}: {wait:?}");
            }
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let policy = RetryPolicy::default();
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| policy.backoff(3)).collect();
        assert!(waits.len() > 1);
    }

    #[test]
    fn no_retry_policy_never_waits() {
        assert_eq!(RetryPolicy::NONE.backoff(0), Duration::ZERO);
    }

    #[test]
    fn only_429_and_5xx_statuses_are_retried() {
        assert!(RetryPolicy::is_retryable_status(
            StatusCode::TOO_MANY_REQUESTS
        ));
        assert!(RetryPolicy::is_retryable_status(
            StatusCode::INTERNAL_SERVER_ERROR
        ));
        assert!(RetryPolicy::is_retryable_status(
            StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(!RetryPolicy::is_retryable_status(StatusCode::BAD_REQUEST));
        assert!(!RetryPolicy::is_retryable_status(StatusCode::NOT_FOUND));
        assert!(!RetryPolicy::is_retryable_status(StatusCode::UNAUTHORIZED));
    }
}
