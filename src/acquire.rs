//! Getting a model to serve: resolve a model URI (a local MLflow model directory, or a registry
//! or artifact URI resolved over REST), download its files, validate them and build the model.
//! One path for every user: `serve` at start-up, hot reload, `predict` and the promotion gate,
//! so a model that one of them accepts, all of them accept.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

use crate::model::{Model, ModelDir, ModelInfo};
use crate::sandbox::{CompileError, Sandbox};
use legendary_mlflow::retry::RetryPolicy;
use legendary_mlflow::{MlflowClient, MlflowError, ModelUri, Resolved, TrackingConfig};

/// Why a model could not be loaded: typed, so that the callers decide by its kind (retry at
/// start-up, wait for a model that does not exist yet, try the next poll, refuse a version
/// once) rather than by searching an error chain.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The registry or the download failed (missing model, stage, alias or version; the
    /// registry unreachable; a transfer past its bounds).
    #[error(transparent)]
    Registry(#[from] MlflowError),
    /// A local or bundled model directory the sandboxed compiler refused.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// Downloaded files the sandboxed compiler refused.
    #[error("{uri} is not a servable model")]
    NotServable {
        /// Where the files came from.
        uri: String,
        /// The compiler's verdict.
        #[source]
        cause: CompileError,
    },
    /// The registry did not resolve the URI by the deadline.
    #[error("the registry{at} did not resolve '{model}' by its deadline (--startup-deadline)")]
    ResolveDeadline {
        /// ` at <tracking URI>`, or nothing.
        at: String,
        /// The model asked for.
        model: String,
    },
    /// A local directory could not be made or written.
    #[error("{what}")]
    Local {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        cause: std::io::Error,
    },
    /// A remote model without a client; [`Fetcher::new`] refuses that, so this is a bug.
    #[error("no MLflow client for '{0}'")]
    NoClient(String),
    /// Still failing for a reason that could go away when `--startup-deadline` ran out.
    #[error("cannot serve model '{model}': gave up after {elapsed:.0?} (--startup-deadline)")]
    GaveUp {
        /// The model asked for.
        model: String,
        /// How long it was tried.
        elapsed: Duration,
        /// The last failure.
        #[source]
        cause: Box<LoadError>,
    },
    /// A failure retrying cannot fix.
    #[error("cannot serve model '{model}'")]
    Refused {
        /// The model asked for.
        model: String,
        /// Why.
        #[source]
        cause: Box<LoadError>,
    },
}

impl LoadError {
    /// The failure under the start-up wrappers.
    fn root(&self) -> &Self {
        match self {
            Self::GaveUp { cause, .. } | Self::Refused { cause, .. } => cause.root(),
            other => other,
        }
    }

    fn registry(&self) -> Option<&MlflowError> {
        match self.root() {
            Self::Registry(error) => Some(error),
            _ => None,
        }
    }

