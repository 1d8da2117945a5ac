//! Training: fit a forest on a seeded stratified split, evaluate it on the held-out rows, by
//! k-fold cross-validation (grouped, and row by row) and on generations it has not seen,
//! measure importances, refit on every row, and write the MLflow model directory.

mod by_generation;
mod cv;
mod fit;
mod importance;
pub mod metrics;
mod plots;

use std::path::PathBuf;

use serde::Serialize;

use crate::dataset::{
    self, Dataset, Generations, Holdout, Split, grouped_kfold, identical_groups, kfold,
};
use crate::model::{self, Background, FeatureSet, ForestParams, Model, ModelError};
use legendary_mlflow::tracking::now_ms;

pub use by_generation::{GenerationEval, GenerationReport, GenerationResult, Scheme};
pub use cv::{CvSummary, Folding, OutOfFold};
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
    /// How the held-out rows are picked. Left out of a recorded config when seeded: a config
    /// recorded before the stat-line hold-out names none, and was seeded.
    #[serde(serialize_with = "display", skip_serializing_if = "Holdout::is_seeded")]
    pub holdout: Holdout,
    /// Folds of the cross-validations over all selected rows, grouped and row by row (0:
    /// none).
    pub cv_folds: usize,
    /// The decision threshold rule.
    #[serde(serialize_with = "display")]
    pub threshold: Threshold,
    /// Fit the shipped model on every selected row once evaluation is done (the metrics stay
    /// those of the evaluation fit, which never saw the held-out rows).
    pub refit_all: bool,
    /// Which next-generation evaluations to run.
    #[serde(serialize_with = "display")]
    pub generation_eval: GenerationEval,
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
                min_samples_leaf: 1,
                mtry: Some(default_mtry(FeatureSet::Regularity)),
                seed: 42,
                features: FeatureSet::Regularity,
            },
            test_size: 0.2,
            holdout: Holdout::StatLine,
            cv_folds: 5,
            threshold: Threshold::Auto,
            refit_all: true,
            generation_eval: GenerationEval::Both,
            calibration: CalibrationMethod::CentredIsotonic,
        }
    }
}

