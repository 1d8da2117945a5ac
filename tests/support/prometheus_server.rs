//! A real Prometheus server for the tests: Debian's `prometheus` (the package promtool comes
//! from), scraping the given servers every second and evaluating the drift rules of
//! `deploy/kubernetes/components/drift-monitoring` every second. The rules are the shipped
//! expressions with two durations shortened so that a test sees them act in seconds: the
//! window (`[1h]`) and the alerts' `for: 5m` (see [`drift_rules`]). Stopped (its process
//! group) on drop.
//!
//! The binary comes from `LEGENDARY_PROMETHEUS_BIN`, else from
//! `scripts/install-prometheus.sh prometheus` (a download of a few seconds, once).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::watchdog::{self, Watched};
use super::{free_port, repo};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Prometheus.
pub struct PrometheusServer {
    // Dropped first: stops the server before its directory goes.
    process: Watched,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`: its HTTP API.
    pub base: String,
}

/// The server binary: `LEGENDARY_PROMETHEUS_BIN`, else what the install script prints.
fn prometheus_bin() -> PathBuf {
    super::installed(
        "LEGENDARY_PROMETHEUS_BIN",
        "install-prometheus.sh",
        &["prometheus"],
    )
}

/// The shipped drift rules as a plain rule file (the PrometheusRule's `spec`), with every
/// `[1h]` window replaced by `[window]` and every alert's `for: 5m` by `for: 0s`. Panics if
/// either is missing, so a change to the shipped file cannot make the test check nothing.
pub fn drift_rules(window: &str) -> String {
    let path = repo().join("deploy/kubernetes/components/drift-monitoring/prometheusrule.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (_, spec) = text
        .split_once("\nspec:\n")
        .unwrap_or_else(|| panic!("{} has no spec", path.display()));
    let rules: String = spec
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    for (from, what) in [("[1h]", "window"), ("for: 5m", "alert delay")] {
        assert!(
            rules.contains(from),
            "no {what} '{from}' in {}",
            path.display()
        );
    }
    rules
        .replace("[1h]", &format!("[{window}]"))
        .replace("for: 5m", "for: 0s")
}

impl PrometheusServer {
    /// Starts Prometheus scraping `targets` (base URLs such as `http://127.0.0.1:8080`) as
    /// job `legendary`, with [`drift_rules`] over `window`; returns once every target was
    /// scraped (a counter's first sample is its baseline: what it counted before is not an
    /// increase).
    pub async fn start(targets: &[&str], window: &str) -> Self {
        let dir = tempfile::tempdir().expect("creating a temp dir for prometheus");
        std::fs::write(dir.path().join("rules.yaml"), drift_rules(window)).unwrap();
        let addresses: Vec<String> = targets
            .iter()
            .map(|t| format!("\"{}\"", t.trim_start_matches("http://")))
            .collect();
        std::fs::write(
            dir.path().join("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yaml]\nscrape_configs:\n  - job_name: legendary\n    static_configs:\n      - targets: [{}]\n",
                addresses.join(", ")
            ),
        )
        .unwrap();
        let port = free_port();
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let mut command = watchdog::command(&prometheus_bin());
        command
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir.path())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"));
        let mut server = Self {
            process: Watched::spawn(command, "prometheus"),
            dir,
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_until_ready().await;
        let client = reqwest::Client::new();
        let scraped = format!("count(up == 1) == {}", targets.len());
        server.wait_for(&client, &scraped, STARTUP_TIMEOUT).await;
        server
    }

    async fn wait_until_ready(&mut self) {
        let started = Instant::now();
        let url = format!("{}/-/ready", self.base);
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.process.exited() {
                panic!("prometheus exited with {status}:\n{}", self.log_tail());
            }
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_TIMEOUT,
                "prometheus was not ready within {STARTUP_TIMEOUT:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The result vector of the instant query `expr`.
    pub async fn query(&self, client: &reqwest::Client, expr: &str) -> Vec<Value> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.base),
            [("query", expr)],
        )
        .unwrap();
        let answer: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
        answer["data"]["result"].as_array().cloned().unwrap()
    }

    /// Polls `expr` until its result is not empty, then returns it; panics after `timeout`.
    pub async fn wait_for(
        &self,
        client: &reqwest::Client,
        expr: &str,
        timeout: Duration,
    ) -> Vec<Value> {
        super::wait_until_async(expr, timeout, Duration::from_millis(500), || async {
            Some(self.query(client, expr).await).filter(|r| !r.is_empty())
        })
        .await
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}