    /// The sandbox's verdict on a model that was not served, if that is why it failed.
    pub(crate) fn compile_failure(&self) -> Option<&CompileError> {
        match self.root() {
            Self::Compile(cause) | Self::NotServable { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// True when the registry says the model, stage, alias, version or run does not exist (yet).
    pub(crate) fn is_missing(&self) -> bool {
        matches!(
            self.registry(),
            Some(
                MlflowError::ModelNotFound { .. }
                    | MlflowError::StageEmpty { .. }
                    | MlflowError::AliasNotFound { .. }
                    | MlflowError::VersionNotFound { .. }
                    | MlflowError::RunNotFound { .. }
            )
        )
    }

    /// True for failures that may go away by themselves: the registry unreachable or
    /// overloaded.
    pub(crate) fn is_transient(&self) -> bool {
        self.registry().is_some_and(MlflowError::is_transient)
    }

    /// True when the files could not be had this time (the registry failing, a transfer
    /// that stalled): the next poll tries again. Files that are there but too large, too
    /// many or not a model are the version's own fault.
    pub(crate) fn is_download_failure(&self) -> bool {
        self.registry()
            .is_some_and(|e| e.is_transient() || e.is_stalled())
    }

    /// The HTTP status of the registry's (or its artifact proxy's) failing answer, if any.
    pub(crate) fn registry_status(&self) -> Option<u16> {
        match self.registry() {
            Some(MlflowError::Api { status, .. }) => Some(status.as_u16()),
            _ => None,
        }
    }
}

/// The model a command was asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// The model compiled into the binary (`models/pokemon` of its source tree).
    Bundled,
    /// A local MLflow model directory.
    Local(PathBuf),
    /// A registry or artifact URI (`models:/…`, `runs:/…`, `mlflow-artifacts:/…`).
    Remote(ModelUri),
}

impl ModelSource {
    /// Chooses the source: `uri` (`--model-uri`), else `name` + `stage` (`MLFLOW_MODEL_NAME`
    /// and `MLFLOW_MODEL_STAGE`, default Production, as in the original demo's deployment),
    /// else the bundled model.
    ///
    /// # Errors
    /// An empty or malformed URI, or a stage without a name.
    pub(crate) fn choose(
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
            (None, _) => return Ok(Self::Bundled),
        };
        Ok(match uri {
            ModelUri::Local(path) => Self::Local(path),
            remote => Self::Remote(remote),
        })
    }

    /// True when the source can point to another version later (stage, alias, latest).
    pub(crate) fn is_moving(&self) -> bool {
        matches!(self, Self::Remote(uri) if uri.is_moving())
    }
}

/// What `/version` and the model card say the bundled model's URI is.
pub(crate) const BUNDLED_URI: &str = "the bundled model";

/// The bundled model's name where a protocol needs one (it is `models/pokemon`).
pub(crate) const BUNDLED_NAME: &str = "pokemon";

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bundled => f.write_str(BUNDLED_URI),
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::Remote(u) => write!(f, "{u}"),
        }
    }
}

/// A model ready to serve, and where it came from: the one description of a loaded model,
/// read by every route, the metrics and hot reload.
#[derive(Debug)]
pub struct Served {
    /// The model.
    pub model: Model,
    /// What its directory says about it (MLmodel, metrics, importances).
    pub info: ModelInfo,
    /// The URI it was asked for.
    pub uri: String,
    /// What that URI pointed to when it was fetched (for a local directory: the directory).
    pub resolved: Resolved,
    /// When this process loaded it.
    pub loaded_at: SystemTime,
    /// The explanation background stored with it; `None`: the bundled data's
    /// ([`crate::explain::background_of`]).
    pub background: Option<crate::model::Background>,
    /// The monitoring reference stored with it, if any.
    pub profile: Option<std::sync::Arc<crate::monitor::Profile>>,
    /// What it has seen and said against its profile (set by `AppState::set_model` when
    /// monitoring is on and there is a profile).
    pub monitor: Option<crate::monitor::Monitor>,
}

/// Where the live model came from, as `/version`, `/model` and the web page's model card show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Provenance {
    /// The model URI the server was started with.
    pub uri: String,
    /// Registered model name, when served from the registry.
    pub name: Option<String>,
    /// Registered version, when served from the registry.
    pub version: Option<String>,
    /// Registry stage of that version (`Production`, ...), when known.
    pub stage: Option<String>,
    /// Aliases of that version (`champion`, ...).
    pub aliases: Vec<String>,
    /// The MLflow run that trained it.
    pub run_id: Option<String>,
    /// `model_uuid` from MLmodel.
    pub model_uuid: String,
    /// When the model was trained (`utc_time_created` from MLmodel).
    pub trained_at: String,
    /// When this server loaded it (RFC 3339).
    pub loaded_at: String,
    /// The MLmodel flavor served: `smartcore` or `sklearn`.
    pub flavor: String,
    /// A scikit-learn model's estimator class, version and serialization format.
    pub sklearn: Option<crate::model::SklearnInfo>,
}

impl Served {
    /// A model directory read from `uri`, which pointed to `resolved`; loaded now.
    pub fn new(dir: ModelDir, uri: impl Into<String>, resolved: Resolved) -> Self {
        Self {
            model: dir.model,
            info: dir.info,
            uri: uri.into(),
            resolved,
            loaded_at: SystemTime::now(),
            background: dir.background,
            profile: dir.profile.map(std::sync::Arc::new),
            monitor: None,
        }
    }

