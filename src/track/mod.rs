//! Logging training to MLflow the way the Python client does: a run started before the fit
//! (so its duration is the training's) with params, metrics at the times they were computed
//! (per-fold CV metrics as steps), the training data as a dataset input, plots and an
//! importance table at the top of its artifacts, and the model logged as MLflow's
//! `log_model` logs it (see [`model`]); then registration, stage and alias. A failure marks
//! the run FAILED with the reason, never leaves it RUNNING.

mod dataset;
mod files;
pub(crate) mod gate;
mod model;
mod publish;
mod session;

use std::time::Duration;

use crate::train::{Outcome, Scheme};
use legendary_mlflow::wire::{self, KeyValue, Metric, ModelVersion};
use legendary_mlflow::{MlflowClient, MlflowError, Stage};

pub(crate) use gate::{GATE_DIR, GateConfig, GateRules};
pub use publish::EXIT_NOT_PROMOTED;
pub(crate) use publish::{Placement, PublishConfig, Published};
pub(crate) use session::Session;

/// How one run of a [`Session`] is logged (its experiment and user are the session's).
#[derive(Debug, Clone, Default)]
pub(crate) struct RunContext {
    /// Run name shown in the UI.
    pub run_name: Option<String>,
    /// The parent run, for sweep children.
    pub parent_run_id: Option<String>,
    /// Extra tags.
    pub tags: Vec<KeyValue>,
    /// When the work began (ms), for a run created after it (a sweep's trials); now if absent.
    pub start_time: Option<i64>,
}

/// A logged run.
#[derive(Debug, Clone)]
pub(crate) struct LoggedRun {
    /// Its id.
    pub run_id: String,
    /// Its artifact root (`mlflow-artifacts:/…`, or an object store's `s3://…`).
    pub artifact_uri: String,
    /// The model it logged, once it has.
    pub model: Option<LoggedModel>,
}

/// Where a run's model went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggedModel {
    /// What a model version's `source` is: `models:/m-…` (MLflow 3) or `<artifact root>/model`.
    pub uri: String,
    /// The MLflow 3 logged model.
    pub model_id: Option<String>,
}

impl LoggedRun {
    /// A run as `runs/get` or `runs/search` returns it: its MLflow 3 output model, or else the
    /// `model` directory of its artifacts.
    pub(crate) fn of(run: &wire::Run) -> Self {
        let model = match run.outputs.model_outputs.first() {
            Some(output) => LoggedModel {
                uri: format!("models:/{}", output.model_id),
                model_id: Some(output.model_id.clone()),
            },
            None => LoggedModel {
                uri: run_model_uri(&run.info.artifact_uri),
                model_id: None,
            },
        };
        Self {
            run_id: run.info.run_id.clone(),
            artifact_uri: run.info.artifact_uri.clone(),
            model: Some(model),
        }
    }

    /// Where its model is: a model version's `source`.
    pub(crate) fn model_uri(&self) -> String {
        self.model
            .as_ref()
            .map_or_else(|| run_model_uri(&self.artifact_uri), |m| m.uri.clone())
    }
}

/// The `model` directory under a run's artifact root (MLflow 2, and runs of older builds).
fn run_model_uri(artifact_uri: &str) -> String {
    format!("{}/model", artifact_uri.trim_end_matches('/'))
}

/// The git commit of the working directory, when it is a git checkout.
pub(crate) fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| s.len() == 40)
}

