//! scikit-learn models saved by the real MLflow Python client (`scripts/sklearn-fixtures.py`,
//! run once from `.venv`), read by the restricted readers and compared row by row with
//! scikit-learn's own `predict`/`predict_proba`: labels identical, probabilities within
//! 1e-12, regressions within 1e-9 relative.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test crate: a failed step is a failed test"
)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use legendary_sklearn::Class;
use serde::Deserialize;

fn repo() -> PathBuf {
    support::repo().to_path_buf()
}

/// The fixture directory, written once per test binary.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let python = repo().join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/mlflow-venv.sh first",
            python.display()
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let status = std::process::Command::new(python)
            .arg(repo().join("scripts/sklearn-fixtures.py"))
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "sklearn-fixtures.py failed");
        dir
    })
    .path()
}

#[derive(Deserialize)]
struct Expected {
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
    predict: Vec<serde_json::Value>,
    classes: Option<Vec<serde_json::Value>>,
    predict_proba: Option<Vec<Vec<f64>>>,
}

/// Loads case `name` and checks every row; returns (rows, load time in ms).
fn check(name: &str, class: Class, format: &str, columns_known: bool) -> (usize, f64) {
    let dir = fixtures().join(name);
    let bytes = std::fs::read(dir.join("expected.json")).unwrap_or_else(|e| panic!("{e}"));
    let expected: Expected = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    // The whole load as the model compiler does it, with the smartcore copy built and checked.
    let start = Instant::now();
    let served = legendary::model::read_dir(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let model = served
        .model
        .sklearn()
        .unwrap_or_else(|| panic!("{name}: not scikit-learn"));
    eprintln!(
        "{name}: read with the checked smartcore copy in {ms:.1} ms; {} trees, {} nodes",
        served.model.n_trees(),
        model.forest.n_nodes()
    );
    assert_eq!(model.forest.class, class, "{name}");
    assert_eq!(model.serialization_format, format, "{name}");
    assert_eq!(
        model.columns.as_ref(),
        columns_known.then_some(&expected.columns),
        "{name}"
    );
    if let (Some(labels), Some(classes)) = (&model.forest.labels, &expected.classes) {
        let ours: Vec<_> = (0..labels.len()).map(|i| labels.json(i)).collect();
        assert_eq!(&ours, classes, "{name}: classes_");
    }
    let mut proba = vec![0.0; expected.classes.as_ref().map_or(1, Vec::len)];
    for (i, row) in expected.rows.iter().enumerate() {
        let ours = model.forest.predict_json(row);
        match (&ours, &expected.predict[i]) {
            (serde_json::Value::Number(a), serde_json::Value::Number(b))
                if expected.classes.is_none() =>
            {
                let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(0.0));
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{name} row {i}: {a} vs {b}"
                );
            }
            (a, b) => assert_eq!(a, b, "{name} row {i} {row:?}"),
        }
        if let Some(p) = &expected.predict_proba {
            model.forest.proba_into(row, &mut proba);
            for (a, b) in proba.iter().zip(&p[i]) {
                assert!(
                    (a - b).abs() <= 1e-12,
                    "{name} row {i}: {proba:?} vs {:?}",
                    p[i]
                );
            }
        }
    }
    (expected.rows.len(), ms)
}

macro_rules! case {
    ($test:ident, $name:literal, $class:ident, $format:literal, $columns:literal) => {
        #[test]
        #[ignore = "needs the mlflow venv (scripts/test.sh)"]
        fn $test() {
            let (rows, ms) = check($name, Class::$class, $format, $columns);
            eprintln!("{}: {rows} rows agree; loaded in {ms:.1} ms", $name);
            assert!(rows > 1232);
        }
    };
}

