//! A real `mlflow server` (from `.venv`, see `scripts/mlflow-venv.sh`, or the venv
//! `LEGENDARY_TEST_MLFLOW_VENV` names, e.g. `.venv-mlflow2` from `scripts/mlflow-venv.sh 2`) on a free loopback port,
//! with a throw-away SQLite store and, by default, a throw-away artifact directory behind its
//! artifact proxy; or artifacts on an object store (`s3://…`), proxied or not. Its whole
//! process group is stopped on drop, and also when the test process exits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::free_port;
use super::watchdog::{self, Watched};

/// The admin user of a basic-auth server.
pub const ADMIN_USER: &str = "admin";
/// Its password (MLflow 3.17 ships none and wants 12+ characters).
pub const ADMIN_PASSWORD: &str = "legendary-admin-pw-0001";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

/// How to start the server.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Start with `--app-name basic-auth` and an admin user ([`ADMIN_USER`], [`ADMIN_PASSWORD`]).
    pub basic_auth: bool,
    /// Where runs keep their artifacts.
    pub artifacts: Artifacts,
    /// Extra environment of the server process (e.g. the `AWS_*` / `MLFLOW_S3_*` variables its
    /// boto3 reads for an `s3://` store).
    pub env: Vec<(String, String)>,
}

/// Where the server keeps artifacts.
#[derive(Clone, Debug, Default)]
pub enum Artifacts {
    /// A temporary directory behind the server's proxy (`mlflow-artifacts:/…` run URIs).
    #[default]
    ProxiedLocal,
    /// `--artifacts-destination URI`: the proxy writes to an object store; runs still see
    /// `mlflow-artifacts:/…`.
    ProxiedTo(String),
    /// `--default-artifact-root URI --no-serve-artifacts`: runs see `s3://…` and clients read
    /// and write the store themselves.
    Root(String),
}

/// A running `mlflow server`.
pub struct MlflowServer {
    uri: String,
    process: Watched,
    dir: tempfile::TempDir,
}

/// The repository root (where `.venv` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv the MLflow server and the Python client of the end-to-end tests come from:
/// `LEGENDARY_TEST_MLFLOW_VENV` (relative to the repository, e.g. `.venv-mlflow2`), else `.venv`.
pub fn venv_dir() -> PathBuf {
    let name = std::env::var("LEGENDARY_TEST_MLFLOW_VENV").unwrap_or_else(|_| ".venv".to_owned());
    repo_root().join(name)
}

/// `<venv>/bin/<tool>` (see [`venv_dir`]), or a panic telling how to create it.
pub fn venv_bin(tool: &str) -> PathBuf {
    let path = venv_dir().join("bin").join(tool);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/mlflow-venv.sh` (mlflow 3.17.2 into .venv) or \
         `scripts/mlflow-venv.sh 2` (mlflow 2.x into .venv-mlflow2) first",
        path.display()
    );
    path
}

/// The major version of that venv's MLflow (3, or 2 for `.venv-mlflow2`), asked once.
pub fn mlflow_major() -> u32 {
    static MAJOR: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MAJOR.get_or_init(|| {
        let out = std::process::Command::new(venv_bin("python"))
            .args([
                "-c",
                "import mlflow; print(mlflow.__version__.split('.')[0])",
            ])
            .output()
            .expect("running the venv's python");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("mlflow's major version")
    })
}

impl MlflowServer {
    /// Starts the server and waits (bounded) until `/health` answers.
    pub fn start(options: ServerOptions) -> Self {
        let mlflow = venv_bin("mlflow");
        let dir = tempfile::tempdir().expect("creating a temp dir for the server");
        let port = free_port();
        let mut command = watchdog::command(&mlflow);
        command
            .args([
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--workers",
                "1",
            ])
            .arg("--backend-store-uri")
            .arg(format!(
                "sqlite:///{}",
                dir.path().join("mlflow.db").display()
            ))
            .current_dir(dir.path())
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdout(log_file(dir.path(), "stdout.log"))
            .stderr(log_file(dir.path(), "stderr.log"));
        match &options.artifacts {
            Artifacts::ProxiedLocal => {
                command
                    .arg("--artifacts-destination")
                    .arg(dir.path().join("mlartifacts"));
            }
            Artifacts::ProxiedTo(uri) => {
                command.args(["--artifacts-destination", uri]);
            }
            Artifacts::Root(uri) => {
                command.args(["--default-artifact-root", uri, "--no-serve-artifacts"]);
            }
        }
        if options.basic_auth {
            let ini = dir.path().join("basic_auth.ini");
            std::fs::write(
                &ini,
                format!(
                    "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}\n\
                     admin_username = {ADMIN_USER}\n\
                     admin_password = {ADMIN_PASSWORD}\n\
                     authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
                    dir.path().join("basic_auth.db").display()
                ),
            )
            .expect("writing basic_auth.ini");
            command
                .args(["--app-name", "basic-auth"])
                .env("MLFLOW_AUTH_CONFIG_PATH", &ini)
                .env("MLFLOW_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
                .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "legendary-test-secret");
        }
        let mut server = Self {
            uri: format!("http://127.0.0.1:{port}"),
            process: Watched::spawn(command, "mlflow server"),
            dir,
        };
        server.wait_until_healthy(port);
        server
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Where the server stores artifacts.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.dir.path().join("mlartifacts")
    }

    fn wait_until_healthy(&mut self, port: u16) {
        let started = Instant::now();
        while started.elapsed() < STARTUP_TIMEOUT {
            if let Some(status) = self.process.exited() {
                panic!(
                    "mlflow server exited with {status} during start-up:\n{}",
                    self.log_tail()
                );
            }
            if health_ok(port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "mlflow server did not answer /health within {STARTUP_TIMEOUT:?}:\n{}",
            self.log_tail()
        );
    }

    /// The last lines of the server's stderr (for assertion messages).
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).expect("creating a server log file")
}

/// A bare HTTP/1.0 `GET /health`: no client library and no async runtime needed.
fn health_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}
