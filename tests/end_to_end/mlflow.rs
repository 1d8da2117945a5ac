//! The MLflow client against a REAL `mlflow server` 3.17.2 (from `.venv`; create it with
//! `scripts/mlflow-venv.sh`). Run with `cargo test --test end_to_end -- --include-ignored mlflow::`.
//!
//! One server is shared by the tests of this file; it is set up once with a full training
//! lifecycle (experiment, run, params, metrics, dataset, model upload, registration, stage,
//! alias). The basic-auth test starts its own server.

// Test helpers outside #[test] fns: a failed unwrap is a failed test here.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::mlflow_server::{
    ADMIN_PASSWORD, ADMIN_USER, MlflowServer, ServerOptions, venv_bin,
};
use legendary_mlflow::config::{Auth, Secret};
use legendary_mlflow::retry::RetryPolicy;
use legendary_mlflow::tracking::{NewRun, RunStatus, dataset_input, now_ms};
use legendary_mlflow::wire::{Dataset, KeyValue, Metric};
use legendary_mlflow::{
    MlflowClient, MlflowError, ModelUri, Resolved, TrackingConfig, download, resolve,
};

const MODEL: &str = "pokemon-e2e";
const EXPERIMENT: &str = "pokemon-e2e";

/// The model directory we upload: an `MLmodel`, a JSON model and a nested file.
const MODEL_FILES: &[(&str, &str)] = &[
    (
        "MLmodel",
        "artifact_path: model\nflavors:\n  smartcore:\n    data: model.json\n    format_version: 1\nmlflow_version: 3.17.2\n",
    ),
    (
        "model.json",
        r#"{"kind": "random_forest", "n_estimators": 1, "trees": []}"#,
    ),
    (
        "plots/feature_importance.json",
        r#"{"hp": 0.3, "speed": 0.7}"#,
    ),
];

/// What the shared set-up produced.
struct Fixture {
    server: MlflowServer,
    run_id: String,
    experiment_id: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Set-up runs on its own thread and runtime: each #[tokio::test] has its own runtime.
        std::thread::spawn(|| {
            let server = MlflowServer::start(ServerOptions::default());
            let runtime = tokio::runtime::Runtime::new().expect("building a runtime");
            let (run_id, experiment_id) = runtime.block_on(train_and_register(server.uri()));
            Fixture {
                server,
                run_id,
                experiment_id,
            }
        })
        .join()
        .expect("the shared MLflow set-up failed")
    })
}

fn client(uri: &str) -> MlflowClient {
    let mut config = TrackingConfig::new(uri).expect("a valid tracking URI");
    config.retry = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    MlflowClient::new(&config).expect("building the client")
}

