//! One sweep process: every configuration end to end (a parent MLflow run, one child run per
//! configuration, FAILED when training fails, and the sweep goes on; a progress bar, the
//! ranked table, the best model written and, when asked, its run's model registered and
//! promoted), or one
//! step of an Indexed Job (a single configuration, or the collect step of `collect.rs`).

use std::collections::HashMap;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use super::grid::RankMetric;
use super::{Grid, Row, Trial, best, collect, table};
use crate::config::{CollectConfig, SweepJob, SweepStep, TrackingTarget};
use crate::track::{LoggedRun, Published, RunContext, Session};
use legendary_mlflow::tracking::{RunStatus, now_ms};
use legendary_mlflow::wire::{KeyValue, Metric};
use legendary_mlflow::{MlflowClient, MlflowError};

/// Tag keys every run of a sweep carries, so that its runs can be found and ranked later.
pub(crate) const TAG_ID: &str = "legendary.sweep.id";
/// The configuration's position in the grid.
pub(crate) const TAG_INDEX: &str = "legendary.sweep.index";
/// The metric the sweep ranks by.
pub(crate) const TAG_METRIC: &str = "legendary.sweep.metric";
/// On the parent run: the best configuration's index and run id.
pub(crate) const TAG_BEST_INDEX: &str = "legendary.sweep.best_index";
/// See [`TAG_BEST_INDEX`].
pub(crate) const TAG_BEST_RUN: &str = "legendary.sweep.best_run_id";

/// What this process does, once the grid's size is known.
enum Step {
    All,
    Only(usize),
    Collect(CollectConfig),
}

/// Runs the job's step of the sweep; see the module docs. Returns what was published, when
/// the job asks to.
///
/// # Errors
/// A bad grid or index, MLflow failures, no successful trial, or I/O writing the model.
pub(crate) fn sweep(job: &SweepJob) -> anyhow::Result<Option<Published>> {
    let grid = super::load(&job.grid, &crate::train::TrainConfig::default())?;
    run(job, &grid, Vec::new())
}

/// [`sweep`] of a grid already expanded; `tags` go on the sweep's parent run as well (the
/// reason `retrain` swept).
///
/// # Errors
/// As [`sweep`].
pub(crate) fn run(
    job: &SweepJob,
    grid: &Grid,
    tags: Vec<KeyValue>,
) -> anyhow::Result<Option<Published>> {
    let sweep_id = job
        .sweep_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    match step(&job.step, grid.configs.len())? {
        Step::All => sweep_all(job, grid, &sweep_id, tags),
        Step::Only(i) => train_one(job, grid, &sweep_id, i).map(|()| None),
        Step::Collect(config) => collect::collect(job, grid, &sweep_id, config),
    }
}

fn step(step: &SweepStep, n: usize) -> anyhow::Result<Step> {
    Ok(match *step {
        SweepStep::All => Step::All,
        SweepStep::Only(i) if i < n => Step::Only(i),
        SweepStep::Only(i) => anyhow::bail!(
            "--only-index {i}: the grid has {n} configurations (0-{})",
            n - 1
        ),
        SweepStep::Collect(c) => Step::Collect(c),
        SweepStep::JobIndex(i, _) if i < n => Step::Only(i),
        SweepStep::JobIndex(i, c) if i == n => Step::Collect(c),
        SweepStep::JobIndex(i, _) => anyhow::bail!(
            "--job-index {i}: the grid has {n} configurations, so the Indexed Job needs {} completions (0-{n}, the last collects); set its `completions` to {}",
            n + 1,
            n + 1
        ),
    })
}

/// The tags that tie a run to its sweep and configuration.
fn trial_tags(sweep_id: &str, grid: &Grid, index: usize) -> Vec<KeyValue> {
    vec![
        KeyValue::new(TAG_ID, sweep_id),
        KeyValue::new(TAG_INDEX, index.to_string()),
        KeyValue::new(TAG_METRIC, grid.metric.to_string()),
    ]
}

