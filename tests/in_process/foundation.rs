//! The whole loop on one machine: the bundled model answers the original demo's requests,
//! and retraining with its recorded parameters reproduces it.

use legendary::http::{AppState, ServerLimits};
use legendary::train::{TrainConfig, train};
use serde_json::Value;

use crate::support::{DEMO, DEMO_LEGENDARY};

#[tokio::test]
async fn the_original_demo_requests_get_the_1x_answers() {
    let app = crate::support::app::spawn_app().await;
    for (body, expected) in [
        (DEMO, "[false, false, false, false, false]"),
        (DEMO_LEGENDARY, "[true, true, true, true, true]"),
    ] {
        // As the demo sends it (curl -H "Content-Type:application/json; format=pandas-split").
        let response = app
            .post(
                "/invocations",
                Some("application/json; format=pandas-split"),
                body,
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.text().await.unwrap(), expected);
        // The bare 1.x body with a plain JSON content type is answered the 1.x way too.
        let response = app
            .post("/invocations", Some("application/json"), body)
            .await;
        assert_eq!(response.text().await.unwrap(), expected);
    }
    app.shut_down().await;
}

#[tokio::test]
async fn every_mlflow_2_format_gives_the_same_predictions() {
    let app = crate::support::app::spawn_app().await;
    let split = format!(r#"{{"dataframe_split":{DEMO_LEGENDARY}}}"#);
    let records = r#"{"dataframe_records":[{"hp":105,"attack":180,"defense":100,"special_attack":180,"special_defense":100,"speed":115},{"hp":45,"attack":49,"defense":49,"special_attack":65,"special_defense":65,"speed":45}]}"#;
    let instances = r#"{"instances":{"speed":[115,45],"hp":[105,45],"attack":[180,49],"defense":[100,49],"special_attack":[180,65],"special_defense":[100,65]}}"#;
    let inputs = r#"{"inputs":[{"hp":105,"attack":180,"defense":100,"special_attack":180,"special_defense":100,"speed":115},{"hp":45,"attack":49,"defense":49,"special_attack":65,"special_defense":65,"speed":45}]}"#;
    let csv = "speed,hp,attack,defense,special_attack,special_defense\n115,105,180,100,180,100\n45,45,49,49,65,65\n";
    let response = app
        .post("/invocations", Some("application/json"), split)
        .await;
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"predictions": [true, true, true, true, true]}"#
    );
    for (ct, body) in [
        ("application/json", records),
        ("application/json", instances),
        ("application/json", inputs),
        ("text/csv", csv),
    ] {
        let response = app.post("/invocations", Some(ct), body).await;
        assert_eq!(response.status(), 200, "{body}");
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"predictions": [true, false]}"#,
            "{body}"
        );
    }
    app.shut_down().await;
}

#[tokio::test]
async fn probes_version_and_unknown_routes_answer_json() {
    let app = crate::support::app::spawn_app().await;
    assert_eq!(app.get("/ping").await.status(), 200);
    assert_eq!(app.get("/health").await.status(), 200);
    let version: Value = app.get("/version").await.json().await.unwrap();
    assert_eq!(version["legendary"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["model"]["uri"], "models/pokemon");
    let missing = app.get("/nope").await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND");
    let wrong_method = app.get("/invocations").await;
    assert_eq!(wrong_method.status(), 405);
    let body: Value = wrong_method.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("GET"));
    app.shut_down().await;
}

#[tokio::test]
async fn a_server_without_a_model_is_alive_but_not_ready() {
    let state = AppState::new(ServerLimits::default(), None);
    let app = crate::support::app::spawn_state(state).await;
    assert_eq!(app.get("/health").await.status(), 200);
    let ping = app.get("/ping").await;
    assert_eq!(ping.status(), 503);
    let body: Value = ping.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("No model"));
    let scored = app
        .post("/invocations", Some("application/json"), DEMO_LEGENDARY)
        .await;
    assert_eq!(scored.status(), 503);
    app.shut_down().await;
}