/// Params as strings; metrics as numbers stamped with when they were computed: held-out and
/// importances when the final model was evaluated, each CV fold's (as steps) when the fold
/// ended, the CV means and standard deviations at the end.
fn params_and_metrics(o: &Outcome) -> (Vec<KeyValue>, Vec<Metric>) {
    let c = &o.config;
    let p = &c.params;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "None".to_owned());
    let params = vec![
        KeyValue::new("n_trees", p.n_trees.to_string()),
        KeyValue::new("max_depth", opt(p.max_depth.map(|d| d.to_string()))),
        KeyValue::new("min_samples_split", p.min_samples_split.to_string()),
        KeyValue::new("min_samples_leaf", p.min_samples_leaf.to_string()),
        KeyValue::new("mtry", opt(p.mtry.map(|m| m.to_string()))),
        KeyValue::new("seed", p.seed.to_string()),
        KeyValue::new("features", p.features.to_string()),
        KeyValue::new("threshold_rule", c.threshold.to_string()),
        KeyValue::new("decision_threshold", o.model.threshold().to_string()),
        KeyValue::new("calibration", c.calibration.to_string()),
        KeyValue::new("generations", o.dataset.generations.to_string()),
        KeyValue::new("test_size", c.test_size.to_string()),
        KeyValue::new("holdout", c.holdout.to_string()),
        KeyValue::new("cv_folds", c.cv_folds.to_string()),
        KeyValue::new("cv_groups", "identical stats".to_owned()),
        KeyValue::new("refit_all", c.refit_all.to_string()),
        KeyValue::new("generation_eval", c.generation_eval.to_string()),
        KeyValue::new("train_rows", o.split.train.len().to_string()),
        KeyValue::new("test_rows", o.split.test.len().to_string()),
        KeyValue::new("data_sha256", o.dataset.sha256.clone()),
    ];
    let t = &o.timing;
    let mut metrics: Vec<Metric> = o
        .holdout
        .scalars()
        .map(|(n, v)| Metric::new(n.to_string(), v, t.evaluated_ms, 0))
        .collect();
    for imp in &o.importances.permutation {
        let key = format!("importance_{}", imp.feature);
        metrics.push(Metric::new(key, imp.mean, t.evaluated_ms, 0));
    }
    for cv in [&o.cv, &o.cv_rows].into_iter().flatten() {
        let prefix = cv.folding.metric_prefix();
        for (name, mean, std) in &cv.summary {
            metrics.push(Metric::new(
                format!("{prefix}_{name}"),
                *mean,
                t.finished_ms,
                0,
            ));
            metrics.push(Metric::new(
                format!("{prefix}_{name}_std"),
                *std,
                t.finished_ms,
                0,
            ));
        }
        for (fold, m) in cv.per_fold.iter().enumerate() {
            let at = cv.finished_ms.get(fold).copied().unwrap_or(t.finished_ms);
            for (name, v) in m.scalars() {
                metrics.push(Metric::new(
                    format!("{prefix}_fold_{name}"),
                    v,
                    at,
                    fold as i64,
                ));
            }
        }
    }
    for scheme in [Scheme::Forward, Scheme::LeaveOneOut] {
        let prefix = scheme.metric_prefix();
        for r in o.generations.of(scheme) {
            let step = i64::from(r.generation);
            for (name, v) in [
                ("precision", r.metrics.precision),
                ("recall", r.metrics.recall),
                ("f1", r.metrics.f1),
            ] {
                metrics.push(Metric::new(
                    format!("{prefix}_{name}"),
                    v,
                    t.finished_ms,
                    step,
                ));
            }
        }
        if let Some([precision, recall, f1]) = o.generations.pooled(scheme) {
            for (name, v) in [("precision", precision), ("recall", recall), ("f1", f1)] {
                metrics.push(Metric::new(
                    format!("{prefix}_pooled_{name}"),
                    v,
                    t.finished_ms,
                    0,
                ));
            }
        }
    }
    (params, metrics)
}

/// Registers the run's model directory as a new version of `name`, described by
/// `description`, and waits until READY.
///
/// # Errors
/// API and transport errors, or a version that never becomes READY.
pub(crate) async fn register(
    client: &MlflowClient,
    name: &str,
    run: &LoggedRun,
    description: Option<&str>,
) -> Result<ModelVersion, MlflowError> {
    client
        .register_model_version(
            name,
            &run.model_uri(),
            &run.run_id,
            run.model.as_ref().and_then(|m| m.model_id.as_deref()),
            description,
            Duration::from_secs(60),
        )
        .await
}

/// Moves a version to `stage` (archiving the previous holders) and/or points `alias` at it.
///
/// # Errors
/// API and transport errors.
pub(crate) async fn place(
    client: &MlflowClient,
    name: &str,
    version: &str,
    stage: Option<Stage>,
    alias: Option<&str>,
) -> Result<(), MlflowError> {
    if let Some(stage) = stage {
        client.transition_stage(name, version, stage, true).await?;
    }
    if let Some(alias) = alias {
        client.set_alias(name, alias, version).await?;
    }
    Ok(())
}
