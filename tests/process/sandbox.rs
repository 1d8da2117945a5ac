//! Models built to hurt their reader, against the real binary: each is compiled in the
//! sandboxed child and refused there, at start-up (a clean exit naming the cause, the server
//! under a 100 MB address space) and as a hot-reload version under load (no failed request,
//! the server's peak RSS under 100 MB, its threads back to where they were, the refusal
//! counted by cause, the old model serving).
//!
//! The files made here need nothing but this test: an `MLmodel` "billion laughs", a tree whose
//! splits share children, a forest larger than the served-model budget. Those made by the real
//! scikit-learn and pickle (`scripts/hostile-models.py`) need the test venv.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::hostile_model::{model_dir_with, serve_bounded, shared_children};
use super::hostile_registry::start_fake_with;
use crate::support::load::Load;
use crate::support::process::Server;
use crate::support::{peak_rss, repo, wait_until_async};

/// A copy of the bundled model directory.
fn bundled_copy() -> tempfile::TempDir {
    copy_of(&repo().join("models/pokemon"))
}

/// The bundled model whose `MLmodel` (about 38 KB, under its 64 KiB cap) names an alias of
/// 4,096 strings (12 levels of 2) 12,000 times: 49 million strings if expanded.
fn alias_bomb() -> tempfile::TempDir {
    let dir = bundled_copy();
    let path = dir.path().join("MLmodel");
    let mut bomb = String::from("laughs:\n  l0: &l0 [lol, lol]\n");
    for i in 1..11 {
        bomb.push_str(&format!("  l{i}: &l{i} [*l{}, *l{}]\n", i - 1, i - 1));
    }
    bomb.push_str("  l11: &k [*l10, *l10]\n  all: [");
    let jumps = vec!["*k"; 12_000].join(",");
    bomb.push_str(&jumps);
    bomb.push_str("]\n");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{bomb}{text}")).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 64 * 1024);
    dir
}

/// The bundled model with its 200 trees repeated `times` times: a legitimate forest, only
/// larger (`times` = 10: 2,000 trees, about 20 MB compiled).
fn repeated_forest(times: usize) -> tempfile::TempDir {
    let dir = bundled_copy();
    let path = dir.path().join("model.json");
    let mut envelope: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let trees = envelope["forest"]["trees"].as_array().unwrap().clone();
    let many: Vec<Value> = (0..times).flat_map(|_| trees.iter().cloned()).collect();
    envelope["forest"]["trees"] = Value::Array(many);
    std::fs::write(&path, serde_json::to_vec(&envelope).unwrap()).unwrap();
    dir
}

/// The cause of the one compile failure `/metrics` counts, once there is one.
fn counted_cause(metrics: &str) -> Option<String> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix("legendary_model_compile_failures_total{cause=\"")?;
        let (cause, count) = rest.split_once("\"} ")?;
        (count == "1").then(|| cause.to_owned())
    })
}

/// The server's thread count.
fn threads(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The first `error:` line of a failed start, or a panic showing all of stderr.
fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line; stderr:\n{stderr}"))
}

/// Starts `legendary serve` on `dir` under a 100 MB address space with `args`; asserts a
/// clean failure within `limit` whose error says `cause`.
fn refused_at_start_up(label: &str, dir: &Path, args: &[&str], cause: &str, limit: Duration) {
    let started = Instant::now();
    let (status, stderr) = serve_bounded(dir, args, limit);
    let took = started.elapsed();
    assert_eq!(
        status.code(),
        Some(1),
        "{label}: {status:?}; stderr:\n{stderr}"
    );
    let error = error_line(&stderr);
    assert!(error.contains(cause), "{label}: {error}");
    assert!(took < limit, "{label}: took {took:?}");
    eprintln!("{label}: refused at start-up after {took:?}: {error}");
}

#[test]
fn hostile_models_are_refused_at_start_up_by_the_sandbox() {
    let limit = Duration::from_secs(30);
    refused_at_start_up(
        "alias bomb",
        alias_bomb().path(),
        &[],
        "uses a YAML anchor or alias",
        limit,
    );
    refused_at_start_up(
        "shared children",
        model_dir_with(shared_children(24)).path(),
        &[],
        "reached twice",
        limit,
    );
    // A legitimate forest too big for the budget: its size and the flag to raise.
    refused_at_start_up(
        "400 trees over a 2 MiB budget",
        repeated_forest(2).path(),
        &["--model-max-bytes", "2MiB"],
        "the model compiles to 3.7 MiB, over the 2.0 MiB one served model may take; raise --model-max-bytes",
        limit,
    );
    // Out of the compiler's memory (the server's own 100 MB cap, which the compiler
    // inherits, is lower than its default): refused as such, naming the limit and its flag.
    refused_at_start_up(
        "2,000 trees in the compiler's memory",
        repeated_forest(10).path(),
        &[],
        "needed more than the compiler's 95.4 MiB of memory; raise --compile-memory",
        limit,
    );
}

