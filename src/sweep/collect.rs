//! The collect step of a sweep spread over many processes (a Kubernetes Indexed Job): wait
//! until every configuration of the sweep has a finished or failed run in MLflow, rank the
//! finished ones by the grid's metric, and publish the best run's own model, through the
//! gate when asked. Nothing is retrained: the model that is registered is the one whose
//! metrics were ranked, and the gate judges it on the rows its training held out, rebuilt
//! from its configuration and checked against what the run logged.

use std::collections::HashMap;

use anyhow::Context as _;
use tokio::time::Instant;

use super::session::{TAG_ID, TAG_INDEX, open, parent_context, record_best, runtime};
use super::{Grid, Row, best, table};
use crate::config::{CollectConfig, SweepJob};
use crate::track::{LoggedRun, Published, Session};
use crate::train::{HeldOut, MetricName, Metrics};
use legendary_mlflow::tracking::{RunStatus, now_ms};
use legendary_mlflow::wire::Run;
use legendary_mlflow::{MlflowClient, ModelUri};

/// Logged and recomputed held-out metrics must agree this closely (they are the same
/// arithmetic on the same rows; only the decimal round trip of the metric differs).
const SAME_METRIC: f64 = 1e-9;

/// What MLflow holds for one configuration.
enum Report<'r> {
    /// A FINISHED run.
    Finished(&'r Run),
    /// A FAILED or KILLED run, and no finished one.
    Failed(&'r Run),
    /// Only a RUNNING run.
    Running(&'r Run),
    /// No run yet.
    Missing,
}

impl Report<'_> {
    fn is_final(&self) -> bool {
        matches!(self, Self::Finished(_) | Self::Failed(_))
    }
}

/// Runs the collect step; see the module docs.
///
/// # Errors
/// No tracking server, MLflow failures, no finished configuration, a best run whose model
/// does not load or whose held-out rows cannot be rebuilt, and publishing failures.
pub(super) fn collect(
    job: &SweepJob,
    grid: &Grid,
    sweep_id: &str,
    config: CollectConfig,
) -> anyhow::Result<Option<Published>> {
    let target = job
        .tracking
        .as_ref()
        .context("--collect needs a tracking server: set --tracking-uri or MLFLOW_TRACKING_URI")?;
    runtime()?.block_on(async {
        let session = open(target).await?;
        let client = session.client();
        let runs = wait_for_runs(client, session.experiment_id(), grid, sweep_id, config).await?;
        let reports = reports(&runs, grid.configs.len());
        let rows: Vec<Row<'_>> = reports
            .iter()
            .enumerate()
            .map(|(index, report)| row(grid, index, report))
            .collect();
        print!("{}", table(&rows, grid.metric));
        let parent = session
            .start_run(&parent_context(target, sweep_id, grid, Vec::new()))
            .await?;
        // Nest the configurations' runs under this one in the MLflow UI, as a one-process
        // sweep does.
        for report in &reports {
            if let Report::Finished(run) | Report::Failed(run) | Report::Running(run) = report {
                client
                    .set_run_tag(&run.info.run_id, "mlflow.parentRunId", &parent.run_id)
                    .await?;
            }
        }
        let published = publish_best(&session, job, grid, &reports, &rows, &parent).await;
        let status = match &published {
            Ok(_) => RunStatus::Finished,
            Err(e) => {
                let _ = client
                    .set_run_tag(&parent.run_id, "legendary.error", &format!("{e:#}"))
                    .await;
                RunStatus::Failed
            }
        };
        client
            .update_run(&parent.run_id, status, Some(now_ms()))
            .await?;
        published
    })
}

/// Polls MLflow for the sweep's runs until every configuration has a final one or the
/// timeout passes. A transient MLflow error (a restart) is retried at the next poll.
async fn wait_for_runs(
    client: &MlflowClient,
    experiment_id: &str,
    grid: &Grid,
    sweep_id: &str,
    config: CollectConfig,
) -> anyhow::Result<Vec<Run>> {
    let n = grid.configs.len();
    let filter = format!("tags.`{TAG_ID}` = '{sweep_id}'");
    // Retries of failed pods add runs; far more than this means something else tags them.
    let limit = 10 * n + 100;
    let deadline = Instant::now() + config.timeout;
    let mut last: Option<Vec<Run>> = None;
    let mut shown = None;
    loop {
        match client.search_runs(experiment_id, &filter, limit).await {
            Ok(runs) => {
                let reports = reports(&runs, n);
                let done = reports.iter().filter(|r| r.is_final()).count();
                if shown != Some(done) {
                    println!("sweep {sweep_id}: {done} of {n} configurations reported");
                    shown = Some(done);
                }
                if done == n {
                    return Ok(runs);
                }
                last = Some(runs);
            }
            Err(e) if e.is_transient() => println!("sweep {sweep_id}: asking MLflow failed: {e}"),
            Err(e) => return Err(e.into()),
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(config.poll.min(deadline - now)).await;
    }
    let runs = last.with_context(|| {
        format!("sweep {sweep_id}: MLflow did not answer before the collect timeout")
    })?;
    println!(
        "sweep {sweep_id}: the collect timeout ({}) passed; ranking what was reported",
        humantime::format_duration(config.timeout)
    );
    Ok(runs)
}

/// The run that stands for each configuration: the newest FINISHED one (a retried pod may
/// have logged twice), else the newest FAILED or KILLED, else a RUNNING one.
fn reports(runs: &[Run], n: usize) -> Vec<Report<'_>> {
    let mut by_index: HashMap<usize, Vec<&Run>> = HashMap::new();
    for run in runs {
        let index = tag(run, TAG_INDEX).and_then(|v| v.parse::<usize>().ok());
        if let Some(i) = index.filter(|&i| i < n) {
            by_index.entry(i).or_default().push(run);
        }
    }
    (0..n)
        .map(|i| {
            let mut runs = by_index.remove(&i).unwrap_or_default();
            runs.sort_by_key(|r| std::cmp::Reverse(r.info.start_time.unwrap_or(0)));
            let with = |status: &str| runs.iter().copied().find(|r| r.info.status == status);
            if let Some(r) = with(RunStatus::Finished.as_str()) {
                Report::Finished(r)
            } else if let Some(r) = runs.iter().copied().find(|r| {
                r.info.status == RunStatus::Failed.as_str()
                    || r.info.status == RunStatus::Killed.as_str()
            }) {
                Report::Failed(r)
            } else if let Some(r) = runs.first() {
                Report::Running(r)
            } else {
                Report::Missing
            }
        })
        .collect()
}

fn tag<'r>(run: &'r Run, key: &str) -> Option<&'r str> {
    run.data
        .tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.as_str())
}

