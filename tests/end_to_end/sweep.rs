//! Sweeps against a REAL `mlflow server`: one process that trains every configuration, and
//! the Indexed-Job form, one process per configuration plus the collect step that ranks
//! their runs from MLflow and publishes the best through the gate.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::train_serve::{legendary, mlflow, python, text};

/// Four configurations; 1 and 3 fail (mtry larger than the number of columns).
const GRID: &str = "metric = \"roc_auc\"\ncv_folds = 0\n[data]\ngenerations = [\"1-9\"]\n[params]\nn_trees = [10]\nmtry = [2, 99]\nmin_samples_leaf = [1, 3]\n";

/// Eight configurations that all train, on the same data: every trial logs the same dataset.
const EIGHT: &str = "metric = \"roc_auc\"\ncv_folds = 0\n[data]\ngenerations = [\"1-9\"]\n[params]\nn_trees = [5, 10]\nmtry = [1, 2]\nmin_samples_leaf = [1, 3]\n";

/// Every run of experiment `name`, as the tracking server's REST API answers `runs/search`.
async fn runs_of(name: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let api = format!("{}/api/2.0/mlflow", mlflow().uri());
    let experiment: Value = http
        .get(format!(
            "{api}/experiments/get-by-name?experiment_name={name}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = experiment["experiment"]["experiment_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no experiment {name}: {experiment}"));
    let found: Value = http
        .post(format!("{api}/runs/search"))
        .json(&json!({"experiment_ids": [id], "max_results": 1000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    found["runs"].as_array().cloned().unwrap_or_default()
}

/// A run's tag.
fn tag<'r>(run: &'r Value, key: &str) -> Option<&'r str> {
    run["data"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)?["value"]
        .as_str()
}

/// The configuration runs among `runs` (those tagged with their index), as
/// `(index, status, datasets logged as inputs)`, by index.
fn trials(runs: &[Value]) -> Vec<(usize, String, usize)> {
    let mut trials: Vec<(usize, String, usize)> = runs
        .iter()
        .filter_map(|run| {
            let index = tag(run, "legendary.sweep.index")?.parse().ok()?;
            let status = run["info"]["status"].as_str()?.to_owned();
            let datasets = run["inputs"]["dataset_inputs"]
                .as_array()
                .map_or(0, Vec::len);
            Some((index, status, datasets))
        })
        .collect();
    trials.sort();
    trials
}

/// Trials that log the same new dataset at the same moment, against the test server's SQLite
/// store (which refuses all but one insert of the dataset's row, and used to fail trials that
/// trained fine). Every trial trains, so every one must be FINISHED, its dataset linked.
#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn a_parallel_sweep_whose_trials_log_the_same_dataset_finishes_every_trial() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid.toml");
    std::fs::write(&grid, EIGHT).unwrap();
    let experiment = "pokemon-sweep-race";
    let o = legendary()
        .args(["sweep", "--grid"])
        .arg(&grid)
        .args(["--parallel", "4", "--experiment", experiment, "--output"])
        .arg(dir.path().join("best"))
        .output()
        .unwrap();
    let said = text(&o);
    assert!(o.status.success(), "{said}");
    assert!(!said.contains("could not log"), "{said}");
    assert!(said.contains("(0 of 8 configurations failed)"), "{said}");
    let runs = runs_of(experiment).await;
    let expected: Vec<(usize, String, usize)> =
        (0..8).map(|i| (i, "FINISHED".to_owned(), 1)).collect();
    assert_eq!(
        trials(&runs),
        expected,
        "every configuration trained, so every run is FINISHED with its dataset\n{said}"
    );
}

/// The same race between processes: an Indexed Job's pods, each logging one configuration of
/// the same data into the same experiment at once.
#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn indexed_pods_that_log_the_same_dataset_at_once_all_finish() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid.toml");
    std::fs::write(&grid, EIGHT).unwrap();
    let experiment = "pokemon-pods-race";
    let pods: Vec<_> = (0..4)
        .map(|index| {
            legendary()
                .args(["sweep", "--grid"])
                .arg(&grid)
                .args(["--experiment", experiment, "--sweep-id", "race"])
                .args(["--only-index", &index.to_string(), "--output"])
                .arg(dir.path().join(index.to_string()))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for pod in pods {
        let o = pod.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let runs = runs_of(experiment).await;
    let expected: Vec<(usize, String, usize)> =
        (0..4).map(|i| (i, "FINISHED".to_owned(), 1)).collect();
    assert_eq!(trials(&runs), expected);
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn a_sweep_logs_child_runs_under_one_parent_and_registers_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid.toml");
    // The second configuration fails (mtry larger than the number of columns) and the sweep goes on.
    std::fs::write(&grid, "metric = \"cv_roc_auc\"\ncv_folds = 2\n[data]\ngenerations = [\"1-9\"]\n[params]\nn_trees = [10]\nmtry = [2, 99]\nmin_samples_leaf = [1, 3]\n").unwrap();
    let o = legendary()
        .args(["sweep", "--grid"])
        .arg(&grid)
        .args([
            "--experiment",
            "pokemon-sweep",
            "--run-name",
            "sweep-e2e",
            "--register-as",
            "pokemon-sweep",
            "--output",
        ])
        .arg(dir.path().join("best"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("best: configuration"), "{}", text(&o));
    let seen = python(
        r#"
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
e = c.get_experiment_by_name("pokemon-sweep")
runs = c.search_runs([e.experiment_id])
parent = [r for r in runs if r.info.run_name == "sweep-e2e"][0]
kids = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
v = c.search_model_versions("name='pokemon-sweep'")
best = parent.data.tags["legendary.sweep.best_run_id"]
winner = c.get_run(best)
print(json.dumps({"parent": parent.info.status, "kids": sorted((r.info.run_name, r.info.status) for r in kids), "versions": len(v),
    "version_run": v[0].run_id if v else None, "best_run": best,
    "parent_params": parent.data.params, "winner_params": winner.data.params,
    "parent_metrics": parent.data.metrics, "winner_metrics": winner.data.metrics,
    "same_sweep": sorted({r.data.tags.get("legendary.sweep.id") == parent.data.tags["legendary.sweep.id"] for r in kids})}))
"#,
    );
    let said = text(&o);
    assert_eq!(seen["parent"], "FINISHED", "{said}");
    let kids = seen["kids"].as_array().unwrap();
    assert_eq!(
        kids.iter().filter(|k| k[1] == "FAILED").count(),
        2,
        "{kids:?}\n{said}"
    );
    assert_eq!(
        kids.iter().filter(|k| k[1] == "FINISHED").count(),
        2,
        "the 2 configurations that train, nothing logged twice: {kids:?}\n{said}"
    );
    assert_eq!(seen["versions"], 1, "{said}");
    assert_eq!(
        seen["version_run"], seen["best_run"],
        "the version is the best configuration's own run"
    );
    assert_eq!(seen["same_sweep"], serde_json::json!([true]));
    // Children are named after the parent's --run-name.
    let names: Vec<&str> = kids.iter().map(|k| k[0].as_str().unwrap()).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("sweep-e2e-")).count(),
        4,
        "{names:?}"
    );
    // The parent carries the best configuration's params and metrics, and the ranking one
    // again as best_<metric>, so that the runs list can sort sweeps by their best result.
    assert_eq!(seen["parent_params"], seen["winner_params"], "{seen}");
    let (parent, winner) = (&seen["parent_metrics"], &seen["winner_metrics"]);
    assert!(winner["cv_roc_auc"].as_f64().is_some(), "{seen}");
    for (key, value) in winner.as_object().unwrap() {
        assert_eq!(&parent[key], value, "{key}");
    }
    assert_eq!(parent["best_cv_roc_auc"], winner["cv_roc_auc"]);
}

/// `legendary sweep --grid GRID --sweep-id ID` and `args`, as one Indexed Job pod runs it.
fn pod(grid: &std::path::Path, sweep_id: &str, args: &[&str]) -> std::process::Command {
    let mut c = legendary();
    c.args(["sweep", "--grid"])
        .arg(grid)
        .args(["--experiment", "pokemon-indexed", "--sweep-id", sweep_id])
        .args(args);
    c
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn an_indexed_sweep_collects_every_configuration_from_mlflow_and_promotes_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid.toml");
    std::fs::write(&grid, GRID).unwrap();
    let out = dir.path().join("models");
    let out = out.to_str().unwrap();
    let publish = ["--register-as", "pokemon-indexed", "--promote"];

    // The collect step (index 4 of 5) starts first, as it may in a cluster, and waits.
    let collector = pod(
        &grid,
        "job-1",
        &[
            &[
                "--job-index",
                "4",
                "--collect-poll",
                "0.2s",
                "--output",
                out,
            ],
            &publish[..],
        ]
        .concat(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut exits = Vec::new();
    for index in 0..4 {
        let o: Output = pod(
            &grid,
            "job-1",
            &[
                &["--job-index", &index.to_string(), "--output", out],
                &publish[..],
            ]
            .concat(),
        )
        .output()
        .unwrap();
        exits.push((index, o.status.success(), text(&o)));
    }
    for (index, ok, output) in &exits {
        assert_eq!(*ok, index % 2 == 0, "pod {index}: {output}");
    }
    assert!(
        exits[1].2.contains("logged configuration 1 as run"),
        "a failed configuration is still logged, as FAILED: {}",
        exits[1].2
    );
    let started = Instant::now();
    let collected = collector.wait_with_output().unwrap();
    let said = text(&collected);
    assert!(collected.status.success(), "{said}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the collect step ends once every configuration has reported"
    );
    assert!(said.contains("4 of 4 configurations reported"), "{said}");
    assert!(said.contains("promoted: version 1"), "{said}");

    let seen = python(
        r#"
import json
from mlflow import MlflowClient
c = MlflowClient()
e = c.get_experiment_by_name("pokemon-indexed")
runs = c.search_runs([e.experiment_id], "tags.`legendary.sweep.id` = 'job-1'")
parent = [r for r in runs if "legendary.sweep.index" not in r.data.tags][0]
trials = {r.data.tags["legendary.sweep.index"]: r for r in runs if "legendary.sweep.index" in r.data.tags}
v = c.get_model_version_by_alias("pokemon-indexed", "champion")
best = parent.data.tags["legendary.sweep.best_index"]
print(json.dumps({
    "statuses": {i: r.info.status for i, r in trials.items()},
    "nested": sorted({r.data.tags.get("mlflow.parentRunId") == parent.info.run_id for r in trials.values()}),
    "parent": parent.info.status,
    "best": best,
    "best_run": parent.data.tags["legendary.sweep.best_run_id"],
    "parent_best": parent.data.metrics.get("best_roc_auc"),
    "parent_params": parent.data.params == trials[best].data.params,
    "best_auc": max(r.data.metrics["roc_auc"] for r in trials.values() if r.info.status == "FINISHED"),
    "winner_auc": trials[best].data.metrics["roc_auc"],
    "winner_run": trials[best].info.run_id,
    "version_run": v.run_id,
    "version_stage": v.current_stage,
    "decision": v.tags.get("legendary.gate.decision"),
}))
"#,
    );
    assert_eq!(
        seen["statuses"],
        serde_json::json!({"0": "FINISHED", "1": "FAILED", "2": "FINISHED", "3": "FAILED"})
    );
    assert_eq!(
        seen["nested"],
        serde_json::json!([true]),
        "every configuration's run is nested under the collect step's run"
    );
    assert_eq!(seen["parent"], "FINISHED");
    assert_eq!(seen["best_auc"], seen["winner_auc"], "{seen}");
    assert_eq!(seen["parent_best"], seen["winner_auc"], "{seen}");
    assert_eq!(seen["parent_params"], true, "{seen}");
    assert_eq!(seen["best_run"], seen["winner_run"]);
    assert_eq!(
        seen["version_run"], seen["winner_run"],
        "the registered version is the winning configuration's own run, not a retrained copy"
    );
    assert_eq!(seen["version_stage"], "Production");
    assert_eq!(seen["decision"], "promoted");

    // The same configurations again under a new sweep id: the gate compares with the
    // champion and refuses a challenger that is not better by the margin.
    for index in [0, 2] {
        let o = pod(
            &grid,
            "job-2",
            &["--job-index", &index.to_string(), "--output", out],
        )
        .output()
        .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = pod(
        &grid,
        "job-2",
        &[
            &[
                "--collect",
                "--collect-timeout",
                "1s",
                "--collect-poll",
                "0.2s",
                "--min-improvement",
                "0.01",
            ],
            &publish[..],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    let said = text(&o);
    assert!(
        said.contains("the collect timeout (1s) passed"),
        "configurations 1 and 3 never report under job-2: {said}"
    );
    assert!(said.contains("no run reported"), "{said}");
    assert!(said.contains("not promoted: version 2"), "{said}");
    assert_eq!(
        o.status.code(),
        Some(3),
        "a refused challenger exits 3: {said}"
    );

    // Nothing reported at all: a clear error, no version.
    let o = pod(
        &grid,
        "job-3",
        &[
            "--collect",
            "--collect-timeout",
            "0.3s",
            "--collect-poll",
            "0.1s",
        ],
    )
    .output()
    .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o)
            .contains("no configuration of the sweep finished with a roc_auc (0 of 4 finished)"),
        "{}",
        text(&o)
    );

    // An index past the grid names the completions the Job needs.
    let o = pod(&grid, "job-4", &["--job-index", "5"]).output().unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("set its `completions` to 5"),
        "{}",
        text(&o)
    );
}
