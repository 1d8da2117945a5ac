//! Model-registry calls: registered models, versions, stages, aliases, tags and search.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::MlflowClient;
use crate::error::MlflowError;
use crate::uri::Stage;
use crate::wire::{self, ModelVersion};

/// How often a new version's status is polled while it is `PENDING_REGISTRATION`.
const READY_POLL: Duration = Duration::from_millis(250);

impl MlflowClient {
    /// Creates registered model `name` unless it exists (idempotent).
    ///
    /// # Errors
    /// API and transport errors other than `RESOURCE_ALREADY_EXISTS`.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn ensure_registered_model(&self, name: &str) -> Result<(), MlflowError> {
        let created: Result<wire::RegisteredModelResponse, _> = self
            .post("registered-models/create", &json!({ "name": name }))
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error) if error.error_code() == Some("RESOURCE_ALREADY_EXISTS") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The registered model with its aliases and the latest version of each stage.
    ///
    /// # Errors
    /// [`MlflowError::ModelNotFound`]; API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub(crate) async fn get_registered_model(
        &self,
        name: &str,
    ) -> Result<wire::RegisteredModel, MlflowError> {
        let found: wire::RegisteredModelResponse = self
            .get("registered-models/get", &[("name", name)])
            .await
            .map_err(|error| model_not_found(error, name))?;
        Ok(found.registered_model)
    }

    /// Registers `source` (e.g. `<run artifact_uri>/model`) as a new version of `name`, creating
    /// the model if needed, and waits until the version is `READY`.
    ///
    /// # Errors
    /// [`MlflowError::VersionNotReady`] if it is not ready within `ready_timeout`; API errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn register_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        model_id: Option<&str>,
        description: Option<&str>,
        ready_timeout: Duration,
    ) -> Result<ModelVersion, MlflowError> {
        self.ensure_registered_model(name).await?;
        let version = self
            .create_model_version(name, source, run_id, model_id, description)
            .await?;
        self.wait_until_ready(version, ready_timeout).await
    }

    /// `model-versions/create` (MLflow requires `run_id` for `mlflow-artifacts:` and `runs:`
    /// sources). With an MLflow 3 `model_id` (and source `models:/<model_id>`) the server
    /// links the version to the logged model (its `mlflow.modelVersions` tag), as the Python
    /// client's `register_model` does. The `description` is what the registry shows on the
    /// version's page.
    ///
    /// # Errors
    /// API and transport errors (e.g. `INVALID_PARAMETER_VALUE` for a bad source).
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        model_id: Option<&str>,
        description: Option<&str>,
    ) -> Result<ModelVersion, MlflowError> {
        let mut body = json!({ "name": name, "source": source, "run_id": run_id });
        if let Some(id) = model_id {
            body["model_id"] = json!(id);
        }
        if let Some(text) = description {
            body["description"] = json!(text);
        }
        let created: wire::ModelVersionResponse = self.post("model-versions/create", &body).await?;
        Ok(created.model_version)
    }

    /// Polls `version` until it is `READY` (bounded by `timeout`).
    ///
    /// # Errors
    /// [`MlflowError::VersionNotReady`] on `FAILED_REGISTRATION` or timeout; API errors.
    pub(crate) async fn wait_until_ready(
        &self,
        mut version: ModelVersion,
        timeout: Duration,
    ) -> Result<ModelVersion, MlflowError> {
        let started = Instant::now();
        loop {
            let waited = started.elapsed();
            match version.status.as_str() {
                "READY" => return Ok(version),
                "PENDING_REGISTRATION" | "" if waited < timeout => {}
                status => {
                    return Err(MlflowError::VersionNotReady {
                        name: version.name,
                        version: version.version,
                        status: status.to_owned(),
                        waited_ms: waited.as_millis(),
                    });
                }
            }
            tokio::time::sleep(READY_POLL.min(timeout.saturating_sub(waited))).await;
            version = self
                .get_model_version(&version.name, &version.version)
                .await?;
        }
    }

    /// Moves a version to `stage`; with `archive_existing`, versions already there become Archived.
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn transition_stage(
        &self,
        name: &str,
        version: &str,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, MlflowError> {
        let body = json!({
            "name": name, "version": version, "stage": stage.as_str(),
            "archive_existing_versions": archive_existing,
        });
        let moved: wire::ModelVersionResponse =
            self.post("model-versions/transition-stage", &body).await?;
        Ok(moved.model_version)
    }

    /// Points `alias` at `version` (moving it if it exists).
    ///
    /// # Errors
    /// API errors, e.g. reserved names (`latest`, `v1`) or a missing version.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<(), MlflowError> {
        let body = json!({ "name": name, "alias": alias, "version": version });
        let _: wire::Empty = self.post("registered-models/alias", &body).await?;
        Ok(())
    }

    /// Removes `alias` (idempotent on the server).
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn delete_alias(&self, name: &str, alias: &str) -> Result<(), MlflowError> {
        let body = json!({ "name": name, "alias": alias });
        let _: wire::Empty = self.delete("registered-models/alias", &body).await?;
        Ok(())
    }

    /// The newest version in `stage`, or `None` when the stage is empty.
    ///
    /// # Errors
    /// [`MlflowError::ModelNotFound`]; API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn latest_version(
        &self,
        name: &str,
        stage: Stage,
    ) -> Result<Option<ModelVersion>, MlflowError> {
        Ok(self
            .latest_versions(name, &[stage])
            .await?
            .into_iter()
            .next())
    }

    /// The newest version of each of `stages` (of every stage when empty); `{}` becomes `[]`.
    ///
    /// # Errors
    /// [`MlflowError::ModelNotFound`]; API and transport errors.
    pub(crate) async fn latest_versions(
        &self,
        name: &str,
        stages: &[Stage],
    ) -> Result<Vec<ModelVersion>, MlflowError> {
        let stages: Vec<&str> = stages.iter().map(|stage| stage.as_str()).collect();
        let body = json!({ "name": name, "stages": stages });
        let found: wire::ModelVersionsResponse = self
            .post("registered-models/get-latest-versions", &body)
            .await
            .map_err(|error| model_not_found(error, name))?;
        Ok(found.model_versions)
    }

    /// The version `alias` points to, or `None` when the model has no such alias.
    ///
    /// # Errors
    /// [`MlflowError::ModelNotFound`]; API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<Option<ModelVersion>, MlflowError> {
        let found: Result<wire::ModelVersionResponse, _> = self
            .get(
                "registered-models/alias",
                &[("name", name), ("alias", alias)],
            )
            .await;
        match found {
            Ok(found) => Ok(Some(found.model_version)),
            // A missing alias is a 400 INVALID_PARAMETER_VALUE "Registered model alias X not found."
            Err(MlflowError::Api {
                ref error_code,
                ref message,
                ..
            }) if error_code == "INVALID_PARAMETER_VALUE" && message.contains("not found") => {
                Ok(None)
            }
            Err(error) => Err(model_not_found(error, name)),
        }
    }

    /// One version.
    ///
    /// # Errors
    /// [`MlflowError::VersionNotFound`] (also when the model is missing); API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn get_model_version(
        &self,
        name: &str,
        version: &str,
    ) -> Result<ModelVersion, MlflowError> {
        let found: wire::ModelVersionResponse = self
            .get(
                "model-versions/get",
                &[("name", name), ("version", version)],
            )
            .await
            .map_err(|error| version_not_found(error, name, version))?;
        Ok(found.model_version)
    }

    /// Where a version's files are, as the server resolves it (`runs:/…` comes back unresolved).
    ///
    /// # Errors
    /// [`MlflowError::VersionNotFound`]; API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub(crate) async fn download_uri(
        &self,
        name: &str,
        version: &str,
    ) -> Result<String, MlflowError> {
        let found: wire::DownloadUriResponse = self
            .get(
                "model-versions/get-download-uri",
                &[("name", name), ("version", version)],
            )
            .await
            .map_err(|error| version_not_found(error, name, version))?;
        Ok(found.artifact_uri)
    }

    /// Sets a tag on a version (e.g. evaluation results, promotion reason).
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self, value), err(level = "warn"))]
    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<(), MlflowError> {
        let body = json!({ "name": name, "version": version, "key": key, "value": value });
        let _: wire::Empty = self.post("model-versions/set-tag", &body).await?;
        Ok(())
    }

    /// One page of `model-versions/search` (newest first; results carry no aliases).
    ///
    /// # Errors
    /// API and transport errors (e.g. a malformed filter).
    pub async fn search_model_versions(
        &self,
        filter: &str,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<wire::ModelVersionsResponse, MlflowError> {
        let max_results = max_results.to_string();
        let mut query = vec![("filter", filter), ("max_results", max_results.as_str())];
        if let Some(token) = page_token {
            query.push(("page_token", token));
        }
        self.get("model-versions/search", &query).await
    }

    /// Every version of `name`, following search pages.
    ///
    /// # Errors
    /// API and transport errors.
    pub async fn all_model_versions(&self, name: &str) -> Result<Vec<ModelVersion>, MlflowError> {
        let filter = format!("name='{}'", name.replace('\'', "\\'"));
        let mut versions = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .search_model_versions(&filter, 1000, token.as_deref())
                .await?;
            versions.extend(page.model_versions);
            match page.next_page_token.filter(|token| !token.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(versions),
            }
        }
    }

    /// An MLflow 3 logged model (`models:/m-…`).
    ///
    /// # Errors
    /// API errors (404 when it does not exist) and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub(crate) async fn get_logged_model(
        &self,
        model_id: &str,
    ) -> Result<wire::LoggedModelInfo, MlflowError> {
        let endpoint = format!("logged-models/{model_id}");
        let found: wire::LoggedModelResponse = self.get(&endpoint, &[]).await?;
        Ok(found.model.info)
    }
}

fn model_not_found(error: MlflowError, name: &str) -> MlflowError {
    if error.is_not_found() {
        MlflowError::ModelNotFound {
            name: name.to_owned(),
        }
    } else {
        error
    }
}

fn version_not_found(error: MlflowError, name: &str, version: &str) -> MlflowError {
    if error.is_not_found() {
        MlflowError::VersionNotFound {
            name: name.to_owned(),
            version: version.to_owned(),
        }
    } else {
        error
    }
}
