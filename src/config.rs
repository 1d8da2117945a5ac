//! Every setting of every command, typed, built once at start-up from the command line and the
//! environment, then handed down: no module below reads a flag or an environment variable.
//!
//! [`Env`] is the only reader of the process environment (tests give it a map instead); the
//! command-line parser reads the variables each flag declares, in `cli.rs`, which turns its
//! arguments into the configs here with [`Env`]'s help. Tests build configs as struct literals.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::acquire::ModelSource;
use crate::dataset::catalogue::Query;
use crate::http::ServerLimits;
use crate::sandbox::Sandbox;
use crate::track::PublishConfig;
use crate::train::ValidConfig;
use legendary_mlflow::TrackingConfig;
use legendary_mlflow::store::StoreConfig;

/// The environment variables a command may read: the process's, or a fixed map in tests.
pub struct Env {
    vars: Option<HashMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self { vars: None }
    }

    /// A fixed environment, for tests.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self {
            vars: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
        }
    }

    /// The value of `key`; unset and blank are the same (as for MLflow's client).
    pub fn get(&self, key: &str) -> Option<String> {
        let value = match &self.vars {
            Some(vars) => vars.get(key).cloned(),
            None => std::env::var(key).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// The MLflow tracking configuration: `MLFLOW_TRACKING_URI` (or `uri`, from a flag, which
    /// wins) with `MLFLOW_TRACKING_TOKEN` / `_USERNAME` / `_PASSWORD`, TLS and timeout
    /// variables, as MLflow's own client reads them. `None` when no server is named.
    ///
    /// # Errors
    /// A non-http URI, half-given credentials or unparsable numbers.
    pub fn tracking(&self, uri: Option<&str>) -> anyhow::Result<Option<TrackingConfig>> {
        Ok(TrackingConfig::from_lookup(|key| {
            if key == "MLFLOW_TRACKING_URI"
                && let Some(uri) = uri
            {
                return Some(uri.to_owned());
            }
            self.get(key)
        })?)
    }

    /// How to reach object stores (`s3://`, `gs://`, Azure) outside a tracking server's
    /// artifacts, e.g. for `--data s3://…`: the variables MLflow's own client reads.
    ///
    /// # Errors
    /// A malformed `MLFLOW_S3_ENDPOINT_URL` or `MLFLOW_S3_IGNORE_TLS`.
    pub fn stores(&self) -> anyhow::Result<StoreConfig> {
        Ok(StoreConfig::from_lookup(|key| self.get(key))?)
    }

    /// The request timeout: `flag`, else MLflow's `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT`
    /// (seconds), else 60 s.
    ///
    /// # Errors
    /// When the variable is set but is not a duration.
    pub(crate) fn request_timeout(&self, flag: Option<Duration>) -> anyhow::Result<Duration> {
        if let Some(t) = flag {
            return Ok(t);
        }
        match self.get("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT") {
            Some(v) => parse_duration(&v)
                .map_err(|e| anyhow::anyhow!("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT: {e}")),
            None => Ok(Duration::from_secs(60)),
        }
    }

    /// Who runs the command, for MLflow's "Created by", found as Python's `getpass.getuser()`
    /// (what MLflow's client uses) finds it: `$LOGNAME`, `$USER`, `$LNAME`, `$USERNAME`, else
    /// the login name of the process's uid in `/etc/passwd`; a container sets no `$USER`.
    pub fn user(&self) -> Option<String> {
        ["LOGNAME", "USER", "LNAME", "USERNAME"]
            .iter()
            .find_map(|key| self.get(key))
            .or_else(|| {
                // A fixed environment (tests) does not read the machine's accounts.
                self.vars.is_none().then(login_name).flatten()
            })
    }
}

/// The `/etc/passwd` name of this process's uid (the owner of `/proc/self`).
fn login_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_name(&passwd, uid)
}