/// Serves `models:/pokemon@champion` from a fake registry whose version 2 is `hostile`,
/// under load; moves the alias to 2, then to a good 3. Asserts the refusal, the counted
/// cause, no failed request, peak RSS and threads.
async fn reload_refuses(label: &str, hostile: tempfile::TempDir, args: &[&str], causes: &[&str]) {
    let (addr, fake) = start_fake_with("hostile", hostile).await;
    let tracking = format!("http://{addr}");
    let mut all = vec![
        "--model-uri",
        "models:/pokemon@champion",
        "--reload-interval",
        "1s",
        "--startup-deadline",
        "60s",
    ];
    all.extend(args);
    let mut server = Server::start_with_env(&[("MLFLOW_TRACKING_URI", &tracking)], &all);
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let get = |path: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let version = |text: &str| {
        let v: Value = serde_json::from_str(text).unwrap();
        v["model"]["version"].as_str().map(str::to_owned)
    };
    assert_eq!(version(&get("/version").await).as_deref(), Some("1"));
    let load = Load::start(&base, crate::support::app::body(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = threads(server.pid());

    fake.version.store(2, Ordering::SeqCst);
    let started = Instant::now();
    let cause = wait_until_async(
        "the refusal to be counted",
        Duration::from_secs(90),
        Duration::from_millis(200),
        || async { counted_cause(&get("/metrics").await) },
    )
    .await;
    assert!(
        causes.contains(&cause.as_str()),
        "{label}: counted as {cause}"
    );
    let took = started.elapsed();
    let now = get("/version").await;
    assert_eq!(version(&now).as_deref(), Some("1"), "{label}: {now}");
    // The compiler is gone, and the server is back to its threads (the blocking pool's
    // idle threads may take a moment to leave).
    let settled = wait_until_async(
        "threads back to the baseline",
        Duration::from_secs(20),
        Duration::from_millis(250),
        || async {
            let n = threads(server.pid());
            (n <= baseline + 1).then_some(n)
        },
    )
    .await;

    fake.version.store(3, Ordering::SeqCst);
    tokio::task::block_in_place(|| server.wait_for("new model version swapped in"));
    let (ok, failed) = load.stop().await;
    assert_eq!(failed, 0, "{label}: {failed} requests failed ({ok} ok)");
    assert!(ok > 10, "{label}: only {ok} requests under load");
    let peak = peak_rss(server.pid());
    assert!(peak < 100_000_000, "{label}: peak RSS {peak} bytes");
    eprintln!(
        "{label}: refused ({cause}) {took:?} after the alias moved; {ok} requests, 0 failed; peak RSS {} MB; threads {baseline} -> {settled}",
        peak / 1_000_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_versions_are_refused_during_hot_reload_with_nothing_lost() {
    reload_refuses("alias bomb", alias_bomb(), &[], &["invalid"]).await;
    reload_refuses(
        "shared children",
        model_dir_with(shared_children(24)),
        &[],
        &["invalid"],
    )
    .await;
    reload_refuses(
        "2,000 trees over a 4 MiB budget",
        repeated_forest(10),
        &["--model-max-bytes", "4MiB"],
        &["oom"],
    )
    .await;
}

/// The directories `scripts/hostile-models.py` writes, made by the real scikit-learn.
fn python_made() -> tempfile::TempDir {
    let python = repo().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/mlflow-venv.sh first",
        python.display()
    );
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(python)
        .arg(repo().join("scripts/hostile-models.py"))
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "hostile-models.py failed");
    out
}

/// A copy of `src`, so each server gets its own directory.
fn copy_of(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// Limits that keep the test short whichever limit a file meets.
const QUICK: [&str; 4] = ["--compile-cpu", "3s", "--compile-timeout", "20s"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test venv's scikit-learn (scripts/test.sh)"]
async fn scikit_learn_files_that_amplify_are_refused_at_start_up_and_on_reload() {
    let made = python_made();
    // Which limit each meets first depends on the machine's defaults; each must meet one.
    let refused = ["oom", "cpu", "deadline", "invalid"];
    for name in ["pickle-shared-tree", "pickle-shared-leaf"] {
        let src = made.path().join(name);
        let (status, stderr) =
            tokio::task::block_in_place(|| serve_bounded(&src, &QUICK, Duration::from_secs(40)));
        assert_eq!(status.code(), Some(1), "{name}: {status:?}\n{stderr}");
        eprintln!("{name}: at start-up: {}", error_line(&stderr));
        reload_refuses(name, copy_of(&src), &QUICK, &refused).await;
    }
}
