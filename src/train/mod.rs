//! Training: fit a forest on a seeded stratified split, evaluate it on the held-out rows
//! (and optionally by k-fold cross-validation), measure importances, and write the MLflow
//! model directory.

mod fit;
mod importance;
pub mod metrics;
mod plots;

use std::path::PathBuf;

use serde::Serialize;

use crate::dataset::{self, Dataset, Generations, Split, kfold, stratified_split};
use crate::model::{self, Background, FeatureSet, ForestParams, Model, ModelError};
use legendary_mlflow::tracking::now_ms;

use fit::fit;
pub use fit::{CalibrationMethod, Threshold};
pub use importance::{Importance, Importances};
pub use metrics::{MetricName, Metrics};

/// Everything that decides a training run (and nothing that does not, so two equal configs
/// give byte-identical models).
#[derive(Debug, Clone, Serialize)]
pub struct TrainConfig {
    /// The data package directory.
    pub data: PathBuf,
    /// The generations to train and evaluate on.
    #[serde(serialize_with = "display")]
    pub generations: Generations,
    /// Forest hyperparameters (its seed also seeds the split and folds).
    pub params: ForestParams,
    /// Held-out fraction.
    pub test_size: f64,
    /// Folds of the optional cross-validation over all selected rows (0: none).
    pub cv_folds: usize,
    /// The decision threshold rule.
    #[serde(serialize_with = "display")]
    pub threshold: Threshold,
    /// How the vote fraction becomes the reported probability.
    #[serde(serialize_with = "display")]
    pub calibration: CalibrationMethod,
}

fn display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Default for TrainConfig {
    /// The documented defaults, used for the bundled model.
    fn default() -> Self {
        Self {
            data: PathBuf::from(dataset::DEFAULT_PACKAGE),
            generations: Generations::all(),
            params: ForestParams {
                n_trees: 200,
                max_depth: None,
                min_samples_split: 2,
                min_samples_leaf: 5,
                mtry: Some(4),
                seed: 42,
                features: FeatureSet::Regularity,
            },
            test_size: 0.2,
            cv_folds: 5,
            threshold: Threshold::Auto,
            calibration: CalibrationMethod::Isotonic,
        }
    }
}

/// A setting of [`TrainConfig`], to name it in errors the way the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `test_size`.
    TestSize,
    /// `cv_folds`.
    CvFolds,
    /// `n_trees`.
    NTrees,
    /// `max_depth`.
    MaxDepth,
    /// `min_samples_split`.
    MinSamplesSplit,
    /// `min_samples_leaf`.
    MinSamplesLeaf,
    /// `mtry`.
    Mtry,
}

impl Setting {
    /// The command-line flag: `--n-trees`.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Self::TestSize => "--test-size",
            Self::CvFolds => "--cv-folds",
            Self::NTrees => "--n-trees",
            Self::MaxDepth => "--max-depth",
            Self::MinSamplesSplit => "--min-samples-split",
            Self::MinSamplesLeaf => "--min-samples-leaf",
            Self::Mtry => "--mtry",
        }
    }

    /// The key in a sweep grid file: `params.n_trees`.
    pub(crate) fn grid_key(self) -> &'static str {
        match self {
            Self::TestSize => "test_size",
            Self::CvFolds => "cv_folds",
            Self::NTrees => "params.n_trees",
            Self::MaxDepth => "params.max_depth",
            Self::MinSamplesSplit => "params.min_samples_split",
            Self::MinSamplesLeaf => "params.min_samples_leaf",
            Self::Mtry => "params.mtry",
        }
    }
}

/// A setting out of range; [`InvalidSetting::problem`] reads after the setting's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} {problem}", setting.flag())]
pub struct InvalidSetting {
    /// Which setting.
    pub setting: Setting,
    /// What is wrong with it, e.g. `must be at least 1`.
    pub problem: String,
}

/// A [`TrainConfig`] whose settings are all in range: the only way into fitting.
#[derive(Debug, Clone)]
pub struct ValidConfig(TrainConfig);

impl ValidConfig {
    /// The settings.
    pub fn get(&self) -> &TrainConfig {
        &self.0
    }
}

