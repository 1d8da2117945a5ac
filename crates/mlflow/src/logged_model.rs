//! Logging a model the way MLflow's `log_model` does, over REST. On MLflow 3: a logged model
//! (`logged-models`, PENDING), its files at its own artifact location, `READY`, linked as the
//! run's output (`runs/outputs`), its params and metrics. On MLflow 2 the files are run
//! artifacts and `runs/log-model` appends the MLmodel to the run's
//! `mlflow.log-model.history` tag, which is how that UI knows a run has a model.

use serde_json::json;

use crate::client::MlflowClient;
use crate::error::MlflowError;
use crate::wire::{self, KeyValue};

/// What to create a logged model with.
#[derive(Debug, Clone, Default)]
pub struct NewLoggedModel {
    /// The experiment (the run's).
    pub experiment_id: String,
    /// Its name in the UI (`model`, as `log_model(name="model")`).
    pub name: String,
    /// The run that trained it.
    pub source_run_id: String,
    /// The hyperparameters (shown on the model's page).
    pub params: Vec<KeyValue>,
    /// Tags (`mlflow.user`, `mlflow.source.*`, as the Python client copies from the run).
    pub tags: Vec<KeyValue>,
}

/// MLflow's limit on params per `logged-models/<id>/params` call.
const PARAMS_PER_CALL: usize = 100;

impl MlflowClient {
    /// `POST logged-models`: a PENDING logged model, with the first params. The rest of the
    /// params follow in batches, as the Python client sends them.
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip_all, fields(run_id = %new.source_run_id), err(level = "warn"))]
    pub async fn create_logged_model(
        &self,
        new: &NewLoggedModel,
    ) -> Result<wire::LoggedModelInfo, MlflowError> {
        let (first, rest) = new.params.split_at(new.params.len().min(PARAMS_PER_CALL));
        let body = json!({
            "experiment_id": new.experiment_id,
            "name": new.name,
            "source_run_id": new.source_run_id,
            "params": first,
            "tags": new.tags,
        });
        let created: wire::LoggedModelResponse = self.post("logged-models", &body).await?;
        let info = created.model.info;
        for batch in rest.chunks(PARAMS_PER_CALL) {
            let endpoint = format!("logged-models/{}/params", info.model_id);
            let _: wire::Empty = self
                .post(
                    &endpoint,
                    &json!({ "model_id": info.model_id, "params": batch }),
                )
                .await?;
        }
        Ok(info)
    }

    /// `PATCH logged-models/<id>`: READY once its files are uploaded, or upload-failed.
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn finalize_logged_model(
        &self,
        model_id: &str,
        ready: bool,
    ) -> Result<(), MlflowError> {
        let status = if ready {
            "LOGGED_MODEL_READY"
        } else {
            "LOGGED_MODEL_UPLOAD_FAILED"
        };
        let endpoint = format!("logged-models/{model_id}");
        let _: wire::LoggedModelResponse = self
            .patch(
                &endpoint,
                &json!({ "model_id": model_id, "status": status }),
            )
            .await?;
        Ok(())
    }

    /// `PATCH logged-models/<id>/tags`.
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self, tags), err(level = "warn"))]
    pub async fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[KeyValue],
    ) -> Result<(), MlflowError> {
        let endpoint = format!("logged-models/{model_id}/tags");
        let _: wire::Empty = self
            .patch(&endpoint, &json!({ "model_id": model_id, "tags": tags }))
            .await?;
        Ok(())
    }

    /// `POST runs/outputs`: the model is the run's output (the runs list's Models column and
    /// the run page's "Logged models" read this).
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn log_model_output(&self, run_id: &str, model_id: &str) -> Result<(), MlflowError> {
        let body = json!({ "run_id": run_id, "models": [{ "model_id": model_id, "step": 0 }] });
        let _: wire::Empty = self.post("runs/outputs", &body).await?;
        Ok(())
    }

    /// `POST runs/log-model` (MLflow 2): appends `mlmodel` (MLmodel as JSON) to the run's
    /// `mlflow.log-model.history` tag.
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self, mlmodel), err(level = "warn"))]
    pub async fn record_logged_model(
        &self,
        run_id: &str,
        mlmodel: &serde_json::Value,
    ) -> Result<(), MlflowError> {
        let body = json!({ "run_id": run_id, "model_json": mlmodel.to_string() });
        let _: wire::Empty = self.post("runs/log-model", &body).await?;
        Ok(())
    }
}
