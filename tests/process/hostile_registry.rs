//! A registry that misbehaves in ways a real MLflow server cannot be made to: a file listed as
//! 10 bytes that streams without end, one that drips a byte a second, one that never answers.
//! Start-up ends by its deadline naming the file and the cause; during hot reload the old
//! model keeps serving, the failure shows in `/metrics` and `/version`, and a good version
//! published afterwards is picked up at the next poll.
//!
//! The fake speaks only the endpoints `legendary serve` calls: the alias lookup, the download
//! URI and the artifact proxy. Everything else of the protocol is tested against a real
//! `mlflow server` in `tests/end_to_end`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::support::load::Load;
use crate::support::process::Server;
use crate::support::{peak_rss, repo, wait_until};

/// The fake registry: `pokemon@champion` names `version`; versions 1 and 3 are the bundled
/// model, 2 is whatever `bad` says.
#[derive(Clone)]
pub(super) struct Fake {
    pub(super) version: Arc<AtomicU64>,
    bad: &'static str,
    /// For `hostile`: a model directory built to hurt its reader.
    hostile: Arc<tempfile::TempDir>,
}

fn bundled_files() -> Vec<String> {
    std::fs::read_dir(repo().join("models/pokemon"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

async fn alias(State(fake): State<Fake>) -> Json<Value> {
    let v = fake.version.load(Ordering::SeqCst).to_string();
    Json(json!({"model_version": {"name": "pokemon", "version": v, "aliases": ["champion"]}}))
}

async fn download_uri(
    Query(q): Query<HashMap<String, String>>,
    State(fake): State<Fake>,
) -> Json<Value> {
    let dir = match q.get("version").map(String::as_str) {
        Some("2") => fake.bad.to_owned(),
        Some(v) => format!("good{v}"),
        None => "none".to_owned(),
    };
    Json(json!({"artifact_uri": format!("mlflow-artifacts:/{dir}")}))
}

async fn listing(
    Query(q): Query<HashMap<String, String>>,
    State(fake): State<Fake>,
) -> Json<Value> {
    let path = q.get("path").cloned().unwrap_or_default();
    let names = if path.starts_with("hostile") {
        Some(
            std::fs::read_dir(fake.hostile.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect(),
        )
    } else {
        path.starts_with("good").then(bundled_files)
    };
    if let Some(names) = names {
        let files: Vec<Value> = names
            .into_iter()
            .map(|f| json!({"path": f, "is_dir": false}))
            .collect();
        return Json(json!({ "files": files }));
    }
    // Every hostile directory claims one small file.
    Json(json!({"files": [{"path": "model.json", "is_dir": false, "file_size": 10}]}))
}

async fn file(Path(path): Path<String>, State(fake): State<Fake>) -> Response {
    let (dir, name) = path.split_once('/').unwrap_or((&path, ""));
    if dir == "hostile" {
        return std::fs::read(fake.hostile.path().join(name))
            .unwrap()
            .into_response();
    }
    if dir.starts_with("good") {
        return std::fs::read(repo().join("models/pokemon").join(name))
            .unwrap()
            .into_response();
    }
    match dir {
        // Without end, 64 KiB at a time.
        "big" => Body::from_stream(futures_util::stream::repeat_with(|| {
            Ok::<_, Infallible>(Bytes::from(vec![b' '; 64 * 1024]))
        }))
        .into_response(),
        // One byte a second, forever.
        "drip" => Body::from_stream(futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
        }))
        .into_response(),
        // No answer at all.
        _ => std::future::pending().await,
    }
}

/// 16 MiB of empty versions: `{"model_versions":[{},{},…]}`, within the client's answer cap.
async fn flood() -> Response {
    let mut body = String::from(r#"{"model_versions":["#);
    body.push_str(&"{},".repeat(16 * 1024 * 1024 / 3 - 10));
    body.push_str("{}]}");
    ([("content-type", "application/json")], body).into_response()
}

async fn start_fake(bad: &'static str) -> (SocketAddr, Fake) {
    let hostile = super::hostile_model::model_dir_with(super::hostile_model::shared_children(24));
    start_fake_with(bad, hostile).await
}

/// The fake registry, with `hostile` as the `hostile` version's directory.
pub(super) async fn start_fake_with(
    bad: &'static str,
    hostile: tempfile::TempDir,
) -> (SocketAddr, Fake) {
    let fake = Fake {
        version: Arc::new(AtomicU64::new(1)),
        bad,
        hostile: Arc::new(hostile),
    };
    let app = Router::new()
        .route("/api/2.0/mlflow/registered-models/alias", get(alias))
        .route(
            "/api/2.0/mlflow/model-versions/get-download-uri",
            get(download_uri),
        )
        .route(
            "/api/2.0/mlflow/registered-models/get-latest-versions",
            axum::routing::post(flood),
        )
        .route("/api/2.0/mlflow-artifacts/artifacts", get(listing))
        .route("/api/2.0/mlflow-artifacts/artifacts/{*path}", get(file))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, fake)
}

const LIMITS: [&str; 6] = [
    "--startup-deadline",
    "4s",
    "--download-idle-timeout",
    "2s",
    "--download-max-bytes",
    "8388608",
];

/// `legendary serve --model-uri URI` against the fake at `addr`, with [`LIMITS`], under 100 MB of
/// address space (so never more resident): past it the process would abort on an allocation
/// and the test would see a signal, not the clean error. Stderr piped, errors only.
fn serve_capped(addr: SocketAddr, uri: &str) -> Command {
    let mut command = Command::new("prlimit");
    command
        .args(["--as=100000000", "--", env!("CARGO_BIN_EXE_legendary")])
        .env("TOKIO_WORKER_THREADS", "2")
        .env("RAYON_NUM_THREADS", "2")
        .args([
            "serve",
            "--port",
            "0",
            "--grpc-port",
            "0",
            "--model-uri",
            uri,
        ])
        .args(LIMITS)
        .env("MLFLOW_TRACKING_URI", format!("http://{addr}"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_ends_by_its_deadline_naming_the_file_and_the_cause() {
    for (bad, cause) in [
        ("big", "larger than the limit of 8388608 bytes"),
        ("drip", "not finished by its deadline"),
        ("hang", "no answer by its deadline"),
    ] {
        let (addr, _fake) = start_fake(bad).await;
        let started = Instant::now();
        let mut child = serve_capped(addr, &format!("mlflow-artifacts:/{bad}"))
            .spawn()
            .unwrap();
        let status = tokio::task::spawn_blocking(move || {
            let status = wait_until(
                "serve to exit",
                Duration::from_secs(20),
                Duration::from_millis(50),
                || child.try_wait().unwrap(),
            );
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            (status, stderr)
        })
        .await
        .unwrap();
        let (status, stderr) = status;
        let took = started.elapsed();
        assert_eq!(status.code(), Some(1), "{bad}: {status}: {stderr}");
        assert!(
            stderr.contains(&format!("{bad}/model.json")),
            "{bad}: {stderr}"
        );
        assert!(stderr.contains(cause), "{bad}: {stderr}");
        assert!(
            took < Duration::from_secs(8),
            "{bad}: took {took:?}: {stderr}"
        );
        eprintln!("{bad}: exited after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_version_during_hot_reload_leaves_the_old_one_serving() {
    for bad in ["hang", "big", "drip", "hostile"] {
        let (addr, fake) = start_fake(bad).await;
        let tracking = format!("http://{addr}");
        let mut args = vec![
            "--model-uri",
            "models:/pokemon@champion",
            "--reload-interval",
            "1s",
        ];
        args.extend(LIMITS);
        let mut server = Server::start_with_env(&[("MLFLOW_TRACKING_URI", &tracking)], &args);
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::new();
        let version = |v: Value| v["model"]["version"].as_str().map(str::to_owned);
        let get_version = || async {
            client
                .get(format!("{base}/version"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        };
        assert_eq!(version(get_version().await).as_deref(), Some("1"));
        // Load all along: not one request may fail while versions come and go.
        let load = Load::start(&base, crate::support::app::body(5));

        // Version 2 is hostile: the next polls fail, version 1 keeps answering.
        fake.version.store(2, Ordering::SeqCst);
        let failed = crate::support::wait_until_async(
            "a failed reload to show",
            Duration::from_secs(20),
            Duration::from_millis(200),
            || async {
                let v = get_version().await;
                (v["last_reload"]["version"] == "2").then_some(v)
            },
        )
        .await;
        assert_eq!(version(failed.clone()).as_deref(), Some("1"), "{failed}");
        let outcome = failed["last_reload"]["outcome"].as_str().unwrap();
        assert!(matches!(outcome, "failed" | "refused"), "{failed}");
        assert!(failed["last_reload"]["error"].is_string(), "{failed}");
        let ping = client.get(format!("{base}/ping")).send().await.unwrap();
        assert_eq!(ping.status(), 200);
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("legendary_model_last_reload_timestamp_seconds{outcome="),
            "{metrics}"
        );

        // A good version 3 published afterwards is picked up at a following poll.
        fake.version.store(3, Ordering::SeqCst);
        tokio::task::block_in_place(|| server.wait_for("new model version swapped in"));
        crate::support::wait_until_async(
            "version 3 to serve",
            Duration::from_secs(20),
            Duration::from_millis(200),
            || async { (version(get_version().await).as_deref() == Some("3")).then_some(()) },
        )
        .await;
        let (ok, failed) = load.stop().await;
        assert_eq!(failed, 0, "{bad}: {failed} requests failed ({ok} ok)");
        assert!(ok > 10, "{bad}: only {ok} requests under load");
        let peak = peak_rss(server.pid());
        assert!(peak < 100_000_000, "{bad}: peak RSS {peak} bytes");
        eprintln!(
            "{bad}: {outcome}, then version 3 swapped in; {ok} requests, 0 failed; peak RSS {} MB",
            peak / 1_000_000
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_answer_of_16_mib_of_empty_versions_is_a_clear_error_in_bounded_memory() {
    let (addr, _fake) = start_fake("hang").await;
    let started = Instant::now();
    // Under 100 MB of address space: decoding 5.6 million versions would abort instead.
    let child = serve_capped(addr, "models:/pokemon/Production")
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}: {stderr}", output.status);
    assert!(stderr.contains("a list of at most 10000 items"), "{stderr}");
    assert!(
        stderr.contains("registered-models/get-latest-versions"),
        "{stderr}"
    );
    eprintln!(
        "16 MiB of {{}}: exited after {:?}: {stderr}",
        started.elapsed()
    );
}