    /// Identity of the files it was read from: equal fingerprints, same model.
    pub(crate) fn fingerprint(&self) -> String {
        self.resolved.fingerprint()
    }

    /// Unix time of [`Served::loaded_at`], in seconds.
    pub fn loaded_at_unix(&self) -> f64 {
        self.loaded_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    /// Where it came from, for people and dashboards.
    pub(crate) fn provenance(&self) -> Provenance {
        let r = &self.resolved;
        Provenance {
            uri: self.uri.clone(),
            name: r.name.clone(),
            version: r.version.clone(),
            stage: r.stage.clone(),
            aliases: r.aliases.clone(),
            run_id: r.run_id.clone().or_else(|| self.info.run_id.clone()),
            model_uuid: self.info.model_uuid.clone(),
            trained_at: self.info.utc_time_created.clone(),
            loaded_at: humantime::format_rfc3339_seconds(self.loaded_at).to_string(),
            flavor: self.info.flavor.clone(),
            sklearn: self.info.sklearn.clone(),
        }
    }
}

/// Fetches the model a [`ModelSource`] names, with the MLflow client it needs.
#[derive(Debug)]
pub struct Fetcher {
    source: ModelSource,
    client: Option<MlflowClient>,
    sandbox: Sandbox,
}

impl Fetcher {
    /// A fetcher for `source`, whose models `sandbox` compiles; a remote source needs
    /// `tracking` (the registry to ask).
    ///
    /// # Errors
    /// A remote source without a tracking server, or a client that cannot be built.
    pub fn new(
        source: ModelSource,
        tracking: Option<&TrackingConfig>,
        sandbox: Sandbox,
    ) -> anyhow::Result<Self> {
        let client = match (&source, tracking) {
            (ModelSource::Local(_) | ModelSource::Bundled, _) => None,
            (ModelSource::Remote(_), Some(config)) => Some(MlflowClient::new(config)?),
            (ModelSource::Remote(_), None) => anyhow::bail!(
                "'{source}' needs MLFLOW_TRACKING_URI (the MLflow server to fetch it from)"
            ),
        };
        Ok(Self {
            source,
            client,
            sandbox,
        })
    }

    /// What this fetcher fetches.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    /// Resolves the source now: which files it points to (no download).
    ///
    /// # Errors
    /// Registry errors (model, stage, alias or version missing; transport).
    pub async fn resolve(&self) -> Result<Resolved, LoadError> {
        match (&self.source, &self.client) {
            (ModelSource::Local(path), _) => Ok(Resolved {
                artifact_uri: path.display().to_string(),
                ..Resolved::default()
            }),
            (ModelSource::Bundled, _) => Ok(Resolved {
                artifact_uri: "bundled:models/pokemon".to_owned(),
                ..Resolved::default()
            }),
            (ModelSource::Remote(uri), Some(client)) => {
                Ok(legendary_mlflow::resolve(client, uri).await?)
            }
            (ModelSource::Remote(_), None) => Err(LoadError::NoClient(self.source.to_string())),
        }
    }

    /// Downloads (when remote), validates and builds what `resolved` points to; the download
    /// gives up at `deadline`.
    ///
    /// # Errors
    /// Download failures, or files that are not a servable model.
    pub(crate) async fn fetch(
        &self,
        resolved: Resolved,
        deadline: Instant,
    ) -> Result<Served, LoadError> {
        let uri = self.source.to_string();
        match (&self.source, &self.client) {
            (ModelSource::Local(path), _) => {
                let dir = self.sandbox.compile(path, deadline).await?;
                Ok(Served::new(dir, uri, resolved))
            }
            (ModelSource::Bundled, _) => {
                let local = |what| move |cause| LoadError::Local { what, cause };
                let dir = tempfile::tempdir()
                    .map_err(local("creating a directory for the bundled model"))?;
                crate::embedded::write_model(dir.path())
                    .map_err(local("writing the bundled model"))?;
                let model = self.sandbox.compile(dir.path(), deadline).await?;
                Ok(Served::new(model, uri, resolved))
            }
            (_, Some(client)) => {
                fetch_resolved(client, &self.sandbox, uri, resolved, deadline).await
            }
            (_, None) => Err(LoadError::NoClient(uri)),
        }
    }

