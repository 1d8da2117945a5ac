//! The paired bootstrap: how sure the gate can be that the challenger's gain over the
//! champion is real and not the luck of which rows were held out.
//!
//! Both models answered the same rows. A resample draws rows with replacement, the same rows
//! for both models, within each class (so every resample has both classes and ROC AUC is
//! defined), and computes the gain on it. The interval is the percentile interval of the
//! gains. Pairing is what makes it tight: most of the row-to-row luck is shared by the two
//! models and cancels in the difference.

use legendary_forest::SplitMix64;

use super::pairing::Answers;
use crate::train::{MetricName, Metrics};

/// A two-sided interval of the gain (challenger over champion, in the metric's own
/// direction: positive is better).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Interval {
    /// The lower end: the gain the gate requires to clear the minimum improvement.
    pub low: f64,
    /// The upper end.
    pub high: f64,
}

/// The seed of every resample: a gate's decision is reproducible from its inputs.
const SEED: u64 = 0x6761_7465; // "gate"

/// The `confidence` percentile interval of `metric`'s gain of `challenger` over `champion`
/// on `resamples` stratified paired resamples of the rows. `None` when fewer than half the
/// resamples give a number (a metric undefined on most resamples).
pub(crate) fn gain_interval(
    labels: &[bool],
    champion: &Answers,
    challenger: &Answers,
    metric: MetricName,
    resamples: usize,
    confidence: f64,
) -> Option<Interval> {
    let positives: Vec<usize> = (0..labels.len()).filter(|&i| labels[i]).collect();
    let negatives: Vec<usize> = (0..labels.len()).filter(|&i| !labels[i]).collect();
    let mut rng = SplitMix64::new(SEED);
    let mut gains = Vec::with_capacity(resamples);
    let mut pick = Vec::with_capacity(labels.len());
    for _ in 0..resamples {
        pick.clear();
        for class in [&positives, &negatives] {
            if class.is_empty() {
                continue;
            }
            pick.extend((0..class.len()).map(|_| class[rng.below(class.len())]));
        }
        let score = |a: &Answers| {
            let y: Vec<bool> = pick.iter().map(|&i| labels[i]).collect();
            let p: Vec<f64> = pick.iter().map(|&i| a.proba[i]).collect();
            let d: Vec<bool> = pick.iter().map(|&i| a.decided[i]).collect();
            Metrics::of_decisions(&y, &p, &d).get(metric)
        };
        let gain = metric.improvement(score(champion), score(challenger));
        if gain.is_finite() {
            gains.push(gain);
        }
    }
    if gains.len() * 2 < resamples.max(1) {
        return None;
    }
    gains.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Some(Interval {
        low: quantile(&gains, tail),
        high: quantile(&gains, 1.0 - tail),
    })
}

/// The `q` quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank within the slice"
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200 rows, one in four legendary, and a model whose probability separates them with
    /// `noise` mixed in (a fixed pseudo-random pattern).
    fn model(labels: &[bool], noise: f64, seed: u64) -> Answers {
        let mut rng = SplitMix64::new(seed);
        #[allow(clippy::cast_precision_loss, reason = "a test's noise")]
        let proba: Vec<f64> = labels
            .iter()
            .map(|&y| {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let base = if y { 0.7 } else { 0.3 };
                (base + noise * (u - 0.5)).clamp(0.0, 1.0)
            })
            .collect();
        Answers::at_half(&proba)
    }

    fn labels() -> Vec<bool> {
        (0..200).map(|i| i % 4 == 0).collect()
    }

    #[test]
    fn a_model_against_itself_gains_exactly_nothing() {
        let y = labels();
        let m = model(&y, 0.9, 1);
        let i = gain_interval(&y, &m, &m, MetricName::RocAuc, 500, 0.95).unwrap();
        assert_eq!((i.low, i.high), (0.0, 0.0));
    }

    #[test]
    fn two_equally_noisy_models_get_an_interval_around_zero() {
        let y = labels();
        let (a, b) = (model(&y, 0.9, 1), model(&y, 0.9, 2));
        let i = gain_interval(&y, &a, &b, MetricName::RocAuc, 1000, 0.95).unwrap();
        assert!(i.low < 0.0 && i.high > 0.0, "{i:?}");
    }

    #[test]
    fn a_clearly_better_model_gets_an_interval_above_zero_and_the_reverse_below() {
        let y = labels();
        let (worse, better) = (model(&y, 1.2, 1), model(&y, 0.5, 2));
        let up = gain_interval(&y, &worse, &better, MetricName::RocAuc, 1000, 0.95).unwrap();
        assert!(up.low > 0.0, "{up:?}");
        let down = gain_interval(&y, &better, &worse, MetricName::RocAuc, 1000, 0.95).unwrap();
        assert!(down.high < 0.0, "{down:?}");
        // Lower is better for the Brier score: the gain is still positive for the better one.
        let brier = gain_interval(&y, &worse, &better, MetricName::Brier, 1000, 0.95).unwrap();
        assert!(brier.low > 0.0, "{brier:?}");
    }

    #[test]
    fn the_interval_is_reproducible_and_widens_with_confidence() {
        let y = labels();
        let (a, b) = (model(&y, 0.9, 1), model(&y, 0.8, 2));
        let i90 = gain_interval(&y, &a, &b, MetricName::F1, 800, 0.90).unwrap();
        let i99 = gain_interval(&y, &a, &b, MetricName::F1, 800, 0.99).unwrap();
        assert_eq!(
            i90,
            gain_interval(&y, &a, &b, MetricName::F1, 800, 0.90).unwrap()
        );
        assert!(
            i99.low <= i90.low && i99.high >= i90.high,
            "{i90:?} {i99:?}"
        );
    }

    #[test]
    fn an_undefined_metric_gives_no_interval() {
        // One class only: ROC AUC is not a number on any resample.
        let y = vec![false; 50];
        let m = Answers::at_half(&[0.2; 50]);
        assert_eq!(
            gain_interval(&y, &m, &m, MetricName::RocAuc, 100, 0.95),
            None
        );
    }
}