/// The name of `uid` in the text of an `/etc/passwd` file (`name:x:uid:gid:…`).
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id: u32 = fields.next()?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// The default connection cap: the soft file-descriptor limit of this process (read from
/// `/proc/self/limits` where there is one) minus room for everything else it opens (registry
/// connections, downloads, the listener, logs), between 16 and 10,000.
pub fn default_max_connections() -> usize {
    max_connections_under(crate::http::max_open_files())
}

fn max_connections_under(descriptor_limit: Option<u64>) -> usize {
    const RESERVED: u64 = 64;
    let limit = descriptor_limit.unwrap_or(1024);
    usize::try_from(limit.saturating_sub(RESERVED).clamp(16, 10_000)).unwrap_or(10_000)
}

/// Parses `30s`, `1m 30s`, `250ms`, or a bare number of seconds.
///
/// # Errors
/// A message naming the value.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.trim().parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("'{s}' is not a duration"));
    }
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration (e.g. 30s, 2m, 250ms): {e}"))
}

/// Parses a size in bytes: a number, or a number with a unit (`160MiB`, `2GiB`, `512KiB`;
/// `K`, `M`, `G` and `KB`, `MB`, `GB` are read as binary units too, as Kubernetes' `Mi`).
///
/// # Errors
/// A message naming the value.
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "ki" | "kib" => 10,
        "m" | "mb" | "mi" | "mib" => 20,
        "g" | "gb" | "gi" | "gib" => 30,
        _ => return Err(format!("'{s}' is not a size (e.g. 160MiB, 1GiB, 1048576)")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("'{s}' is not a size (e.g. 160MiB, 1GiB, 1048576)"))
}

/// Parses the address to listen on from a host (name or IP) and a port.
///
/// # Errors
/// A host that is not an IP address.
pub(crate) fn listen_addr(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = match host {
        "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
        other => other.parse().with_context(|| {
            format!("'{host}' is not an address to listen on (an IP, e.g. 0.0.0.0)")
        })?,
    };
    Ok(SocketAddr::new(ip, port))
}

/// `legendary serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where to serve the Open Inference Protocol over gRPC; `None`: nowhere.
    pub grpc_listen: Option<SocketAddr>,
    /// The model to serve.
    pub model: ModelSource,
    /// The registry to fetch it from, when it is remote.
    pub tracking: Option<TrackingConfig>,
    /// How often to poll a moving URI (stage, alias, latest) for a new version; zero: never.
    pub reload_interval: Duration,
    /// Request-path limits.
    pub limits: ServerLimits,
    /// On shutdown, how long requests in flight may take to finish.
    pub drain_grace: Duration,
    /// How long to keep retrying an unreachable registry at start-up.
    pub startup_deadline: Duration,
    /// Wait for a model that does not exist yet instead of exiting.
    pub wait_for_model: bool,
    /// The data package the web page searches; `None`: the bundled one.
    pub data: Option<PathBuf>,
    /// Where models are compiled (start-up and every reload).
    pub sandbox: Sandbox,
    /// The model's name in the Open Inference Protocol, when not the one it comes with.
    pub served_name: Option<String>,
    /// How the served model is monitored.
    pub monitoring: crate::http::MonitorSettings,
    /// The shadow challenger, if any.
    pub shadow: Option<ShadowConfig>,
    /// The payload log (`--log-payloads`), if any.
    pub payload_log: Option<PayloadLogConfig>,
}

/// `--log-payloads`: sampled rows written in batches as a data package.
#[derive(Debug, Clone)]
pub struct PayloadLogConfig {
    /// A local directory or an object-store URI (`s3://bucket/prefix/`, `gs://…`, Azure).
    pub target: String,
    /// Sampling and batching.
    pub settings: crate::monitor::payload_log::PayloadLogSettings,
    /// How to reach the object store `target` may name.
    pub stores: StoreConfig,
}