    /// Resolves and fetches once, all of it by `deadline`.
    ///
    /// # Errors
    /// Anything that stops the model from loading, or the deadline.
    pub async fn load(&self, deadline: Instant) -> Result<Served, LoadError> {
        // The download is bounded by `deadline` itself and says which file it was on; the
        // registry's answers are bounded here.
        let resolved = tokio::time::timeout_at(deadline, self.resolve())
            .await
            .map_err(|_| {
                let at = self
                    .client
                    .as_ref()
                    .map_or_else(String::new, |c| format!(" at {}", c.tracking_uri()));
                LoadError::ResolveDeadline {
                    at,
                    model: self.source.to_string(),
                }
            })??;
        self.fetch(resolved, deadline).await
    }

    /// Loads, retrying while the registry is unreachable, up to `deadline`. Errors that
    /// retrying cannot fix (model missing, stage empty, alias unknown, not a servable model)
    /// end it at once.
    ///
    /// # Errors
    /// The last error, naming the URI and the cause.
    pub(crate) async fn load_with_retry(&self, deadline: Duration) -> Result<Served, LoadError> {
        // The client's policy (backoff with jitter), bounded by the deadline, not a count.
        let policy = RetryPolicy {
            max_retries: u32::MAX,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
        };
        let started = Instant::now();
        let mut retry = 0;
        loop {
            let pause = policy.backoff(retry);
            match self.load(started + deadline).await {
                Ok(served) => return Ok(served),
                Err(e) if e.is_transient() && started.elapsed() + pause < deadline => {
                    tracing::warn!(model = %self.source, error = %format!("{e:#}"), retry_in = %humantime::format_duration(pause), "the registry is not answering; retrying");
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
                Err(e) if e.is_transient() => {
                    return Err(LoadError::GaveUp {
                        model: self.source.to_string(),
                        elapsed: started.elapsed(),
                        cause: Box::new(e),
                    });
                }
                Err(e) => {
                    return Err(LoadError::Refused {
                        model: self.source.to_string(),
                        cause: Box::new(e),
                    });
                }
            }
        }
    }
}

/// Fetches a registered version through `client` (the promotion gate's champion), compiled
/// by this binary's sandbox with the container's default limits.
///
/// # Errors
/// Registry, download and validation failures.
pub(crate) async fn fetch_version(
    client: &MlflowClient,
    name: &str,
    version: u64,
) -> Result<Served, LoadError> {
    let uri = ModelUri::Version {
        name: name.to_owned(),
        version,
    };
    fetch_uri(client, &uri).await
}

/// Resolves, downloads and validates the model at `uri` within the client's artifact
/// timeout (the gate's champion, a collected sweep's best run), compiled by this binary's
/// sandbox with the container's default limits.
///
/// # Errors
/// As [`Fetcher::load`].
pub(crate) async fn fetch_uri(client: &MlflowClient, uri: &ModelUri) -> Result<Served, LoadError> {
    let sandbox =
        Sandbox::this_binary(crate::sandbox::SandboxLimits::detect()).map_err(|cause| {
            LoadError::Local {
                what: "finding this binary to compile models with",
                cause,
            }
        })?;
    let resolved = legendary_mlflow::resolve(client, uri).await?;
    let deadline = Instant::now() + client.artifact_timeout();
    fetch_resolved(client, &sandbox, uri.to_string(), resolved, deadline).await
}

/// Downloads the files `resolved` points to into a temporary directory and compiles the
/// model in `sandbox`.
async fn fetch_resolved(
    client: &MlflowClient,
    sandbox: &Sandbox,
    uri: String,
    resolved: Resolved,
    deadline: Instant,
) -> Result<Served, LoadError> {
    let dir = tempfile::tempdir().map_err(|cause| LoadError::Local {
        what: "creating a download directory",
        cause,
    })?;
    legendary_mlflow::download_until(client, &resolved.artifact_uri, dir.path(), deadline).await?;
    let model_dir = sandbox
        .compile(dir.path(), deadline)
        .await
        .map_err(|cause| LoadError::NotServable {
            uri: resolved.artifact_uri.clone(),
            cause,
        })?;
    Ok(Served::new(model_dir, uri, resolved))
}
