//! The whole MLOps loop through the `legendary` binary against a REAL `mlflow server` 3.17.2:
//! train and register, promote, serve from the registry (stage, alias), the quality gate,
//! hot reload under load, and the start-up failures. Run by `scripts/test.sh`
//! (`cargo test --test end_to_end -- --include-ignored`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::mlflow_server::{MlflowServer, ServerOptions, mlflow_major, venv_bin};
use crate::support::{DEMO, DEMO_LEGENDARY, free_port, local_predictions, repo, wait_until_async};
use serde_json::Value;

pub(super) fn mlflow() -> &'static MlflowServer {
    static SERVER: OnceLock<MlflowServer> = OnceLock::new();
    SERVER.get_or_init(|| MlflowServer::start(ServerOptions::default()))
}

pub(super) fn legendary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_legendary"));
    c.current_dir(repo())
        .env("MLFLOW_TRACKING_URI", mlflow().uri())
        .env("RUST_LOG", "warn");
    c
}

/// `legendary train` with a small, fast forest; extra args appended.
pub(super) fn train(out: &Path, extra: &[&str]) -> Output {
    let output = legendary()
        .args([
            "train",
            "--n-trees",
            "30",
            "--cv-folds",
            "0",
            "--threshold",
            "0.5",
            "--output",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.code().is_some(), "train was killed: {text}");
    output
}

pub(super) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A `legendary serve` child process, killed on drop.
pub(super) struct Serve {
    child: Child,
    pub(super) base: String,
}

impl Serve {
    pub(super) fn start(envs: &[(&str, &str)], args: &[&str]) -> Self {
        let port = free_port();
        let child = legendary()
            .args(["serve", "--port", &port.to_string(), "--grpc-port", "0"])
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub(super) async fn wait_ready(&mut self, client: &reqwest::Client) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("serve exited with {status}: {}", self.stderr());
            }
            if let Ok(r) = client.get(format!("{}/ping", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve never became ready");
    }

    /// Waits for the process to exit by itself (bounded) and returns its code and stderr.
    fn wait_exit(&mut self, limit: Duration) -> (Option<i32>, String) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.code(), self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not exit within {limit:?}");
    }

    fn stderr(&mut self) -> String {
        use std::io::Read as _;
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn invoke(client: &reqwest::Client, base: &str, body: &str) -> reqwest::Response {
    client
        .post(format!("{base}/invocations"))
        .header("content-type", "application/json; format=pandas-split")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// Runs Python with the official MLflow client against the test server; returns its JSON.
pub(super) fn python(script: &str) -> Value {
    let out = Command::new(venv_bin("python"))
        .args(["-W", "ignore", "-c", script])
        .env("MLFLOW_TRACKING_URI", mlflow().uri())
        .output()
        .unwrap();
    assert!(out.status.success(), "python failed: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap()
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn train_register_promote_and_serve_from_the_registry_like_the_demo() {
    let out = tempfile::tempdir().unwrap();
    let model_dir = out.path().join("model");
    let o = train(
        &model_dir,
        &[
            "--register-as",
            "pokemon",
            "--stage",
            "Production",
            "--alias",
            "champion",
            "--run-name",
            "e2e-train",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("registered pokemon version 1"),
        "{}",
        text(&o)
    );

    // The Python client sees params, metrics, the dataset input and the version in Production.
    let seen = python(
        r#"
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
v = c.get_latest_versions("pokemon", stages=["Production"])[0]
r = c.get_run(v.run_id)
outputs = getattr(r, "outputs", None)
print(json.dumps({"version": v.version, "stage": v.current_stage, "status": r.info.status,
  "params": r.data.params, "metrics": r.data.metrics, "source": v.source,
  "outputs": [o.model_id for o in outputs.model_outputs] if outputs else [],
  "history": r.data.tags.get("mlflow.log-model.history"),
  "inputs": [(d.dataset.name, d.dataset.digest, [t.value for t in d.tags]) for d in r.inputs.dataset_inputs],
  "artifacts": sorted(a.path for a in c.list_artifacts(v.run_id)),
  "forward_f1_steps": sorted(m.step for m in c.get_metric_history(v.run_id, "forward_f1")),
  "logo_f1_steps": sorted(m.step for m in c.get_metric_history(v.run_id, "logo_f1")),
  "description": v.description,
  "model_files": sorted(a.path for a in mlflow.artifacts.list_artifacts(v.source))}))
"#,
    );
    // How the recipe does on generations it has not seen: one step per generation.
    assert_eq!(
        seen["forward_f1_steps"],
        serde_json::json!([2, 3, 4, 5, 6, 7, 8, 9])
    );
    assert_eq!(
        seen["logo_f1_steps"],
        serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8, 9])
    );
    assert!(
        seen["metrics"]["forward_pooled_f1"].as_f64().is_some(),
        "{seen}"
    );
    let description = seen["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("On generation 9 when trained without it")
            && description.contains("Missed: "),
        "{description}"
    );
    assert_eq!(seen["version"], "1");
    assert_eq!(seen["stage"], "Production");
    assert_eq!(seen["status"], "FINISHED");
    assert_eq!(seen["params"]["n_trees"], "30");
    assert!(seen["metrics"]["roc_auc"].as_f64().unwrap() > 0.8);
    assert_eq!(seen["inputs"][0][2][0], "training");
    let has = |list: &Value, name: &str| list.as_array().unwrap().iter().any(|a| a == name);
    // The plots are at the top of the run's artifacts, where the compare view looks.
    assert!(has(&seen["artifacts"], "roc_curve.svg"), "{seen}");
    assert!(has(&seen["artifacts"], "feature_importance.csv"), "{seen}");
    for table in ["generations.csv", "generation_errors.csv"] {
        assert!(has(&seen["artifacts"], table), "{seen}");
    }
    let source = seen["source"].as_str().unwrap();
    if mlflow_major() >= 3 {
        // A logged model: the version's source is it, and the run's output names it.
        let id = seen["outputs"][0].as_str().unwrap();
        assert_eq!(source, format!("models:/{id}"), "{seen}");
    } else {
        // MLflow 2: run artifacts, known to the UI through the log-model history.
        assert!(source.ends_with("/model"), "{seen}");
        assert!(
            seen["history"].as_str().unwrap().contains("smartcore"),
            "{seen}"
        );
    }
    assert!(
        seen["model_files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().ends_with("model.json")),
        "{seen}"
    );

    // The official client downloads identical files.
    let py_dir = out.path().join("py");
    let downloaded = python(&format!(
        r#"
import json, mlflow
p = mlflow.artifacts.download_artifacts("models:/pokemon/Production", dst_path="{}")
print(json.dumps(p))
"#,
        py_dir.display()
    ));
    let py_path = PathBuf::from(downloaded.as_str().unwrap());
    for file in [
        "MLmodel",
        "model.json",
        "input_example.json",
        "metrics.json",
    ] {
        assert_eq!(
            std::fs::read(py_path.join(file)).unwrap(),
            std::fs::read(model_dir.join(file)).unwrap(),
            "{file} differs"
        );
    }

    // Batch scoring straight from the registry gives the local model's answers.
    let csv = out.path().join("in.csv");
    std::fs::write(&csv, "hp,attack,defense,special_attack,special_defense,speed\n106,110,90,154,90,130\n45,49,49,65,65,45\n").unwrap();
    let o = legendary()
        .args([
            "predict",
            "--model-uri",
            "models:/pokemon/Production",
            "--input",
        ])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let local = legendary()
        .args(["predict", "--model-uri"])
        .arg(&model_dir)
        .arg("--input")
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(o.stdout, local.stdout);

    // Served as the original demo's Kubernetes deployment does it.
    let http = reqwest::Client::new();
    let expected_not = local_predictions(&model_dir, DEMO);
    let expected_yes = local_predictions(&model_dir, DEMO_LEGENDARY);
    for envs in [
        vec![
            ("MLFLOW_MODEL_NAME", "pokemon"),
            ("MLFLOW_MODEL_STAGE", "Production"),
        ],
        vec![("MLFLOW_MODEL_URI", "models:/pokemon@champion")],
    ] {
        let mut serve = Serve::start(&envs, &[]);
        serve.wait_ready(&http).await;
        let got: Vec<bool> = invoke(&http, &serve.base, DEMO).await.json().await.unwrap();
        assert_eq!(got, expected_not);
        let got: Vec<bool> = invoke(&http, &serve.base, DEMO_LEGENDARY)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(got, expected_yes);
        let version: Value = http
            .get(format!("{}/version", serve.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(version["model"]["name"], "pokemon");
        assert_eq!(version["model"]["version"], "1");
    }
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn serve_fails_fast_and_clearly_when_the_registry_cannot_give_the_model() {
    let _ = mlflow();
    // A wrong model name is named, at once.
    let mut serve = Serve::start(&[("MLFLOW_MODEL_NAME", "no-such-pokemon-model")], &[]);
    let (code, err) = serve.wait_exit(Duration::from_secs(30));
    assert_ne!(code, Some(0));
    assert!(err.contains("no-such-pokemon-model"), "{err}");

    // An unknown alias and an empty stage are named.
    let out = tempfile::tempdir().unwrap();
    let o = train(out.path(), &["--register-as", "pokemon-errors"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut serve = Serve::start(
        &[("MLFLOW_MODEL_URI", "models:/pokemon-errors@nobody")],
        &[],
    );
    let (code, err) = serve.wait_exit(Duration::from_secs(30));
    assert_ne!(code, Some(0));
    assert!(err.contains("nobody"), "{err}");
    let mut serve = Serve::start(
        &[("MLFLOW_MODEL_URI", "models:/pokemon-errors/Staging")],
        &[],
    );
    let (code, err) = serve.wait_exit(Duration::from_secs(30));
    assert_ne!(code, Some(0));
    assert!(err.contains("Staging"), "{err}");

    // The registry down: retried until the deadline, then a message naming the URI.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut serve = Serve::start(
        &[
            ("MLFLOW_TRACKING_URI", dead.as_str()),
            ("MLFLOW_MODEL_URI", "models:/pokemon/Production"),
        ],
        &["--startup-deadline", "3s"],
    );
    let (code, err) = serve.wait_exit(Duration::from_secs(60));
    assert_ne!(code, Some(0));
    assert!(err.contains(&dead) || err.contains("127.0.0.1"), "{err}");
    assert!(err.contains("models:/pokemon/Production"), "{err}");
}

#[test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
fn mistakes_in_flags_fail_before_anything_reaches_the_registry() {
    let out = tempfile::tempdir().unwrap();
    let experiment = "typo-check";
    for (extra, expected) in [
        (&["--gate-metric", "rocauc"][..], "rocauc"),
        (
            &["--min-samples-split", "1"][..],
            "--min-samples-split must be at least 2",
        ),
        (&["--mtry", "99"][..], "--mtry must be between 1 and"),
        // MLflow would refuse it only after the version is registered.
        (
            &["--stage", "Archived"][..],
            "can be moved to Staging or Production, not Archived",
        ),
    ] {
        let o = train(
            out.path(),
            &[
                &[
                    "--experiment",
                    experiment,
                    "--register-as",
                    "pokemon-typo",
                    "--promote",
                ][..],
                extra,
            ]
            .concat(),
        );
        assert!(!o.status.success(), "{}", text(&o));
        assert!(text(&o).contains(expected), "{}", text(&o));
        assert!(!out.path().join("MLmodel").exists(), "nothing was trained");
    }
    let seen = python(&format!(
        r#"
import json
from mlflow import MlflowClient
c = MlflowClient()
models = [m.name for m in c.search_registered_models("name='pokemon-typo'")]
versions = [v.version for v in c.search_model_versions("name='pokemon-typo'")]
print(json.dumps({{"models": models, "versions": versions, "experiment": c.get_experiment_by_name("{experiment}") is not None}}))
"#
    ));
    assert_eq!(
        seen,
        serde_json::json!({"models": [], "versions": [], "experiment": false}),
        "the registry and the tracking server are untouched"
    );
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn the_quality_gate_promotes_better_registry_versions_and_refuses_worse_ones() {
    let out = tempfile::tempdir().unwrap();
    // First model (three trees, generations 1-2 only: a champion from long ago): no champion
    // yet, so it is promoted.
    let o = legendary()
        .args([
            "train",
            "--n-trees",
            "3",
            "--generations",
            "1-2",
            "--cv-folds",
            "0",
            "--output",
        ])
        .arg(out.path().join("a"))
        .args(["--register-as", "pokemon-gate", "--promote"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("promoted"), "{}", text(&o));
    // A much worse model (one shallow tree on raw stats) is refused with exit code 3.
    let o = legendary()
        .args([
            "train",
            "--n-trees",
            "1",
            "--max-depth",
            "1",
            "--features",
            "raw",
            "--cv-folds",
            "0",
            "--threshold",
            "0.5",
            "--output",
        ])
        .arg(out.path().join("b"))
        .args(["--register-as", "pokemon-gate", "--promote"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("not promoted"), "{}", text(&o));
    // A better model by a real margin (150 trees) is promoted: the lower end of the gain's
    // interval is above zero, and the table says so.
    let o = legendary()
        .args(["train", "--n-trees", "150", "--cv-folds", "0", "--output"])
        .arg(out.path().join("c"))
        .args([
            "--register-as",
            "pokemon-gate",
            "--promote",
            "--min-improvement",
            "0",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for shown in [
        "promoted: version 3",
        "paired rows",
        "interval",
        "generation 9 (newest)",
    ] {
        assert!(text(&o).contains(shown), "{shown}: {}", text(&o));
    }
    let seen = python(
        r#"
import json
from mlflow import MlflowClient
c = MlflowClient()
found = c.search_model_versions("name='pokemon-gate'")
vs = {v.version: (v.current_stage, v.tags) for v in found}
champ = c.get_model_version_by_alias("pokemon-gate", "champion").version
# Every gated version's run holds the decision, as MLflow's own client reads it.
decisions = {}
for v in found:
    path = c.download_artifacts(v.run_id, "gate/decision.json")
    decisions[v.version] = json.load(open(path))["promoted"]
print(json.dumps({"versions": vs, "champion": champ, "decisions": decisions}))
"#,
    );
    assert_eq!(
        seen["decisions"],
        serde_json::json!({"1": true, "2": false, "3": true}),
        "{seen}"
    );
    assert_eq!(
        seen["versions"]["2"][0], "None",
        "the refused version stays out of Production"
    );
    assert_eq!(
        seen["versions"]["2"][1]["legendary.gate.decision"],
        "refused"
    );
    assert!(seen["versions"]["2"][1]["legendary.gate.champion_score"].is_string());
    assert!(
        seen["versions"]["3"][1]["legendary.gate.gain_interval"]
            .as_str()
            .is_some_and(|i| i.starts_with('[')),
        "{seen}"
    );
    assert_eq!(seen["versions"]["3"][0], "Production");
    assert_eq!(seen["versions"]["1"][0], "Archived");
    assert_eq!(seen["champion"], "3");
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn hot_reload_swaps_a_promoted_version_under_load_and_refuses_a_corrupt_one() {
    let out = tempfile::tempdir().unwrap();
    assert!(
        train(
            &out.path().join("v1"),
            &["--register-as", "pokemon-live", "--alias", "champion"]
        )
        .status
        .success()
    );
    let http = reqwest::Client::new();
    let mut serve = Serve::start(
        &[("MLFLOW_MODEL_URI", "models:/pokemon-live@champion")],
        &["--reload-interval", "1s"],
    );
    serve.wait_ready(&http).await;
    let base = serve.base.clone();

    // A steady stream of requests while the alias moves.
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (ok, failed) = (
        std::sync::Arc::new(AtomicUsize::new(0)),
        std::sync::Arc::new(AtomicUsize::new(0)),
    );
    let mut load = Vec::new();
    for _ in 0..4 {
        let (http, base, stop, ok, failed) = (
            http.clone(),
            base.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let r = http
                    .post(format!("{base}/invocations"))
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"dataframe_split":{DEMO}}}"#))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    let version = |v: Value| v["model"]["version"].as_str().map(str::to_owned);
    let current = async || {
        version(
            http.get(format!("{base}/version"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap(),
        )
    };
    assert_eq!(current().await.as_deref(), Some("1"));
    assert!(
        train(
            &out.path().join("v2"),
            &[
                "--register-as",
                "pokemon-live",
                "--alias",
                "champion",
                "--seed",
                "7"
            ]
        )
        .status
        .success()
    );
    wait_until_async(
        "the new version to be picked up",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async { (current().await.as_deref() == Some("2")).then_some(()) },
    )
    .await;

    // A corrupt version: registered, aliased, refused; version 2 keeps serving.
    let bad = out.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for f in ["MLmodel", "input_example.json"] {
        std::fs::copy(out.path().join("v2").join(f), bad.join(f)).unwrap();
    }
    std::fs::write(
        bad.join("model.json"),
        b"{\"format\": \"legendary.forest/v1\", \"forest\": 42}",
    )
    .unwrap();
    let upload = python(&format!(
        r#"
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
exp = c.get_experiment_by_name("pokemon").experiment_id
run = c.create_run(exp, run_name="corrupt")
c.log_artifacts(run.info.run_id, "{}", "model")
c.set_terminated(run.info.run_id)
v = c.create_model_version("pokemon-live", run.info.artifact_uri + "/model", run.info.run_id)
c.set_registered_model_alias("pokemon-live", "champion", v.version)
print(json.dumps(v.version))
"#,
        bad.display()
    ));
    assert_eq!(upload, "3");
    let started = Instant::now();
    loop {
        let v: Value = http
            .get(format!("{base}/version"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["reloads"]["refused"]
            .as_u64()
            .unwrap_or_else(|| panic!("{v}"))
            >= 1
        {
            assert_eq!(version(v).as_deref(), Some("2"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the corrupt version was not refused"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for l in load {
        l.await.unwrap();
    }
    assert!(
        ok.load(Ordering::SeqCst) > 50,
        "too little load to mean anything"
    );
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "requests failed during the swaps"
    );
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn serve_waits_on_an_empty_registry_until_a_model_is_published() {
    let _ = mlflow();
    // The Deployment's command on a registry where the model does not exist yet.
    let mut serve = Serve::start(
        &[("MLFLOW_MODEL_URI", "models:/pokemon-fresh@champion")],
        &["--wait-for-model", "--reload-interval", "2s"],
    );
    let http = reqwest::Client::new();
    let up = Instant::now();
    let mut pings = 0;
    // For 30 s it stays up and unready, and says why.
    while up.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(status)) = serve.child.try_wait() {
            panic!("serve exited with {status}: {}", serve.stderr());
        }
        if let Ok(r) = http.get(format!("{}/ping", serve.base)).send().await {
            assert_eq!(r.status(), 503);
            let body: Value = r.json().await.unwrap();
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.contains("pokemon-fresh"), "{body}");
            let health = http
                .get(format!("{}/health", serve.base))
                .send()
                .await
                .unwrap();
            assert_eq!(health.status(), 200);
            pings += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(pings > 20, "the server answered only {pings} pings");

    // Training publishes the champion; the server is ready within one reload interval.
    let out = tempfile::tempdir().unwrap();
    let model_dir = out.path().join("m");
    let o = train(
        &model_dir,
        &["--register-as", "pokemon-fresh", "--alias", "champion"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let published = Instant::now();
    wait_until_async(
        "/ping 200 after the champion is published",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async {
            let r = http.get(format!("{}/ping", serve.base)).send().await.ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
    let ready_after = published.elapsed();
    assert!(
        ready_after < Duration::from_secs(2 + 3),
        "ready {ready_after:?} after publishing"
    );
    let got: Vec<bool> = invoke(&http, &serve.base, DEMO).await.json().await.unwrap();
    assert_eq!(got, local_predictions(&model_dir, DEMO));
    let got: Vec<bool> = invoke(&http, &serve.base, DEMO_LEGENDARY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, local_predictions(&model_dir, DEMO_LEGENDARY));
    assert_eq!(got, [true; 5], "the demo's legendary request");
}
