//! Logging training to MLflow the way the Python client does: a run with params, metrics
//! (per-fold CV metrics as steps), the training data as a dataset input, the model directory
//! and plots as artifacts; then registration, stage and alias. A failure marks the run
//! FAILED, never leaves it RUNNING.

mod promote;
mod publish;

use std::path::Path;
use std::time::Duration;

use crate::mlflow::tracking::{NewRun, RunStatus, dataset_input, now_ms};
use crate::mlflow::wire::{self, KeyValue, Metric, ModelVersion};
use crate::mlflow::{MlflowClient, MlflowError, Stage};
use crate::train::Outcome;

pub(crate) use promote::GateConfig;
pub use publish::EXIT_NOT_PROMOTED;
pub(crate) use publish::{Placement, PublishConfig, Published, publish};

/// Where and how a run is logged.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunContext {
    /// Experiment id (see [`MlflowClient::get_or_create_experiment`]).
    pub experiment_id: String,
    /// Run name shown in the UI.
    pub run_name: Option<String>,
    /// The parent run, for sweep children.
    pub parent_run_id: Option<String>,
    /// Who runs it ("Created by" in the UI).
    pub user: Option<String>,
    /// Extra tags.
    pub tags: Vec<KeyValue>,
}

/// A logged run.
#[derive(Debug, Clone)]
pub(crate) struct LoggedRun {
    /// Its id.
    pub run_id: String,
    /// Its artifact root (`mlflow-artifacts:/…`, or an object store's `s3://…`).
    pub artifact_uri: String,
}

impl LoggedRun {
    /// Where the model directory was uploaded.
    pub(crate) fn model_uri(&self) -> String {
        format!("{}/model", self.artifact_uri.trim_end_matches('/'))
    }
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

/// Starts a run (RUNNING).
///
/// # Errors
/// API and transport errors.
pub(crate) async fn start_run(
    client: &MlflowClient,
    ctx: &RunContext,
) -> Result<LoggedRun, MlflowError> {
    let mut new = NewRun::new(ctx.experiment_id.clone());
    new.run_name.clone_from(&ctx.run_name);
    new.parent_run_id.clone_from(&ctx.parent_run_id);
    new.user.clone_from(&ctx.user);
    new.git_commit = git_commit();
    new.tags.clone_from(&ctx.tags);
    new.start_time = Some(now_ms());
    let info = client.create_run(&new).await?;
    Ok(LoggedRun {
        run_id: info.run_id,
        artifact_uri: info.artifact_uri,
    })
}

/// Logs a finished training into a new run and finishes it. On any failure after the run
/// exists, the run is marked FAILED, with the reason as its `legendary.error` tag, before the
/// error is returned.
///
/// # Errors
/// API and transport errors.
pub(crate) async fn log_training(
    client: &MlflowClient,
    ctx: &RunContext,
    outcome: &Outcome,
    model_dir: &Path,
) -> Result<LoggedRun, MlflowError> {
    let run = start_run(client, ctx).await?;
    match log_into(client, &run, outcome, model_dir).await {
        Ok(()) => {
            client
                .update_run(&run.run_id, RunStatus::Finished, Some(now_ms()))
                .await?;
            Ok(run)
        }
        Err(e) => {
            // The reason goes on the run, so the MLflow UI says why it failed (best effort:
            // the error being returned matters more than the tag).
            let reason: String = e.to_string().chars().take(MAX_TAG_CHARS).collect();
            let _ = client
                .set_run_tag(&run.run_id, "legendary.error", &reason)
                .await;
            let _ = client
                .update_run(&run.run_id, RunStatus::Failed, Some(now_ms()))
                .await;
            Err(e)
        }
    }
}

/// MLflow's limit on a tag value (8000 since 2.x; 5000 stays within older servers too).
const MAX_TAG_CHARS: usize = 5000;

/// Marks a run FAILED with the reason as a tag (for sweep trials that failed to train).
///
/// # Errors
/// API and transport errors.
pub(crate) async fn log_failure(
    client: &MlflowClient,
    ctx: &RunContext,
    reason: &str,
) -> Result<LoggedRun, MlflowError> {
    let run = start_run(client, ctx).await?;
    client
        .set_run_tag(&run.run_id, "legendary.error", reason)
        .await?;
    client
        .update_run(&run.run_id, RunStatus::Failed, Some(now_ms()))
        .await?;
    Ok(run)
}

async fn log_into(
    client: &MlflowClient,
    run: &LoggedRun,
    outcome: &Outcome,
    model_dir: &Path,
) -> Result<(), MlflowError> {
    let (params, metrics) = params_and_metrics(outcome);
    let tags = vec![KeyValue::new(
        "legendary.version",
        env!("CARGO_PKG_VERSION"),
    )];
    client
        .log_batch(&run.run_id, &params, &metrics, &tags)
        .await?;
    client
        .log_inputs(&run.run_id, &[dataset_input(dataset(outcome), "training")])
        .await?;
    client
        .upload_dir(&run.artifact_uri, "model", model_dir)
        .await?;
    log_explanations(client, run, outcome).await
}

/// `model_explanations_shap/` at the run's root, as `mlflow.shap.log_explanation` logs it:
/// the held-out rows explained against the model's background (see [`crate::explain`]).
async fn log_explanations(
    client: &MlflowClient,
    run: &LoggedRun,
    outcome: &Outcome,
) -> Result<(), MlflowError> {
    let dir = tempfile::tempdir().map_err(|e| MlflowError::io(std::env::temp_dir(), e))?;
    let rows = outcome.held_out().rows;
    crate::explain::write_shap_files(&outcome.model, &outcome.background, &rows, dir.path())
        .map_err(|e| MlflowError::io(dir.path(), std::io::Error::other(e)))?;
    client
        .upload_dir(
            &run.artifact_uri,
            crate::explain::SHAP_ARTIFACT_PATH,
            dir.path(),
        )
        .await?;
    Ok(())
}

/// Params as strings, metrics as numbers: held-out, CV mean/std, and per-fold CV with steps.
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
        KeyValue::new("generations", c.generations.to_string()),
        KeyValue::new("test_size", c.test_size.to_string()),
        KeyValue::new("cv_folds", c.cv_folds.to_string()),
        KeyValue::new("train_rows", o.split.train.len().to_string()),
        KeyValue::new("test_rows", o.split.test.len().to_string()),
        KeyValue::new("data_sha256", o.dataset.sha256.clone()),
    ];
    let now = now_ms();
    let metric = |key: String, value: f64, step: i64| Metric {
        key,
        value,
        timestamp: now,
        step,
    };
    let mut metrics: Vec<Metric> = o
        .holdout
        .scalars()
        .map(|(n, v)| metric(n.to_string(), v, 0))
        .collect();
    for imp in &o.importances.permutation {
        metrics.push(metric(format!("importance_{}", imp.feature), imp.mean, 0));
    }
    if let Some(cv) = &o.cv {
        for (name, mean, std) in &cv.summary {
            metrics.push(metric(format!("cv_{name}"), *mean, 0));
            metrics.push(metric(format!("cv_{name}_std"), *std, 0));
        }
        for (fold, m) in cv.per_fold.iter().enumerate() {
            for (name, v) in m.scalars() {
                metrics.push(metric(format!("cv_fold_{name}"), v, fold as i64));
            }
        }
    }
    (params, metrics)
}