fn metric(run: &Run, key: &str) -> Option<f64> {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == key)
        .map(|m| m.value)
        .filter(|v| v.is_finite())
}

fn param<'r>(run: &'r Run, key: &str) -> Option<&'r str> {
    run.data
        .params
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.as_str())
}

fn row<'g>(grid: &'g Grid, index: usize, report: &Report<'_>) -> Row<'g> {
    let config = &grid.configs[index];
    let (rank_score, result) = match report {
        Report::Finished(run) => {
            let held = |name: MetricName| metric(run, name.as_str());
            match (held(MetricName::RocAuc), held(MetricName::F1)) {
                (Some(roc_auc), Some(f1)) => {
                    (metric(run, &grid.metric.to_string()), Ok((roc_auc, f1)))
                }
                _ => (
                    None,
                    Err(format!(
                        "FINISHED without held-out metrics (run {})",
                        run.info.run_id
                    )),
                ),
            }
        }
        Report::Failed(run) => (
            None,
            Err(format!(
                "{}: {}",
                run.info.status,
                tag(run, "legendary.error").unwrap_or("see the run's logs")
            )),
        ),
        Report::Running(run) => (
            None,
            Err(format!(
                "still RUNNING at the collect timeout (run {})",
                run.info.run_id
            )),
        ),
        Report::Missing => (None, Err("no run reported".to_owned())),
    };
    Row {
        index,
        config,
        rank_score,
        result,
    }
}

