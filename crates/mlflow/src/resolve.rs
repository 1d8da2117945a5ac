//! From a [`ModelUri`] to the files: pick the version (alias, stage, latest or number), ask the
//! server where its files are, turn `runs:/` and `models:/m-…` into `mlflow-artifacts:/`, download.

use std::path::{Path, PathBuf};

use crate::client::MlflowClient;
use crate::error::MlflowError;
use crate::uri::ModelUri;
use crate::wire::ModelVersion;

/// What a model URI points to right now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The registered model name (registry URIs only).
    pub name: Option<String>,
    /// The version number (registry URIs only).
    pub version: Option<String>,
    /// The version's current stage (registry URIs only).
    pub stage: Option<String>,
    /// The version's aliases (empty when unknown).
    pub aliases: Vec<String>,
    /// The run that produced the files, when known.
    pub run_id: Option<String>,
    /// Where the files are: `mlflow-artifacts:/…`, or the path for a local URI.
    pub artifact_uri: String,
}

impl Resolved {
    /// A short stable identity for change detection on hot reload: the same string means the
    /// same files.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}@{}",
            self.artifact_uri,
            self.version.as_deref().unwrap_or("-")
        )
    }
}

/// Resolves `uri` against the registry (a local path resolves to itself, without a call).
///
/// # Errors
/// [`MlflowError::ModelNotFound`], [`MlflowError::StageEmpty`], [`MlflowError::AliasNotFound`],
/// [`MlflowError::VersionNotFound`], [`MlflowError::RunNotFound`]; API and transport errors.
#[tracing::instrument(skip(client), fields(uri = %uri), err(level = "warn"))]
pub async fn resolve(client: &MlflowClient, uri: &ModelUri) -> Result<Resolved, MlflowError> {
    let version =
        match uri {
            ModelUri::Stage { name, stage } => client
                .latest_version(name, *stage)
                .await?
                .ok_or_else(|| MlflowError::StageEmpty {
                    name: name.clone(),
                    stage: stage.to_string(),
                })?,
            ModelUri::Alias { name, alias } => match client.version_by_alias(name, alias).await? {
                Some(version) => version,
                None => {
                    // MLflow 2 says "alias not found" for a missing model too; name the real
                    // problem (MLflow 3 answers RESOURCE_DOES_NOT_EXIST for the model itself).
                    client.get_registered_model(name).await?;
                    return Err(MlflowError::AliasNotFound {
                        name: name.clone(),
                        alias: alias.clone(),
                    });
                }
            },
            ModelUri::Latest { name } => latest_of_all_stages(client, name).await?,
            ModelUri::Version { name, version } => {
                let version = version.to_string();
                match client.get_model_version(name, &version).await {
                    Ok(found) => found,
                    // MLflow says "version not found" for a missing model too; name the real problem.
                    Err(error @ MlflowError::VersionNotFound { .. }) => {
                        client.get_registered_model(name).await?;
                        return Err(error);
                    }
                    Err(error) => return Err(error),
                }
            }
            ModelUri::LoggedModel { model_id } => {
                let info = client.get_logged_model(model_id).await?;
                return Ok(Resolved {
                    run_id: Some(info.source_run_id).filter(|id| !id.is_empty()),
                    artifact_uri: info.artifact_uri,
                    ..Resolved::default()
                });
            }
            ModelUri::Run { run_id, path } => {
                return Ok(Resolved {
                    run_id: Some(run_id.clone()),
                    artifact_uri: run_artifact_uri(client, run_id, path).await?,
                    ..Resolved::default()
                });
            }
            ModelUri::Artifacts { path } => {
                return Ok(Resolved {
                    artifact_uri: format!("mlflow-artifacts:/{path}"),
                    ..Resolved::default()
                });
            }
            ModelUri::Local(path) => {
                return Ok(Resolved {
                    artifact_uri: path.display().to_string(),
                    ..Resolved::default()
                });
            }
        };
    resolve_version(client, version).await
}

/// Downloads the files at `artifact_uri` (an `mlflow-artifacts:/` URI, as [`resolve`] returns
/// for every non-local model) into `dest_dir`; returns the relative paths written.
///
/// # Errors
/// [`MlflowError::NoArtifacts`] when nothing is there; [`MlflowError::Transfer`] for a listed
/// name that would escape `dest_dir`; [`MlflowError::UnsupportedArtifactUri`] for other schemes;
/// [`MlflowError::Transfer`] for a download past its limits.
pub async fn download(
    client: &MlflowClient,
    artifact_uri: &str,
    dest_dir: &Path,
) -> Result<Vec<PathBuf>, MlflowError> {
    let deadline = tokio::time::Instant::now() + client.artifact_timeout();
    download_until(client, artifact_uri, dest_dir, deadline).await
}

/// [`download`] that gives up at `deadline` (start-up's `--startup-deadline`, a reload poll's).
///
/// # Errors
/// As [`download`].
pub async fn download_until(
    client: &MlflowClient,
    artifact_uri: &str,
    dest_dir: &Path,
    deadline: tokio::time::Instant,
) -> Result<Vec<PathBuf>, MlflowError> {
    client
        .download_artifacts(artifact_uri, dest_dir, deadline)
        .await
}

/// The highest version number over all stages (what `models:/NAME/latest` means).
async fn latest_of_all_stages(
    client: &MlflowClient,
    name: &str,
) -> Result<ModelVersion, MlflowError> {
    let newest_per_stage = client.latest_versions(name, &[]).await?;
    newest_per_stage
        .into_iter()
        .max_by_key(|version| version.version.parse::<u64>().unwrap_or(0))
        .ok_or_else(|| MlflowError::VersionNotFound {
            name: name.to_owned(),
            version: "latest".to_owned(),
        })
}

async fn resolve_version(
    client: &MlflowClient,
    version: ModelVersion,
) -> Result<Resolved, MlflowError> {
    let download_uri = client.download_uri(&version.name, &version.version).await?;
    let artifact_uri = match download_uri.parse::<ModelUri>() {
        // The server returns `runs:/` sources verbatim and may leave `models:/m-…` unresolved.
        Ok(ModelUri::Run { run_id, path }) => run_artifact_uri(client, &run_id, &path).await?,
        Ok(ModelUri::LoggedModel { model_id }) => {
            client.get_logged_model(&model_id).await?.artifact_uri
        }
        _ => download_uri,
    };
    Ok(Resolved {
        name: Some(version.name),
        version: Some(version.version),
        stage: Some(version.current_stage).filter(|stage| !stage.is_empty()),
        aliases: version.aliases,
        run_id: Some(version.run_id).filter(|id| !id.is_empty()),
        artifact_uri,
    })
}

async fn run_artifact_uri(
    client: &MlflowClient,
    run_id: &str,
    path: &str,
) -> Result<String, MlflowError> {
    let root = client.get_run(run_id).await?.info.artifact_uri;
    let root = root.trim_end_matches('/');
    Ok(if path.is_empty() {
        root.to_owned()
    } else {
        format!("{root}/{path}")
    })
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