/// The name of configuration `index`'s run: `sweep-3`, or `<--run-name>-3`.
pub(super) fn trial_run_name(target: &TrackingTarget, index: usize) -> String {
    format!("{}-{index}", target.run_name.as_deref().unwrap_or("sweep"))
}

/// Marks the sweep's parent run with its best configuration: the index and run id as tags,
/// and the best run's params and latest metrics copied onto the parent, with the ranking
/// metric again as `best_<metric>`, so that MLflow's runs list can show and sort sweeps by
/// their best result. Both ways of running a sweep (one process, an Indexed Job) call this.
///
/// # Errors
/// MLflow failures.
pub(super) async fn record_best(
    client: &MlflowClient,
    parent_run_id: &str,
    best_index: usize,
    best_run_id: &str,
    metric: RankMetric,
) -> Result<(), MlflowError> {
    let best = client.get_run(best_run_id).await?;
    let metric = metric.to_string();
    let now = now_ms();
    let mut metrics: Vec<Metric> = best
        .data
        .metrics
        .iter()
        .map(|m| Metric {
            timestamp: now,
            model_id: None,
            ..m.clone()
        })
        .collect();
    if let Some(ranked) = best.data.metrics.iter().find(|m| m.key == metric) {
        metrics.push(Metric {
            key: format!("best_{}", ranked.key),
            timestamp: now,
            model_id: None,
            ..ranked.clone()
        });
    }
    let tags = [
        KeyValue::new(TAG_BEST_INDEX, best_index.to_string()),
        KeyValue::new(TAG_BEST_RUN, best_run_id),
    ];
    client
        .log_batch(parent_run_id, &best.data.params, &metrics, &tags)
        .await
}

/// The sweep's parent run: named `sweep` (or `--run-name`), tagged with the sweep id, the
/// ranking metric and `tags`; its children are the configurations' runs.
pub(super) fn parent_context(
    target: &TrackingTarget,
    sweep_id: &str,
    grid: &Grid,
    tags: Vec<KeyValue>,
) -> RunContext {
    RunContext {
        run_name: Some(
            target
                .run_name
                .clone()
                .unwrap_or_else(|| "sweep".to_owned()),
        ),
        tags: [
            KeyValue::new(TAG_ID, sweep_id),
            KeyValue::new(TAG_METRIC, grid.metric.to_string()),
        ]
        .into_iter()
        .chain(tags)
        .collect(),
        ..RunContext::default()
    }
}

/// The session of a sweep's runs: the target's server, experiment and user.
pub(super) async fn open(target: &TrackingTarget) -> Result<Session, MlflowError> {
    Session::open(&target.tracking, &target.experiment, target.user.as_deref()).await
}

/// A runtime for the MLflow calls of a sweep (training runs on its own threads).
pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// One configuration of an Indexed Job: train it, write it to the output, log it as a run
/// of the sweep (no parent: the collect step makes one). Failing to log fails the step, so
/// that the Job retries this index: a configuration that is not in MLflow does not count.
fn train_one(job: &SweepJob, grid: &Grid, sweep_id: &str, index: usize) -> anyhow::Result<()> {
    let trials = super::train_all(grid, &[index], 1, &mut |_| {})?;
    let [trial] = trials.as_slice() else {
        anyhow::bail!("configuration {index} produced no result")
    };
    print!("{}", table(&[Row::of(trial, grid.metric)], grid.metric));
    if let Ok(outcome) = &trial.result {
        outcome.write(&job.output)?;
        println!("model written to {}", job.output.display());
    }
    if let Some(target) = &job.tracking {
        let run = runtime()?.block_on(async {
            let session = open(target).await?;
            let ctx = RunContext {
                run_name: Some(trial_run_name(target, index)),
                tags: trial_tags(sweep_id, grid, index),
                ..RunContext::default()
            };
            log_trial(&session, &ctx, trial).await
        })?;
        println!(
            "logged configuration {index} as run {} of sweep {sweep_id} in experiment '{}'",
            run.run_id, target.experiment
        );
    }
    match &trial.result {
        Ok(_) => Ok(()),
        Err(e) => anyhow::bail!("configuration {index} failed: {e}"),
    }
}