impl TrainConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// The first setting out of range, named.
    pub fn validate(self) -> Result<ValidConfig, InvalidSetting> {
        let bad = |setting, problem: &str| {
            Err(InvalidSetting {
                setting,
                problem: problem.to_owned(),
            })
        };
        let p = &self.params;
        if !(self.test_size > 0.0 && self.test_size < 1.0) {
            return bad(Setting::TestSize, "must be between 0 and 1 (exclusive)");
        }
        if p.n_trees == 0 {
            return bad(Setting::NTrees, "must be at least 1");
        }
        if p.min_samples_split < 2 {
            return bad(Setting::MinSamplesSplit, "must be at least 2");
        }
        if p.min_samples_leaf < 1 {
            return bad(Setting::MinSamplesLeaf, "must be at least 1");
        }
        if p.max_depth == Some(0) {
            return bad(Setting::MaxDepth, "must be at least 1");
        }
        if let Some(m) = p.mtry
            && (m == 0 || m > p.features.width())
        {
            return bad(
                Setting::Mtry,
                &format!(
                    "must be between 1 and {} (the number of forest columns)",
                    p.features.width()
                ),
            );
        }
        if self.cv_folds == 1 || self.cv_folds > 20 {
            return bad(Setting::CvFolds, "must be 0 (none) or between 2 and 20");
        }
        Ok(ValidConfig(self))
    }
}

/// Cross-validation results: per-fold metrics and their mean and standard deviation.
#[derive(Debug, Clone, Serialize)]
pub struct CvSummary {
    /// Number of folds.
    pub folds: usize,
    /// Metrics of each fold, in fold order.
    pub per_fold: Vec<Metrics>,
    /// `(metric, mean, std)` over the folds, in [`MetricName::ALL`] order.
    pub summary: Vec<(MetricName, f64, f64)>,
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

/// The result of a training run.
pub struct Outcome {
    /// The config that produced it.
    pub config: TrainConfig,
    /// The selected data.
    pub dataset: Dataset,
    /// The train/test split of `dataset.rows`.
    pub split: Split,
    /// The model fitted on the training rows.
    pub model: Model,
    /// Its evaluation on the held-out rows.
    pub holdout: Metrics,
    /// Cross-validation, when asked for.
    pub cv: Option<CvSummary>,
    /// Importances on the held-out rows.
    pub importances: Importances,
    /// ROC curve points on the held-out rows.
    pub roc: Vec<(f64, f64)>,
    /// The explanation background: a seeded, stratified sample of the training rows, written
    /// into the model directory so the served model is explained against it.
    pub background: Background,
    /// When each part of the training finished, for the run's metric timestamps.
    pub timing: Timing,
}

/// Wall-clock milestones of one training (ms since the epoch, as MLflow timestamps are), so
/// the run's metrics carry the time they were computed and its duration is the training's.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    /// Training started (data loading included).
    pub started_ms: i64,
    /// The final model was fitted and evaluated on the held-out rows.
    pub evaluated_ms: i64,
    /// Each cross-validation fold finished, in fold order.
    pub folds_ms: Vec<i64>,
    /// Everything finished.
    pub finished_ms: i64,
    /// How long it all took.
    pub elapsed: std::time::Duration,
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] dataset::DataError),
    /// A fit failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model directory could not be written.
    #[error(transparent)]
    Artifact(#[from] model::ArtifactError),
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
}