/// `--shadow`: a challenger scoring a sample of live rows after the champion answered.
#[derive(Debug, Clone)]
pub struct ShadowConfig {
    /// The challenger (hot-reloaded like the champion when the URI moves).
    pub model: ModelSource,
    /// The share of rows copied to it.
    pub sample: f64,
    /// The share of one core its worker may use.
    pub cpu: f64,
}

/// Where and as whom training runs are logged.
#[derive(Debug, Clone)]
pub struct TrackingTarget {
    /// The MLflow server.
    pub tracking: TrackingConfig,
    /// Experiment to log into (created if missing).
    pub experiment: String,
    /// Run name shown in the MLflow UI.
    pub run_name: Option<String>,
    /// Who runs it ("Created by").
    pub user: Option<String>,
}

/// `legendary train`.
#[derive(Debug, Clone)]
pub struct TrainJob {
    /// What to train, checked.
    pub train: ValidConfig,
    /// Where to write the MLflow model directory.
    pub output: PathBuf,
    /// Where to log the run, if anywhere.
    pub tracking: Option<TrackingTarget>,
    /// Registration and promotion, if asked (needs `tracking`).
    pub publish: Option<PublishConfig>,
    /// How to reach the object store `--data` may name.
    pub stores: StoreConfig,
}

/// `legendary retrain`.
#[derive(Debug, Clone)]
pub struct RetrainJob {
    /// The training it runs when it retrains (tracking and a gated publish, both present).
    pub train: TrainJob,
    /// Where it looks for a reason.
    pub watch: crate::retrain::Watch,
    /// A sweep instead of the one recipe: the grid, expanded on top of `train`'s settings.
    pub grid: Option<PathBuf>,
    /// Configurations of the grid trained at once.
    pub parallel: usize,
}

/// `legendary sweep`.
#[derive(Debug, Clone)]
pub struct SweepJob {
    /// The TOML grid.
    pub grid: PathBuf,
    /// Configurations trained at once.
    pub parallel: usize,
    /// Which part of the sweep this process does.
    pub step: SweepStep,
    /// Tags every run of the sweep (`legendary.sweep.id`), so that the runs of one sweep
    /// spread over many processes can be found again; a fresh one when absent.
    pub sweep_id: Option<String>,
    /// Where to write the best model directory.
    pub output: PathBuf,
    /// Where to log the runs, if anywhere.
    pub tracking: Option<TrackingTarget>,
    /// Registration and promotion of the best, if asked (needs `tracking`).
    pub publish: Option<PublishConfig>,
}

/// The part of a sweep one process does. A sweep is either one process ([`SweepStep::All`])
/// or an Indexed Job of N + 1 pods: N that train one configuration each and log it, and one
/// that collects their results from MLflow and publishes the best.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepStep {
    /// Train every configuration, then publish the best.
    All,
    /// Train and log configuration `i` only (`--only-index`).
    Only(usize),
    /// Wait for every configuration's run of the sweep, then publish the best (`--collect`).
    Collect(CollectConfig),
    /// An Indexed Job's pod (`--job-index`): `Only(i)` for `i` below the number of
    /// configurations, `Collect` for `i` equal to it.
    JobIndex(usize, CollectConfig),
}

/// How the collect step waits for the configurations' runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectConfig {
    /// Give up waiting after this long and rank what has been reported.
    pub timeout: Duration,
    /// Ask MLflow this often.
    pub poll: Duration,
}

/// `legendary data search|show`.
#[derive(Debug, Clone)]
pub struct DataJob {
    /// The data package: a directory, an object-store prefix or a `datapackage.json` URL.
    pub data: String,
    /// What to do.
    pub action: DataAction,
    /// JSON instead of a table.
    pub json: bool,
    /// How to reach the object store `data` may name.
    pub stores: StoreConfig,
}

/// What `legendary data` does.
#[derive(Debug, Clone)]
pub enum DataAction {
    /// List the matching data sets.
    Search(Query),
    /// Show the one with this name.
    Show(String),
}

