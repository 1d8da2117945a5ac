//! The training data as a run's dataset input, logged as the Python client logs a pandas
//! dataset (name, digest, source, schema, profile), including when other runs log the same
//! dataset at the same moment.

use crate::train::Outcome;
use legendary_mlflow::tracking::dataset_input;
use legendary_mlflow::wire;
use legendary_mlflow::{MlflowClient, MlflowError};

use super::LoggedRun;

/// Logs the outcome's training data as `run`'s `training` input.
///
/// MLflow's SQL store keeps one dataset row per experiment, name and digest, inserted by the
/// first run that logs it. Runs that log a new dataset at the same moment (a sweep's trials,
/// an Indexed Job's pods, two `train` commands) all try to insert it; the database refuses
/// all but one (`UNIQUE constraint failed: datasets.experiment_id, datasets.name,
/// datasets.digest` on SQLite), and the store rolls the losers' calls back whole, their link
/// from run to dataset included, answering HTTP 400 `BAD_REQUEST`. By then the row exists, so
/// the same call once more finds it and links it: a run that trained fine is not failed for
/// having lost that race.
///
/// # Errors
/// API and transport errors, a second refusal included.
pub(super) async fn log(
    client: &MlflowClient,
    run: &LoggedRun,
    outcome: &Outcome,
) -> Result<(), MlflowError> {
    let inputs = [dataset_input(dataset(outcome), "training")];
    match client.log_inputs(&run.run_id, &inputs).await {
        Err(e) if lost_insert_race(&e) => client.log_inputs(&run.run_id, &inputs).await,
        logged => logged,
    }
}

/// True for the store refusing a write (MLflow turns every database error but a lost
/// connection into `BAD_REQUEST`), which for `runs/log-inputs` is the dataset another run
/// inserted first. Invalid inputs are refused as `INVALID_PARAMETER_VALUE` instead.
fn lost_insert_race(error: &MlflowError) -> bool {
    error.error_code() == Some("BAD_REQUEST")
}

/// The training data as MLflow logs a pandas dataset: name, digest, source, schema, profile.
fn dataset(o: &Outcome) -> wire::Dataset {
    let d = &o.dataset;
    let colspec: Vec<serde_json::Value> = legendary_forest::FEATURES
        .iter()
        .map(|n| serde_json::json!({"type": "long", "name": n, "required": true}))
        .chain(std::iter::once(
            serde_json::json!({"type": "boolean", "name": "legendary", "required": true}),
        ))
        .collect();
    let generations: Vec<u8> = d.generations.iter().collect();
    wire::Dataset {
        name: format!("pokemon-generations-{}", d.generations),
        digest: d.sha256.chars().take(8).collect(),
        source_type: crate::dataset::source_type(&d.source),
        source: crate::dataset::source_json(&d.source),
        schema: Some(serde_json::json!({ "mlflow_colspec": colspec }).to_string()),
        profile: Some(
            serde_json::json!({
                "num_rows": d.rows.len(),
                "num_elements": d.rows.len() * 7,
                "legendary_rows": d.legendary_count(),
                "generations": generations,
                "sha256": d.sha256,
            })
            .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, error_code: &str) -> MlflowError {
        MlflowError::Api {
            endpoint: "runs/log-inputs".to_owned(),
            status: status.try_into().unwrap(),
            error_code: error_code.to_owned(),
            message: "(IntegrityError) UNIQUE constraint failed: datasets.experiment_id, datasets.name, datasets.digest".to_owned(),
        }
    }

    #[test]
    fn a_refused_write_is_taken_for_a_dataset_another_run_inserted_first() {
        assert!(lost_insert_race(&api(400, "BAD_REQUEST")));
    }

    #[test]
    fn invalid_inputs_and_server_failures_are_not_retried_as_a_lost_race() {
        assert!(!lost_insert_race(&api(400, "INVALID_PARAMETER_VALUE")));
        assert!(!lost_insert_race(&api(404, "RESOURCE_DOES_NOT_EXIST")));
        assert!(!lost_insert_race(&api(500, "INTERNAL_ERROR")));
        assert!(!lost_insert_race(&MlflowError::Config(
            "no server".to_owned()
        )));
    }
}