/// Trains and evaluates as `config` says.
///
/// # Errors
/// Bad data or a failed fit.
pub fn train(config: &ValidConfig) -> Result<Outcome, TrainError> {
    let clock = std::time::Instant::now();
    let started_ms = now_ms();
    let config = config.get();
    let (dataset, split) = select(config)?;
    let rows: Vec<[f64; 6]> = dataset.rows.iter().map(|p| p.stats).collect();
    let labels = dataset.labels();
    let seed = config.params.seed;
    let (train_rows, train_labels) = take(&rows, &labels, &split.train);
    let (test_rows, test_labels) = take(&rows, &labels, &split.test);
    let model = fit(&train_rows, &train_labels, config)?;
    let proba = model.proba_rows(&test_rows);
    let holdout = Metrics::compute(&test_labels, &proba, model.threshold());
    let roc = metrics::roc_curve(&test_labels, &proba);
    let importances = importance::compute(&model, &test_rows, &test_labels, 5, seed);
    let evaluated_ms = now_ms();
    let mut folds_ms = Vec::new();
    let cv = match config.cv_folds {
        0 => None,
        k => Some(cross_validate(&rows, &labels, config, k, &mut folds_ms)?),
    };
    let timing = Timing {
        started_ms,
        evaluated_ms,
        folds_ms,
        finished_ms: now_ms(),
        elapsed: clock.elapsed(),
    };
    let what = format!("training rows of {}", dataset.source);
    let background = crate::explain::sample(&train_rows, &train_labels, seed, &what);
    Ok(Outcome {
        config: config.clone(),
        dataset,
        split,
        model,
        holdout,
        cv,
        importances,
        roc,
        background,
        timing,
    })
}

/// The rows `config` selects and their train/test split: the same for every call with the
/// same config and data, which is what lets a later step (the gate of a collected sweep)
/// evaluate on exactly the rows a model was held out from.
fn select(config: &TrainConfig) -> Result<(Dataset, Split), TrainError> {
    let dataset = dataset::load(&config.data, &config.generations)?;
    let split = stratified_split(&dataset.labels(), config.test_size, config.params.seed);
    Ok((dataset, split))
}

/// The held-out rows and labels of `config`, and the data's SHA-256, without training
/// (see [`select`]).
///
/// # Errors
/// Bad data.
pub(crate) fn held_out(config: &ValidConfig) -> Result<HeldOut, TrainError> {
    let (dataset, split) = select(config.get())?;
    Ok(HeldOut::of(&dataset, &split))
}

/// What a model is judged on: the rows its training held out.
#[derive(Debug, Clone)]
pub(crate) struct HeldOut {
    /// The six stats of each held-out row.
    pub rows: Vec<[f64; 6]>,
    /// Whether each is legendary.
    pub labels: Vec<bool>,
    /// The SHA-256 of the data the rows were selected from.
    pub data_sha256: String,
}

impl HeldOut {
    fn of(dataset: &Dataset, split: &Split) -> Self {
        let (rows, labels) = split
            .test
            .iter()
            .map(|&i| (dataset.rows[i].stats, dataset.rows[i].legendary))
            .unzip();
        Self {
            rows,
            labels,
            data_sha256: dataset.sha256.clone(),
        }
    }
}

fn take(rows: &[[f64; 6]], labels: &[bool], idx: &[usize]) -> (Vec<[f64; 6]>, Vec<bool>) {
    (
        idx.iter().map(|&i| rows[i]).collect(),
        idx.iter().map(|&i| labels[i]).collect(),
    )
}

/// Stratified k-fold over all rows; each fold fits exactly as the final model does
/// (including threshold tuning inside the fold's training part).
fn cross_validate(
    rows: &[[f64; 6]],
    labels: &[bool],
    config: &TrainConfig,
    k: usize,
    folds_ms: &mut Vec<i64>,
) -> Result<CvSummary, TrainError> {
    let mut per_fold = Vec::with_capacity(k);
    for split in kfold(labels, k, config.params.seed) {
        let (tr, trl) = take(rows, labels, &split.train);
        let (te, tel) = take(rows, labels, &split.test);
        let model = fit(&tr, &trl, config)?;
        let proba = model.proba_rows(&te);
        per_fold.push(Metrics::compute(&tel, &proba, model.threshold()));
        folds_ms.push(now_ms());
    }
    let summary = MetricName::ALL
        .into_iter()
        .map(|name| {
            let values: Vec<f64> = per_fold.iter().map(|m| m.get(name)).collect();
            let (mean, std) = metrics::mean_std(&values);
            (name, mean, std)
        })
        .collect();
    Ok(CvSummary {
        folds: k,
        per_fold,
        summary,
    })
}

