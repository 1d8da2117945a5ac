//! Monitoring against a real training: a model trained on half of generations 1–8 (its
//! profile from `train`), served, sees the other half (no drift, and an expected F1 close to
//! the true one) and then generation 9 alone (drift). The server's PSI and Jensen–Shannon
//! figures are recomputed with NumPy from the profile file and the same rows.

use std::path::Path;

use serde_json::{Value, json};

use super::train_serve::{Serve, legendary, python, text};
use crate::support::repo;

const STATS: [&str; 6] = legendary_forest::FEATURES;

/// The rows of a generation CSV: (the CSV line, the six stats, legendary).
fn rows_of(path: &Path) -> (String, Vec<(String, [f64; 6], bool)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_owned();
    let names: Vec<&str> = header.split(',').collect();
    let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
    let (stats, label) = (STATS.map(at), at("legendary"));
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            // No quoted commas in these columns' rows: names and types are plain words.
            let cells: Vec<&str> = line.split(',').collect();
            let values = stats.map(|i| cells[i].parse::<f64>().unwrap());
            (line.to_owned(), values, cells[label] == "True")
        })
        .collect();
    (header, rows)
}

async fn score(client: &reqwest::Client, base: &str, rows: &[[f64; 6]]) -> Vec<bool> {
    let body = json!({"dataframe_split": {"columns": STATS, "data": rows}});
    let answer: Value = client
        .post(format!("{base}/invocations"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(answer["predictions"].clone()).unwrap()
}

async fn rows_window(client: &reqwest::Client, base: &str) -> Value {
    let report: Value = client
        .get(format!("{base}/monitoring"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    report["windows"][0].clone()
}

#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn a_new_generation_drifts_rows_like_the_training_ones_do_not_and_f1_is_estimated() {
    let dir = tempfile::tempdir().unwrap();
    // Generations 1–8 split in two by a seeded shuffle: one half trains, the other replays.
    let mut header = String::new();
    let mut old = Vec::new();
    for g in 1..=8 {
        let (h, rows) = rows_of(&repo().join(format!("data/pokemon/generation-{g}.csv")));
        header = h;
        old.extend(rows);
    }
    let mut rng = legendary_forest::SplitMix64::new(34);
    for i in (1..old.len()).rev() {
        let j = rng.below(i + 1);
        old.swap(i, j);
    }
    let (train_half, replay_half) = old.split_at(old.len() / 2);
    let csv = dir.path().join("train.csv");
    let lines: Vec<&str> = train_half.iter().map(|(l, _, _)| l.as_str()).collect();
    std::fs::write(&csv, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let model = dir.path().join("model");
    let out = legendary()
        .args([
            "train",
            "--generation-eval",
            "none",
            "--experiment",
            "monitoring",
        ])
        .arg("--data")
        .arg(&csv)
        .arg("--output")
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let profile: Value =
        serde_json::from_slice(&std::fs::read(model.join("monitoring_profile.json")).unwrap())
            .unwrap();
    assert_eq!(profile["rows"], train_half.len());

    let mut serve = Serve::start(
        &[],
        &[
            "--model-uri",
            model.to_str().unwrap(),
            "--monitor-rows",
            "1000",
        ],
    );
    let client = reqwest::Client::new();
    serve.wait_ready(&client).await;

    // The other half: like the training rows.
    let replay: Vec<[f64; 6]> = replay_half.iter().map(|r| r.1).collect();
    let labels: Vec<bool> = replay_half.iter().map(|r| r.2).collect();
    let answers = score(&client, &serve.base, &replay).await;
    let window = rows_window(&client, &serve.base).await;
    assert_eq!(window["rows"], replay.len());
    for f in window["features"].as_array().unwrap() {
        let psi = f["psi"].as_f64().unwrap();
        assert!(psi < 0.1 && f["drifted"] == false, "{f}");
    }
    // Confidence-based estimation against the truth of the same rows.
    let tp = answers
        .iter()
        .zip(&labels)
        .filter(|(a, l)| **a && **l)
        .count() as f64;
    let fp = answers
        .iter()
        .zip(&labels)
        .filter(|(a, l)| **a && !**l)
        .count() as f64;
    let fn_ = answers
        .iter()
        .zip(&labels)
        .filter(|(a, l)| !**a && **l)
        .count() as f64;
    let true_f1 = 2.0 * tp / (2.0 * tp + fp + fn_);
    let expected_f1 = window["expected"]["f1"].as_f64().unwrap();
    println!(
        "expected F1 {expected_f1:.4}, true F1 {true_f1:.4} on {} rows",
        replay.len()
    );
    assert!(
        (expected_f1 - true_f1).abs() <= 0.03,
        "expected F1 {expected_f1} vs true F1 {true_f1}"
    );

    // Generation 9 alone, repeated to fill the window.
    let (_, new) = rows_of(&repo().join("data/pokemon/generation-9.csv"));
    let new: Vec<[f64; 6]> = new.iter().map(|r| r.1).cycle().take(1000).collect();
    score(&client, &serve.base, &new).await;
    let window = rows_window(&client, &serve.base).await;
    assert_eq!(window["rows"], 1000);
    let drifted: Vec<&str> = window["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["drifted"] == true && f["psi"].as_f64().unwrap() >= 0.2)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    println!("generation 9 window: {window}");
    assert!(!drifted.is_empty(), "no feature crossed PSI 0.2: {window}");

    // NumPy, from the profile file and the same rows.
    let numpy = python(&format!(
        r#"
import json, numpy as np
profile = json.load(open({profile:?}))
rows = np.array({rows})
values = np.column_stack([rows, rows.sum(axis=1)])
out = {{}}
for f, feature in enumerate(profile["features"]):
    edges = np.array(feature["edges"])
    ref = np.array(feature["reference"])
    bins = (values[:, f][:, None] > edges[None, :]).sum(axis=1)
    counts = np.bincount(bins, minlength=len(ref))
    a = np.maximum(counts / counts.sum(), 1e-4)
    r = np.maximum(ref, 1e-4)
    p, q = counts / counts.sum(), ref / ref.sum()
    m = (p + q) / 2
    kl = lambda x: np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1) / m), 0.0))
    out[feature["name"]] = [float(np.sum((a - r) * np.log(a / r))), float(np.sqrt(max((kl(p) + kl(q)) / 2, 0.0))), counts.tolist()]
print(json.dumps(out))
"#,
        profile = model.join("monitoring_profile.json").to_str().unwrap(),
        rows = serde_json::to_string(&new).unwrap(),
    ));
    for f in window["features"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let theirs = &numpy[name];
        assert_eq!(f["counts"], theirs[2], "{name}");
        for (ours, key, at) in [(&f["psi"], "psi", 0), (&f["js"], "js", 1)] {
            let (ours, theirs) = (ours.as_f64().unwrap(), theirs[at].as_f64().unwrap());
            assert!(
                (ours - theirs).abs() <= 1e-9,
                "{name} {key}: {ours} vs NumPy {theirs}"
            );
        }
    }
}
