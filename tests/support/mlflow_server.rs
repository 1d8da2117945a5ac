//! A real `mlflow server` (from `.venv`, see `scripts/mlflow-venv.sh`) on a free loopback port,
//! with a throw-away SQLite store and artifact directory. Its whole process group is stopped on
//! drop, and also when the test process exits (a watchdog shell waits for its stdin to close).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

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
}

/// A running `mlflow server`.
pub struct MlflowServer {
    uri: String,
    child: Child,
    // Closing this pipe tells the watchdog to stop the process group.
    watchdog: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

/// The repository root (where `.venv` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `.venv/bin/<tool>`, or a panic telling how to create it.
pub fn venv_bin(tool: &str) -> PathBuf {
    let path = repo_root().join(".venv/bin").join(tool);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/mlflow-venv.sh` first (it installs mlflow==3.17.2 into .venv)",
        path.display()
    );
    path
}

impl MlflowServer {
    /// Starts the server and waits (bounded) until `/health` answers.
    pub fn start(options: ServerOptions) -> Self {
        let mlflow = venv_bin("mlflow");
        let dir = tempfile::tempdir().expect("creating a temp dir for the server");
        let port = free_port();
        let mut command = Command::new("sh");
        // A watchdog in the background waits for EOF on our pipe (this process exited or the
        // server was dropped), then TERMs and later KILLs the whole process group; `exec` makes
        // mlflow itself the child we watch, so a crash at start-up is seen at once.
        command
            .arg("-c")
            .arg(concat!(
                "exec 3<&0 0</dev/null; ",
                "{ read -r _ <&3; trap '' TERM; kill -TERM 0; sleep 5; kill -KILL 0; } & ",
                r#"exec "$@" 3<&-"#
            ))
            .arg("mlflow-watchdog")
            .arg(&mlflow)
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
            .arg("--artifacts-destination")
            .arg(dir.path().join("mlartifacts"))
            .current_dir(dir.path())
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(log_file(dir.path(), "stdout.log"))
            .stderr(log_file(dir.path(), "stderr.log"));
        if options.basic_auth {
            let ini = dir.path().join("basic_auth.ini");
            std::fs::write(
                &ini,
                format!(
                    "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}\n\
                     admin_username = {ADMIN_USER}\n\
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
        let mut child = command.spawn().expect("spawning mlflow server");
        let watchdog = child.stdin.take();
        let mut server = Self {
            uri: format!("http://127.0.0.1:{port}"),
            child,
            watchdog,
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
            if let Ok(Some(status)) = self.child.try_wait() {
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

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        let pgid = self.child.id();
        drop(self.watchdog.take());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Workers and the watchdog that outlive the main process go now.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.wait();
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