impl Outcome {
    /// `metrics.json`: deterministic for a given config and data (no timestamps).
    pub fn metrics_json(&self) -> serde_json::Value {
        let cv = self.cv.as_ref().map(|cv| {
            let summary: serde_json::Map<String, serde_json::Value> = cv
                .summary
                .iter()
                .flat_map(|(n, mean, std)| {
                    [
                        (format!("{n}_mean"), (*mean).into()),
                        (format!("{n}_std"), (*std).into()),
                    ]
                })
                .collect();
            serde_json::json!({ "folds": cv.folds, "summary": summary, "per_fold": cv.per_fold })
        });
        serde_json::json!({
            "config": self.config,
            "data": {
                "generations": self.dataset.generations.to_string(),
                "rows": self.dataset.rows.len(),
                "legendary_rows": self.dataset.legendary_count(),
                "train_rows": self.split.train.len(),
                "test_rows": self.split.test.len(),
                "sha256": self.dataset.sha256,
            },
            "decision_threshold": self.model.threshold(),
            "holdout": self.holdout,
            "cross_validation": cv,
        })
    }

    /// `feature_importance.json`.
    fn importance_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.importances).unwrap_or_default()
    }

    /// The held-out rows and their labels, in split order.
    pub(crate) fn held_out(&self) -> HeldOut {
        HeldOut::of(&self.dataset, &self.split)
    }

    /// A few real held-out Pokémon (both classes) as the input example.
    pub fn input_example(&self) -> Vec<[f64; 6]> {
        let rows = &self.dataset.rows;
        let mut pick: Vec<usize> = self
            .split
            .test
            .iter()
            .copied()
            .filter(|&i| !rows[i].legendary)
            .take(3)
            .collect();
        pick.extend(
            self.split
                .test
                .iter()
                .copied()
                .filter(|&i| rows[i].legendary)
                .take(2),
        );
        pick.iter().map(|&i| rows[i].stats).collect()
    }

    /// The reliability diagram of the held-out rows, scored again (a few hundred rows).
    fn reliability_svg(&self) -> Result<Vec<u8>, TrainError> {
        let held = self.held_out();
        let proba = self.model.proba_rows(&held.rows);
        Ok(plots::reliability(&held.labels, &proba)?.into_bytes())
    }

    /// SVG plots: ROC curve, importances, confusion matrix, reliability diagram.
    ///
    /// # Errors
    /// [`TrainError::Plot`] if one could not be drawn.
    pub fn plots(&self) -> Result<Vec<(String, Vec<u8>)>, TrainError> {
        Ok(vec![
            (
                "roc_curve.svg".to_owned(),
                plots::roc(&self.roc, self.holdout.roc_auc)?.into_bytes(),
            ),
            (
                "feature_importance.svg".to_owned(),
                plots::importance(&self.importances.permutation)?.into_bytes(),
            ),
            (
                "confusion_matrix.svg".to_owned(),
                plots::confusion(&self.holdout.confusion_matrix)?.into_bytes(),
            ),
            ("reliability.svg".to_owned(), self.reliability_svg()?),
        ])
    }

    /// What the run shows at the top of its artifacts: the plots (so the compare view puts
    /// runs side by side) and the importance table.
    ///
    /// # Errors
    /// As [`Outcome::plots`].
    pub fn run_files(&self) -> Result<Vec<(String, Vec<u8>)>, TrainError> {
        let mut files = self.plots()?;
        files.push((
            "feature_importance.csv".to_owned(),
            self.importances.csv().into_bytes(),
        ));
        Ok(files)
    }

    /// Writes the MLflow model directory (model, metrics, importances, example, plots, the
    /// explanation background).
    ///
    /// # Errors
    /// I/O failures, or a plot that could not be drawn.
    pub fn write(&self, dir: &std::path::Path) -> Result<(), TrainError> {
        let metrics = self.metrics_json();
        let importance = self.importance_json();
        let example = self.input_example();
        let mut plots = self.plots()?;
        plots.push((model::BACKGROUND_FILE.to_owned(), self.background.to_json()));
        model::write_dir(
            dir,
            &self.model,
            &model::Extras {
                input_example: &example,
                metrics: Some(&metrics),
                feature_importance: Some(&importance),
                extra_files: &plots,
            },
        )?;
        Ok(())
    }
}
