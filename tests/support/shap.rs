//! Explanations two ways, to compare them: a server's `POST /explain` (in batches of the
//! route's row limit), and `shap.KernelExplainer` in the `.venv` (`scripts/shap-explain.py`)
//! on the background the server publishes in `GET /model`.

use serde_json::{Value, json};

use super::mlflow_server::venv_bin;
use super::repo;

/// Rows of six stats.
pub type Rows = Vec<[f64; 6]>;

/// What a server (or shap) says about some rows.
#[derive(Debug, Clone)]
pub struct Explained {
    pub base_value: f64,
    pub probabilities: Vec<f64>,
    /// What the contributions add up to (the probability before calibration).
    pub vote_fractions: Vec<f64>,
    pub contributions: Rows,
}

fn row(v: &Value) -> [f64; 6] {
    std::array::from_fn(|i| v[i].as_f64().unwrap())
}

/// The explanation background `base` (a server URL) publishes.
pub async fn published_background(base: &str) -> (Rows, String) {
    let card: Value = reqwest::get(format!("{base}/model"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let background = &card["explanation_background"];
    assert_eq!(background["columns"], json!(legendary_forest::FEATURES));
    let rows = background["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(row)
        .collect();
    (rows, background["source"].as_str().unwrap().to_owned())
}

/// `POST /explain` of `rows`, as many requests as the row limit needs.
pub async fn explain_via_api(base: &str, rows: &[[f64; 6]]) -> Explained {
    let client = reqwest::Client::new();
    let mut out = Explained {
        base_value: f64::NAN,
        probabilities: Vec::new(),
        vote_fractions: Vec::new(),
        contributions: Vec::new(),
    };
    for chunk in rows.chunks(legendary::explain::MAX_EXPLAIN_ROWS) {
        let body =
            json!({"dataframe_split": {"columns": legendary_forest::FEATURES, "data": chunk}});
        let response = client
            .post(format!("{base}/explain"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let e: Value = response.json().await.unwrap();
        out.base_value = e["base_value"].as_f64().unwrap();
        out.probabilities.extend(
            e["probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_f64().unwrap()),
        );
        out.vote_fractions.extend(
            e["vote_fractions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_f64().unwrap()),
        );
        out.contributions.extend(
            e["contributions"].as_array().unwrap().iter().map(|c| {
                std::array::from_fn(|i| c[legendary_forest::FEATURES[i]].as_f64().unwrap())
            }),
        );
    }
    out
}

/// `shap.KernelExplainer(f, background).shap_values(rows)`, f as `predict` says (see
/// `scripts/shap-explain.py`): its expected value and the values.
pub async fn kernel_explainer(
    background: &[[f64; 6]],
    rows: &[[f64; 6]],
    predict: Value,
) -> (f64, Rows) {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new(venv_bin("python"))
        .args(["-W", "ignore"])
        .arg(repo().join("scripts/shap-explain.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let spec = json!({"background": background, "rows": rows, "predict": predict});
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(spec.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "shap-explain.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let values = v["shap_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(row)
        .collect();
    (v["expected_value"].as_f64().unwrap(), values)
}

/// The largest absolute difference between two lists of rows.
pub fn max_difference(a: &[[f64; 6]], b: &[[f64; 6]]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Checks the API's explanation against shap's (1e-9) and its own efficiency (1e-12); returns
/// the largest difference from shap, for the log.
pub fn assert_matches_shap(api: &Explained, shap: &(f64, Rows)) -> f64 {
    assert!(
        (api.base_value - shap.0).abs() <= 1e-12,
        "base value {} vs shap's {}",
        api.base_value,
        shap.0
    );
    for (v, c) in api.vote_fractions.iter().zip(&api.contributions) {
        let total = api.base_value + c.iter().sum::<f64>();
        assert!(
            (total - v).abs() <= 1e-12,
            "base_value + contributions = {total}, vote fraction {v}"
        );
    }
    let worst = max_difference(&api.contributions, &shap.1);
    assert!(
        worst <= 1e-9,
        "contributions differ from shap's by up to {worst:e}"
    );
    worst
}

/// 50 rows of the bundled data for explaining: every 25th Pokémon, half of them legendary
/// when there are that many (so both answers are explained).
pub fn fifty_rows() -> Rows {
    let data = legendary::dataset::load(
        &repo().join("data/pokemon"),
        &legendary::dataset::Generations::all(),
    )
    .unwrap();
    let legendary_rows = data.rows.iter().filter(|p| p.legendary).step_by(4).take(25);
    let others = data
        .rows
        .iter()
        .filter(|p| !p.legendary)
        .step_by(25)
        .take(25);
    legendary_rows.chain(others).map(|p| p.stats).collect()
}
