//! Where the served model comes from: a local MLflow model directory, or an MLflow registry
//! (resolved and downloaded over REST at start-up, and again on each reload poll when the URI
//! names a stage, an alias or `latest`).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::state::{AppState, ModelMeta, Served};
use crate::mlflow::{MlflowClient, MlflowError, ModelUri, Resolved, TrackingConfig};

/// The model a server was asked to serve.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// A local MLflow model directory.
    Local(PathBuf),
    /// A registry or artifact URI (`models:/…`, `runs:/…`, `mlflow-artifacts:/…`).
    Remote(ModelUri),
}

impl ModelSource {
    /// Chooses the source: `--model-uri`, else `MLFLOW_MODEL_NAME` (+ `MLFLOW_MODEL_STAGE`,
    /// default Production), else the bundled `models/pokemon`.
    ///
    /// # Errors
    /// An empty or malformed URI, or a stage without a name.
    pub fn from_args(
        uri: Option<&str>,
        name: Option<&str>,
        stage: Option<&str>,
    ) -> anyhow::Result<Self> {
        let uri = match (uri, name) {
            (Some(u), _) if u.trim().is_empty() => anyhow::bail!("the model URI is empty"),
            (Some(u), _) => u
                .trim()
                .parse::<ModelUri>()
                .with_context(|| format!("model URI '{u}'"))?,
            (None, Some(n)) if !n.trim().is_empty() => ModelUri::from_env_parts(n.trim(), stage)
                .context("MLFLOW_MODEL_NAME / MLFLOW_MODEL_STAGE")?,
            (None, _) if stage.is_some() => {
                anyhow::bail!("MLFLOW_MODEL_STAGE is set but MLFLOW_MODEL_NAME is not")
            }
            (None, _) => return Ok(Self::Local(PathBuf::from("models/pokemon"))),
        };
        Ok(match uri {
            ModelUri::Local(path) => Self::Local(path),
            remote => Self::Remote(remote),
        })
    }

    /// True when the source can point to another version later (stage, alias, latest).
    pub fn is_moving(&self) -> bool {
        matches!(self, Self::Remote(uri) if uri.is_moving())
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::Remote(u) => write!(f, "{u}"),
        }
    }
}

/// The MLflow client a remote source needs, from `MLFLOW_TRACKING_*`.
///
/// # Errors
/// A remote source without `MLFLOW_TRACKING_URI`, or a bad tracking configuration.
pub fn client_for(source: &ModelSource) -> anyhow::Result<Option<MlflowClient>> {
    if let ModelSource::Local(_) = source {
        return Ok(None);
    }
    let config = TrackingConfig::from_env()?.ok_or_else(|| {
        anyhow::anyhow!(
            "serving '{source}' needs MLFLOW_TRACKING_URI (the MLflow server to fetch it from)"
        )
    })?;
    Ok(Some(MlflowClient::new(&config)?))
}

/// Loads the model once.
///
/// # Errors
/// Anything that stops the model from loading.
pub async fn load(source: &ModelSource, client: Option<&MlflowClient>) -> anyhow::Result<Served> {
    match (source, client) {
        (ModelSource::Local(path), _) => {
            let path = path.clone();
            let dir = tokio::task::spawn_blocking(move || crate::model::read_dir(&path)).await??;
            Ok(Served::new(
                dir,
                ModelMeta {
                    uri: source.to_string(),
                    ..ModelMeta::default()
                },
            ))
        }
        (ModelSource::Remote(uri), Some(client)) => {
            let resolved = crate::mlflow::resolve(client, uri).await?;
            fetch(client, &source.to_string(), &resolved).await
        }
        (ModelSource::Remote(_), None) => anyhow::bail!("no MLflow client for '{source}'"),
    }
}