case!(
    random_forest_bool_skops,
    "rf-bool-skops",
    RandomForestClassifier,
    "skops",
    true
);
case!(
    random_forest_bool_pickle,
    "rf-bool-pickle",
    RandomForestClassifier,
    "pickle",
    false
);
case!(
    random_forest_bool_cloudpickle,
    "rf-bool-cloudpickle",
    RandomForestClassifier,
    "cloudpickle",
    true
);
case!(
    random_forest_int_no_signature,
    "rf-int-cloudpickle-nosig",
    RandomForestClassifier,
    "cloudpickle",
    false
);
case!(
    extra_trees_strings_skops,
    "et-str-skops",
    ExtraTreesClassifier,
    "skops",
    true
);
// Fitted on an array, so no feature_names_in_: the columns come from the signature.
case!(
    extra_trees_strings_pickle,
    "et-str-pickle",
    ExtraTreesClassifier,
    "pickle",
    true
);
case!(
    decision_tree_int_skops,
    "dt-int-skops",
    DecisionTreeClassifier,
    "skops",
    true
);
// Fitted on an array too: the signature names the columns.
case!(
    decision_tree_int_cloudpickle,
    "dt-int-cloudpickle",
    DecisionTreeClassifier,
    "cloudpickle",
    true
);
case!(
    random_forest_regressor_skops,
    "rfr-skops",
    RandomForestRegressor,
    "skops",
    true
);
case!(
    extra_trees_regressor_pickle,
    "etr-pickle",
    ExtraTreesRegressor,
    "pickle",
    false
);
case!(
    decision_tree_regressor_cloudpickle,
    "dtr-cloudpickle",
    DecisionTreeRegressor,
    "cloudpickle",
    true
);

/// Slow (over a minute in a loaded `scripts/test.sh` run): first in this file's order, so it
/// usually waits for [`fixtures`]: `scripts/sklearn-fixtures.py` fitting and saving every
/// scikit-learn model with MLflow's Python client.
#[test]
#[ignore = "needs the mlflow venv (scripts/test.sh)"]
fn a_scikit_learn_0_24_layout_pickle_serves_as_the_modern_model_did() {
    let (rows, ms) = check(
        "rf-legacy-0.24-pickle",
        Class::RandomForestClassifier,
        "pickle",
        false,
    );
    let dir = fixtures().join("rf-legacy-0.24-pickle");
    let served = legendary::model::read_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let model = served
        .model
        .sklearn()
        .unwrap_or_else(|| panic!("not scikit-learn"));
    assert_eq!(model.sklearn_version.as_deref(), Some("0.24.2"));
    assert_eq!(model.forest.sklearn_version.as_deref(), Some("0.24.2"));
    eprintln!("rf-legacy-0.24-pickle: {rows} rows agree; loaded in {ms:.1} ms");
}

use support::free_port;

/// `legendary serve` of fixture `name`; killed when dropped.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(name: &str) -> Server {
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--grpc-port",
            "0",
            "-m",
        ])
        .arg(fixtures().join(name))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{}/version", server.base)).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
            && !v["model"].is_null()
        {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{name} was not served within 30 s");
}

