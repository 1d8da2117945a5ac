//! The files a run shows at the top of its artifacts, next to, not inside, the model: the
//! plots and the importance table (MLflow's compare view only compares top-level artifacts),
//! and `model_explanations_shap/` as `mlflow.shap.log_explanation` logs it (the held-out rows
//! explained against the model's background, see [`crate::explain`]).

use crate::train::Outcome;
use legendary_mlflow::{MlflowClient, MlflowError};

use super::LoggedRun;

/// Uploads the outcome's run files and explanations to the root of `run`'s artifacts.
///
/// # Errors
/// I/O failures writing them, API, transport and store errors uploading them.
pub(super) async fn upload(
    client: &MlflowClient,
    run: &LoggedRun,
    outcome: &Outcome,
) -> Result<(), MlflowError> {
    let dir = tempfile::tempdir().map_err(|e| MlflowError::io(std::env::temp_dir(), e))?;
    let files = outcome
        .run_files()
        .map_err(|e| MlflowError::io(dir.path(), std::io::Error::other(e)))?;
    for (name, bytes) in files {
        let path = dir.path().join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| MlflowError::io(parent, e))?;
        }
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| MlflowError::io(&path, e))?;
    }
    let shap = dir.path().join(crate::explain::SHAP_ARTIFACT_PATH);
    std::fs::create_dir_all(&shap).map_err(|e| MlflowError::io(&shap, e))?;
    let rows = outcome.held_out().rows;
    crate::explain::write_shap_files(&outcome.model, &outcome.background, &rows, &shap)
        .map_err(|e| MlflowError::io(&shap, std::io::Error::other(e)))?;
    client.upload_dir(&run.artifact_uri, "", dir.path()).await?;
    Ok(())
}