/// `legendary predict`.
#[derive(Debug, Clone)]
pub struct PredictJob {
    /// The model.
    pub model: ModelSource,
    /// The registry, when the model is remote.
    pub tracking: Option<TrackingConfig>,
    /// The CSV to score.
    pub input: PathBuf,
    /// Where to write the scored CSV (standard output when absent).
    pub output: Option<PathBuf>,
    /// Where the model is compiled.
    pub sandbox: Sandbox,
}

/// `legendary monitor profile`.
#[derive(Debug, Clone)]
pub struct ProfileJob {
    /// The model.
    pub model: ModelSource,
    /// The registry, when the model is remote.
    pub tracking: Option<TrackingConfig>,
    /// The reference rows' data package or CSV.
    pub data: PathBuf,
    /// Which generations of it.
    pub generations: crate::dataset::Generations,
    /// Where to write the profile (standard output when absent).
    pub output: Option<PathBuf>,
    /// Where the model is compiled.
    pub sandbox: Sandbox,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_found_as_python_finds_it() {
        let env = Env::from_pairs(&[("USERNAME", "u"), ("USER", "user"), ("LOGNAME", "login")]);
        assert_eq!(env.user().as_deref(), Some("login"));
        assert_eq!(
            Env::from_pairs(&[("USERNAME", "u")]).user().as_deref(),
            Some("u")
        );
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\nbroken\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n";
        assert_eq!(passwd_name(passwd, 65532).as_deref(), Some("nonroot"));
        assert_eq!(passwd_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(passwd, 7), None);
    }

    #[test]
    fn the_request_timeout_falls_back_to_mlflows_variable_then_60s() {
        let env = Env::from_pairs(&[("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "5")]);
        assert_eq!(env.request_timeout(None).unwrap(), Duration::from_secs(5));
        assert_eq!(
            env.request_timeout(Some(Duration::from_secs(1))).unwrap(),
            Duration::from_secs(1)
        );
        assert_eq!(
            Env::from_pairs(&[]).request_timeout(None).unwrap(),
            Duration::from_secs(60)
        );
        let bad = Env::from_pairs(&[("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "soon")]);
        let error = bad.request_timeout(None).unwrap_err().to_string();
        assert!(
            error.contains("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"),
            "{error}"
        );
    }

    #[test]
    fn a_tracking_flag_wins_over_the_variable() {
        let env = Env::from_pairs(&[("MLFLOW_TRACKING_URI", "http://env:5000")]);
        let flag = env.tracking(Some("http://flag:5000")).unwrap().unwrap();
        assert_eq!(flag.tracking_uri.as_str(), "http://flag:5000/");
        let var = env.tracking(None).unwrap().unwrap();
        assert_eq!(var.tracking_uri.as_str(), "http://env:5000/");
        assert!(Env::from_pairs(&[]).tracking(None).unwrap().is_none());
    }

    #[test]
    fn listen_addresses_are_ips_or_localhost() {
        assert_eq!(
            listen_addr("0.0.0.0", 8080).unwrap().to_string(),
            "0.0.0.0:8080"
        );
        assert_eq!(listen_addr("::", 1).unwrap().to_string(), "[::]:1");
        assert_eq!(
            listen_addr("localhost", 2).unwrap().to_string(),
            "127.0.0.1:2"
        );
        assert!(listen_addr("example.com", 1).is_err());
    }

    #[test]
    fn the_connection_cap_leaves_room_below_the_descriptor_limit() {
        assert_eq!(max_connections_under(Some(1024)), 960);
        assert_eq!(max_connections_under(None), 960);
        assert_eq!(max_connections_under(Some(1 << 20)), 10_000);
        assert_eq!(max_connections_under(Some(10)), 16);
        assert!(default_max_connections() >= 16);
    }

    #[test]
    fn durations_read_as_humans_write_them() {
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
