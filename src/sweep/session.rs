//! One sweep end to end: a parent MLflow run, one child run per configuration (FAILED when
//! training fails, and the sweep goes on), a progress bar, the ranked table, the best model
//! written and, when asked, registered and promoted.

use indicatif::{ProgressBar, ProgressStyle};

use super::{Trial, best, table};
use crate::config::SweepJob;
use crate::mlflow::MlflowClient;
use crate::mlflow::wire::KeyValue;
use crate::track::{self, Published, RunContext};

/// Runs the sweep; see the module docs. Returns what was published, when the job asks to.
///
/// # Errors
/// A bad grid or index, MLflow failures of the parent run, no successful trial, or I/O
/// writing the best model.
pub(crate) fn sweep(job: &SweepJob) -> anyhow::Result<Option<Published>> {
    let grid = super::load(&job.grid)?;
    let indices: Vec<usize> = match job.only_index {
        Some(i) if i >= grid.configs.len() => {
            anyhow::bail!(
                "--only-index {i}: the grid has {} configurations (0-{})",
                grid.configs.len(),
                grid.configs.len() - 1
            )
        }
        Some(i) => vec![i],
        None => (0..grid.configs.len()).collect(),
    };
    let client = job
        .tracking
        .as_ref()
        .map(|t| MlflowClient::new(&t.tracking))
        .transpose()?;
    let client = client.as_ref();
    let user = job.tracking.as_ref().and_then(|t| t.user.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let parent = match (client, &job.tracking) {
        (Some(c), Some(target)) => Some(runtime.block_on(async {
            let experiment_id = c.get_or_create_experiment(&target.experiment).await?;
            let ctx = RunContext {
                experiment_id: experiment_id.clone(),
                user: user.clone(),
                run_name: Some(
                    target
                        .run_name
                        .clone()
                        .unwrap_or_else(|| "sweep".to_owned()),
                ),
                tags: vec![KeyValue::new(
                    "legendary.sweep.metric",
                    grid.metric.to_string(),
                )],
                ..RunContext::default()
            };
            let run = track::start_run(c, &ctx).await?;
            anyhow::Ok((experiment_id, run))
        })?),
        _ => None,
    };
    let bar = ProgressBar::new(indices.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} configurations {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let handle = runtime.handle().clone();
    let on_done = |trial: &Trial| {
        if let (Some(c), Some((experiment_id, parent_run))) = (client, &parent) {
            let ctx = RunContext {
                experiment_id: experiment_id.clone(),
                run_name: Some(format!("sweep-{}", trial.index)),
                parent_run_id: Some(parent_run.run_id.clone()),
                user: user.clone(),
                tags: vec![KeyValue::new(
                    "legendary.sweep.index",
                    trial.index.to_string(),
                )],
            };
            let logged = handle.block_on(log_trial(c, &ctx, trial));
            if let Err(e) = logged {
                bar.println(format!(
                    "configuration {}: could not log to MLflow: {e:#}",
                    trial.index
                ));
            }
        }
        if let Err(e) = &trial.result {
            bar.println(format!("configuration {} failed: {e}", trial.index));
        }
        bar.inc(1);
    };
    let trials = super::train_all(&grid, &indices, job.parallel, &on_done);
    bar.finish_and_clear();
    print!("{}", table(&trials, grid.metric));
    let failed = trials.iter().filter(|t| t.result.is_err()).count();
    let finish = |status| {
        if let (Some(c), Some((_, run))) = (client, &parent) {
            let _ = runtime.block_on(c.update_run(
                &run.run_id,
                status,
                Some(crate::mlflow::tracking::now_ms()),
            ));
        }
    };
    let Some(best_index) = best(&trials, grid.metric) else {
        finish(crate::mlflow::tracking::RunStatus::Failed);
        anyhow::bail!("no configuration succeeded ({failed} failed)");
    };
    let winner = &trials[best_index];
    let Ok(outcome) = &winner.result else {
        anyhow::bail!("the best trial has no model")
    };
    println!(
        "best: configuration {} with {} {:.4} ({} of {} configurations failed)",
        winner.index,
        grid.metric,
        winner.score(grid.metric).unwrap_or(f64::NAN),
        failed,
        trials.len()
    );
    outcome.write(&job.output)?;
    println!("best model written to {}", job.output.display());
    let published = match (client, &parent) {
        (Some(c), Some((experiment_id, parent_run))) => runtime.block_on(async {
            c.set_run_tag(
                &parent_run.run_id,
                "legendary.sweep.best_index",
                &winner.index.to_string(),
            )
            .await?;
            // The best model is also logged on the parent run, so the registered version points
            // at the sweep's own artifacts.
            let ctx = RunContext {
                experiment_id: experiment_id.clone(),
                run_name: Some(format!("sweep-best-{}", winner.index)),
                parent_run_id: Some(parent_run.run_id.clone()),
                user: user.clone(),
                tags: vec![KeyValue::new("legendary.sweep.best", "true")],
            };
            let run = track::log_training(c, &ctx, outcome, &job.output).await?;
            match &job.publish {
                Some(config) => track::publish(c, config, &run, outcome).await.map(Some),
                None => Ok(None),
            }
        }),
        _ => Ok(None),
    };
    finish(if published.is_ok() {
        crate::mlflow::tracking::RunStatus::Finished
    } else {
        crate::mlflow::tracking::RunStatus::Failed
    });
    published
}

async fn log_trial(client: &MlflowClient, ctx: &RunContext, trial: &Trial) -> anyhow::Result<()> {
    match &trial.result {
        Ok(outcome) => {
            let dir = tempfile::tempdir()?;
            outcome.write(dir.path())?;
            track::log_training(client, ctx, outcome, dir.path()).await?;
        }
        Err(e) => {
            track::log_failure(client, ctx, &e.to_string()).await?;
        }
    }
    Ok(())
}