fn write_model_dir(dir: &Path) {
    for (name, content) in MODEL_FILES {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// The lifecycle `legendary train` will run; returns (run id, experiment id).
async fn train_and_register(uri: &str) -> (String, String) {
    let client = client(uri);
    let experiment_id = client.get_or_create_experiment(EXPERIMENT).await.unwrap();
    assert_eq!(
        client.get_or_create_experiment(EXPERIMENT).await.unwrap(),
        experiment_id
    );

    let mut new_run = NewRun::new(&experiment_id);
    new_run.run_name = Some("rust-e2e".to_owned());
    new_run.user = Some("rust-trainer".to_owned());
    new_run.git_commit = Some("0123456789abcdef".to_owned());
    let run = client.create_run(&new_run).await.unwrap();
    assert_eq!(run.status, "RUNNING");

    let params = [
        KeyValue::new("n_estimators", "50"),
        KeyValue::new("max_depth", "30"),
    ];
    let now = now_ms();
    let mut metrics = vec![
        Metric::new("accuracy", 0.985, now, 0),
        Metric::new("train_rows", 600.0, now, 0),
    ];
    // More than one log-batch call's worth, to exercise chunking against the real limits.
    metrics.extend(
        (0..1100).map(|step| Metric::new("oob_error", 1.0 / f64::from(step + 1), now, step.into())),
    );
    client
        .log_batch(
            &run.run_id,
            &params,
            &metrics,
            &[KeyValue::new("trainer", "rust")],
        )
        .await
        .unwrap();

    let dataset = Dataset {
        name: "pokemon".to_owned(),
        digest: "1bc7e743".to_owned(),
        source_type: "local".to_owned(),
        source: r#"{"uri": "data/pokemon.csv"}"#.to_owned(),
        schema: Some(
            r#"{"mlflow_colspec": [{"type": "long", "name": "hp", "required": true}]}"#.to_owned(),
        ),
        profile: Some(r#"{"num_rows": 800, "num_elements": 5600}"#.to_owned()),
    };
    client
        .log_inputs(&run.run_id, &[dataset_input(dataset, "training")])
        .await
        .unwrap();

    let model_dir = tempfile::tempdir().unwrap();
    write_model_dir(model_dir.path());
    let uploaded = client
        .upload_dir(&run.artifact_uri, "model", model_dir.path())
        .await
        .unwrap();
    assert_eq!(uploaded.len(), MODEL_FILES.len());
    client
        .set_run_tag(&run.run_id, "legendary.phase", "done")
        .await
        .unwrap();
    let finished = client
        .update_run(&run.run_id, RunStatus::Finished, None)
        .await
        .unwrap();
    assert_eq!(finished.status, "FINISHED");
    assert!(finished.end_time.is_some());

    // Version 1: the recommended `mlflow-artifacts:/…/model` source, promoted and aliased.
    let source = format!("{}/model", run.artifact_uri);
    let v1 = client
        .register_model_version(
            MODEL,
            &source,
            &run.run_id,
            None,
            None,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!((v1.version.as_str(), v1.status.as_str()), ("1", "READY"));
    let promoted = client
        .transition_stage(MODEL, "1", legendary_mlflow::Stage::Production, true)
        .await
        .unwrap();
    assert_eq!(promoted.current_stage, "Production");
    client.set_alias(MODEL, "champion", "1").await.unwrap();

    // Version 2: a `runs:/` source (returned verbatim by get-download-uri), left in stage None.
    let runs_source = format!("runs:/{}/model", run.run_id);
    let v2 = client
        .register_model_version(
            MODEL,
            &runs_source,
            &run.run_id,
            None,
            None,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(v2.version, "2");
    (run.run_id, experiment_id)
}

/// Downloads `uri` and checks every uploaded file came back byte for byte.
async fn fetch_and_compare(client: &MlflowClient, uri: &str) -> Resolved {
    let uri: ModelUri = uri.parse().unwrap();
    let resolved = resolve(client, &uri)
        .await
        .unwrap_or_else(|error| panic!("{uri}: {error}"));
    let dest = tempfile::tempdir().unwrap();
    let files = download(client, &resolved.artifact_uri, dest.path())
        .await
        .unwrap();
    assert_eq!(files.len(), MODEL_FILES.len(), "{uri}: {files:?}");
    for (name, content) in MODEL_FILES {
        let got =
            std::fs::read(dest.path().join(name)).unwrap_or_else(|e| panic!("{uri}: {name}: {e}"));
        assert_eq!(got, content.as_bytes(), "{uri}: {name}");
    }
    resolved
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn every_uri_form_resolves_and_downloads_the_uploaded_files() {
    let fixture = fixture();
    let client = client(fixture.server.uri());

    let production = fetch_and_compare(&client, &format!("models:/{MODEL}/production")).await;
    assert_eq!(production.version.as_deref(), Some("1"));
    assert_eq!(production.stage.as_deref(), Some("Production"));
    assert_eq!(production.aliases, ["champion"]);
    assert_eq!(production.run_id.as_deref(), Some(fixture.run_id.as_str()));
    assert!(
        production
            .artifact_uri
            .starts_with(&format!("mlflow-artifacts:/{}/", fixture.experiment_id))
    );

    let champion = fetch_and_compare(&client, &format!("models:/{MODEL}@champion")).await;
    assert_eq!(champion, production);
    let one = fetch_and_compare(&client, &format!("models:/{MODEL}/1")).await;
    assert_eq!(one.artifact_uri, production.artifact_uri);

    let latest = fetch_and_compare(&client, &format!("models:/{MODEL}/latest")).await;
    assert_eq!(latest.version.as_deref(), Some("2"));
    assert_eq!(latest.stage.as_deref(), Some("None"));
    assert_eq!(
        latest.artifact_uri, production.artifact_uri,
        "runs:/ source resolved through runs/get"
    );

    let run = fetch_and_compare(&client, &format!("runs:/{}/model", fixture.run_id)).await;
    assert_eq!(run.artifact_uri, production.artifact_uri);
    fetch_and_compare(&client, &production.artifact_uri).await;

    // The files really are where the server keeps artifacts.
    let on_disk = fixture.server.artifacts_dir().join(
        production
            .artifact_uri
            .trim_start_matches("mlflow-artifacts:/"),
    );
    assert_eq!(
        std::fs::read(on_disk.join("model.json")).unwrap(),
        MODEL_FILES[1].1.as_bytes()
    );
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn resolution_errors_name_the_missing_model_stage_alias_and_version() {
    let client = client(fixture().server.uri());
    let message = |uri: &str| {
        let client = client.clone();
        let uri: ModelUri = uri.parse().unwrap();
        async move { resolve(&client, &uri).await.unwrap_err() }
    };

    for uri in [
        "models:/no-such-model/Production",
        "models:/no-such-model@champion",
        "models:/no-such-model/1",
        "models:/no-such-model/latest",
    ] {
        let error = message(uri).await;
        assert!(
            matches!(error, MlflowError::ModelNotFound { .. }),
            "{uri}: {error:?}"
        );
        assert!(
            error.to_string().contains("`no-such-model`"),
            "{uri}: {error}"
        );
    }
    let staging = message(&format!("models:/{MODEL}/Staging")).await;
    assert_eq!(
        staging.to_string(),
        format!("registered model `{MODEL}` has no version in stage `Staging`")
    );
    let alias = message(&format!("models:/{MODEL}@challenger")).await;
    assert_eq!(
        alias.to_string(),
        format!("registered model `{MODEL}` has no alias `challenger`")
    );
    let version = message(&format!("models:/{MODEL}/99")).await;
    assert_eq!(
        version.to_string(),
        format!("registered model `{MODEL}` has no version 99")
    );
    let run = message("runs:/0123456789abcdef0123456789abcdef/model").await;
    assert!(matches!(run, MlflowError::RunNotFound { .. }), "{run:?}");

    let nothing = download(
        &client,
        "mlflow-artifacts:/no/such/path",
        tempfile::tempdir().unwrap().path(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        nothing.to_string(),
        "no artifacts found at `mlflow-artifacts:/no/such/path`"
    );
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn registry_bookkeeping_calls_work_and_are_idempotent_where_mlflow_allows() {
    let fixture = fixture();
    let client = client(fixture.server.uri());
    client.ensure_registered_model(MODEL).await.unwrap();
    client
        .set_model_version_tag(MODEL, "1", "validation", "passed")
        .await
        .unwrap();
    let one = client.get_model_version(MODEL, "1").await.unwrap();
    assert_eq!(one.tags, [KeyValue::new("validation", "passed")]);

    client.set_alias(MODEL, "temporary", "2").await.unwrap();
    assert_eq!(
        client
            .version_by_alias(MODEL, "temporary")
            .await
            .unwrap()
            .unwrap()
            .version,
        "2"
    );
    client.delete_alias(MODEL, "temporary").await.unwrap();
    client.delete_alias(MODEL, "temporary").await.unwrap();
    assert!(
        client
            .version_by_alias(MODEL, "temporary")
            .await
            .unwrap()
            .is_none()
    );

    let versions = client.all_model_versions(MODEL).await.unwrap();
    let mut numbers: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, ["1", "2"]);
    assert!(
        client
            .latest_version(MODEL, legendary_mlflow::Stage::Archived)
            .await
            .unwrap()
            .is_none()
    );

    // A param cannot change value: a 4xx, not retried, decoded.
    let error = client
        .log_batch(
            &fixture.run_id,
            &[KeyValue::new("max_depth", "31")],
            &[],
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.error_code(),
        Some("INVALID_PARAMETER_VALUE"),
        "{error}"
    );

    let run = client.get_run(&fixture.run_id).await.unwrap();
    let tags: BTreeMap<_, _> = run
        .data
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    assert_eq!(tags.get("mlflow.user"), Some(&"rust-trainer"));
    assert_eq!(tags.get("mlflow.source.type"), Some(&"LOCAL"));
    assert_eq!(
        tags.get("mlflow.source.git.commit"),
        Some(&"0123456789abcdef")
    );
    assert_eq!(tags.get("legendary.phase"), Some(&"done"));
    assert_eq!(run.inputs.dataset_inputs[0].dataset.digest, "1bc7e743");
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn the_python_client_sees_the_run_and_downloads_identical_files() {
    let fixture = fixture();
    let dest = tempfile::tempdir().unwrap();
    let script = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import mlflow
from mlflow import MlflowClient
dest, name, run_id = sys.argv[1:4]
path = mlflow.artifacts.download_artifacts(f"models:/{name}/Production", dst_path=dest)
run = MlflowClient().get_run(run_id)
print(json.dumps({
    "path": path, "status": run.info.status, "params": run.data.params, "metrics": run.data.metrics,
    "inputs": [[d.dataset.name, d.dataset.digest, [t.value for t in d.tags]] for d in run.inputs.dataset_inputs],
}))
"#;
    let output = tokio::process::Command::new(venv_bin("python"))
        .args(["-c", script])
        .arg(dest.path())
        .args([MODEL, &fixture.run_id])
        .env("MLFLOW_TRACKING_URI", fixture.server.uri())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    let path = Path::new(seen["path"].as_str().unwrap());
    for (name, content) in MODEL_FILES {
        assert_eq!(
            std::fs::read(path.join(name)).unwrap(),
            content.as_bytes(),
            "python: {name}"
        );
    }
    assert_eq!(seen["status"], "FINISHED");
    assert_eq!(
        seen["params"],
        serde_json::json!({"n_estimators": "50", "max_depth": "30"})
    );
    assert_eq!(seen["metrics"]["accuracy"], 0.985);
    assert_eq!(seen["metrics"]["train_rows"], 600.0);
    assert_eq!(
        seen["inputs"],
        serde_json::json!([["pokemon", "1bc7e743", ["training"]]])
    );
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn a_down_registry_fails_after_bounded_retries_naming_the_uri() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = client(&uri);
    let started = Instant::now();
    let error = resolve(
        &client,
        &format!("models:/{MODEL}/Production").parse().unwrap(),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, MlflowError::Transport { attempts: 3, .. }),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "{uri}/api/2.0/mlflow/registered-models/get-latest-versions"
        )),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): starts its own `mlflow server
/// --app-name basic-auth` and waits for `/health` (the auth app creates its own database and
/// admin user first).
#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn a_basic_auth_server_accepts_credentials_and_refuses_without() {
    let server = MlflowServer::start(ServerOptions {
        basic_auth: true,
        ..ServerOptions::default()
    });

    let anonymous = client(server.uri());
    let refused = anonymous
        .get_or_create_experiment("auth-e2e")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MlflowError::Api { status, .. } if status == reqwest::StatusCode::UNAUTHORIZED),
        "{refused:?}"
    );

    let mut config = TrackingConfig::new(server.uri()).unwrap();
    config.auth = Some(Auth::Basic {
        username: ADMIN_USER.to_owned(),
        password: Secret::new(ADMIN_PASSWORD),
    });
    let admin = MlflowClient::new(&config).unwrap();
    let experiment_id = admin.get_or_create_experiment("auth-e2e").await.unwrap();
    let run = admin
        .create_run(&NewRun::new(&experiment_id))
        .await
        .unwrap();
    let model_dir = tempfile::tempdir().unwrap();
    write_model_dir(model_dir.path());
    admin
        .upload_dir(&run.artifact_uri, "model", model_dir.path())
        .await
        .unwrap();
    let source = format!("{}/model", run.artifact_uri);
    admin
        .register_model_version(
            "auth-model",
            &source,
            &run.run_id,
            None,
            None,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let resolved = fetch_and_compare(&admin, "models:/auth-model/latest").await;
    assert_eq!(resolved.version.as_deref(), Some("1"));

    let mut wrong = config.clone();
    wrong.auth = Some(Auth::Basic {
        username: ADMIN_USER.to_owned(),
        password: Secret::new("not-the-password"),
    });
    let error = MlflowClient::new(&wrong)
        .unwrap()
        .get_run(&run.run_id)
        .await
        .unwrap_err();
    assert!(
        matches!(error, MlflowError::Api { status, .. } if status == reqwest::StatusCode::UNAUTHORIZED),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?} {admin:?}").contains(ADMIN_PASSWORD));
}
