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
            .map(|mut outcome| {
                if let Some(data) = &grid.recorded_data {
                    outcome.record_source(data);
                }
                outcome
            })
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
        "{:>3}  {}  {:>10} {:>8} {:>8}",
        "#",
        RECIPE_HEADER,
        metric.to_string(),
        "roc_auc",
        "f1"
    );
    for row in order {
        let head = format!("{:>3}  {}", row.index, recipe(row.config));
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
    s.push_str(&by_recipe(rows, metric));
    s
}

/// The header of [`recipe`]'s columns.
const RECIPE_HEADER: &str = "gens   features trees depth split  leaf  mtry thresh calib   ";

/// A configuration's columns in [`table`], all but its seed: what a recipe is.
fn recipe(c: &TrainConfig) -> String {
    let p = &c.params;
    let opt = |v: Option<usize>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    format!(
        "{:<6} {:<8} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:<8}",
        c.generations.to_string(),
        p.features.to_string(),
        p.n_trees,
        opt(p.max_depth.map(usize::from)),
        p.min_samples_split,
        p.min_samples_leaf,
        opt(p.mtry),
        c.threshold.to_string(),
        c.calibration.to_string()
    )
}

/// When the grid has a seed axis, the recipes ranked by the mean of the metric over their
/// seeds (one seed's split and folds are noisy: a single best trial is partly luck), with
/// its standard deviation and how many seeds scored. Empty when no recipe has two seeds.
fn by_recipe(rows: &[Row<'_>], metric: RankMetric) -> String {
    use std::fmt::Write as _;
    let mut recipes: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for row in rows {
        recipes
            .entry(recipe(row.config))
            .or_default()
            .extend(row.rank_score);
    }
    if recipes.values().all(|scores| scores.len() < 2) {
        return String::new();
    }
    let mut ranked: Vec<(String, f64, f64, usize)> = recipes
        .into_iter()
        .filter(|(_, scores)| !scores.is_empty())
        .map(|(key, scores)| {
            let (mean, std) = crate::train::metrics::mean_std(&scores);
            (key, mean, std, scores.len())
        })
        .collect();
    // Stable: equal means keep the recipes' text order.
    ranked.sort_by(|a, b| {
        if metric.higher_is_better() {
            b.1.total_cmp(&a.1)
        } else {
            a.1.total_cmp(&b.1)
        }
    });
    let mut s = format!("by recipe, mean of {metric} over seeds:\n");
    let _ = writeln!(
        s,
        "{RECIPE_HEADER}  {:>10} {:>8} {:>5}",
        "mean", "std", "seeds"
    );
    for (key, mean, std, n) in ranked {
        let _ = writeln!(s, "{key}  {mean:>10.4} {std:>8.4} {n:>5}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::MetricName;

    #[test]
    fn recipes_over_seeds_are_ranked_by_their_mean_not_their_luckiest_seed() {
        let config = |mtry: usize, seed: u64| {
            let mut c = TrainConfig::default();
            c.params.mtry = Some(mtry);
            c.params.seed = seed;
            c
        };
        let configs = [config(4, 1), config(4, 2), config(8, 1), config(8, 2)];
        // mtry 4 has the single best trial (0.90) but the lower mean (0.80 vs 0.85).
        let scores = [0.90, 0.70, 0.86, 0.84];
        let rows: Vec<Row<'_>> = configs
            .iter()
            .zip(scores)
            .enumerate()
            .map(|(index, (config, score))| Row {
                index,
                config,
                rank_score: Some(score),
                result: Ok((score, score)),
            })
            .collect();
        let metric = RankMetric::Cv(MetricName::F1);
        let text = table(&rows, metric);
        let recipes: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("by recipe"))
            .skip(2)
            .collect();
        assert_eq!(recipes.len(), 2, "{text}");
        assert!(
            recipes[0].contains("    8 ") && recipes[0].contains("0.8500"),
            "{text}"
        );
        assert!(
            recipes[1].contains("0.8000") && recipes[1].ends_with("    2"),
            "{text}"
        );
        assert_eq!(
            best(&rows, metric),
            Some(0),
            "the best trial is still the best trial"
        );
        assert!(!table(&rows[..1], metric).contains("by recipe"));
    }
}
