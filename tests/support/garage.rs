//! A real S3 server for the tests: a single-node Garage (`replication_factor = 1`) with its
//! metadata and data in a temporary directory, on free loopback ports, with one access key
//! allowed to read, write and own one bucket. Stopped (its whole process group) on drop.
//!
//! The binary comes from `LEGENDARY_GARAGE_BIN`, else from `scripts/install-garage.sh` (which
//! prints the cached binary's path at once, or builds it the first time, about ten minutes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::free_port;
use super::watchdog::{self, Watched};

/// The region Garage signs for: MLflow's (boto3's) and legendary's default when
/// `AWS_DEFAULT_REGION` is unset, so neither client needs to be told.
pub const REGION: &str = "us-east-1";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running single-node Garage.
pub struct Garage {
    // Dropped first: stops the server before its directory goes.
    process: Watched,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`: the S3 API (path-style).
    pub endpoint: String,
    /// The access key id.
    pub key_id: String,
    /// Its secret.
    pub secret: String,
    /// A bucket the key may read, write and own.
    pub bucket: String,
}

/// The Garage binary: `LEGENDARY_GARAGE_BIN`, else what `scripts/install-garage.sh` prints.
pub fn garage_bin() -> PathBuf {
    super::installed("LEGENDARY_GARAGE_BIN", "install-garage.sh", &[])
}

impl Garage {
    /// Starts Garage, lays out its one node, and creates a key and the bucket `legendary`.
    pub fn start() -> Self {
        let bin = garage_bin_cached();
        let dir = tempfile::tempdir().expect("creating a temp dir for garage");
        let (s3_port, rpc_port) = (free_port(), free_port());
        let config = dir.path().join("garage.toml");
        std::fs::write(&config, config_toml(dir.path(), s3_port, rpc_port))
            .expect("writing garage.toml");
        let mut command = watchdog::command(bin);
        command
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdout(log_file(dir.path(), "stdout.log"))
            .stderr(log_file(dir.path(), "stderr.log"));
        let mut garage = Self {
            process: Watched::spawn(command, "garage server"),
            dir,
            endpoint: format!("http://127.0.0.1:{s3_port}"),
            key_id: String::new(),
            secret: String::new(),
            bucket: "legendary".to_owned(),
        };
        garage.wait_until_up();
        garage.lay_out();
        (garage.key_id, garage.secret) = garage.new_key("legendary");
        garage.create_bucket("legendary");
        garage
    }

    /// Creates another bucket the key may read, write and own.
    pub fn create_bucket(&self, name: &str) {
        self.cli(&["bucket", "create", name]);
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            name,
            "--key",
            "legendary",
        ]);
    }

    /// The variables MLflow's client (and legendary) read to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("MLFLOW_S3_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", self.key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.as_str()),
            ("AWS_DEFAULT_REGION", REGION),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Runs `garage -c garage.toml ARGS` and returns its standard output; panics on failure.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = self.try_cli(args);
        assert!(
            output.status.success(),
            "garage {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn try_cli(&self, args: &[&str]) -> Output {
        Command::new(garage_bin_cached())
            .arg("-c")
            .arg(self.dir.path().join("garage.toml"))
            .args(args)
            .env("RUST_LOG", "garage=warn")
            .output()
            .expect("running the garage CLI")
    }

    fn wait_until_up(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.process.exited() {
                panic!("garage exited with {status}:\n{}", self.log_tail());
            }
            if self.try_cli(&["status"]).status.success() {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_TIMEOUT,
                "garage did not answer within {STARTUP_TIMEOUT:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// One node, one zone, one gigabyte: the smallest layout Garage accepts.
    fn lay_out(&self) {
        let node = self.cli(&["node", "id", "-q"]);
        let node = node.trim().split('@').next().unwrap_or_default().to_owned();
        self.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        self.cli(&["layout", "apply", "--version", "1"]);
    }

    /// Creates an access key named `name` (allowed on nothing yet); returns its id and secret.
    pub fn new_key(&self, name: &str) -> (String, String) {
        let info = self.cli(&["key", "create", name]);
        let field = |label: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(label))
                .map(|value| value.trim().to_owned())
                .unwrap_or_else(|| panic!("no `{label}` in `garage key create`'s answer"))
        };
        (field("Key ID:"), field("Secret key:"))
    }

    /// The last lines of Garage's log (for assertion messages).
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// The binary, looked up once per test process (the script need not run for every CLI call).
fn garage_bin_cached() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(garage_bin)
}

fn config_toml(dir: &Path, s3_port: u16, rpc_port: u16) -> String {
    // Any 32 bytes in hex: the node talks only to itself.
    let rpc_secret = "6c6567656e646172792d746573742d6e6f64652d6f6e6c792d2d2d2d2d2d2d21";
    format!(
        r#"metadata_dir = "{dir}/meta"
data_dir = "{dir}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"
"#,
        dir = dir.display(),
    )
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).expect("creating a garage log file")
}
