//! `legendary sweep`: train every configuration of a grid in parallel (up to the core count),
//! rank them by a metric, and report the best.

mod collect;
mod grid;
mod pool;
pub(crate) mod session;

use crate::train::{Outcome, TrainConfig, TrainError, train};

pub(crate) use grid::{Grid, RankMetric, load};

/// One configuration's result.
pub(crate) struct Trial {
    /// Position in the grid.
    pub index: usize,
    /// The configuration.
    pub config: TrainConfig,
    /// The trained model and its evaluation, or why it failed.
    pub result: Result<Outcome, TrialError>,
}

/// Why a configuration produced no model.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TrialError {
    /// A setting is out of range for this combination of axes (named by its grid key).
    #[error("{0}")]
    Setting(String),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Training panicked: a bug, reported as this trial's failure so that the others go on.
    #[error("training {0}")]
    Panicked(#[from] pool::Panicked),
}

impl Trial {
    /// The ranking metric's value, if the trial succeeded and has it.
    pub(crate) fn score(&self, metric: RankMetric) -> Option<f64> {
        let outcome = self.result.as_ref().ok()?;
        let value = match metric {
            RankMetric::Holdout(name) => outcome.holdout.get(name),
            RankMetric::Cv(name) => outcome.cv.as_ref()?.mean(name)?,
        };
        value.is_finite().then_some(value)
    }
}

/// Trains `indices` of the grid on up to `parallel` threads (see [`pool`]). `on_done` is
/// called on the calling thread as each trial finishes (for MLflow logging and the progress
/// bar); a failed trial, or one whose training panicked, is reported and the sweep goes on.
///
/// # Errors
/// When the pool's threads cannot be started.
pub(crate) fn train_all(
    grid: &Grid,
    indices: &[usize],
    parallel: usize,
    on_done: &mut dyn FnMut(&Trial),
) -> Result<Vec<Trial>, rayon::ThreadPoolBuildError> {
    let mut trials = Vec::with_capacity(indices.len());
    let work = |index: usize| {
        grid.checked(index)
            .map_err(TrialError::Setting)
            .and_then(|config| train(&config).map_err(TrialError::from))
    };
    pool::for_each(indices, parallel, &work, &mut |index, result| {
        let trial = Trial {
            index,
            config: grid.configs[index].clone(),
            result: result.unwrap_or_else(|panicked| Err(panicked.into())),
        };
        on_done(&trial);
        trials.push(trial);
    })?;
    trials.sort_by_key(|t| t.index);
    Ok(trials)
}

/// One line of the ranked table: a trial trained here, or a run collected from MLflow.
pub(crate) struct Row<'a> {
    /// Position in the grid.
    pub index: usize,
    /// The configuration.
    pub config: &'a TrainConfig,
    /// The ranking metric's value, when there is one (a finite number).
    pub rank_score: Option<f64>,
    /// The held-out ROC AUC and F1, or what the table shows instead (`FAILED: …`).
    pub result: Result<(f64, f64), String>,
}

impl<'a> Row<'a> {
    /// The row of a trial trained in this process.
    pub(crate) fn of(trial: &'a Trial, metric: RankMetric) -> Self {
        Self {
            index: trial.index,
            config: &trial.config,
            rank_score: trial.score(metric),
            result: match &trial.result {
                Ok(o) => Ok((o.holdout.roc_auc, o.holdout.f1)),
                Err(e) => Err(format!("FAILED: {e}")),
            },
        }
    }
}

/// The position (into `rows`) of the best row by `metric`; ties go to the earlier row.
pub(crate) fn best(rows: &[Row<'_>], metric: RankMetric) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, row) in rows.iter().enumerate() {
        let Some(score) = row.rank_score else {
            continue;
        };
        let better = match best {
            None => true,
            Some((_, b)) => {
                if metric.higher_is_better() {
                    score > b
                } else {
                    score < b
                }
            }
        };
        if better {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

/// A text table of every row, best first, failures last.
pub(crate) fn table(rows: &[Row<'_>], metric: RankMetric) -> String {
    use std::fmt::Write as _;
    let mut order: Vec<&Row<'_>> = rows.iter().collect();
    order.sort_by(|a, b| match (a.rank_score, b.rank_score) {
        (Some(x), Some(y)) if metric.higher_is_better() => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.index.cmp(&b.index),
    });
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>3}  {:<6} {:<8} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:<8}  {:>10} {:>8} {:>8}",
        "#",
        "gens",
        "features",
        "trees",
        "depth",
        "split",
        "leaf",
        "mtry",
        "thresh",
        "calib",
        metric.to_string(),
        "roc_auc",
        "f1"
    );
    for row in order {
        let c = row.config;
        let p = &c.params;
        let opt = |v: Option<usize>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let head = format!(
            "{:>3}  {:<6} {:<8} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:<8}",
            row.index,
            c.generations.to_string(),
            p.features.to_string(),
            p.n_trees,
            opt(p.max_depth.map(usize::from)),
            p.min_samples_split,
            p.min_samples_leaf,
            opt(p.mtry),
            c.threshold.to_string(),
            c.calibration.to_string()
        );
        match &row.result {
            Ok((roc_auc, f1)) => {
                let score = row
                    .rank_score
                    .map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
                let _ = writeln!(s, "{head}  {score:>10} {roc_auc:>8.4} {f1:>8.4}");
            }
            Err(what) => {
                let _ = writeln!(s, "{head}  {what}");
            }
        }
    }
    s
}
