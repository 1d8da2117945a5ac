//! Cross-validation: each fold fits exactly as the final model does (threshold rule included)
//! and scores its test part; the folds run in parallel, and every row's out-of-fold
//! probability is kept for the run's `cv_predictions.csv`.

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::Split;
use legendary_mlflow::tracking::now_ms;

use super::metrics::{self, MetricName, Metrics};
use super::{TrainConfig, TrainError, fit_config, take};

/// How the rows were dealt into folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Folding {
    /// Rows with identical stats kept in one fold: the reported cross-validation.
    Grouped,
    /// Row by row (stratified): copies of a test row may be in training, which flatters it.
    Rows,
}

impl Folding {
    /// The prefix of its MLflow metrics: `cv_f1` (grouped), `cv_row_f1`.
    pub(crate) fn metric_prefix(self) -> &'static str {
        match self {
            Self::Grouped => "cv",
            Self::Rows => "cv_row",
        }
    }
}

/// Cross-validation results: per-fold metrics and their mean and standard deviation.
#[derive(Debug, Clone, Serialize)]
pub struct CvSummary {
    /// How the folds were made.
    pub folding: Folding,
    /// Number of folds.
    pub folds: usize,
    /// Metrics of each fold, in fold order.
    pub per_fold: Vec<Metrics>,
    /// `(metric, mean, std)` over the folds, in [`MetricName::ALL`] order.
    pub summary: Vec<(MetricName, f64, f64)>,
    /// When each fold finished (ms since the epoch), in fold order.
    #[serde(skip)]
    pub finished_ms: Vec<i64>,
    /// Each row's out-of-fold result, in row order.
    #[serde(skip)]
    pub out_of_fold: Vec<OutOfFold>,
}

/// What the fold that held a row out said of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutOfFold {
    /// The fold whose test part the row was in.
    pub fold: usize,
    /// The probability that fold's model reported.
    pub proba: f64,
    /// That model's decision threshold.
    pub threshold: f64,
}

impl CvSummary {
    /// Mean over the folds of one metric.
    pub fn mean(&self, name: MetricName) -> Option<f64> {
        self.summary
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, mean, _)| *mean)
    }
}

/// Fits and scores every fold of `splits` (whose test parts partition the rows), in parallel.
///
/// # Errors
/// A failed fit.
pub(super) fn cross_validate(
    rows: &[[f64; 6]],
    labels: &[bool],
    config: &TrainConfig,
    splits: &[Split],
    folding: Folding,
) -> Result<CvSummary, TrainError> {
    let folds: Vec<(Metrics, Vec<f64>, f64, i64)> = splits
        .par_iter()
        .map(|split| {
            let (tr, trl) = take(rows, labels, &split.train);
            let (te, tel) = take(rows, labels, &split.test);
            let model = fit_config(config, &tr, &trl)?;
            let proba = model.proba_rows(&te);
            let metrics = Metrics::compute(&tel, &proba, model.threshold());
            Ok::<_, TrainError>((metrics, proba, model.threshold(), now_ms()))
        })
        .collect::<Result<_, _>>()?;
    let mut out_of_fold = vec![
        OutOfFold {
            fold: 0,
            proba: f64::NAN,
            threshold: f64::NAN,
        };
        rows.len()
    ];
    for (fold, (split, (_, proba, threshold, _))) in splits.iter().zip(&folds).enumerate() {
        for (&row, &p) in split.test.iter().zip(proba) {
            out_of_fold[row] = OutOfFold {
                fold,
                proba: p,
                threshold: *threshold,
            };
        }
    }
    let per_fold: Vec<Metrics> = folds.iter().map(|f| f.0.clone()).collect();
    let summary = MetricName::ALL
        .into_iter()
        .map(|name| {
            let values: Vec<f64> = per_fold.iter().map(|m| m.get(name)).collect();
            let (mean, std) = metrics::mean_std(&values);
            (name, mean, std)
        })
        .collect();
    Ok(CvSummary {
        folding,
        folds: splits.len(),
        per_fold,
        summary,
        finished_ms: folds.iter().map(|f| f.3).collect(),
        out_of_fold,
    })
}
