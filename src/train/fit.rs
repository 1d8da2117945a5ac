//! Fitting one forest, and choosing its decision threshold from out-of-fold votes.

use crate::dataset::kfold;
use crate::model::{ForestModel, ForestParams, Model, ModelError};

use super::metrics::Metrics;

/// How the decision threshold on the vote fraction is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A fixed threshold (0.5 is the plain majority vote).
    Fixed(f64),
    /// The threshold maximising F1 on out-of-fold votes of the training rows.
    Auto,
}

impl std::str::FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        match s.parse::<f64>() {
            Ok(t) if (0.0..1.0).contains(&t) => Ok(Self::Fixed(t)),
            _ => Err(format!(
                "'{s}' is not a threshold: expected 'auto' or a number in [0, 1)"
            )),
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(t) => write!(f, "{t}"),
            Self::Auto => f.write_str("auto"),
        }
    }
}

/// Fits a forest on `rows` (six raw stats each) with a fixed threshold.
///
/// # Errors
/// When smartcore refuses the data or parameters.
fn fit_forest(
    rows: &[[f64; 6]],
    labels: &[bool],
    params: &ForestParams,
    threshold: f64,
) -> Result<Model, ModelError> {
    let forest = legendary_forest::fit_forest(rows, labels, params)?;
    Ok(ForestModel::from_forest(forest, params.clone(), threshold)?.into())
}

/// Fits with the threshold rule: `Auto` first runs an inner stratified 5-fold over `rows`
/// and picks the threshold that maximises F1 on the out-of-fold votes.
///
/// # Errors
/// When a fit fails.
pub(super) fn fit(
    rows: &[[f64; 6]],
    labels: &[bool],
    params: &ForestParams,
    threshold: Threshold,
) -> Result<Model, ModelError> {
    let t = match threshold {
        Threshold::Fixed(t) => t,
        Threshold::Auto => tune_threshold(rows, labels, params)?,
    };
    fit_forest(rows, labels, params, t)
}

fn tune_threshold(
    rows: &[[f64; 6]],
    labels: &[bool],
    params: &ForestParams,
) -> Result<f64, ModelError> {
    let mut oof = vec![0.0; rows.len()];
    for split in kfold(labels, 5, params.seed ^ 0x5EED) {
        let train_rows: Vec<[f64; 6]> = split.train.iter().map(|&i| rows[i]).collect();
        let train_labels: Vec<bool> = split.train.iter().map(|&i| labels[i]).collect();
        let model = fit_forest(&train_rows, &train_labels, params, 0.5)?;
        let test_rows: Vec<[f64; 6]> = split.test.iter().map(|&i| rows[i]).collect();
        for (&i, p) in split.test.iter().zip(model.proba_rows(&test_rows)) {
            oof[i] = p;
        }
    }
    Ok(best_f1_threshold(labels, &oof))
}

/// The threshold in 0.05..=0.95 (step 0.05) with the best F1; ties go to the one nearest 0.5.
pub(super) fn best_f1_threshold(labels: &[bool], proba: &[f64]) -> f64 {
    let mut best = (f64::NEG_INFINITY, 0.5);
    for k in 1..20 {
        let t = f64::from(k) * 0.05;
        let f1 = Metrics::compute(labels, proba, t).f1;
        let better = f1 > best.0 + 1e-12
            || ((f1 - best.0).abs() <= 1e-12 && (t - 0.5).abs() < (best.1 - 0.5_f64).abs());
        if better {
            best = (f1, t);
        }
    }
    // Round away float noise so the recorded threshold reads as 0.35, not 0.35000000000000003.
    (best.1 * 100.0).round() / 100.0
}
