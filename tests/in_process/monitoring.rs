//! Monitoring in the real application: every scoring route counts into the served model's
//! monitor, `/monitoring` and `/metrics` agree, and a shadow challenger scores a copy of the
//! rows after the champion answered.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use legendary::acquire::Served;
use legendary::http::{AppState, ServerLimits};

use crate::support::app::{bundled_model, spawn_state};

const STATS: [&str; 6] = legendary_forest::FEATURES;

fn rows(n: usize, seed: u64) -> Vec<[f64; 6]> {
    let mut rng = legendary_forest::SplitMix64::new(seed);
    (0..n)
        .map(|_| std::array::from_fn(|_| 20.0 + rng.below(141) as f64))
        .collect()
}

async fn monitoring(app: &crate::support::app::TestApp) -> Value {
    app.get("/monitoring").await.json().await.unwrap()
}

#[tokio::test]
async fn every_scoring_route_counts_and_metrics_say_what_monitoring_says() {
    let state = AppState::new(ServerLimits::default(), None);
    state.set_model(bundled_model());
    let app = spawn_state(state).await;
    let batch = rows(300, 1);
    let split = json!({"dataframe_split": {"columns": STATS, "data": batch}});
    assert_eq!(app.score(split.to_string()).await.status(), 200);
    let oip =
        json!({"inputs": [{"name": "x", "shape": [1, 6], "datatype": "FP64", "data": batch[0]}]});
    let answer = app
        .post(
            "/v2/models/pokemon/infer",
            Some("application/json"),
            oip.to_string(),
        )
        .await;
    assert_eq!(answer.status(), 200);
    let demo = json!({"hp": 106, "attack": 110, "defense": 90, "special_attack": 154, "special_defense": 90, "speed": 130});
    let answer = app
        .post("/pokemon-type", Some("application/json"), demo.to_string())
        .await;
    assert_eq!(answer.status(), 200);
    let report = monitoring(&app).await;
    assert_eq!(report["rows_total"], 302, "{report}");
    assert_eq!(report["version"], "7");
    let window = &report["windows"][0];
    assert_eq!(window["rows"], 302);
    // 302 rows: numbers, but no verdict under 500.
    assert!(
        window["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["drifted"] == false)
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let value = |line_start: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(line_start))
            .unwrap_or_else(|| panic!("no {line_start} in {metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value(r#"legendary_monitored_rows_total{version="7"}"#),
        302.0
    );
    let hp_psi = value(r#"legendary_drift_psi{feature="hp",window="rows",version="7"}"#);
    assert_eq!(hp_psi, window["features"][0]["psi"].as_f64().unwrap());
    let bins: f64 = (0..10)
        .map(|b| {
            value(&format!(
                r#"legendary_prediction_bin_total{{bin="{b}",version="7"}}"#
            ))
        })
        .sum();
    assert_eq!(bins, 302.0);
    app.shut_down().await;
}

#[tokio::test]
async fn an_unmonitored_model_says_why() {
    let state = AppState::new(ServerLimits::default(), None);
    state.set_monitoring(legendary::http::MonitorSettings {
        enabled: false,
        ..Default::default()
    });
    state.set_model(bundled_model());
    let app = spawn_state(state).await;
    let answer = app.get("/monitoring").await;
    assert_eq!(answer.status(), 404);
    let body: Value = answer.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--no-monitoring"),
        "{body}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(!metrics.contains("legendary_feature_bin_total"));
    app.shut_down().await;
}

/// A challenger: a small forest trained now (with its own profile, so its own monitor).
fn challenger() -> (tempfile::TempDir, Served) {
    let (tmp, dir) = crate::in_process::calibrated::calibrated_dir();
    (tmp, Served::new(dir, "challenger", Default::default()))
}

#[tokio::test]
async fn a_shadow_scores_a_copy_after_the_champion_and_follows_its_reloads() {
    let state = AppState::new(ServerLimits::default(), None);
    state.set_model(bundled_model());
    state.set_shadow(legendary::monitor::Shadow::start(
        "challenger".into(),
        1.0,
        1.0,
    ));
    let (_tmp, challenger_model) = challenger();
    let (_tmp2, copy) = challenger();
    state.set_shadow_model(challenger_model);
    let app = spawn_state(state.clone()).await;
    let batch = rows(2000, 2);
    let split = json!({"dataframe_split": {"columns": STATS, "data": batch}});
    let answer: Value = app.score(split.to_string()).await.json().await.unwrap();
    let champion: Vec<bool> = serde_json::from_value(answer["predictions"].clone()).unwrap();
    let started = Instant::now();
    let shadow = loop {
        let report = monitoring(&app).await;
        if report["shadow"]["scored_rows"] == 2000 || started.elapsed() > Duration::from_secs(20) {
            break report["shadow"].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shadow["scored_rows"], 2000, "{shadow}");
    assert_eq!(shadow["dropped_rows"], 0);
    // Its answers are the challenger's (trained the same way again: the same forest),
    // compared row by row with the champion's.
    let theirs = copy.model.predict_batch(batch.as_flattened());
    let agreed = theirs.iter().zip(&champion).filter(|(a, b)| a == b).count() as f64 / 2000.0;
    assert_eq!(shadow["agreement"].as_f64().unwrap(), agreed);
    assert!(agreed < 1.0 && agreed > 0.8, "{agreed}");
    let positive = theirs.iter().filter(|&&d| d).count() as f64 / 2000.0;
    assert_eq!(
        shadow["challenger_positive_rate"].as_f64().unwrap(),
        positive
    );
    // A reload of the challenger (here: the champion's model) is what it scores next.
    state.set_shadow_model(bundled_model());
    assert_eq!(monitoring(&app).await["shadow"]["version"], "7");
    app.shut_down().await;
}