/// Slow (over a minute in a loaded `scripts/test.sh` run): retrains the bundled model's
/// configuration (recorded in its `metrics.json`: the November defaults, uncalibrated, not
/// refitted, with both 5-fold cross-validations) in the test build.
#[test]
fn the_bundled_model_meets_the_quality_bar_and_retraining_reproduces_it() {
    let dir = crate::support::repo().join("models/pokemon");
    let bundled: Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    let holdout = &bundled["holdout"];
    assert!(
        holdout["roc_auc"].as_f64().unwrap() >= 0.95,
        "held-out ROC AUC {}",
        holdout["roc_auc"]
    );
    assert!(
        holdout["accuracy"].as_f64().unwrap() >= 0.93,
        "held-out accuracy {}",
        holdout["accuracy"]
    );

    // The targets it was trained for, by row-level stratified 5-fold CV; the grouped CV
    // (identical stat lines in one fold, what runs now report first) is lower, as expected.
    let cv = &bundled["cross_validation_rows"]["summary"];
    assert_eq!(bundled["cross_validation_rows"]["folds"], 5);
    assert!(
        cv["roc_auc_mean"].as_f64().unwrap() >= 0.965,
        "CV ROC AUC {}",
        cv["roc_auc_mean"]
    );
    assert!(
        cv["f1_mean"].as_f64().unwrap() >= 0.83,
        "CV F1 {}",
        cv["f1_mean"]
    );
    let grouped = &bundled["cross_validation"];
    assert_eq!(grouped["folding"], "grouped");
    assert!(grouped["summary"]["f1_mean"].as_f64().unwrap() >= 0.80);

    // Retrain from the parameters recorded in metrics.json (data path made absolute).
    let mut recorded = bundled["config"].clone();
    recorded["data"] = Value::String(
        crate::support::repo()
            .join(recorded["data"].as_str().unwrap())
            .display()
            .to_string(),
    );
    let config = config_from_json(&recorded);
    let outcome = train(&config.validate().unwrap()).unwrap();
    let mut metrics = outcome.metrics_json();
    metrics["config"]["data"] = bundled["config"]["data"].clone();
    // Compared as text: parsing floats back may be off by one unit in the last place.
    let mut text = serde_json::to_string_pretty(&metrics).unwrap();
    text.push('\n');
    assert!(
        text == std::fs::read_to_string(dir.join("metrics.json")).unwrap(),
        "retraining changed metrics.json:\n{text}"
    );
    // And the model itself is byte-identical.
    let model = outcome.model.forest().unwrap().to_json().unwrap();
    assert!(
        model == std::fs::read(dir.join("model.json")).unwrap(),
        "retraining changed model.json"
    );
}

fn config_from_json(v: &Value) -> TrainConfig {
    TrainConfig {
        data: v["data"].as_str().unwrap().into(),
        generations: v["generations"].as_str().unwrap().parse().unwrap(),
        test_size: v["test_size"].as_f64().unwrap(),
        // A config recorded before the stat-line hold-out names none: it was seeded.
        holdout: v["holdout"].as_str().unwrap_or("seeded").parse().unwrap(),
        cv_folds: v["cv_folds"].as_u64().unwrap() as usize,
        threshold: v["threshold"].as_str().unwrap().parse().unwrap(),
        // A config recorded before calibration existed was uncalibrated.
        calibration: v["calibration"].as_str().unwrap_or("none").parse().unwrap(),
        params: serde_json::from_value(v["params"].clone()).unwrap(),
        refit_all: v["refit_all"].as_bool().unwrap(),
        generation_eval: v["generation_eval"].as_str().unwrap().parse().unwrap(),
    }
}

#[test]
fn the_same_seed_gives_a_byte_identical_model_and_another_seed_does_not() {
    let mut config = TrainConfig {
        cv_folds: 0,
        generation_eval: legendary::train::GenerationEval::None,
        ..TrainConfig::default()
    };
    config.data = crate::support::repo().join("data/pokemon");
    config.params.n_trees = 10;
    config.threshold = legendary::train::Threshold::Fixed(0.5);
    let fit = |c: &TrainConfig| {
        let valid = c.clone().validate().unwrap();
        train(&valid)
            .unwrap()
            .model
            .forest()
            .unwrap()
            .to_json()
            .unwrap()
    };
    let a = fit(&config);
    let b = fit(&config);
    assert!(a == b);
    config.params.seed += 1;
    let c = fit(&config);
    assert!(a != c);
}

#[test]
fn predict_scores_a_csv_like_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let output = dir.path().join("out.csv");
    std::fs::write(&input, "name,hp,attack,defense,special_attack,special_defense,speed\nMewtwo,106,110,90,154,90,130\nBulbasaur,45,49,49,65,65,45\n").unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
        .current_dir(crate::support::repo())
        .args(["predict", "--model-uri", "models/pokemon", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "name,hp,attack,defense,special_attack,special_defense,speed,prediction,probability"
    );
    assert!(
        lines[1].starts_with("Mewtwo,106,110,90,154,90,130,true,"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("Bulbasaur,45,49,49,65,65,45,false,"),
        "{text}"
    );
}

/// The bundled model of November 2026 (trained before calibration, grouped cross-validation
/// and refitting on every row) and what `legendary predict` answered with it then, for all
/// 1,232 Pokémon: a model registered before those changes answers exactly as before.
#[test]
fn a_model_trained_before_calibration_answers_every_pokemon_exactly_as_before() {
    let fixtures = crate::support::repo().join("tests/fixtures");
    let expected = std::fs::read_to_string(fixtures.join("model-2026-11-predictions.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let output = dir.path().join("out.csv");
    let rows: String = expected
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            cells[..cells.len() - 2].join(",") + "\n"
        })
        .collect();
    std::fs::write(&input, rows).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
        .args(["predict", "--model-uri"])
        .arg(fixtures.join("model-2026-11"))
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());
    let got = std::fs::read_to_string(&output).unwrap();
    assert_eq!(got.lines().count(), 1233);
    for (g, e) in got.lines().zip(expected.lines()) {
        assert_eq!(g, e);
    }
}

#[test]
fn predict_names_a_missing_column_and_a_bad_cell() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    for (csv, expected) in [
        ("hp,attack\n1,2\n", "no column 'defense'"),
        (
            "hp,attack,defense,special_attack,special_defense,speed\n1,2,x,4,5,6\n",
            "line 2: defense: 'x'",
        ),
    ] {
        std::fs::write(&input, csv).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
            .current_dir(crate::support::repo())
            .args(["predict", "--input"])
            .arg(&input)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
}
