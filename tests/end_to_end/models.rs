//! A model `legendary train` logs is a first-class MLflow model for MLflow's own tools, on the
//! server generation under test (3.x from `.venv`, 2.x from `.venv-mlflow2`): a logged model
//! with its metrics (MLflow 3) or a run with `mlflow.log-model.history` (MLflow 2), `MLmodel`
//! saying where it was logged, `mlflow.pyfunc.load_model` answering exactly as `legendary`
//! does on every row of the data set, `mlflow models serve` answering the demo's requests,
//! and a run as long as the training.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use super::train_serve::{legendary, mlflow, python, text};
use crate::support::mlflow_server::{mlflow_major, venv_bin};
use crate::support::{DEMO, DEMO_LEGENDARY, free_port, local_predictions, repo, wait_until_async};

const NAME: &str = "pokemon-pyfunc";
const EXPERIMENT: &str = "first-class-models";

/// One real training (the default forest, 3-fold CV, so it takes seconds), registered and in
/// Production, shared by the tests of this file.
struct Trained {
    _dir: tempfile::TempDir,
    model_dir: PathBuf,
    /// The seconds `legendary train` reports it trained for.
    seconds: f64,
}

fn trained() -> &'static Trained {
    static TRAINED: OnceLock<Trained> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model_dir = dir.path().join("model");
        let out = legendary()
            .args(["train", "--cv-folds", "3", "--experiment", EXPERIMENT])
            .args(["--register-as", NAME, "--stage", "Production", "--output"])
            .arg(&model_dir)
            .output()
            .unwrap();
        let said = text(&out);
        assert!(out.status.success(), "{said}");
        let seconds = said
            .lines()
            .find_map(|l| l.strip_prefix("trained in "))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no training time in: {said}"));
        Trained {
            _dir: dir,
            model_dir,
            seconds,
        }
    })
}

