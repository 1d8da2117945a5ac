//! What the tracking server can do, asked once per client: its MLflow version (`GET
//! /version`) and, from it, whether models are logged as MLflow 3 logged models (`m-…`
//! entities with their own artifact location) or, on MLflow 2, as run artifacts recorded in
//! the run's `mlflow.log-model.history` tag. A server that does not say its version is asked
//! for a logged model that cannot exist: MLflow 3 answers `RESOURCE_DOES_NOT_EXIST`, MLflow 2
//! has no such route.

use crate::client::MlflowClient;
use crate::error::MlflowError;

/// The server's generation, as far as logging a model goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `GET /version`, when the server answers it.
    pub version: Option<String>,
    /// MLflow 3's logged-model API (`logged-models`, `runs/outputs`) is there.
    pub logged_models: bool,
}

impl ServerInfo {
    /// From a version string: logged models came with MLflow 3.0.
    fn of_version(version: &str) -> Option<Self> {
        let major: u32 = version.split('.').next()?.parse().ok()?;
        Some(Self {
            version: Some(version.to_owned()),
            logged_models: major >= 3,
        })
    }
}

impl std::fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = self.version.as_deref().unwrap_or("of unknown version");
        let how = if self.logged_models {
            "models are logged as MLflow 3 logged models"
        } else {
            "models are logged as run artifacts (no logged-model API)"
        };
        write!(f, "MLflow server {version}: {how}")
    }
}

/// An id no server ever issues (`m-` + 32 zeros), for the probe.
const PROBE_MODEL_ID: &str = "m-00000000000000000000000000000000";

impl MlflowClient {
    /// The server's version and capabilities, asked on first use and then remembered.
    ///
    /// # Errors
    /// Transport and API errors of the probe (when `/version` does not answer).
    pub async fn server_info(&self) -> Result<ServerInfo, MlflowError> {
        self.server
            .get_or_try_init(|| async {
                let info = self.probe().await?;
                tracing::info!("{info}");
                Ok(info)
            })
            .await
            .cloned()
    }

    async fn probe(&self) -> Result<ServerInfo, MlflowError> {
        if let Some(info) = self
            .server_version()
            .await
            .and_then(|v| ServerInfo::of_version(&v))
        {
            return Ok(info);
        }
        let endpoint = format!("logged-models/{PROBE_MODEL_ID}");
        let logged_models = match self.get::<serde_json::Value>(&endpoint, &[]).await {
            Ok(_) => true,
            Err(e) if e.error_code() == Some("RESOURCE_DOES_NOT_EXIST") => true,
            Err(e) if e.is_not_found() || e.error_code() == Some("ENDPOINT_NOT_FOUND") => false,
            Err(e) => return Err(e),
        };
        Ok(ServerInfo {
            version: None,
            logged_models,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_version_decides() {
        let three = ServerInfo::of_version("3.17.2");
        assert_eq!(three.map(|i| i.logged_models), Some(true));
        let two = ServerInfo::of_version("2.22.5");
        assert_eq!(two.map(|i| i.logged_models), Some(false));
        assert_eq!(ServerInfo::of_version("dev"), None);
    }
}
