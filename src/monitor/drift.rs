//! How far a window of scored rows is from the reference, and how good the model is expected
//! to be on it, without labels.
//!
//! - The population stability index: `Σ (a_i − r_i)·ln(a_i / r_i)` over the bins, `a` the
//!   window's shares and `r` the reference's, each at least 1e-4 so an empty bin counts as
//!   rare, not impossible (as Evidently does). Customary reading: under 0.1 stable, 0.1 to 0.2
//!   moving, 0.2 and over shifted.
//! - The Jensen–Shannon distance: the square root of the Jensen–Shannon divergence in nats,
//!   as `scipy.spatial.distance.jensenshannon` computes it (both distributions normalised).
//! - Confidence-based performance estimation (as NannyML's CBPE): with calibrated
//!   probabilities `p`, a row answered "legendary" is a true positive with probability `p`
//!   and a false positive with `1 − p`; one answered "not" is a false negative with `p`. The
//!   expected counts give expected precision, recall and F1.

use serde::Serialize;

/// The smallest share a bin is taken to have.
const FLOOR: f64 = 1e-4;

/// The population stability index of `counts` against `reference` shares; `None` for no rows.
pub fn psi(counts: &[u64], reference: &[f64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss, reason = "counts of rows")]
    let sum = counts
        .iter()
        .zip(reference)
        .map(|(&c, &r)| {
            let a = (c as f64 / total as f64).max(FLOOR);
            let r = r.max(FLOOR);
            (a - r) * (a / r).ln()
        })
        .sum();
    Some(sum)
}

/// The Jensen–Shannon distance between `counts` and `reference` shares; `None` for no rows.
pub fn js_distance(counts: &[u64], reference: &[f64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    let reference_total: f64 = reference.iter().sum();
    if total == 0 || reference_total <= 0.0 {
        return None;
    }
    // p·ln(p/m), zero where p is.
    let term = |p: f64, m: f64| if p > 0.0 { p * (p / m).ln() } else { 0.0 };
    let mut divergence = 0.0;
    for (&c, &r) in counts.iter().zip(reference) {
        #[allow(clippy::cast_precision_loss, reason = "counts of rows")]
        let p = c as f64 / total as f64;
        let q = r / reference_total;
        let m = (p + q) / 2.0;
        divergence += (term(p, m) + term(q, m)) / 2.0;
    }
    Some(divergence.max(0.0).sqrt())
}

/// Expected quality of a window's answers, from their probabilities alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Expected {
    /// Expected precision; `None` when nothing was answered "legendary".
    pub precision: Option<f64>,
    /// Expected recall; `None` when no row is expected to be legendary.
    pub recall: Option<f64>,
    /// Expected F1; `None` when neither is defined.
    pub f1: Option<f64>,
}

/// Sums over a window's rows: expected true positives, false positives, false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Confusion {
    pub(super) tp: f64,
    pub(super) fp: f64,
    pub(super) fn_: f64,
}

impl Confusion {
    /// Adds one row answered `decided` with probability `p`.
    pub(super) fn add(&mut self, p: f64, decided: bool) {
        if decided {
            self.tp += p;
            self.fp += 1.0 - p;
        } else {
            self.fn_ += p;
        }
    }

    pub(super) fn merge(&mut self, other: &Self) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }
}

/// Expected precision, recall and F1 of rows answered `decisions` with calibrated
/// `probabilities`.
pub fn expected_quality(probabilities: &[f64], decisions: &[bool]) -> Expected {
    let mut c = Confusion::default();
    for (&p, &d) in probabilities.iter().zip(decisions) {
        c.add(p, d);
    }
    expected_of(&c)
}

pub(super) fn expected_of(c: &Confusion) -> Expected {
    let ratio = |num: f64, den: f64| (den > 0.0).then(|| num / den);
    Expected {
        precision: ratio(c.tp, c.tp + c.fp),
        recall: ratio(c.tp, c.tp + c.fn_),
        f1: ratio(2.0 * c.tp, 2.0 * c.tp + c.fp + c.fn_),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_and_js_are_zero_on_the_reference_and_grow_with_the_shift() {
        let reference = [0.25; 4];
        assert_eq!(psi(&[10, 10, 10, 10], &reference), Some(0.0));
        assert_eq!(js_distance(&[10, 10, 10, 10], &reference), Some(0.0));
        assert_eq!(psi(&[0, 0, 0, 0], &reference), None);
        let small = psi(&[12, 10, 10, 8], &reference).unwrap();
        let large = psi(&[40, 0, 0, 0], &reference).unwrap();
        assert!(0.0 < small && small < 0.1 && large > 2.0, "{small} {large}");
        // A window all in one bin of four equal ones: JSD = ln 2 − (3/8)·ln(5/3)… by hand:
        // p = (1,0,0,0), q = (¼,¼,¼,¼), m = (⅝,⅛,⅛,⅛).
        let by_hand = (0.5 * (1.0f64 / 0.625).ln()
            + 0.5 * (0.25 * (0.25f64 / 0.625).ln() + 3.0 * 0.25 * (0.25f64 / 0.125).ln()))
        .sqrt();
        let js = js_distance(&[40, 0, 0, 0], &reference).unwrap();
        assert!((js - by_hand).abs() < 1e-15, "{js} {by_hand}");
        // The floor: an empty bin weighs as a share of 1e-4.
        let floored = (1e-4 - 0.5) * (1e-4f64 / 0.5).ln() + (1.0 - 0.5) * (1.0f64 / 0.5).ln();
        assert!((psi(&[0, 7], &[0.5, 0.5]).unwrap() - floored).abs() < 1e-12);
    }

    #[test]
    fn expected_quality_counts_each_answer_by_its_probability() {
        let e = expected_quality(&[0.9, 0.6, 0.2, 0.1], &[true, true, false, false]);
        // tp = 1.5, fp = 0.5, fn = 0.3.
        assert!((e.precision.unwrap() - 0.75).abs() < 1e-12);
        assert!((e.recall.unwrap() - 1.5 / 1.8).abs() < 1e-12);
        assert!((e.f1.unwrap() - 3.0 / 3.8).abs() < 1e-12);
        let none = expected_quality(&[0.0, 0.0], &[false, false]);
        assert_eq!((none.precision, none.recall, none.f1), (None, None, None));
    }
}