/// Every Pokémon of the bundled data set as a CSV of the six stats.
pub(super) fn data_set_csv(path: &Path) -> usize {
    let mut out = legendary_forest::FEATURES.join(",") + "\n";
    let mut rows = 0;
    for generation in 1..=9 {
        let file = repo().join(format!("data/pokemon/generation-{generation}.csv"));
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at: Vec<usize> = legendary_forest::FEATURES
            .iter()
            .map(|s| header.iter().position(|h| h == s).unwrap())
            .collect();
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            let row: Vec<&str> = at.iter().map(|&i| cells[i]).collect();
            out.push_str(&row.join(","));
            out.push('\n');
            rows += 1;
        }
    }
    std::fs::write(path, out).unwrap();
    rows
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): waits on this file's shared training
/// (the default forest with cross-validation), then on MLflow's Python client: importing
/// MLflow and pandas, `mlflow.pyfunc` loading the model and scoring every row of the data set.
#[test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
fn mlflow_sees_a_logged_model_and_loads_it_with_pyfunc_answering_as_legendary_does() {
    let t = trained();
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("pokemon.csv");
    let rows = data_set_csv(&csv);
    assert!(rows > 1000, "{rows} rows");

    // legendary's own answers, from the registry.
    let predicted = legendary()
        .args([
            "predict",
            "--model-uri",
            &format!("models:/{NAME}/Production"),
        ])
        .arg("--input")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(predicted.status.success(), "{}", text(&predicted));
    let ours: Vec<(bool, f64)> = String::from_utf8_lossy(&predicted.stdout)
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[6] == "true", cells[7].parse().unwrap())
        })
        .collect();
    assert_eq!(ours.len(), rows);

    let seen = python(&format!(
        r#"
import json, sys, mlflow, pandas as pd
from mlflow import MlflowClient
c = MlflowClient()
uri = "models:/{NAME}/Production"
v = c.get_latest_versions("{NAME}", stages=["Production"])[0]
run = c.get_run(v.run_id)
info = mlflow.models.get_model_info(uri)
df = pd.read_csv("{csv}").astype(float)
model = mlflow.pyfunc.load_model(uri)
predictions = model.predict(df)
# The probabilities through the signature's params, as a Python user asks for them.
proba = model.predict(df, params={{"predict_method": "predict_proba"}})
try:
    model.predict(df, params={{"predict_method": "decision_function"}})
    refused = None
except Exception as e:
    refused = str(e)
sig = info.signature.to_dict()
out = {{"predictions": [bool(p) for p in predictions], "proba": [float(p) for p in proba],
  "dtype": str(predictions.dtype), "refused": refused,
  "signature": [sig["inputs"], sig["outputs"], sig["params"]],
  "info": [info.run_id, getattr(info, "model_id", None), info.artifact_path, info.mlflow_version],
  "flavors": sorted(info.flavors), "source": v.source, "run_id": v.run_id,
  "history": run.data.tags.get("mlflow.log-model.history"),
  "duration_ms": run.info.end_time - run.info.start_time,
  "metric_ms": [m.timestamp - run.info.start_time for k in run.data.metrics
                for m in c.get_metric_history(run.info.run_id, k)]}}
if hasattr(c, "search_logged_models"):
    exp = c.get_experiment_by_name("{EXPERIMENT}")
    models = c.search_logged_models([exp.experiment_id])
    out["logged"] = [{{"id": m.model_id, "status": str(m.status), "run": m.source_run_id,
        "metrics": {{x.key: x.value for x in m.metrics}}, "params": m.params,
        "versions": m.tags.get("mlflow.modelVersions")}} for m in models]
    out["outputs"] = [o.model_id for o in run.outputs.model_outputs]
print(json.dumps(out))
"#,
        csv = csv.display()
    ));

    // Every row: the same decision, and the same probability to the bit.
    let predictions: Vec<bool> = serde_json::from_value(seen["predictions"].clone()).unwrap();
    let proba: Vec<f64> = serde_json::from_value(seen["proba"].clone()).unwrap();
    assert_eq!(predictions.len(), rows);
    for (i, ((yes, p), (their_yes, their_p))) in
        ours.iter().zip(predictions.iter().zip(&proba)).enumerate()
    {
        assert_eq!(yes, their_yes, "row {i}");
        assert_eq!(p.to_bits(), their_p.to_bits(), "row {i}: {p} vs {their_p}");
    }
    assert!(predictions.iter().any(|p| *p) && predictions.iter().any(|p| !*p));
    // A boolean column out of double columns in, and one parameter, as MLflow reads them.
    assert_eq!(seen["dtype"], "bool", "{seen}");
    let signature: Vec<Value> = seen["signature"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| serde_json::from_str(s.as_str().unwrap()).unwrap())
        .collect();
    assert!(
        signature[0]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "double"),
        "{seen}"
    );
    assert_eq!(signature[1], json!([{"type": "boolean", "required": true}]));
    assert_eq!(signature[2][0]["name"], "predict_method");
    assert!(
        seen["refused"]
            .as_str()
            .unwrap()
            .contains("predict_method must be 'predict' or 'predict_proba'"),
        "{seen}"
    );

    // MLmodel says where it was logged, as MLflow's log_model writes it.
    let run_id = seen["run_id"].as_str().unwrap();
    assert_eq!(seen["info"][0], run_id, "{seen}");
    assert_eq!(seen["flavors"], json!(["python_function", "smartcore"]));
    let version = seen["info"][3].as_str().unwrap();
    assert_eq!(
        version.split('.').next(),
        Some(mlflow_major().to_string().as_str())
    );

    if mlflow_major() >= 3 {
        let logged = seen["logged"].as_array().unwrap();
        assert_eq!(logged.len(), 1, "{seen}");
        let model = &logged[0];
        let id = model["id"].as_str().unwrap();
        assert!(
            model["status"].as_str().unwrap().contains("READY"),
            "{model}"
        );
        assert_eq!(model["run"], run_id);
        assert!(
            model["metrics"]["roc_auc"].as_f64().unwrap() > 0.9,
            "{model}"
        );
        assert!(model["metrics"]["cv_roc_auc"].as_f64().is_some(), "{model}");
        assert_eq!(model["params"]["n_trees"], "200");
        // The registered version is this model: its source, and the model's version tag.
        assert_eq!(seen["source"], format!("models:/{id}"));
        assert!(
            model["versions"].as_str().unwrap().contains(NAME),
            "{model}"
        );
        assert_eq!(seen["outputs"], json!([id]));
        assert_eq!(seen["info"][1], id);
        assert!(seen["info"][2].as_str().unwrap().contains(id), "{seen}");
    } else {
        let history: Value = serde_json::from_str(seen["history"].as_str().unwrap()).unwrap();
        assert_eq!(history[0]["run_id"], run_id, "{history}");
        assert_eq!(history[0]["artifact_path"], "model");
        assert!(history[0]["flavors"]["smartcore"].is_object(), "{history}");
    }

    // The run spans the training and the logging after it: it starts before the fit (so it
    // lasts at least the training time; the bug it guards against was a 2.8 s fit shown as a
    // 485 ms run) and every metric is stamped inside it. No upper bound: logging time depends
    // on the machine's load, and this test asserts behaviour, not speed.
    let duration = seen["duration_ms"].as_f64().unwrap() / 1000.0;
    assert!(
        duration >= 0.95 * t.seconds,
        "run lasted {duration} s, training {} s",
        t.seconds
    );
    let stamps: Vec<i64> = seen["metric_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_i64().unwrap())
        .collect();
    let end = seen["duration_ms"].as_i64().unwrap();
    assert!(!stamps.is_empty(), "{seen}");
    assert!(
        stamps.iter().all(|&m| (0..=end).contains(&m)),
        "{stamps:?} outside 0..={end}"
    );
    // Metrics carry their real times, not one shared stamp.
    assert!(stamps.iter().min() < stamps.iter().max(), "{stamps:?}");
}

