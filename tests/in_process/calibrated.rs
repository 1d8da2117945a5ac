//! A calibrated model served in process: every route that reports a probability reports the
//! vote fraction through the model's calibration map, `/invocations` decides on that
//! probability, and explanations stay on the vote fraction and say both numbers.

use legendary::acquire::Served;
use legendary::http::{AppState, ServerLimits};
use legendary::model::ModelDir;
use legendary::train::{TrainConfig, train};
use legendary_mlflow::Resolved;
use serde_json::{Value, json};

use crate::support::app::{pokedex, spawn_app, spawn_state};
use crate::support::repo;

const STATS: [&str; 6] = legendary_forest::FEATURES;

/// A small forest trained with the default calibration (centred isotonic), written as a model
/// directory and read back, as `legendary serve --model-uri DIR` holds it.
pub(crate) fn calibrated_dir() -> (tempfile::TempDir, ModelDir) {
    let mut config = TrainConfig {
        cv_folds: 0,
        ..TrainConfig::default()
    };
    config.data = repo().join("data/pokemon");
    config.params.n_trees = 20;
    let outcome = train(&config.validate().unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    outcome.write(&dir).unwrap();
    assert!(dir.join("reliability.svg").exists());
    let read = legendary::model::read_dir(&dir).unwrap();
    (tmp, read)
}

fn every_pokemon() -> Vec<[f64; 6]> {
    pokedex().rows.iter().map(|p| p.stats).collect()
}

async fn post(url: String, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_calibrated_model_reports_and_decides_on_the_calibrated_probability_everywhere() {
    let (_tmp, dir) = calibrated_dir();
    let model_uri = "models/calibrated";
    let forest = dir.model.forest().unwrap();
    let map = forest.calibration().cloned().expect("trained with a map");
    let threshold = dir.model.threshold();
    let rows = every_pokemon();
    let mut votes = vec![0.0; rows.len()];
    forest.vote_fraction_into(rows.as_flattened(), &mut votes);
    let expected: Vec<f64> = votes.iter().map(|&v| map.apply(v)).collect();
    assert!(votes.iter().zip(&expected).any(|(v, p)| v != p));

    let state = AppState::new(ServerLimits::default(), Some(pokedex()));
    state.set_model(Served::new(dir, model_uri, Resolved::default()));
    let app = spawn_state(state).await;

    // The demo API, every Pokémon at once: the mapped vote fraction, to the bit.
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            Value::Object(
                STATS
                    .iter()
                    .zip(r)
                    .map(|(k, v)| ((*k).into(), json!(v)))
                    .collect(),
            )
        })
        .collect();
    let answers = post(app.url("/pokemon-types"), Value::Array(items)).await;
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), rows.len());
    for (i, (a, p)) in answers.iter().zip(&expected).enumerate() {
        assert_eq!(
            a["probability"].as_f64().unwrap().to_bits(),
            p.to_bits(),
            "row {i}"
        );
        assert_eq!(a["is_legendary"], *p > threshold, "row {i}");
    }

    // /invocations decides `calibrated probability > threshold` for every row.
    let scored = post(
        app.url("/invocations"),
        json!({"dataframe_split": {"columns": STATS, "data": rows}}),
    )
    .await;
    let decided: Vec<bool> = expected.iter().map(|p| *p > threshold).collect();
    assert_eq!(scored["predictions"], json!(decided));
    // And with the signature's `predict_method`, those probabilities, to the bit.
    let scored = post(
        app.url("/invocations"),
        json!({"dataframe_split": {"columns": STATS, "data": rows},
               "params": {"predict_method": "predict_proba"}}),
    )
    .await;
    let answered: Vec<f64> = serde_json::from_value(scored["predictions"].clone()).unwrap();
    assert_eq!(answered.len(), expected.len());
    for (i, (a, p)) in answered.iter().zip(&expected).enumerate() {
        assert_eq!(a.to_bits(), p.to_bits(), "row {i}");
    }

    // Explanations: the contributions add up to the vote fraction; both numbers are given.
    let some: Vec<[f64; 6]> = rows.iter().step_by(41).copied().collect();
    let e = post(
        app.url("/explain"),
        json!({"dataframe_split": {"columns": STATS, "data": some}}),
    )
    .await;
    let base = e["base_value"].as_f64().unwrap();
    for (k, row) in some.iter().enumerate() {
        let i = rows.iter().position(|r| r == row).unwrap();
        assert_eq!(e["probabilities"][k].as_f64(), Some(expected[i]));
        assert_eq!(e["vote_fractions"][k].as_f64(), Some(votes[i]));
        let c = &e["contributions"][k];
        let total = base + STATS.iter().map(|s| c[s].as_f64().unwrap()).sum::<f64>();
        assert!((total - votes[i]).abs() <= 1e-12, "{total} vs {}", votes[i]);
    }
    let mewtwo = json!({"hp": 106, "attack": 110, "defence": 90, "special_attack": 154, "special_defense": 90, "speed": 130});
    let one = post(app.url("/pokemon-type?explain=true"), mewtwo.clone()).await;
    let plain = post(app.url("/pokemon-type"), mewtwo).await;
    assert_eq!(one["probability"], plain["probability"]);
    assert!(plain.get("vote_fraction").is_none());
    let v = one["vote_fraction"].as_f64().unwrap();
    assert_eq!(map.apply(v), one["probability"].as_f64().unwrap());

    // The model card says so.
    let card: Value = reqwest::get(app.url("/model"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(card["calibrated"], true);
    assert_eq!(card["metrics"]["config"]["calibration"], "centred-isotonic");
    assert!(card["metrics"]["holdout"]["ece"].as_f64().is_some());
    app.shut_down().await;

    // The bundled model predates calibration, and says so.
    let bundled = spawn_app().await;
    let card: Value = reqwest::get(bundled.url("/model"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(card["calibrated"], false);
    bundled.shut_down().await;
}