/// Downloads and validates what `resolved` points to: the files load, the signature names
/// the six stats, and the model scores its own input example the same way smartcore does.
async fn fetch(client: &MlflowClient, uri: &str, resolved: &Resolved) -> anyhow::Result<Served> {
    let dir = tempfile::tempdir().context("creating a download directory")?;
    crate::mlflow::download(client, &resolved.artifact_uri, dir.path()).await?;
    let path = dir.path().to_path_buf();
    let model_dir = tokio::task::spawn_blocking(move || crate::model::read_dir(&path))
        .await?
        .with_context(|| {
            format!(
                "{} is not a servable smartcore model",
                resolved.artifact_uri
            )
        })?;
    let meta = ModelMeta {
        uri: uri.to_owned(),
        name: resolved.name.clone(),
        version: resolved.version.clone(),
        stage: resolved.stage.clone(),
        aliases: resolved.aliases.clone(),
        run_id: resolved.run_id.clone(),
        fingerprint: resolved.fingerprint(),
        ..ModelMeta::default()
    };
    Ok(Served::new(model_dir, meta))
}

/// True for errors that may go away by themselves: the registry unreachable or overloaded.
fn is_transient(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<MlflowError>()
            .is_some_and(MlflowError::is_transient)
    })
}

/// Loads the model, retrying while the registry is unreachable, up to `deadline`. Errors
/// that retrying cannot fix (model missing, stage empty, alias unknown, not a smartcore
/// model) end it at once.
///
/// # Errors
/// The last error, naming the URI and the cause.
pub(super) async fn load_with_retry(
    source: &ModelSource,
    client: Option<&MlflowClient>,
    deadline: Duration,
) -> anyhow::Result<Served> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match load(source, client).await {
            Ok(served) => return Ok(served),
            Err(e) if is_transient(&e) && started.elapsed() + pause < deadline => {
                tracing::warn!(model = %source, error = %format!("{e:#}"), retry_in = ?pause, "the registry is not answering; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) if is_transient(&e) => {
                return Err(e.context(format!(
                    "cannot serve model '{source}': gave up after {:.0?} (--startup-deadline)",
                    started.elapsed()
                )));
            }
            Err(e) => return Err(e.context(format!("cannot serve model '{source}'"))),
        }
    }
}

/// Starts the hot-reload poller when the source can move (stage, alias, latest) and the
/// interval is not zero.
pub(super) fn spawn_reloader(
    state: AppState,
    source: ModelSource,
    client: Option<MlflowClient>,
    interval: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    let (ModelSource::Remote(uri), Some(client)) = (&source, client) else {
        return None;
    };
    if !source.is_moving() || interval.is_zero() {
        return None;
    }
    let uri = uri.clone();
    Some(tokio::spawn(async move {
        let mut refused: Option<String> = None;
        loop {
            tokio::time::sleep(interval).await;
            if state.is_draining() {
                return;
            }
            poll_once(&state, &client, &uri, &source, &mut refused).await;
        }
    }))
}

/// One reload poll: resolve; if the version moved, fetch, validate and swap.
async fn poll_once(
    state: &AppState,
    client: &MlflowClient,
    uri: &ModelUri,
    source: &ModelSource,
    refused: &mut Option<String>,
) {
    let resolved = match crate::mlflow::resolve(client, uri).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(model = %source, error = %e, "reload poll failed; keeping the current model");
            return;
        }
    };
    let fingerprint = resolved.fingerprint();
    let current = state
        .model()
        .map(|s| s.meta.fingerprint.clone())
        .unwrap_or_default();
    if fingerprint == current || refused.as_deref() == Some(fingerprint.as_str()) {
        return;
    }
    match fetch(client, &source.to_string(), &resolved).await {
        Ok(served) => {
            tracing::info!(model = %source, from = %current, to = %fingerprint, version = ?served.meta.version, "new model version swapped in");
            state.set_model(served);
            state.record_reload(true);
            *refused = None;
        }
        Err(e) => {
            tracing::error!(model = %source, version = ?resolved.version, error = %format!("{e:#}"), "new model version refused; the current one keeps serving");
            state.record_reload(false);
            *refused = Some(fingerprint);
        }
    }
}