/// Features tried per split when none is asked for: 8 (best in `grids/defaults.toml`), or
/// every column of a narrower feature set (`raw` has 6).
pub fn default_mtry(features: FeatureSet) -> usize {
    8.min(features.width())
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

/// The result of a training run.
pub struct Outcome {
    /// The config that produced it.
    pub config: TrainConfig,
    /// The selected data.
    pub dataset: Dataset,
    /// The train/test split of `dataset.rows`.
    pub split: Split,
    /// The model to ship: refitted on every selected row with `refit_all`, else the
    /// evaluation fit.
    pub model: Model,
    /// The evaluation fit (on the training rows only), when the shipped model is a refit.
    pub evaluated: Option<Model>,
    /// The evaluation fit's metrics on the held-out rows.
    pub holdout: Metrics,
    /// Grouped cross-validation (the reported one), when asked for.
    pub cv: Option<CvSummary>,
    /// Row-by-row cross-validation, reported next to the grouped one.
    pub cv_rows: Option<CvSummary>,
    /// How the recipe does on generations it has not seen.
    pub generations: GenerationReport,
    /// Importances on the held-out rows.
    pub importances: Importances,
    /// ROC curve points on the held-out rows.
    pub roc: Vec<(f64, f64)>,
    /// The explanation background: a seeded, stratified sample of the training rows, written
    /// into the model directory so the served model is explained against it.
    pub background: Background,
    /// The monitoring reference, written into the model directory so the server can tell
    /// when what it scores moves away from the training rows.
    pub profile: crate::monitor::Profile,
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
    let evaluated = fit_config(config, &train_rows, &train_labels)?;
    let proba = evaluated.proba_rows(&test_rows);
    let holdout = Metrics::compute(&test_labels, &proba, evaluated.threshold());
    let roc = metrics::roc_curve(&test_labels, &proba);
    let importances = importance::compute(&evaluated, &test_rows, &test_labels, 5, seed);
    let evaluated_ms = now_ms();
    let (cv, cv_rows) = match config.cv_folds {
        0 => (None, None),
        k => {
            let groups = identical_groups(&rows);
            let grouped = grouped_kfold(&labels, &groups, k, seed);
            let by_row = kfold(&labels, k, seed);
            (
                Some(cv::cross_validate(
                    &rows,
                    &labels,
                    config,
                    &grouped,
                    Folding::Grouped,
                )?),
                Some(cv::cross_validate(
                    &rows,
                    &labels,
                    config,
                    &by_row,
                    Folding::Rows,
                )?),
            )
        }
    };
    let generations = by_generation::evaluate(&dataset, config)?;
    let oof = cv_rows.as_ref().or(cv.as_ref());
    let (model, evaluated, background, profile) = if config.refit_all {
        let model = fit_config(config, &rows, &labels)?;
        let what = format!("rows of {}", dataset.source);
        let background = crate::explain::sample(&rows, &labels, seed, &what);
        let profile = monitoring_profile(what, &rows, oof, (&proba, evaluated.threshold()));
        (model, Some(evaluated), background, profile)
    } else {
        let what = format!("training rows of {}", dataset.source);
        let background = crate::explain::sample(&train_rows, &train_labels, seed, &what);
        let profile = monitoring_profile(what, &train_rows, oof, (&proba, evaluated.threshold()));
        (evaluated, None, background, profile)
    };
    let timing = Timing {
        started_ms,
        evaluated_ms,
        finished_ms: now_ms(),
        elapsed: clock.elapsed(),
    };
    Ok(Outcome {
        config: config.clone(),
        dataset,
        split,
        model,
        evaluated,
        holdout,
        cv,
        cv_rows,
        generations,
        importances,
        roc,
        background,
        profile,
        timing,
    })
}

/// The monitoring reference of a model fitted on `rows`: their features' decile bins, and
/// the answers of models that had not seen them (out of fold when there was a
/// cross-validation, else the evaluation fit's on the held-out rows, `holdout`), since the
/// shipped model's answers on its own training rows are more confident than on any new row.
fn monitoring_profile(
    source: String,
    rows: &[[f64; 6]],
    oof: Option<&CvSummary>,
    holdout: (&[f64], f64),
) -> crate::monitor::Profile {
    let (probabilities, decisions, fold_rates, what): (Vec<f64>, Vec<bool>, Vec<f64>, String) =
        match oof {
            Some(cv) => {
                let probabilities = cv.out_of_fold.iter().map(|o| o.proba).collect();
                let decisions: Vec<bool> = cv
                    .out_of_fold
                    .iter()
                    .map(|o| o.proba > o.threshold)
                    .collect();
                let mut per_fold = vec![(0usize, 0usize); cv.folds];
                for (o, &d) in cv.out_of_fold.iter().zip(&decisions) {
                    if let Some(f) = per_fold.get_mut(o.fold) {
                        f.0 += usize::from(d);
                        f.1 += 1;
                    }
                }
                #[allow(clippy::cast_precision_loss, reason = "counts of rows")]
                let rates = per_fold
                    .iter()
                    .filter(|f| f.1 > 0)
                    .map(|&(pos, n)| pos as f64 / n as f64)
                    .collect();
                let what = format!(
                    "out-of-fold probabilities of {}-fold cross-validation",
                    cv.folds
                );
                (probabilities, decisions, rates, what)
            }
            None => {
                let (probabilities, threshold) = holdout;
                let decisions = probabilities.iter().map(|&p| p > threshold).collect();
                let what = "the evaluation fit's probabilities on the held-out rows".to_owned();
                (probabilities.to_vec(), decisions, Vec::new(), what)
            }
        };
    crate::monitor::Profile::build(
        source,
        rows,
        &crate::monitor::Answers {
            source: what,
            probabilities: &probabilities,
            decisions: &decisions,
            fold_rates,
        },
    )
}

/// Fits one forest the way every fit of a training does: its parameters and threshold rule.
///
/// # Errors
/// A failed fit.
pub(crate) fn fit_config(
    config: &TrainConfig,
    rows: &[[f64; 6]],
    labels: &[bool],
) -> Result<Model, TrainError> {
    Ok(fit(rows, labels, config)?)
}

/// The rows `config` selects and their train/test split: the same for every call with the
/// same data, whatever the seed (see [`holdout_split`]), which is what lets a later step (the
/// gate of a collected sweep, or of a retraining against a champion trained with another seed
/// or on fewer generations) evaluate on exactly the rows a model was held out from.
fn select(config: &TrainConfig) -> Result<(Dataset, Split), TrainError> {
    let dataset = dataset::load(&config.data, &config.generations)?;
    let stats: Vec<[f64; 6]> = dataset.rows.iter().map(|p| p.stats).collect();
    let split = config.holdout.split(
        &stats,
        &dataset.labels(),
        config.test_size,
        config.params.seed,
    );
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

/// The run artifact with the evaluation fit's answers on the held-out rows.
pub(crate) const HOLDOUT_FILE: &str = "holdout_predictions.csv";

/// Its header: the six stats in [`legendary_forest::FEATURES`] order, then the generation, the label,
/// and the evaluation fit's probability, decision and threshold.
pub(crate) const HOLDOUT_HEADER: &str = "hp,attack,defense,special_attack,special_defense,speed,generation,legendary,probability,decision,threshold";

/// What a model is judged on: the rows its training held out.
#[derive(Debug, Clone)]
pub(crate) struct HeldOut {
    /// The six stats of each held-out row.
    pub rows: Vec<[f64; 6]>,
    /// Whether each is legendary.
    pub labels: Vec<bool>,
    /// Each row's generation: the gate's slices.
    pub generations: Vec<u8>,
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
            generations: split
                .test
                .iter()
                .map(|&i| dataset.rows[i].generation)
                .collect(),
            data_sha256: dataset.sha256.clone(),
        }
    }
}