/// Every configuration in this process; see the module docs.
fn sweep_all(
    job: &SweepJob,
    grid: &Grid,
    sweep_id: &str,
    tags: Vec<KeyValue>,
) -> anyhow::Result<Option<Published>> {
    let indices: Vec<usize> = (0..grid.configs.len()).collect();
    let runtime = runtime()?;
    // The session and the sweep's parent run, when there is a tracking server.
    let tracked = match &job.tracking {
        Some(target) => Some(runtime.block_on(async {
            let session = open(target).await?;
            let parent = session
                .start_run(&parent_context(target, sweep_id, grid, tags))
                .await?;
            anyhow::Ok((session, parent, target))
        })?),
        None => None,
    };
    let bar = ProgressBar::new(indices.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} configurations {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Each configuration's run, so that the best one's own run is what gets registered.
    let mut logged: HashMap<usize, LoggedRun> = HashMap::new();
    let mut on_done = |trial: &Trial| {
        if let Some((session, parent, target)) = &tracked {
            let ctx = RunContext {
                run_name: Some(trial_run_name(target, trial.index)),
                parent_run_id: Some(parent.run_id.clone()),
                tags: trial_tags(sweep_id, grid, trial.index),
                start_time: None,
            };
            match runtime.block_on(log_trial(session, &ctx, trial)) {
                Ok(run) => {
                    logged.insert(trial.index, run);
                }
                Err(e) => bar.println(format!(
                    "configuration {}: could not log to MLflow: {e:#}",
                    trial.index
                )),
            }
        }
        if let Err(e) = &trial.result {
            bar.println(format!("configuration {} failed: {e}", trial.index));
        }
        bar.inc(1);
    };
    let trials = super::train_all(grid, &indices, job.parallel, &mut on_done)?;
    bar.finish_and_clear();
    let rows: Vec<Row<'_>> = trials.iter().map(|t| Row::of(t, grid.metric)).collect();
    print!("{}", table(&rows, grid.metric));
    let failed = trials.iter().filter(|t| t.result.is_err()).count();
    let finish = |status| {
        if let Some((session, parent, _)) = &tracked {
            let _ = runtime.block_on(session.client().update_run(
                &parent.run_id,
                status,
                Some(now_ms()),
            ));
        }
    };
    let Some(best_index) = best(&rows, grid.metric) else {
        finish(RunStatus::Failed);
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
        rows[best_index].rank_score.unwrap_or(f64::NAN),
        failed,
        trials.len()
    );
    outcome.write(&job.output)?;
    println!("best model written to {}", job.output.display());
    let published = match &tracked {
        Some((session, parent, _)) => runtime.block_on(async {
            // The registered version is the winning configuration's own run, as in the
            // collect step of an Indexed Job.
            let run = logged.remove(&winner.index).with_context(|| {
                format!(
                    "configuration {} is the best but its run could not be logged (see above)",
                    winner.index
                )
            })?;
            record_best(
                session.client(),
                &parent.run_id,
                winner.index,
                &run.run_id,
                grid.metric,
            )
            .await?;
            match &job.publish {
                Some(config) => session
                    .publish(
                        config,
                        &run,
                        outcome.evaluated_model(),
                        &outcome.held_out(),
                        Some(&outcome.description()),
                    )
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }),
        None => Ok(None),
    };
    finish(if published.is_ok() {
        RunStatus::Finished
    } else {
        RunStatus::Failed
    });
    published
}

async fn log_trial(
    session: &Session,
    ctx: &RunContext,
    trial: &Trial,
) -> anyhow::Result<LoggedRun> {
    Ok(match &trial.result {
        Ok(outcome) => {
            let dir = tempfile::tempdir()?;
            outcome.write(dir.path())?;
            // The run is created once the configuration trained; it starts when training did.
            let ctx = RunContext {
                start_time: Some(outcome.timing.started_ms),
                ..ctx.clone()
            };
            session.log_training(&ctx, outcome, dir.path()).await?
        }
        Err(e) => session.log_failure(ctx, &e.to_string()).await?,
    })
}
