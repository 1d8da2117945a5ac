//! The files a run shows at the top of its artifacts (plots and the importance table), next
//! to, not inside, the model: MLflow's compare view only compares top-level artifacts.

use crate::mlflow::{MlflowClient, MlflowError};
use crate::train::Outcome;

use super::LoggedRun;

/// Uploads the outcome's run files to the root of `run`'s artifacts.
///
/// # Errors
/// I/O failures writing them, API, transport and store errors uploading them.
pub(super) async fn upload(
    client: &MlflowClient,
    run: &LoggedRun,
    outcome: &Outcome,
) -> Result<(), MlflowError> {
    let dir = tempfile::tempdir().map_err(|e| MlflowError::io(std::env::temp_dir(), e))?;
    for (name, bytes) in outcome.run_files() {
        let path = dir.path().join(&name);
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| MlflowError::io(&path, e))?;
    }
    client.upload_dir(&run.artifact_uri, "", dir.path()).await?;
    Ok(())
}
