//! Helpers shared by the three integration-test binaries (`in_process`, `end_to_end`,
//! `process`): each declares `mod support;` and uses what it needs.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod browser;
pub mod garage;
pub mod load;
pub mod mlflow_server;
pub mod pokemon;
pub mod process;
pub mod prometheus;
pub mod prometheus_server;
pub mod shap;
pub mod watchdog;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

/// The original demo's first request (pandas-split, MLflow 1.x): five Pokémon that are not
/// legendary.
pub const DEMO: &str = r#"{"columns":["hp","attack","defense","special_attack","special_defense","speed"],"index":[272,293,414,263,49],"data":[[80,70,70,90,100,70],[64,51,23,51,23,28],[70,94,50,94,50,66],[38,30,41,30,41,60],[70,65,60,90,75,90]]}"#;

/// The original demo's second request: five legendary Pokémon.
pub const DEMO_LEGENDARY: &str = r#"{"columns":["hp","attack","defense","special_attack","special_defense","speed"],"index":[384,150,482,382,485],"data":[[105,180,100,180,100,115],[106,150,70,194,120,140],[75,125,70,125,70,115],[100,150,90,180,160,90],[91,90,106,130,106,77]]}"#;

/// What the model directory at `dir` answers, row by row, to a pandas-split `body` (the
/// reference a served copy of the same model must match).
pub fn local_predictions(dir: &Path, body: &str) -> Vec<bool> {
    let model = legendary::model::read_dir(dir).unwrap().model;
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let r: Vec<f64> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            model.decide(model.proba_row(&r))
        })
        .collect()
}

/// Peak resident memory of a live process, from `/proc/PID/status` (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// A program the tests need, made by a script outside the repository's tree: the path in the
/// environment variable `var` (`scripts/test.sh` sets it once it has installed the program),
/// else the last line `scripts/SCRIPT ARGS` prints (the script installs it first if missing).
pub fn installed(var: &str, script: &str, args: &[&str]) -> std::path::PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return path.into();
    }
    let out = std::process::Command::new(repo().join("scripts").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{script} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    printed.lines().last().unwrap_or_default().trim().into()
}

/// The repository's root, so tests find `models/` and `data/` from any working directory.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A loopback port free right now (for child processes that need a port on the command line;
/// in-process servers bind port 0 instead).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binding an ephemeral port")
        .local_addr()
        .expect("reading the bound address")
        .port()
}

/// Polls `check` every `every` until it returns `Some`, for at most `limit`; panics naming
/// `what` when the time runs out.
pub fn wait_until<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

/// [`wait_until`] for async checks, sleeping on the runtime between polls.
pub async fn wait_until_async<T, F: Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(every).await;
    }
}
