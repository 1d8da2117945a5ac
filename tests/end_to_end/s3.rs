//! Artifacts on a REAL S3 server: a single-node Garage (`tests/support/garage.rs`) under a real
//! `mlflow server`, both as production servers are set up: a non-proxied root
//! (`--default-artifact-root s3://… --no-serve-artifacts`: legendary and the Python client
//! read and write the bucket themselves) and a proxied one (`--artifacts-destination s3://…`).
//! Run by `scripts/test.sh` (it installs Garage once into a cache and exports
//! `LEGENDARY_GARAGE_BIN`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::garage::Garage;
use crate::support::mlflow_server::{Artifacts, MlflowServer, ServerOptions, venv_bin};
use crate::support::process::Server;
use crate::support::{DEMO, DEMO_LEGENDARY, local_predictions, repo, wait_until_async};

/// Garage and an mlflow server whose artifacts live in Garage's bucket.
pub(super) struct Setup {
    pub(super) garage: Garage,
    mlflow: MlflowServer,
}

impl Setup {
    fn start(artifacts: impl FnOnce(&Garage) -> Artifacts) -> Self {
        let started = Instant::now();
        let garage = Garage::start();
        eprintln!("garage up in {:?}", started.elapsed());
        let mlflow = MlflowServer::start(ServerOptions {
            artifacts: artifacts(&garage),
            env: garage.env(),
            ..ServerOptions::default()
        });
        Self { garage, mlflow }
    }

    /// The tracking server and the bucket's variables, as the demo's pods have them.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.garage.env();
        env.push((
            "MLFLOW_TRACKING_URI".to_owned(),
            self.mlflow.uri().to_owned(),
        ));
        env
    }

    pub(super) fn legendary(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_legendary"));
        command
            .current_dir(repo())
            .envs(self.env())
            .env("RUST_LOG", "info");
        command
    }

    /// `legendary train` with a small, fast forest.
    pub(super) fn train(&self, out: &Path, extra: &[&str]) -> Output {
        self.train_with(&[], out, extra)
    }

    fn train_with(&self, env: &[(&str, &str)], out: &Path, extra: &[&str]) -> Output {
        self.legendary()
            .envs(env.iter().copied())
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
            .unwrap()
    }

    /// Runs Python with the official MLflow client (and boto3) against this setup.
    pub(super) fn python(&self, script: &str) -> Value {
        let out = Command::new(venv_bin("python"))
            .args(["-W", "ignore", "-c", script])
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "python failed: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap()
    }

    /// Serves with this setup's variables plus `env`.
    fn serve(&self, env: &[(&str, &str)], args: &[&str]) -> Server {
        let mut all = self.env();
        all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start_with_env(&all, args)
    }
}

/// The non-proxied setup, shared by the tests of this file.
pub(super) fn root() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        Setup::start(|garage| Artifacts::Root(format!("s3://{}/mlflow", garage.bucket)))
    })
}

pub(super) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// `got` holds the same files as `expected`, byte for byte (and nothing else but
/// `registered_model_meta`, which MLflow's client writes next to a registry download).
fn assert_same_files(expected: &Path, got: &Path) {
    let names = files(expected);
    let mut got_names = files(got);
    got_names.retain(|name| name != Path::new("registered_model_meta"));
    assert_eq!(names, got_names, "different file lists");
    for name in names {
        assert_eq!(
            std::fs::read(expected.join(&name)).unwrap(),
            std::fs::read(got.join(&name)).unwrap(),
            "{} differs",
            name.display()
        );
    }
}

/// A client of `uri` on `garage`, configured from the variables as legendary reads them.
pub(super) fn store_at(garage: &Garage, uri: &str) -> legendary_mlflow::store::Store {
    let env = garage.env();
    let lookup = |key: &str| env.iter().find_map(|(k, v)| (k == key).then(|| v.clone()));
    let config = legendary_mlflow::store::StoreConfig::from_lookup(lookup).unwrap();
    let location = legendary_mlflow::store::ObjectUri::parse(uri)
        .unwrap()
        .unwrap();
    legendary_mlflow::store::Store::open(&config, location).unwrap()
}

