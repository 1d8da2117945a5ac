//! A training run's explanations against a REAL `mlflow server`: `legendary train` logs
//! `model_explanations_shap/` as `mlflow.shap.log_explanation` does; numpy loads its files,
//! and they hold the explanations the served model gives for the held-out rows.

use legendary::train::{Threshold, TrainConfig, train};
use serde_json::{Value, json};

use super::train_serve::{self, Serve, python, text};
use crate::support::{repo, shap};

/// The held-out rows of `legendary train --n-trees 30 --cv-folds 0 --threshold 0.5`
/// (`train_serve::train`), from the same seeded split in this process.
fn held_out_rows() -> Vec<[f64; 6]> {
    let mut config = TrainConfig {
        cv_folds: 0,
        generation_eval: legendary::train::GenerationEval::None,
        threshold: Threshold::Fixed(0.5),
        ..TrainConfig::default()
    };
    config.data = repo().join("data/pokemon");
    config.params.n_trees = 30;
    let outcome = train(&config.validate().unwrap()).unwrap();
    outcome
        .split
        .test
        .iter()
        .map(|&i| outcome.dataset.rows[i].stats)
        .collect()
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): waits on a training that computes
/// the explanations of every held-out row, then on MLflow's Python client downloading them for
/// NumPy, then on a served copy explaining the same rows.
#[tokio::test]
#[ignore = "needs a real mlflow server: scripts/test.sh runs it"]
async fn a_training_run_logs_shap_values_numpy_loads_matching_the_served_explanations() {
    let out = tempfile::tempdir().unwrap();
    let model_dir = out.path().join("model");
    let o = train_serve::train(&model_dir, &["--experiment", "e2e-explain"]);
    assert!(o.status.success(), "{}", text(&o));
    let run_id = text(&o)
        .split_whitespace()
        .skip_while(|w| *w != "run")
        .nth(1)
        .unwrap()
        .to_owned();

    // What the MLflow client finds, and numpy reads.
    let dst = out.path().join("shap");
    let seen = python(&format!(
        r#"
import json, mlflow, numpy as np
from mlflow import MlflowClient
run = "{run_id}"
names = sorted(a.path for a in MlflowClient().list_artifacts(run, "model_explanations_shap"))
p = mlflow.artifacts.download_artifacts(run_id=run, artifact_path="model_explanations_shap", dst_path="{dst}")
base = np.load(p + "/base_values.npy")
shap = np.load(p + "/shap_values.npy")
png = open(p + "/summary_bar_plot.png", "rb").read()
svg = open(p + "/summary_bar_plot.svg").read()
print(json.dumps({{"names": names, "base": float(base), "base_shape": list(base.shape),
  "base_dtype": str(base.dtype), "shape": list(shap.shape), "dtype": str(shap.dtype),
  "values": shap.tolist(), "png": png[:8].hex(), "svg": svg.startswith("<svg")}}))
"#,
        dst = dst.display()
    ));
    let names: Vec<&str> = seen["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "model_explanations_shap/base_values.npy",
            "model_explanations_shap/shap_values.npy",
            "model_explanations_shap/summary_bar_plot.png",
            "model_explanations_shap/summary_bar_plot.svg",
        ]
    );
    assert_eq!(seen["base_shape"], json!([]));
    assert_eq!(seen["base_dtype"], "float64");
    assert_eq!(seen["dtype"], "float64");
    assert_eq!(seen["png"], "89504e470d0a1a0a");
    assert_eq!(seen["svg"], true);
    let rows = held_out_rows();
    assert_eq!(seen["shape"], json!([rows.len(), 6]));

    // The model directory carries its background; served, the model explains the held-out
    // rows with exactly the logged numbers.
    assert!(model_dir.join("explanation_background.json").exists());
    let dir = model_dir.display().to_string();
    let mut serve = Serve::start(&[], &["--model-uri", &dir]);
    serve.wait_ready(&reqwest::Client::new()).await;
    let base = serve.base.clone();
    let (_, source) = shap::published_background(&base).await;
    // Refitted on every row (`--refit-all`), so sampled from all of them.
    assert!(source.contains("rows of data/pokemon"), "{source}");
    let api = shap::explain_via_api(&base, &rows).await;
    drop(serve);
    assert_eq!(seen["base"].as_f64().unwrap(), api.base_value);
    let logged: Vec<[f64; 6]> = seen["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r: &Value| std::array::from_fn(|i| r[i].as_f64().unwrap()))
        .collect();
    assert_eq!(shap::max_difference(&logged, &api.contributions), 0.0);
}
