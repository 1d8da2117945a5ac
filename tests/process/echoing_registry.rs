//! A registry (or a proxy in front of it) that echoes each request's headers into its error
//! answers, `Authorization` included: the credentials `legendary serve` sends must show in
//! none of its answers (`/version` is unauthenticated) and in none of its log lines, whether
//! the echo comes at start-up or during hot reload, as plain text or as MLflow's JSON error.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::process::Server;
use crate::support::{repo, wait_until, wait_until_async};

/// The fake: the bundled model as `pokemon@champion` version 1 until `echo` is set, then an
/// echo of the request's headers for every request (`json`: in MLflow's error body).
#[derive(Clone)]
struct Fake {
    echo: Arc<AtomicBool>,
    json: bool,
}

fn dump(headers: &HeaderMap) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("{name}: {}\n", value.to_str().unwrap_or("?")))
        .collect()
}

async fn answer(State(fake): State<Fake>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if fake.echo.load(Ordering::SeqCst) || !path.starts_with("/api/2.0/") {
        let dump = dump(request.headers());
        let body = if fake.json {
            json!({"error_code": "INTERNAL_ERROR", "message": dump}).to_string()
        } else {
            format!("Internal Server Error. Your request:\n{dump}")
        };
        return (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
    }
    let model = repo().join("models/pokemon");
    match path.as_str() {
        "/api/2.0/mlflow/registered-models/alias" => axum::Json(
            json!({"model_version": {"name": "pokemon", "version": "1", "aliases": ["champion"]}}),
        )
        .into_response(),
        "/api/2.0/mlflow/model-versions/get-download-uri" => {
            axum::Json(json!({"artifact_uri": "mlflow-artifacts:/good"})).into_response()
        }
        "/api/2.0/mlflow-artifacts/artifacts" => {
            let files: Vec<Value> = std::fs::read_dir(&model)
                .unwrap()
                .map(|e| json!({"path": e.unwrap().file_name().to_str().unwrap(), "is_dir": false}))
                .collect();
            axum::Json(json!({ "files": files })).into_response()
        }
        other => match other.strip_prefix("/api/2.0/mlflow-artifacts/artifacts/good/") {
            Some(name) => std::fs::read(model.join(name)).unwrap().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

async fn start_fake(json: bool) -> (SocketAddr, Fake) {
    let fake = Fake {
        echo: Arc::new(AtomicBool::new(false)),
        json,
    };
    let app = Router::new().fallback(answer).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, fake)
}

/// One way to authenticate: its environment, and every form of its secret a request carries.
struct Credentials {
    env: Vec<(&'static str, String)>,
    secrets: Vec<String>,
}

/// A token, and a user name with a password.
fn credentials() -> [Credentials; 2] {
    let token = "tok-ECHOED-SECRET-5up3r".to_owned();
    let password = "pw-ECHOED-SECRET-77".to_owned();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("bob:{password}"));
    [
        Credentials {
            env: vec![("MLFLOW_TRACKING_TOKEN", token.clone())],
            secrets: vec![token],
        },
        Credentials {
            env: vec![
                ("MLFLOW_TRACKING_USERNAME", "bob".to_owned()),
                ("MLFLOW_TRACKING_PASSWORD", password.clone()),
            ],
            secrets: vec![password, basic],
        },
    ]
}

fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} shows {secret}: {text}"
        );
    }
    assert!(!text.contains("ECHOED-SECRET"), "{what}: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_credentials_show_in_no_answer_and_no_log_line_during_hot_reload() {
    for (Credentials { env, secrets }, json) in credentials().into_iter().zip([false, true]) {
        let (addr, fake) = start_fake(json).await;
        let tracking = format!("http://{addr}");
        let mut envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        envs.extend([
            ("MLFLOW_TRACKING_URI", tracking.as_str()),
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"),
        ]);
        let args = [
            "--model-uri",
            "models:/pokemon@champion",
            "--reload-interval",
            "1s",
        ];
        let mut server = Server::start_with_env_at(&envs, "debug", &args);
        let base = format!("http://{}", server.addr);

        fake.echo.store(true, Ordering::SeqCst);
        let client = reqwest::Client::new();
        let version = wait_until_async(
            "a failed reload to show",
            Duration::from_secs(20),
            Duration::from_millis(200),
            || async {
                let v: Value = client
                    .get(format!("{base}/version"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (v["last_reload"]["outcome"] == "failed").then_some(v)
            },
        )
        .await;
        // Only the cause's class, the status and a description written by the server.
        let last = &version["last_reload"];
        assert_eq!(last["cause"], "registry", "{version}");
        assert_eq!(last["status"], 500, "{version}");
        let error = last["error"].as_str().unwrap();
        assert!(!error.to_lowercase().contains("user-agent"), "{error}");
        assert_eq!(version["model"]["version"], "1", "{version}");

        for path in ["/version", "/metrics", "/ping", "/model", "/health"] {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            let head = format!("{:?}", response.headers());
            let body = response.text().await.unwrap();
            assert_no_secret(path, &format!("{head}\n{body}"), &secrets);
        }

        // The registry's words are in the log, scrubbed: the proof the echo got that far.
        let line = tokio::task::block_in_place(|| server.wait_for("reload poll failed"));
        assert!(line.contains("user-agent: legendary"), "{line}");
        assert!(line.contains("***"), "{line}");
        server.terminate();
        let (_, log) = tokio::task::block_in_place(|| server.wait(Duration::from_secs(20)));
        assert!(log.len() > 5, "{log:#?}");
        for line in &log {
            assert_no_secret("the log", line, &secrets);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_credentials_show_nowhere_when_start_up_fails() {
    for (Credentials { env, secrets }, json) in credentials().into_iter().zip([true, false]) {
        let (addr, fake) = start_fake(json).await;
        fake.echo.store(true, Ordering::SeqCst);
        // Its output goes to files, read once it has exited (no pipe to keep drained).
        let dir = tempfile::tempdir().unwrap();
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_legendary"))
            .args([
                "serve",
                "--port",
                "0",
                "--grpc-port",
                "0",
                "--model-uri",
                "models:/pokemon@champion",
            ])
            // Start-up tries again until its deadline: the echo then ends it.
            .args(["--startup-deadline", "3s"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("MLFLOW_TRACKING_URI", format!("http://{addr}"))
            .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let status = tokio::task::spawn_blocking(move || {
            wait_until(
                "serve to exit",
                Duration::from_secs(30),
                Duration::from_millis(50),
                || child.try_wait().unwrap(),
            )
        })
        .await
        .unwrap();
        let stdout = std::fs::read_to_string(&out).unwrap();
        let stderr = std::fs::read_to_string(&err).unwrap();
        assert!(!status.success(), "{stderr}");
        assert!(stderr.contains("HTTP 500"), "{stderr}");
        assert!(stderr.contains("***"), "{stderr}");
        assert_no_secret("stderr", &stderr, &secrets);
        assert_no_secret("stdout", &stdout, &secrets);
    }
}
