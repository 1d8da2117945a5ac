//! A hostile `model.json` against the real binary: refused at start-up, quickly, in bounded
//! memory.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::repo;

/// The address space the server may map, in bytes: the bound on peak RSS for this
/// attack (RSS can never exceed the address space). The bundled model loads within 48 MiB
/// here (debug build, two worker threads), so this leaves room for a slower machine.
const ADDRESS_SPACE: u64 = 100_000_000;

/// Splits whose two children are the same next node, `levels` deep: 2^levels paths to the one
/// leaf. Laid out by walking every path, 24 levels took 1.58 GB.
pub(super) fn shared_children(levels: usize) -> Vec<Value> {
    let mut nodes: Vec<Value> = (0..levels)
        .map(|i| {
            json!({"output": 0, "n_node_samples": 10, "split_feature": 6,
                   "split_value": 500.0, "split_score": 0.1, "true_child": i + 1,
                   "false_child": i + 1, "impurity": 0.3})
        })
        .collect();
    nodes.push(json!({"output": 1, "n_node_samples": 5, "split_feature": 0,
                      "split_value": null, "split_score": null, "true_child": null,
                      "false_child": null, "impurity": 0.0}));
    nodes
}

/// A copy of the bundled model directory whose forest is one tree of `nodes`.
pub(super) fn model_dir_with(nodes: Vec<Value>) -> tempfile::TempDir {
    let bundled = repo().join("models/pokemon");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&bundled).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let bytes = std::fs::read(bundled.join("model.json")).unwrap();
    let mut envelope: Value = serde_json::from_slice(&bytes).unwrap();
    let mut tree = envelope["forest"]["trees"][0].clone();
    tree["nodes"] = Value::Array(nodes);
    envelope["forest"]["trees"] = json!([tree]);
    std::fs::write(
        dir.path().join("model.json"),
        serde_json::to_vec(&envelope).unwrap(),
    )
    .unwrap();
    dir
}

/// Runs `legendary serve --model-uri DIR --port 0` under `prlimit --as`; its exit status and
/// stderr, or a panic (after killing it) if it is still running after `limit`.
pub(super) fn serve_bounded(
    dir: &Path,
    args: &[&str],
    limit: Duration,
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new("prlimit")
        .arg(format!("--as={ADDRESS_SPACE}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_legendary"))
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--grpc-port",
            "0",
        ])
        .arg("--model-uri")
        .arg(dir)
        .args(args)
        .current_dir(repo())
        // Thread stacks count in the address space too: fix the pools, whatever the machine.
        .env("TOKIO_WORKER_THREADS", "2")
        .env("RAYON_NUM_THREADS", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running prlimit (util-linux), which this test needs");
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            return (status, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: the hostile model was accepted");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_model_whose_splits_share_children_is_refused_at_start_up_in_bounded_memory() {
    let dir = model_dir_with(shared_children(24));
    let started = Instant::now();

    // How memory is bounded: `prlimit --as` caps the process's address space, so an
    // allocation past it fails and Rust aborts (SIGABRT), which this test would see as a
    // signal, not as the clean error it expects. A clean exit under the cap proves peak RSS
    // stayed under it. Sampling VmHWM in /proc instead would miss a process that lives a
    // few milliseconds, and its /proc entry loses the memory fields once it exits.
    let (status, stderr) = serve_bounded(dir.path(), &[], Duration::from_secs(30));

    let elapsed = started.elapsed();
    assert_eq!(
        status.code(),
        Some(1),
        "expected a clean failure under a {ADDRESS_SPACE}-byte address space, got {status:?}; stderr:\n{stderr}"
    );
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line; stderr:\n{stderr}"));
    assert!(error.contains("model.json"), "{error}");
    assert!(
        error.contains("tree 0 node 1: reached twice, as both children of node 0"),
        "{error}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}