/// Every fixture row through `/invocations` (MLflow 2 and 1.x dialects): scikit-learn's answers.
#[tokio::test]
#[ignore = "needs the mlflow venv (scripts/test.sh)"]
async fn served_models_answer_invocations_as_scikit_learn_does() {
    let client = reqwest::Client::new();
    for name in [
        "rf-legacy-0.24-pickle",
        "et-str-skops",
        "dt-int-cloudpickle",
        "rfr-skops",
    ] {
        let bytes = std::fs::read(fixtures().join(name).join("expected.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let expected: Expected = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let server = serve(name).await;
        let body = serde_json::json!({
            "dataframe_split": {"columns": expected.columns, "data": expected.rows}
        });
        let answer: serde_json::Value = client
            .post(format!("{}/invocations", server.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let predictions = answer["predictions"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {answer}"));
        assert_eq!(predictions.len(), expected.predict.len());
        for (i, (a, b)) in predictions.iter().zip(&expected.predict).enumerate() {
            match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) if expected.classes.is_none() => {
                    assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{name} row {i}");
                }
                _ => assert_eq!(a, b, "{name} row {i}"),
            }
        }
        let version: serde_json::Value = client
            .get(format!("{}/version", server.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(version["model"]["flavor"], "sklearn", "{name}");
        eprintln!(
            "{name}: {} rows served as scikit-learn answered; {}",
            predictions.len(),
            version["model"]["sklearn"]
        );
        if name == "rf-legacy-0.24-pickle" {
            let mewtwo = expected
                .rows
                .iter()
                .position(|r| r == &[106.0, 110.0, 90.0, 154.0, 90.0, 130.0])
                .unwrap_or_else(|| panic!("no Mewtwo"));
            // The original demo's curl requests: the 1.x pandas-split body and the demo route.
            let legacy: serde_json::Value = client
                .post(format!("{}/invocations", server.base))
                .header("Content-Type", "application/json; format=pandas-split")
                .body(r#"{"columns":["hp","attack","defense","special_attack","special_defense","speed"],"data":[[106,110,90,154,90,130],[45,49,49,65,65,45]]}"#)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                legacy,
                serde_json::json!([expected.predict[mewtwo], expected.predict[0]])
            );
            let demo: serde_json::Value = client
                .get(format!(
                    "{}/pokemon-type?hp=106&attack=110&defense=90&special_attack=154&special_defense=90&speed=130",
                    server.base
                ))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let p = expected.predict_proba.as_ref().map(|p| p[mewtwo][1]);
            assert_eq!(demo["probability"].as_f64(), p, "{demo}");
            assert_eq!(demo["is_legendary"], expected.predict[mewtwo]);
        } else {
            let demo = client
                .get(format!(
                    "{}/pokemon-type?hp=106&attack=110&defense=90&special_attack=154&special_defense=90&speed=130",
                    server.base
                ))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                demo.status(),
                400,
                "{name}: the demo says the model takes other inputs"
            );
        }
    }
}

/// Logs `fixture` into the real `mlflow server` as registered model `name` version 1: with
/// `mlflow.sklearn.log_model` (after loading it with scikit-learn), or, for the 0.24-layout
/// pickle that today's scikit-learn refuses to load, by uploading its directory as MLflow 1.x
/// wrote it. Version 1 goes to Production and gets the alias `champion`.
fn register(tracking: &str, fixture: &str, name: &str, format: &str) {
    let script = format!(
        r#"
import mlflow, mlflow.sklearn
from mlflow import MlflowClient
mlflow.set_tracking_uri("{tracking}")
path = "{path}"
with mlflow.start_run() as run:
    if "{format}" == "artifacts":
        mlflow.log_artifacts(path, "model")
        mv = mlflow.register_model(f"runs:/{{run.info.run_id}}/model", "{name}")
    else:
        model = mlflow.sklearn.load_model(path)
        kwargs = {{"skops_trusted_types": ["sklearn.tree._tree.Tree"]}} if "{format}" == "skops" else {{}}
        info = mlflow.sklearn.log_model(model, name="model", serialization_format="{format}",
                                        registered_model_name="{name}", **kwargs)
        mv = MlflowClient().get_model_version("{name}", "1")
client = MlflowClient()
client.transition_model_version_stage("{name}", mv.version, "Production")
client.set_registered_model_alias("{name}", "champion", mv.version)
"#,
        path = fixtures().join(fixture).display(),
    );
    let status = std::process::Command::new(repo().join(".venv/bin/python"))
        .args(["-c", &script])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "registering {fixture} failed");
}

/// `legendary serve` with `envs`, waiting until a model is loaded.
async fn serve_env(envs: &[(&str, &str)]) -> Server {
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--grpc-port", "0"])
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_loaded(&server).await;
    server
}

async fn wait_loaded(server: &Server) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{}/version", server.base)).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
            && !v["model"].is_null()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no model was served within 60 s");
}

/// Every row of `fixture` through the server's `/invocations`: scikit-learn's answers.
async fn invocations_match(server: &Server, fixture: &str) {
    let bytes = std::fs::read(fixtures().join(fixture).join("expected.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let expected: Expected = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let body = serde_json::json!({
        "dataframe_split": {"columns": expected.columns, "data": expected.rows}
    });
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/invocations", server.base))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        answer["predictions"].as_array(),
        Some(&expected.predict),
        "{fixture}"
    );
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): starts its own `mlflow server` and
/// registers three models, each with its own Python process (MLflow's client logging them).
#[tokio::test]
#[ignore = "needs the mlflow venv (scripts/test.sh)"]
async fn registered_scikit_learn_models_serve_by_stage_and_alias() {
    let mlflow = support::mlflow_server::MlflowServer::start(Default::default());
    let tracking = mlflow.uri().to_owned();
    register(&tracking, "rf-legacy-0.24-pickle", "legacy", "artifacts");
    register(&tracking, "et-str-skops", "extra", "skops");
    register(&tracking, "dt-int-cloudpickle", "tree", "cloudpickle");
    // MLflow 1.x's deployment: MLFLOW_MODEL_NAME + MLFLOW_MODEL_STAGE.
    let server = serve_env(&[
        ("MLFLOW_TRACKING_URI", &tracking),
        ("MLFLOW_MODEL_NAME", "legacy"),
        ("MLFLOW_MODEL_STAGE", "Production"),
    ])
    .await;
    invocations_match(&server, "rf-legacy-0.24-pickle").await;
    drop(server);
    for (name, fixture) in [("extra", "et-str-skops"), ("tree", "dt-int-cloudpickle")] {
        let uri = format!("models:/{name}@champion");
        let server = serve_env(&[
            ("MLFLOW_TRACKING_URI", &tracking),
            ("MLFLOW_MODEL_URI", &uri),
        ])
        .await;
        invocations_match(&server, fixture).await;
    }
}

fn python(script: &str) {
    let status = std::process::Command::new(repo().join(".venv/bin/python"))
        .args(["-c", script])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{script}");
}

/// Hot reload smartcore -> scikit-learn -> smartcore by moving an alias, under load.
///
/// Slow (over a minute in a loaded `scripts/test.sh` run): starts its own `mlflow server`,
/// registers three versions with the Python client, then waits for the 1 s reload poll to
/// pick up each move of the alias while clients keep sending requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mlflow venv (scripts/test.sh)"]
async fn hot_reload_moves_between_smartcore_and_scikit_learn_with_no_failed_request() {
    let mlflow = support::mlflow_server::MlflowServer::start(Default::default());
    let tracking = mlflow.uri().to_owned();
    let bundled = repo().join("models/pokemon");
    let sklearn = fixtures().join("rf-bool-cloudpickle");
    python(&format!(
        r#"
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("{tracking}")
for path in ["{bundled}", "{sklearn}", "{bundled}"]:
    with mlflow.start_run() as run:
        mlflow.log_artifacts(path, "model")
        mlflow.register_model(f"runs:/{{run.info.run_id}}/model", "swap")
MlflowClient().set_registered_model_alias("swap", "champion", "1")
"#,
        bundled = bundled.display(),
        sklearn = sklearn.display(),
    ));
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--grpc-port", "0"])
        .args([
            "--model-uri",
            "models:/swap@champion",
            "--reload-interval",
            "1s",
        ])
        .env("MLFLOW_TRACKING_URI", &tracking)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_loaded(&server).await;
    let first: serde_json::Value = reqwest::get(format!("{}/version", server.base))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first["model"]["flavor"], "smartcore");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let url = format!("{}/invocations", server.base);
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut ok, mut failed) = (0_u64, 0_u64);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(support::DEMO_LEGENDARY)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok += 1,
                    _ => failed += 1,
                }
            }
            (ok, failed)
        })
    };
    let client = reqwest::Client::new();
    let mut flavors = Vec::new();
    for version in ["2", "3"] {
        python(&format!(
            r#"
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("{tracking}")
MlflowClient().set_registered_model_alias("swap", "champion", "{version}")
"#
        ));
        let v = support::wait_until_async(
            "the alias move to be served",
            std::time::Duration::from_secs(60),
            std::time::Duration::from_millis(200),
            || async {
                let v: serde_json::Value = client
                    .get(format!("{}/version", server.base))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                (v["model"]["version"] == version).then_some(v)
            },
        )
        .await;
        flavors.push(v["model"]["flavor"].as_str().unwrap_or("").to_owned());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, failed) = load.await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("smartcore -> {flavors:?}: {ok} requests, {failed} failed");
    assert_eq!(flavors, ["sklearn", "smartcore"]);
    assert_eq!(failed, 0);
    assert!(ok > 0);
}

