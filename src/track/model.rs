//! Logging a run's model directory as MLflow's `log_model` does, for the server's generation
//! (asked once, see [`legendary_mlflow::MlflowClient::server_info`]):
//!
//! - **MLflow 3**: a logged model (`m-…`, PENDING) with the run's params and the user's
//!   tags; `MLmodel` gains `run_id`, `model_id`, `artifact_path` and `mlflow_version`; the
//!   files go to the logged model's own artifact location; it is finalized READY (or
//!   upload-failed), linked as the run's output, and the run's step-0 metrics are logged again
//!   with its `model_id`, which is how they show on the model's page and in
//!   `search_logged_models`.
//! - **MLflow 2**: the files go under the run's `model/`, and `runs/log-model` records the
//!   MLmodel in the run's `mlflow.log-model.history` tag (how that UI finds a run's model).

use std::path::Path;

use crate::model::{Provenance, record_provenance};
use legendary_mlflow::MlflowError;
use legendary_mlflow::logged_model::NewLoggedModel;
use legendary_mlflow::wire::{KeyValue, Metric};

use super::{LoggedModel, LoggedRun, Session, run_model_uri};

/// The logged model's name, as `log_model(name="model")` gives it.
const MODEL_NAME: &str = "model";

/// Logs the model directory at `dir` for `run`; `params` and `metrics` are the run's.
///
/// # Errors
/// API, transport and store errors; an `MLmodel` that cannot be rewritten.
pub(super) async fn log(
    session: &Session,
    run: &LoggedRun,
    params: &[KeyValue],
    metrics: &[Metric],
    dir: &Path,
) -> Result<LoggedModel, MlflowError> {
    let client = session.client();
    let server = client.server_info().await?;
    if !server.logged_models {
        record(dir, run, None, "model", server.version.as_deref())?;
        client.upload_dir(&run.artifact_uri, "model", dir).await?;
        let mlmodel = mlmodel_json(dir)?;
        client.record_logged_model(&run.run_id, &mlmodel).await?;
        return Ok(LoggedModel {
            uri: run_model_uri(&run.artifact_uri),
            model_id: None,
        });
    }
    let mut tags = vec![
        KeyValue::new("mlflow.source.name", env!("CARGO_PKG_NAME")),
        KeyValue::new("mlflow.source.type", "LOCAL"),
    ];
    if let Some(user) = session.user() {
        tags.push(KeyValue::new("mlflow.user", user));
    }
    let new = NewLoggedModel {
        experiment_id: session.experiment_id().to_owned(),
        name: MODEL_NAME.to_owned(),
        source_run_id: run.run_id.clone(),
        params: params.to_vec(),
        tags,
    };
    let logged = client.create_logged_model(&new).await?;
    let id = logged.model_id.as_str();
    let uploaded = async {
        let location = logged.artifact_uri.as_str();
        record(dir, run, Some(id), location, server.version.as_deref())?;
        client.upload_dir(location, "", dir).await
    }
    .await;
    if let Err(e) = uploaded {
        let _ = client.finalize_logged_model(id, false).await;
        return Err(e);
    }
    client.finalize_logged_model(id, true).await?;
    client.log_model_output(&run.run_id, id).await?;
    let of_model: Vec<Metric> = metrics
        .iter()
        .filter(|m| m.step == 0)
        .map(|m| Metric {
            model_id: Some(id.to_owned()),
            ..m.clone()
        })
        .collect();
    client.log_batch(&run.run_id, &[], &of_model, &[]).await?;
    Ok(LoggedModel {
        uri: format!("models:/{id}"),
        model_id: Some(id.to_owned()),
    })
}

/// Writes where the directory goes into its `MLmodel` before it is uploaded.
fn record(
    dir: &Path,
    run: &LoggedRun,
    model_id: Option<&str>,
    artifact_path: &str,
    mlflow_version: Option<&str>,
) -> Result<(), MlflowError> {
    let provenance = Provenance {
        run_id: run.run_id.clone(),
        model_id: model_id.map(str::to_owned),
        artifact_path: artifact_path.to_owned(),
        mlflow_version: mlflow_version.map(str::to_owned),
    };
    record_provenance(dir, &provenance).map_err(|e| MlflowError::ModelDir {
        message: e.to_string(),
    })
}

/// `MLmodel` as the JSON `runs/log-model` takes (MLflow's `Model.to_json()`).
fn mlmodel_json(dir: &Path) -> Result<serde_json::Value, MlflowError> {
    let path = dir.join("MLmodel");
    let text = std::fs::read_to_string(&path).map_err(|e| MlflowError::io(&path, e))?;
    serde_yaml_ng::from_str(&text).map_err(|e| MlflowError::ModelDir {
        message: format!("{}: {e}", path.display()),
    })
}