pub(super) fn take(
    rows: &[[f64; 6]],
    labels: &[bool],
    idx: &[usize],
) -> (Vec<[f64; 6]>, Vec<bool>) {
    (
        idx.iter().map(|&i| rows[i]).collect(),
        idx.iter().map(|&i| labels[i]).collect(),
    )
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
pub(crate) fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

impl Outcome {
    /// Records `data` (a directory or an object-store URI) as where the rows came from, in
    /// the config and the dataset input alike, for a training that read a local copy.
    pub fn record_source(&mut self, data: &std::path::Path) {
        self.config.data = data.to_path_buf();
        self.dataset.source = data.display().to_string();
    }

    /// `metrics.json`: deterministic for a given config and data (no timestamps).
    pub fn metrics_json(&self) -> serde_json::Value {
        let cv_json = |cv: &CvSummary| {
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
            serde_json::json!({
                "folding": cv.folding,
                "folds": cv.folds,
                "summary": summary,
                "per_fold": cv.per_fold,
            })
        };
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
            "cross_validation": self.cv.as_ref().map(cv_json),
            "cross_validation_rows": self.cv_rows.as_ref().map(cv_json),
            "generations": self.generations.results,
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

    /// What a registered version of this training says on its page: how it was evaluated,
    /// and how the recipe does on the newest generation when it has not seen it.
    pub(crate) fn description(&self) -> String {
        let mut text = match &self.cv {
            Some(cv) => format!(
                "Grouped {}-fold cross-validation: F1 {:.3}, ROC AUC {:.3}.",
                cv.folds,
                cv.mean(MetricName::F1).unwrap_or(f64::NAN),
                cv.mean(MetricName::RocAuc).unwrap_or(f64::NAN)
            ),
            None => format!(
                "Held-out F1 {:.3}, ROC AUC {:.3}.",
                self.holdout.f1, self.holdout.roc_auc
            ),
        };
        if self.evaluated.is_some() {
            text.push_str(" Fitted on every selected row after evaluation.");
        }
        if let Some(newest) = self.generations.newest_summary() {
            text.push(' ');
            text.push_str(&newest);
        }
        text
    }

    /// The fit that never saw the held-out rows: what the gate scores against the champion.
    pub(crate) fn evaluated_model(&self) -> &Model {
        self.evaluated.as_ref().unwrap_or(&self.model)
    }

    /// `cv_predictions.csv`: every row with the columns the forest sees, its fold and
    /// out-of-fold probability and threshold in each cross-validation; what
    /// `scripts/compare-learners.sh` fits other learners on. `None` without cross-validation.
    pub fn cv_predictions_csv(&self) -> Option<String> {
        let (grouped, rows) = (self.cv.as_ref()?, self.cv_rows.as_ref()?);
        let features = self.config.params.features;
        let mut out = String::from("number,name,generation,legendary");
        for name in features.column_names() {
            out.push(',');
            out.push_str(&name);
        }
        out.push_str(",fold,group_fold,proba,threshold,proba_grouped,threshold_grouped\n");
        let mut values = Vec::with_capacity(features.width());
        for (i, p) in self.dataset.rows.iter().enumerate() {
            let (r, g) = (rows.out_of_fold[i], grouped.out_of_fold[i]);
            out.push_str(&format!(
                "{},{},{},{}",
                p.number,
                csv_field(&p.name),
                p.generation,
                p.legendary
            ));
            values.clear();
            features.expand(&p.stats, &mut values);
            for v in &values {
                out.push_str(&format!(",{v}"));
            }
            out.push_str(&format!(
                ",{},{},{},{},{},{}\n",
                r.fold, g.fold, r.proba, r.threshold, g.proba, g.threshold
            ));
        }
        Some(out)
    }

    /// `holdout_predictions.csv`: each held-out row's six stats, generation and label, with the
    /// evaluation fit's probability and decision. A later gate pairs a challenger with this
    /// run's model row by row on these (the shipped model may be refitted on every row, so
    /// only its evaluation fit's answers are fair), see `crate::track::gate`.
    pub fn holdout_predictions_csv(&self) -> String {
        let model = self.evaluated_model();
        let held = self.held_out();
        let proba = model.proba_rows(&held.rows);
        let mut out = String::from(HOLDOUT_HEADER);
        out.push('\n');
        for (((stats, &label), &generation), &p) in held
            .rows
            .iter()
            .zip(&held.labels)
            .zip(&held.generations)
            .zip(&proba)
        {
            for v in stats {
                out.push_str(&format!("{v},"));
            }
            out.push_str(&format!(
                "{generation},{label},{p},{},{}\n",
                model.decide(p),
                model.threshold()
            ));
        }
        out
    }

    /// The evaluation's tables, in the model directory and beside the run's plots:
    /// out-of-fold predictions, and the next-generation results with their misses named.
    fn evaluation_tables(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        if let Some(csv) = self.cv_predictions_csv() {
            files.push(("cv_predictions.csv".to_owned(), csv.into_bytes()));
        }
        if !self.generations.results.is_empty() {
            files.push((
                "generations.csv".to_owned(),
                self.generations.table_csv().into_bytes(),
            ));
            files.push((
                "generation_errors.csv".to_owned(),
                self.generations.errors_csv().into_bytes(),
            ));
        }
        files
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
        // The evaluation fit: a model refitted on every row has seen these rows.
        let proba = self.evaluated_model().proba_rows(&held.rows);
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
        files.extend(self.evaluation_tables());
        files.push((
            format!("{}/{HOLDOUT_FILE}", crate::track::GATE_DIR),
            self.holdout_predictions_csv().into_bytes(),
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
        plots.extend(self.evaluation_tables());
        plots.push((model::BACKGROUND_FILE.to_owned(), self.background.to_json()));
        plots.push((
            crate::monitor::PROFILE_FILE.to_owned(),
            self.profile.to_json(),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(refit_all: bool) -> Outcome {
        let mut c = TrainConfig {
            data: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pokemon"),
            generation_eval: GenerationEval::None,
            refit_all,
            ..TrainConfig::default()
        };
        c.params.n_trees = 5;
        let Ok(valid) = c.validate() else {
            panic!("the config is valid")
        };
        match train(&valid) {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn grouped_folds_keep_identical_stats_together_and_every_row_is_predicted_once() {
        let o = outcome(false);
        let (Some(grouped), Some(rows)) = (&o.cv, &o.cv_rows) else {
            panic!("both cross-validations ran")
        };
        let mut fold_of: std::collections::HashMap<[u64; 6], usize> = Default::default();
        let mut split_lines = 0;
        for (p, oof) in o.dataset.rows.iter().zip(&grouped.out_of_fold) {
            let fold = *fold_of.entry(p.stats.map(f64::to_bits)).or_insert(oof.fold);
            assert_eq!(fold, oof.fold, "{} left its group", p.name);
            assert!((0.0..=1.0).contains(&oof.proba), "{}", p.name);
        }
        for (p, oof) in o.dataset.rows.iter().zip(&rows.out_of_fold) {
            assert!((0.0..=1.0).contains(&oof.proba), "{}", p.name);
            split_lines += usize::from(fold_of[&p.stats.map(f64::to_bits)] != oof.fold);
        }
        assert!(split_lines > 0, "row-level folds are a different partition");
        let csv = o.cv_predictions_csv().unwrap_or_default();
        assert_eq!(csv.lines().count(), 1 + o.dataset.rows.len());
        assert!(
            csv.starts_with("number,name,generation,legendary,hp,"),
            "{csv}"
        );
        assert!(o.evaluated.is_none());
    }

    #[test]
    fn refit_all_ships_a_fit_on_every_row_and_keeps_the_evaluation_fit() {
        let o = outcome(true);
        let json = |m: &Model| {
            m.forest()
                .and_then(|f| f.to_json().ok())
                .unwrap_or_default()
        };
        let Some(evaluated) = &o.evaluated else {
            panic!("the evaluation fit is kept")
        };
        assert_ne!(json(&o.model), json(evaluated));
        assert_eq!(json(o.evaluated_model()), json(evaluated));
        let fresh = outcome(false);
        assert_eq!(
            json(&fresh.model),
            json(evaluated),
            "same recipe, same rows"
        );
        assert_eq!(fresh.holdout, o.holdout, "the metrics are the evaluation's");
        let svg = |o: &Outcome| o.reliability_svg().unwrap_or_default();
        assert!(svg(&fresh) == svg(&o), "so is the reliability diagram");
    }
}