/// `PATH` with the directory of `tool` first.
fn path_with(tool: &Path) -> std::ffi::OsString {
    let dir = tool.parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): waits for `mlflow models serve` (a
/// Python process that imports MLflow, fetches the model and starts uvicorn) to answer `/ping`,
/// after this file's shared training.
#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn mlflow_models_serve_answers_the_demo_requests_with_legendarys_answers() {
    let t = trained();
    let port = free_port();
    let mut command = crate::support::watchdog::command(&venv_bin("mlflow"));
    command
        .args([
            "models",
            "serve",
            "-m",
            &format!("models:/{NAME}/Production"),
        ])
        .args(["--env-manager", "local", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .env("MLFLOW_TRACKING_URI", mlflow().uri())
        // It starts `uvicorn` from PATH, as from an activated venv.
        .env("PATH", path_with(&venv_bin("mlflow")))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut served = crate::support::watchdog::Watched::spawn(command, "mlflow models serve");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let ping = format!("{base}/ping");
    wait_until_async(
        "mlflow models serve to answer /ping",
        Duration::from_secs(120),
        Duration::from_millis(250),
        || {
            let exited = served.exited();
            let request = http.get(&ping).send();
            async move {
                assert!(exited.is_none(), "mlflow models serve exited: {exited:?}");
                request.await.ok().filter(|r| r.status() == 200).map(drop)
            }
        },
    )
    .await;
    // MLflow 2+ takes the demo's 1.x pandas-split rows wrapped in `dataframe_split`.
    for demo in [DEMO, DEMO_LEGENDARY] {
        let split: Value = serde_json::from_str(demo).unwrap();
        let answer: Value = http
            .post(format!("{base}/invocations"))
            .json(&json!({ "dataframe_split": split }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got: Vec<bool> = serde_json::from_value(answer["predictions"].clone())
            .unwrap_or_else(|e| panic!("{e}: {answer}"));
        assert_eq!(got, local_predictions(&t.model_dir, demo), "{answer}");
    }

    // Every request form of the corpus, to both servers of the same registry version.
    let mut ours = super::train_serve::Serve::start(
        &[("MLFLOW_TRACKING_URI", mlflow().uri())],
        &["--model-uri", &format!("models:/{NAME}/Production")],
    );
    ours.wait_ready(&http).await;
    let differences = corpus_differences(&http, &base, &ours.base).await;
    assert_eq!(
        differences,
        LIVE_DIFFERENCES
            .iter()
            .filter(|(_, _, _, majors, _)| majors.contains(&mlflow_major()))
            .map(|(case, ours, theirs, _, _)| ((*case).to_owned(), *ours, *theirs))
            .collect::<Vec<_>>(),
        "(case, legendary's status, mlflow's status) where they differ"
    );
}

/// Where `legendary serve` and `mlflow models serve` of the same model answer a corpus
/// request with different statuses: (case, legendary's, MLflow's, the MLflow majors where it
/// shows, why). Each is in docs/mlflow.md, "Differences from `mlflow models serve`".
const LIVE_DIFFERENCES: &[(&str, u16, u16, &[u32], &str)] = &[
    (
        "a_v1_pandas_split_format_param",
        200,
        415,
        &[2, 3],
        "the 1.x request is answered",
    ),
    (
        "b_v1_body_plain_json",
        200,
        400,
        &[2, 3],
        "the 1.x bare split body is answered",
    ),
    (
        "d4_dataframe_records_missing_key_in_one_row",
        400,
        200,
        &[2, 3],
        "a missing value is refused, not sent down a branch",
    ),
    (
        "g9_csv_empty_value",
        400,
        200,
        &[2, 3],
        "a missing value is refused",
    ),
    (
        "k3_null_value",
        400,
        200,
        &[2, 3],
        "a missing value is refused",
    ),
    (
        "k10_null_value_records",
        400,
        200,
        &[2, 3],
        "a missing value is refused",
    ),
    (
        "k11_nan_literal",
        400,
        200,
        &[2, 3],
        "a missing value is refused",
    ),
    (
        "n2_bare_list_of_records",
        200,
        400,
        &[2, 3],
        "the 1.x bare records body is answered",
    ),
    // MLflow 2.x answers 415 too.
    (
        "p5_parquet_garbage",
        415,
        400,
        &[3],
        "parquet is an unsupported media type",
    ),
    // MLflow 2.x's Flask server answers HEAD too.
    (
        "q7_head_ping",
        200,
        405,
        &[3],
        "HEAD answers on every GET route",
    ),
    ("q8_get_root", 200, 404, &[2, 3], "GET / is the web page"),
    ("q10_get_metrics", 200, 404, &[2, 3], "/metrics exists"),
];

/// Sends every request of `tests/fixtures/scoring-corpus.jsonl` (but the 50 MB ones, which it
/// describes) to both servers: 2xx answers must be the same JSON, and the statuses the same
/// but for the cases returned, (case, ours, theirs).
async fn corpus_differences(
    http: &reqwest::Client,
    theirs: &str,
    ours: &str,
) -> Vec<(String, u16, u16)> {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/scoring-corpus.jsonl")).unwrap();
    let mut differences = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["case"].as_str().unwrap().to_owned();
        let body = case["body"].as_str().unwrap().to_owned();
        if body.starts_with('<') && name.starts_with('r') {
            continue;
        }
        let method =
            reqwest::Method::from_bytes(case["method"].as_str().unwrap().as_bytes()).unwrap();
        let path = case["path"].as_str().unwrap();
        let mut answers = Vec::new();
        for base in [ours, theirs] {
            let mut request = http
                .request(method.clone(), format!("{base}{path}"))
                .body(body.clone());
            for (k, v) in case["headers"].as_object().unwrap() {
                request = request.header(k.as_str(), v.as_str().unwrap());
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            answers.push((status, response.text().await.unwrap()));
        }
        let [(our_status, our_body), (their_status, their_body)] =
            <[_; 2]>::try_from(answers).unwrap();
        assert!(
            our_status < 500,
            "{name}: legendary answered {our_status}: {our_body}"
        );
        if our_status != their_status {
            differences.push((name, our_status, their_status));
        } else if our_status == 200 && path == "/invocations" {
            let parsed = |b: &str| {
                serde_json::from_str::<Value>(b).unwrap_or_else(|e| panic!("{name}: {e}: {b}"))
            };
            assert_eq!(parsed(&our_body), parsed(&their_body), "{name}");
        }
    }
    differences
}

#[test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
fn a_training_that_fails_leaves_a_failed_run_that_says_why_and_who() {
    let empty = tempfile::tempdir().unwrap();
    let out = legendary()
        .args(["train", "--experiment", "failing", "--run-name", "no-data"])
        .arg("--data")
        .arg(empty.path())
        .arg("--output")
        .arg(empty.path().join("model"))
        // As in a container: no variable names the user.
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("LNAME")
        .env_remove("USERNAME")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let seen = python(
        r#"
import json, os, pwd
from mlflow import MlflowClient
c = MlflowClient()
exp = c.get_experiment_by_name("failing")
run = c.search_runs([exp.experiment_id])[0]
print(json.dumps({"status": run.info.status, "tags": run.data.tags, "login": pwd.getpwuid(os.getuid()).pw_name}))
"#,
    );
    assert_eq!(seen["status"], "FAILED", "{seen}");
    let reason = seen["tags"]["legendary.error"].as_str().unwrap();
    assert!(reason.contains("datapackage.json"), "{reason}");
    let note = seen["tags"]["mlflow.note.content"].as_str().unwrap();
    assert!(note.contains(reason), "{note}");
    // "Created by": the login name of the uid, where Python's getpass looks last.
    assert_eq!(seen["tags"]["mlflow.user"], seen["login"], "{seen}");
}

/// The NumPy loader (`code/legendary_pyfunc.py`) against `legendary predict` on every Pokémon
/// and 3,000 stat lines no Pokémon has, for every feature set and with and without
/// calibration, and for a forest fitted to random labels, whose trees have over 64 leaves
/// (several bitvector words each); each under the loader's default layout and under its
/// other one (no `np.bitwise_count`, sums by a loop, small blocks of trees, no shared tables,
/// ranks by search only, odd passes); and, for the calibrated model, `legendary serve` too:
/// the demo API's probabilities and `/invocations`' decisions for the same rows. One
/// probability everywhere, to the bit.
#[tokio::test]
#[ignore = "needs the .venv (NumPy): scripts/test.sh runs it"]
async fn the_numpy_loader_predict_and_serve_agree_to_the_bit_for_every_feature_set_and_any_numbers()
{
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("rows.csv");
    let n = data_set_csv(&csv);
    // Then stat lines no Pokémon has: fractions, zeros, huge values, ties.
    let mut rows = std::fs::read_to_string(&csv).unwrap();
    let mut rng = legendary_forest::SplitMix64::new(11);
    for i in 0..3000 {
        let stat = |rng: &mut legendary_forest::SplitMix64| match i % 4 {
            0 => (1 + rng.below(255)).to_string(),
            1 => format!("{}.5", rng.below(300)),
            2 => (5 * rng.below(40)).to_string(),
            _ => (rng.below(2_000_000)).to_string(),
        };
        let row: Vec<String> = (0..6).map(|_| stat(&mut rng)).collect();
        rows.push_str(&row.join(","));
        rows.push('\n');
    }
    std::fs::write(&csv, &rows).unwrap();
    let noise = work.path().join("random-labels.csv");
    random_labels_csv(&noise);
    let noise = noise.to_str().unwrap();
    for (features, calibration, extra) in [
        ("raw", "centred-isotonic", &[][..]),
        ("derived", "isotonic", &[]),
        ("regularity", "centred-isotonic", &[]),
        ("regularity", "isotonic", &[]),
        ("regularity", "none", &[]),
        (
            "regularity",
            "none",
            &["--data", noise, "--min-samples-leaf", "1"],
        ),
    ] {
        let large = !extra.is_empty();
        let case = format!("{features}, calibration {calibration}, random labels {large}");
        let dir = work
            .path()
            .join(format!("{features}-{calibration}-{large}"));
        let trained = legendary()
            .args(["train", "--n-trees", "25", "--cv-folds", "0"])
            .args(["--features", features, "--calibration", calibration])
            .args(extra)
            .arg("--output")
            .arg(&dir)
            .env_remove("MLFLOW_TRACKING_URI")
            .output()
            .unwrap();
        assert!(trained.status.success(), "{}", text(&trained));
        let predicted = legendary()
            .args(["predict", "--model-uri"])
            .arg(&dir)
            .arg("--input")
            .arg(&csv)
            .output()
            .unwrap();
        assert!(predicted.status.success(), "{}", text(&predicted));
        let ours: Vec<(bool, f64)> = String::from_utf8_lossy(&predicted.stdout)
            .lines()
            .skip(1)
            .map(|line| {
                let mut cells = line.rsplit(',');
                let p = cells.next().unwrap().parse().unwrap();
                (cells.next().unwrap() == "true", p)
            })
            .collect();
        let theirs = python(&format!(
            r#"
import itertools, json, sys, numpy as np, pandas as pd
sys.path.insert(0, "{dir}/code")
import legendary_pyfunc as L
m = L._load_pyfunc("{dir}/model.json")
df = pd.read_csv("{csv}")
out = {{"proba": [float(p) for p in m.predict_proba(df)],
  "votes": [float(p) for p in m.vote_fraction(df)], "calibrated": m.calibration is not None,
  "large_trees": sum(len(b.large) for b in m.blocks)}}
# The other layout: every fallback and every split of the work the constants allow.
L._popcount, L._ROWS_ADD_IN_ORDER, L._BLOCK_TABLE_BYTES = None, False, 1 << 14
L._MERGED_ROWS, L._DENSE_RANKS, L._PASS_ROWS, L._BATCH_ROWS = 1, 0, 77, 1000
other = L._load_pyfunc("{dir}/model.json")
out["other"] = [float(p) for p in other.predict_proba(df)]
out["other_blocks"] = len(other.blocks)
# The sorting network sorts every arrangement of six values, ties included.
rows = np.array(list(itertools.product([0.0, 1.0, 2.0], repeat=6))
    + list(itertools.permutations(range(6))), dtype=float)
out["sorted"] = bool(np.array_equal(L._sorted_rows(np.ascontiguousarray(rows.T)).T,
    np.sort(rows, axis=1)))
print(json.dumps(out))
"#,
            dir = dir.display(),
            csv = csv.display()
        ));
        let proba: Vec<f64> = serde_json::from_value(theirs["proba"].clone()).unwrap();
        let other: Vec<f64> = serde_json::from_value(theirs["other"].clone()).unwrap();
        let votes: Vec<f64> = serde_json::from_value(theirs["votes"].clone()).unwrap();
        assert_eq!(ours.len(), n + 3000);
        assert_eq!(proba.len(), ours.len());
        assert_eq!(other.len(), ours.len());
        for (i, (((_, a), b), c)) in ours.iter().zip(&proba).zip(&other).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{case}, row {i}: {a} vs {b}");
            assert_eq!(
                a.to_bits(),
                c.to_bits(),
                "{case}, other layout, row {i}: {a} vs {c}"
            );
        }
        assert_eq!(theirs["sorted"], true, "{case}");
        assert!(
            theirs["other_blocks"].as_u64().unwrap() > 1,
            "{case}: {theirs}"
        );
        // The trees fitted to random labels have over 64 leaves (as some of the raw set's do).
        if large {
            assert!(
                theirs["large_trees"].as_u64().unwrap() > 0,
                "{case}: {theirs}"
            );
        }
        assert_eq!(theirs["calibrated"], calibration != "none", "{case}");
        assert_eq!(proba != votes, calibration != "none", "{case}");
        if (features, calibration) == ("regularity", "centred-isotonic") {
            served_answers_agree(&dir, &rows, &ours).await;
        }
    }
}

/// The bundled data set in the demo's CSV shape with every label drawn at random (seeded): a
/// forest fitted to it with leaves of one sample grows trees of hundreds of leaves.
fn random_labels_csv(path: &Path) {
    let mut out =
        String::from("#,Name,HP,Attack,Defense,Sp_Atk,Sp_Def,Speed,Generation,Legendary\n");
    let mut rng = legendary_forest::SplitMix64::new(5);
    let mut number = 0;
    for generation in 1..=9 {
        let file = repo().join(format!("data/pokemon/generation-{generation}.csv"));
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at: Vec<usize> = legendary_forest::FEATURES
            .iter()
            .map(|s| header.iter().position(|h| h == s).unwrap())
            .collect();
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            let stats: Vec<&str> = at.iter().map(|&i| cells[i]).collect();
            number += 1;
            let legendary = if rng.below(2) == 0 { "True" } else { "False" };
            out.push_str(&format!(
                "{number},p{number},{},{generation},{legendary}\n",
                stats.join(",")
            ));
        }
    }
    std::fs::write(path, out).unwrap();
}

/// `legendary serve --model-uri DIR` answers `ours` (`legendary predict`'s decision and
/// probability for each row of `csv`): the demo API's probability to the bit, and the same
/// decisions from `/invocations`.
async fn served_answers_agree(dir: &Path, csv: &str, ours: &[(bool, f64)]) {
    let server = crate::support::process::Server::start(
        "json",
        "info",
        &["--model-uri", dir.to_str().unwrap()],
    );
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let stats: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    let items: Vec<Value> = stats
        .iter()
        .map(|r| {
            Value::Object(
                legendary_forest::FEATURES
                    .iter()
                    .zip(r)
                    .map(|(k, v)| ((*k).to_owned(), json!(v)))
                    .collect(),
            )
        })
        .collect();
    let answers: Value = http
        .post(format!("{base}/pokemon-types"))
        .json(&items)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), ours.len());
    for (i, (a, (yes, p))) in answers.iter().zip(ours).enumerate() {
        assert_eq!(
            a["probability"].as_f64().unwrap().to_bits(),
            p.to_bits(),
            "row {i}"
        );
        assert_eq!(a["is_legendary"], *yes, "row {i}");
    }
    let scored: Value = http
        .post(format!("{base}/invocations"))
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decided: Vec<bool> = ours.iter().map(|(yes, _)| *yes).collect();
    assert_eq!(scored["predictions"], json!(decided));
}