/// The training data as MLflow logs a pandas dataset: name, digest, source, schema, profile.
fn dataset(o: &Outcome) -> wire::Dataset {
    let d = &o.dataset;
    let colspec: Vec<serde_json::Value> = crate::dataset::FEATURES
        .iter()
        .map(|n| serde_json::json!({"type": "long", "name": n, "required": true}))
        .chain(std::iter::once(
            serde_json::json!({"type": "boolean", "name": "legendary", "required": true}),
        ))
        .collect();
    let generations: Vec<u8> = d.generations.iter().collect();
    wire::Dataset {
        name: format!("pokemon-generations-{}", d.generations),
        digest: d.sha256.chars().take(8).collect(),
        source_type: crate::dataset::source_type(&d.source),
        source: crate::dataset::source_json(&d.source),
        schema: Some(serde_json::json!({ "mlflow_colspec": colspec }).to_string()),
        profile: Some(
            serde_json::json!({
                "num_rows": d.rows.len(),
                "num_elements": d.rows.len() * 7,
                "legendary_rows": d.legendary_count(),
                "generations": generations,
                "sha256": d.sha256,
            })
            .to_string(),
        ),
    }
}

/// Registers the run's model directory as a new version of `name` and waits until READY.
///
/// # Errors
/// API and transport errors, or a version that never becomes READY.
pub(crate) async fn register(
    client: &MlflowClient,
    name: &str,
    run: &LoggedRun,
) -> Result<ModelVersion, MlflowError> {
    client
        .register_model_version(name, &run.model_uri(), &run.run_id, Duration::from_secs(60))
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