/// Picks the best finished configuration, loads its run's model, rebuilds its held-out rows
/// and publishes it as the job asks.
async fn publish_best(
    session: &Session,
    job: &SweepJob,
    grid: &Grid,
    reports: &[Report<'_>],
    rows: &[Row<'_>],
    parent: &LoggedRun,
) -> anyhow::Result<Option<Published>> {
    let finished = reports
        .iter()
        .filter(|r| matches!(r, Report::Finished(_)))
        .count();
    let Some(best_index) = best(rows, grid.metric) else {
        anyhow::bail!(
            "no configuration of the sweep finished with a {} ({finished} of {} finished)",
            grid.metric,
            reports.len()
        );
    };
    let Report::Finished(run) = &reports[best_index] else {
        anyhow::bail!("the best configuration has no finished run")
    };
    println!(
        "best: configuration {best_index} (run {}) with {} {:.4}; {finished} of {} configurations finished",
        run.info.run_id,
        grid.metric,
        rows[best_index].rank_score.unwrap_or(f64::NAN),
        reports.len()
    );
    let client = session.client();
    record_best(
        client,
        &parent.run_id,
        best_index,
        &run.info.run_id,
        grid.metric,
    )
    .await?;
    let Some(config) = &job.publish else {
        return Ok(None);
    };
    let logged = LoggedRun::of(run);
    let uri = match logged.model.as_ref().and_then(|m| m.model_id.clone()) {
        Some(model_id) => ModelUri::LoggedModel { model_id },
        None => ModelUri::Run {
            run_id: run.info.run_id.clone(),
            path: "model".to_owned(),
        },
    };
    let served = crate::acquire::fetch_uri(client, &uri)
        .await
        .with_context(|| format!("the best run's model {uri} cannot be loaded"))?;
    let held_out = held_out_of(grid, best_index, run, &served.model)?;
    session
        .publish(config, &logged, &served.model, &held_out, None)
        .await
        .map(Some)
}

/// The rows configuration `index` held out, rebuilt from the grid and checked against what
/// its run logged: the same data (SHA-256) and the same held-out ROC AUC from its model. A
/// grid or data package edited while the sweep ran fails here, instead of gating on rows the
/// model may have been trained on.
fn held_out_of(
    grid: &Grid,
    index: usize,
    run: &Run,
    model: &crate::model::Model,
) -> anyhow::Result<HeldOut> {
    let config = grid
        .checked(index)
        .map_err(|e| anyhow::anyhow!("configuration {index}: {e}"))?;
    let held_out = crate::train::held_out(&config)?;
    let logged_sha = param(run, "data_sha256").unwrap_or("(not logged)");
    if logged_sha != held_out.data_sha256 {
        anyhow::bail!(
            "configuration {index} was trained on data with SHA-256 {logged_sha}, but the data is now {}: the sweep's data changed while it ran, so its held-out rows cannot be rebuilt; run the sweep again",
            held_out.data_sha256
        );
    }
    let recomputed = Metrics::compute(
        &held_out.labels,
        &model.proba_rows(&held_out.rows),
        model.threshold(),
    )
    .get(MetricName::RocAuc);
    let logged = metric(run, MetricName::RocAuc.as_str());
    if logged.is_none_or(|v| (v - recomputed).abs() > SAME_METRIC) {
        anyhow::bail!(
            "configuration {index}: its run logged held-out roc_auc {}, but its model scores {recomputed} on the rows the grid selects now: the grid changed while the sweep ran; run the sweep again",
            logged.map_or_else(|| "nothing".to_owned(), |v| v.to_string())
        );
    }
    Ok(held_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::RankMetric;
    use legendary_mlflow::wire::{KeyValue, Metric, RunData, RunInfo};

    fn run(index: &str, status: &str, start: i64, roc: Option<f64>) -> Run {
        Run {
            info: RunInfo {
                run_id: format!("{index}-{status}-{start}"),
                status: status.to_owned(),
                start_time: Some(start),
                ..RunInfo::default()
            },
            data: RunData {
                tags: vec![KeyValue::new(TAG_INDEX, index)],
                metrics: roc
                    .into_iter()
                    .map(|v| Metric {
                        key: "roc_auc".to_owned(),
                        value: v,
                        timestamp: 0,
                        step: 0,
                        model_id: None,
                    })
                    .collect(),
                ..RunData::default()
            },
            ..Run::default()
        }
    }

    #[test]
    fn a_finished_run_stands_for_its_configuration_over_failed_and_running_ones() {
        let runs = vec![
            run("0", "FAILED", 1, None),
            run("0", "FINISHED", 2, Some(0.9)),
            run("0", "FAILED", 3, None),
            run("1", "RUNNING", 5, None),
            run("1", "FAILED", 4, None),
            run("2", "RUNNING", 1, None),
            run("7", "FINISHED", 1, Some(1.0)),
            run("x", "FINISHED", 1, Some(1.0)),
        ];
        let reports = reports(&runs, 4);
        assert!(matches!(reports[0], Report::Finished(r) if r.info.start_time == Some(2)));
        assert!(matches!(reports[1], Report::Failed(r) if r.info.start_time == Some(4)));
        assert!(matches!(reports[2], Report::Running(_)));
        assert!(matches!(reports[3], Report::Missing));
        let done = reports.iter().filter(|r| r.is_final()).count();
        assert_eq!(done, 2, "running and missing configurations are not final");
    }

    #[test]
    fn of_two_finished_runs_of_one_configuration_the_newest_counts() {
        let runs = vec![
            run("0", "FINISHED", 1, Some(0.5)),
            run("0", "FINISHED", 9, Some(0.7)),
        ];
        let reports = reports(&runs, 1);
        assert!(matches!(reports[0], Report::Finished(r) if r.info.start_time == Some(9)));
    }

    #[test]
    fn only_finished_runs_with_the_ranking_metric_are_ranked() {
        let grid = crate::sweep::grid::parse(
            "metric = \"roc_auc\"\ncv_folds = 0\n[params]\nn_trees = [10, 20, 30]\n",
            &crate::train::TrainConfig::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut finished = run("1", "FINISHED", 1, Some(0.8));
        finished.data.metrics.push(Metric {
            key: "f1".to_owned(),
            value: 0.5,
            timestamp: 0,
            step: 0,
            model_id: None,
        });
        let runs = vec![run("0", "FAILED", 1, None), finished];
        let reports = reports(&runs, 3);
        let rows: Vec<Row<'_>> = reports
            .iter()
            .enumerate()
            .map(|(i, r)| row(&grid, i, r))
            .collect();
        assert_eq!(best(&rows, grid.metric), Some(1));
        assert_eq!(rows[1].rank_score, Some(0.8));
        let text = table(&rows, grid.metric);
        assert!(text.contains("FAILED: see the run's logs"), "{text}");
        assert!(text.contains("no run reported"), "{text}");
        assert_eq!(RankMetric::Holdout(MetricName::RocAuc), grid.metric);
    }
}