fn limits() -> legendary_mlflow::transfer::Limits {
    legendary_mlflow::transfer::Limits {
        max_bytes: 64 * 1024 * 1024,
        idle: Duration::from_secs(10),
        deadline: tokio::time::Instant::now() + Duration::from_secs(60),
    }
}

async fn invoke(http: &reqwest::Client, server: &Server, body: &str) -> Vec<bool> {
    let response = http
        .post(format!("http://{}/invocations", server.addr))
        .header("content-type", "application/json; format=pandas-split")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn served_version(http: &reqwest::Client, server: &Server) -> Option<String> {
    let version: Value = http
        .get(format!("http://{}/version", server.addr))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    version["model"]["version"].as_str().map(str::to_owned)
}

/// Serves the demo's two requests as the local copy of the model answers them.
async fn assert_answers_the_demo(http: &reqwest::Client, server: &Server, model_dir: &Path) {
    assert_eq!(
        invoke(http, server, DEMO).await,
        local_predictions(model_dir, DEMO)
    );
    assert_eq!(
        invoke(http, server, DEMO_LEGENDARY).await,
        local_predictions(model_dir, DEMO_LEGENDARY)
    );
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn a_single_node_garage_starts_with_a_key_allowed_on_its_bucket() {
    let started = Instant::now();
    let garage = Garage::start();
    eprintln!("garage up in {:?}", started.elapsed());
    let info = garage.cli(&["bucket", "info", &garage.bucket]);
    assert!(info.contains(&garage.key_id), "{info}");
    assert!(garage.secret.len() >= 32);
    // Unsigned requests are refused: the bucket is not public.
    let answer = reqwest::get(format!("{}/{}/x", garage.endpoint, garage.bucket)).await;
    assert_eq!(answer.unwrap().status(), 403);
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn the_store_round_trips_the_bundled_model_through_garage_within_its_limits() {
    let garage = Garage::start();
    let uri = format!("s3://{}/round-trip", garage.bucket);
    let store = store_at(&garage, &uri);
    let model = repo().join("models/pokemon");

    let started = Instant::now();
    let uploaded = store.upload_dir("model", &model).await.unwrap();
    eprintln!(
        "uploaded {} files in {:?}",
        uploaded.len(),
        started.elapsed()
    );

    let store = store_at(&garage, &format!("{uri}/model"));
    let dest = tempfile::tempdir().unwrap();
    let limits = limits();
    let started = Instant::now();
    let written = store.download_tree(dest.path(), limits).await.unwrap();
    eprintln!(
        "downloaded {} files in {:?}",
        written.len(),
        started.elapsed()
    );
    assert_same_files(&model, dest.path());

    // The byte cap holds as for proxy downloads, and no partial file is left.
    let small = tempfile::tempdir().unwrap();
    let error = store
        .download_tree(
            small.path(),
            legendary_mlflow::transfer::Limits {
                max_bytes: 1000,
                ..limits
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            legendary_mlflow::store::StoreError::Transfer(
                legendary_mlflow::transfer::TransferError::TooLarge { .. }
            )
        ),
        "{error}"
    );
    assert!(
        !files(small.path())
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".part"))
    );

    // An empty prefix is named as such; an unknown bucket is told apart.
    let error = store_at(&garage, &format!("{uri}/nothing"))
        .download_tree(small.path(), limits)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no artifacts found"), "{error}");
    let error = store_at(&garage, "s3://no-such-bucket/x")
        .upload_dir("", &model)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("s3://no-such-bucket/"), "{error}");
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn a_non_proxied_s3_root_trains_registers_serves_and_hot_reloads_from_the_bucket() {
    let setup = root();
    let out = tempfile::tempdir().unwrap();
    let model_dir = out.path().join("model");
    let started = Instant::now();
    let o = setup.train(
        &model_dir,
        &["--register-as", "pokemon", "--stage", "Production"],
    );
    eprintln!("train + upload + register in {:?}", started.elapsed());
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(&setup.garage.secret));

    // The run's artifacts are in the bucket, where the Python client finds them byte for byte.
    let py_dir = out.path().join("py");
    let seen = setup.python(&format!(
        r#"
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
v = c.get_latest_versions("pokemon", stages=["Production"])[0]
r = c.get_run(v.run_id)
p = mlflow.artifacts.download_artifacts("models:/pokemon/Production", dst_path="{}")
print(json.dumps({{"artifact_uri": r.info.artifact_uri, "status": r.info.status, "path": p}}))
"#,
        py_dir.display()
    ));
    let artifact_uri = seen["artifact_uri"].as_str().unwrap();
    assert!(
        artifact_uri.starts_with(&format!("s3://{}/mlflow/", setup.garage.bucket)),
        "{artifact_uri}"
    );
    assert_eq!(seen["status"], "FINISHED");
    assert_same_files(&model_dir, Path::new(seen["path"].as_str().unwrap()));

    // Batch scoring from the registry reads the bucket too, and answers as the local copy.
    let csv = out.path().join("in.csv");
    std::fs::write(
        &csv,
        "hp,attack,defense,special_attack,special_defense,speed\n106,110,90,154,90,130\n45,49,49,65,65,45\n",
    )
    .unwrap();
    let predict = |model: &str| {
        setup
            .legendary()
            .args(["predict", "--model-uri", model, "--input"])
            .arg(&csv)
            .output()
            .unwrap()
    };
    let remote = predict("models:/pokemon/Production");
    assert!(remote.status.success(), "{}", text(&remote));
    assert_eq!(
        remote.stdout,
        predict(&model_dir.display().to_string()).stdout
    );

    // Served as the demo's Kubernetes deployment does it, straight from the bucket.
    let http = reqwest::Client::new();
    let started = Instant::now();
    let server = setup.serve(
        &[
            ("MLFLOW_MODEL_NAME", "pokemon"),
            ("MLFLOW_MODEL_STAGE", "Production"),
        ],
        &["--reload-interval", "1s"],
    );
    eprintln!(
        "serve ready (resolve + download + load) in {:?}",
        started.elapsed()
    );
    assert_answers_the_demo(&http, &server, &model_dir).await;
    assert_eq!(served_version(&http, &server).await.as_deref(), Some("1"));

    // A new version in Production is picked up from the bucket by hot reload.
    let second = out.path().join("second");
    let o = setup.train(
        &second,
        &[
            "--register-as",
            "pokemon",
            "--stage",
            "Production",
            "--seed",
            "7",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let promoted = Instant::now();
    wait_until_async(
        "the server to serve version 2",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { (served_version(&http, &server).await.as_deref() == Some("2")).then_some(()) },
    )
    .await;
    eprintln!(
        "reloaded version 2 {:?} after promotion",
        promoted.elapsed()
    );
    assert_answers_the_demo(&http, &server, &second).await;
    server.terminate();
    let (_, log) = server.wait(Duration::from_secs(20));
    assert!(
        !log.iter().any(|line| line.contains(&setup.garage.secret)),
        "a log line holds the secret"
    );
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn a_wrong_secret_key_fails_naming_the_bucket_and_the_variable_never_the_secret() {
    let setup = root();
    let wrong = "wrong-secret-0123456789abcdefghijklmnop";
    let out = tempfile::tempdir().unwrap();

    // Training: the bucket is checked before the run is created, so no run is left behind.
    let o = setup.train_with(
        &[("AWS_SECRET_ACCESS_KEY", wrong)],
        &out.path().join("model"),
        &[
            "--register-as",
            "pokemon-wrong-secret",
            "--run-name",
            "wrong-secret",
        ],
    );
    let all = text(&o);
    assert!(!o.status.success(), "{all}");
    assert!(
        all.contains(&format!("s3://{}/", setup.garage.bucket)),
        "{all}"
    );
    assert!(
        all.contains("access denied (check AWS_SECRET_ACCESS_KEY)"),
        "{all}"
    );
    assert!(!all.contains(wrong), "{all}");
    assert!(!all.contains(&setup.garage.secret), "{all}");
    let runs = setup.python(
        r#"
import json, mlflow
print(json.dumps(len(mlflow.search_runs(experiment_names=["pokemon"], filter_string="attributes.run_name = 'wrong-secret'", output_format="list"))))
"#,
    );
    assert_eq!(runs, 0);

    // Serving a version that is there, with the wrong secret: the same clear refusal.
    let o = setup.train(
        &out.path().join("good"),
        &["--register-as", "pokemon-wrong-secret"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = setup
        .legendary()
        .env("AWS_SECRET_ACCESS_KEY", wrong)
        .env("MLFLOW_MODEL_URI", "models:/pokemon-wrong-secret/latest")
        .args(["serve", "--port", "0", "--grpc-port", "0"])
        .args(["--startup-deadline", "5s"])
        .output()
        .unwrap();
    let all = text(&o);
    assert!(!o.status.success(), "{all}");
    assert!(
        all.contains(&format!("s3://{}/", setup.garage.bucket)),
        "{all}"
    );
    assert!(all.contains("AWS_SECRET_ACCESS_KEY"), "{all}");
    assert!(!all.contains(wrong), "{all}");
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): starts its own Garage and
/// `mlflow server` (proxying to the bucket), then trains, asks MLflow's Python client and serves
/// the version from the registry.
#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn a_proxy_writing_to_s3_keeps_working_through_mlflow_artifacts() {
    let setup =
        Setup::start(|garage| Artifacts::ProxiedTo(format!("s3://{}/proxied", garage.bucket)));
    let out = tempfile::tempdir().unwrap();
    let model_dir = out.path().join("model");
    // No bucket variables for legendary: everything goes through the tracking server.
    let unset = [
        "MLFLOW_S3_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ];
    let mut train = setup.legendary();
    for key in unset {
        train.env_remove(key);
    }
    let o = train
        .args([
            "train",
            "--n-trees",
            "30",
            "--cv-folds",
            "0",
            "--register-as",
            "pokemon-proxied",
            "--stage",
            "Production",
            "--output",
        ])
        .arg(&model_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    // The proxy put the files into the bucket.
    let seen = setup.python(
        r#"
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
v = c.get_latest_versions("pokemon-proxied", stages=["Production"])[0]
print(json.dumps({"files": c.get_model_version_download_uri(v.name, v.version), "run": v.run_id}))
"#,
    );
    // Where the version's files are: the logged model's location (MLflow 3) or the run's
    // `model/` (MLflow 2), both behind the proxy.
    let files = seen["files"].as_str().unwrap();
    assert!(files.starts_with("mlflow-artifacts:"), "{seen}");
    let proxy_path = files
        .trim_start_matches("mlflow-artifacts:")
        .trim_matches('/')
        .to_owned();
    let in_bucket = tempfile::tempdir().unwrap();
    store_at(
        &setup.garage,
        &format!("s3://{}/proxied/{proxy_path}", setup.garage.bucket),
    )
    .download_tree(in_bucket.path(), limits())
    .await
    .unwrap();
    assert_same_files(&model_dir, in_bucket.path());

    let http = reqwest::Client::new();
    let server = setup.serve(
        &[("MLFLOW_MODEL_URI", "models:/pokemon-proxied/Production")],
        &[],
    );
    assert_answers_the_demo(&http, &server, &model_dir).await;
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn a_model_the_python_client_put_in_the_bucket_serves_by_stage_and_by_alias() {
    let setup = root();
    let model = repo().join("models/pokemon");
    let seen = setup.python(&format!(
        r#"
import json, mlflow
from mlflow import MlflowClient
mlflow.set_experiment("python-upload")
with mlflow.start_run() as run:
    mlflow.log_artifacts("{}", "model")
c = MlflowClient()
c.create_registered_model("pokemon-python")
v = c.create_model_version("pokemon-python", run.info.artifact_uri + "/model", run.info.run_id)
c.transition_model_version_stage("pokemon-python", v.version, "Production")
c.set_registered_model_alias("pokemon-python", "champion", v.version)
print(json.dumps({{"artifact_uri": run.info.artifact_uri, "version": v.version}}))
"#,
        model.display()
    ));
    assert!(
        seen["artifact_uri"].as_str().unwrap().starts_with("s3://"),
        "{seen}"
    );
    let http = reqwest::Client::new();
    for uri in [
        "models:/pokemon-python/Production",
        "models:/pokemon-python@champion",
    ] {
        let server = setup.serve(&[("MLFLOW_MODEL_URI", uri)], &[]);
        assert_answers_the_demo(&http, &server, &model).await;
        assert_eq!(served_version(&http, &server).await.as_deref(), Some("1"));
    }
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn a_key_that_may_only_read_leaves_a_failed_run_with_the_reason() {
    let setup = root();
    let (id, secret) = setup.garage.new_key("read-only");
    setup.garage.cli(&[
        "bucket",
        "allow",
        "--read",
        &setup.garage.bucket,
        "--key",
        "read-only",
    ]);
    let out = tempfile::tempdir().unwrap();
    // The check before the run passes (the key may list); the upload is refused.
    let o = setup.train_with(
        &[
            ("AWS_ACCESS_KEY_ID", id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
        ],
        &out.path().join("model"),
        &["--run-name", "read-only-key"],
    );
    let all = text(&o);
    assert!(!o.status.success(), "{all}");
    assert!(all.contains("access denied"), "{all}");
    assert!(!all.contains(&secret), "{all}");
    let run = setup.python(
        r#"
import json, mlflow
r = mlflow.search_runs(experiment_names=["pokemon"], filter_string="attributes.run_name = 'read-only-key'", output_format="list")[0]
print(json.dumps({"status": r.info.status, "error": r.data.tags.get("legendary.error", "")}))
"#,
    );
    assert_eq!(run["status"], "FAILED");
    let reason = run["error"].as_str().unwrap();
    assert!(
        reason.contains(&format!("s3://{}/", setup.garage.bucket)),
        "{reason}"
    );
    assert!(reason.contains("access denied (check AWS_"), "{reason}");
    assert!(!reason.contains(&secret), "{reason}");
}

/// The payload log on a real S3 server: its batches, schema and descriptor land under the
/// prefix, and the package fetched back (as `train --data s3://…` fetches it) is what the
/// catalogue lists and what the loader reads, refusing it while no row is labelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn the_payload_log_writes_a_package_to_garage_that_fetches_back_and_loads() {
    use legendary::monitor::payload_log::{PayloadLog, PayloadLogSettings, open};
    let garage = Garage::start();
    let env = garage.env();
    let lookup = |key: &str| env.iter().find_map(|(k, v)| (k == key).then(|| v.clone()));
    let config = legendary_mlflow::store::StoreConfig::from_lookup(lookup).unwrap();
    let uri = format!("s3://{}/payloads/", garage.bucket);
    let settings = PayloadLogSettings {
        interval: Duration::from_millis(100),
        ..PayloadLogSettings::default()
    };
    let log = PayloadLog::start(open(&uri, &config).unwrap(), &settings).unwrap();
    let state = legendary::http::AppState::new(legendary::http::ServerLimits::default(), None);
    state.set_model(crate::support::app::bundled_model());
    state.set_payload_log(std::sync::Arc::clone(&log));
    let app = crate::support::app::spawn_state(state).await;
    for _ in 0..2 {
        assert_eq!(app.score(crate::support::app::body(50)).await.status(), 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(log.close(Duration::from_secs(30)));
    let report = log.report();
    assert_eq!(
        (report.written_rows, report.write_errors),
        (100, 0),
        "{report:?}"
    );
    app.shut_down().await;

    let dest = tempfile::tempdir().unwrap();
    assert!(
        legendary::dataset::fetch(&uri, &config, dest.path())
            .await
            .unwrap()
    );
    let entries = legendary::dataset::catalogue::read(dest.path(), &uri).unwrap();
    assert_eq!(entries.iter().filter_map(|e| e.rows).sum::<u64>(), 100);
    assert!(
        entries.iter().all(|e| e.location.starts_with(&uri)),
        "{entries:?}"
    );
    let refused =
        legendary::dataset::load(dest.path(), &legendary::dataset::Generations::all()).unwrap_err();
    assert!(
        refused.to_string().contains("none of its 100 rows"),
        "{refused}"
    );
}
