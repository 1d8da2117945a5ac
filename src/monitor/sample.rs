//! Which rows of a batch a sampling share keeps: each row with probability `share`, decided by
//! a SplitMix64 stream indexed by a shared counter, so concurrent requests never contend on a
//! generator and a share of 1 keeps every row without drawing.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A share of rows to keep, 0 to 1.
#[derive(Debug)]
pub(crate) struct Sampler {
    share: f64,
    /// The next index of the stream.
    draws: AtomicU64,
}

impl Sampler {
    /// Keeps `share` of the rows (clamped to 0..=1).
    pub(crate) fn new(share: f64) -> Self {
        Self {
            share: share.clamp(0.0, 1.0),
            draws: AtomicU64::new(0),
        }
    }

    /// The share.
    pub(crate) fn share(&self) -> f64 {
        self.share
    }

    /// For each of `rows` rows, whether it is kept.
    pub(crate) fn picks(&self, rows: usize) -> impl Iterator<Item = bool> + use<> {
        let all = self.share >= 1.0;
        let none = self.share <= 0.0;
        let start = match all || none {
            true => 0,
            false => self.draws.fetch_add(rows as u64, Relaxed),
        };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a share of 2^64"
        )]
        let cut = (self.share * u64::MAX as f64) as u64;
        (0..rows as u64).map(move |i| {
            all || (!none
                && legendary_forest::SplitMix64::new(start.wrapping_add(i)).next_u64() <= cut)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_keeps_about_its_share_and_the_ends_are_exact() {
        let kept = Sampler::new(0.25).picks(10_000).filter(|&k| k).count();
        assert!((2_200..2_800).contains(&kept), "{kept}");
        assert!(Sampler::new(1.0).picks(100).all(|k| k));
        assert!(Sampler::new(0.0).picks(100).all(|k| !k));
    }
}