/// The promotion gate scores a scikit-learn champion and a smartcore challenger on the
/// challenger's held-out rows.
///
/// Slow (over a minute in a loaded `scripts/test.sh` run): starts its own `mlflow server`,
/// registers the champion with the Python client, then trains and gates the challenger.
#[tokio::test]
#[ignore = "needs the mlflow venv (scripts/test.sh)"]
async fn the_gate_compares_a_smartcore_challenger_with_a_scikit_learn_champion() {
    let mlflow = support::mlflow_server::MlflowServer::start(Default::default());
    let tracking = mlflow.uri().to_owned();
    register(&tracking, "rf-legacy-0.24-pickle", "gate-sk", "artifacts");
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
        .current_dir(repo())
        .env("MLFLOW_TRACKING_URI", &tracking)
        .env("RUST_LOG", "warn")
        .args([
            "train",
            "--n-trees",
            "30",
            "--cv-folds",
            "0",
            "--threshold",
            "0.5",
        ])
        .arg("--output")
        .arg(out.path().join("c"))
        .args(["--register-as", "gate-sk", "--promote"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // Promoted (0) or refused (3): either way the gate compared the two.
    assert!(matches!(o.status.code(), Some(0 | 3)), "{text}");
    let dump = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    python(&format!(
        r#"
import json, mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("{tracking}")
tags = MlflowClient().get_model_version("gate-sk", "2").tags
open("{dump}", "w").write(json.dumps(tags))
"#,
        dump = dump.path().display()
    ));
    let tags: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dump.path()).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    let champion: f64 = tags["legendary.gate.champion_score"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no champion score: {tags} {text}"));
    assert!(champion.is_finite() && champion > 0.5, "{tags}");
    eprintln!("gate: {tags}");

    // A regressor champion has no legendary probability: its score would be NaN, which the
    // gate must not compare (NaN never loses); it says why and promotes nothing.
    register(&tracking, "rfr-skops", "gate-reg", "artifacts");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
        .current_dir(repo())
        .env("MLFLOW_TRACKING_URI", &tracking)
        .env("RUST_LOG", "warn")
        .args(["train", "--n-trees", "10", "--cv-folds", "0"])
        .arg("--output")
        .arg(out.path().join("r"))
        .args(["--register-as", "gate-reg", "--promote"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("champion version 1 of 'gate-reg' does not answer 'legendary or not'"),
        "{text}"
    );
}

/// Searches the page for Mewtwo and picks it: its stats fill in and the page asks the model.
async fn pick_mewtwo(client: &fantoccini::Client) {
    let search = client
        .find(fantoccini::Locator::Id("search"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    search
        .send_keys("Mewtwo")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    support::browser::wait_for(client, "//ul[@id='search-results']/li[@data-name='Mewtwo']")
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The web page in headless Chromium with scikit-learn models: the model card names the
/// flavor, estimator, scikit-learn version and format; a forest of the six stats answers
/// Mewtwo; a regressor is said plainly not to answer the question.
#[tokio::test]
#[ignore = "needs the mlflow venv and chromium (scripts/test.sh)"]
async fn the_page_shows_a_scikit_learn_model_and_says_when_it_takes_other_inputs() {
    use support::browser::{open_browser, screenshot, start_driver, wait_for};

    let forest = serve("rf-bool-skops").await;
    let regressor = serve("rfr-skops").await;
    let (_driver, port) = start_driver();
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let client = open_browser(port, profile.path()).await;
    client
        .set_window_size(1200, 1300)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    client
        .goto(&format!("{}/", forest.base))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (term, value) in [
        ("Flavor", "sklearn"),
        ("Estimator", "RandomForestClassifier"),
        ("Serialization", "skops"),
    ] {
        wait_for(
            &client,
            &format!("//dl[@id='model-card']/dt[text()='{term}']/following-sibling::dd[1][text()='{value}']"),
        )
        .await;
    }
    let version = wait_for(
        &client,
        "//dl[@id='model-card']/dt[text()='scikit-learn']/following-sibling::dd[1]",
    )
    .await
    .text()
    .await
    .unwrap_or_default();
    assert!(
        version.starts_with("1."),
        "scikit-learn version {version:?}"
    );
    pick_mewtwo(&client).await;
    wait_for(&client, "//p[@id='verdict' and text()='Legendary']").await;
    screenshot(&client, "sklearn-forest.png").await;

    client
        .goto(&format!("{}/", regressor.base))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for(
        &client,
        "//dl[@id='model-card']/dt[text()='Estimator']/following-sibling::dd[1][text()='RandomForestRegressor']",
    )
    .await;
    pick_mewtwo(&client).await;
    wait_for(
        &client,
        "//div[@id='error' and contains(., 'does not answer') and contains(., 'RandomForestRegressor')]",
    )
    .await;
    screenshot(&client, "sklearn-regressor.png").await;
    let _ = client.close().await;
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): starts its own `mlflow server`,
/// registers a model with the Python client, then waits on `shap.KernelExplainer` (Python)
/// evaluating its coalitions for 50 rows through MLflow's loaded scikit-learn model; it may
/// also be the first to wait for [`fixtures`].
#[tokio::test]
#[ignore = "needs the mlflow venv with shap (scripts/test.sh)"]
async fn a_registered_scikit_learn_forest_is_explained_as_shap_explains_it() {
    use support::shap;
    let mlflow = support::mlflow_server::MlflowServer::start(Default::default());
    let tracking = mlflow.uri().to_owned();
    register(&tracking, "rf-bool-skops", "forest", "skops");
    let uri = "models:/forest@champion";
    let server = serve_env(&[
        ("MLFLOW_TRACKING_URI", &tracking),
        ("MLFLOW_MODEL_URI", uri),
    ])
    .await;
    let (background, source) = shap::published_background(&server.base).await;
    assert!(source.contains("bundled data/pokemon"), "{source}");
    let rows = shap::fifty_rows();
    let api = shap::explain_via_api(&server.base, &rows).await;
    // f is scikit-learn's own predict_proba of the same registered model, loaded by MLflow.
    let predict = serde_json::json!({"model_uri": uri, "tracking_uri": tracking});
    let kernel = shap::kernel_explainer(&background, &rows, predict).await;
    let worst = shap::assert_matches_shap(&api, &kernel);
    eprintln!("rf-bool-skops: 50 rows, largest difference from shap.KernelExplainer {worst:e}");

    // A regressor has no legendary probability to explain: a 400 saying so.
    drop(server);
    let regressor = serve("rfr-skops").await;
    let response = reqwest::Client::new()
        .post(format!("{}/explain", regressor.base))
        .header("content-type", "application/json")
        .body(support::DEMO)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not answer"),
        "{body}"
    );
    let card: serde_json::Value = reqwest::get(format!("{}/model", regressor.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(card["explanation_background"].is_null(), "{card}");
}
