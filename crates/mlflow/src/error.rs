//! `MlflowError`: every way a call to the tracking server or the model registry can fail.

use std::path::PathBuf;

use reqwest::StatusCode;

use crate::store::StoreError;
use crate::store::path::UnsafePath;
use crate::transfer::TransferError;

/// A failed MLflow call, model-URI resolution or artifact transfer.
///
/// The resolution variants (`ModelNotFound`, `StageEmpty`, `AliasNotFound`, `VersionNotFound`)
/// name what was asked for, so that a start-up error tells the operator what to fix.
#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    /// The environment or the arguments do not describe a usable tracking server.
    #[error("invalid MLflow tracking configuration: {0}")]
    Config(String),

    /// The server answered with a non-success status (an MLflow error body when it sent one).
    #[error("MLflow {endpoint} failed with HTTP {status}: {error_code}: {message}")]
    Api {
        /// The REST endpoint, e.g. `registered-models/get-latest-versions`.
        endpoint: String,
        /// The HTTP status of the last attempt.
        status: StatusCode,
        /// MLflow's `error_code`, e.g. `RESOURCE_DOES_NOT_EXIST` (empty if the body had none).
        error_code: String,
        /// MLflow's `message`, or the start of a non-JSON body; scrubbed of credentials.
        message: String,
    },

    /// The server could not be reached (connection refused, timeout, TLS) after every retry.
    #[error(
        "could not reach the MLflow server at {url} after {attempts} attempt(s): {}",
        describe(source)
    )]
    Transport {
        /// The URL of the request, without credentials or query string.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: reqwest::Error,
    },

    /// A success answer whose body is not the JSON the endpoint documents.
    #[error("MLflow {endpoint} answered with an unexpected body: {message}")]
    Decode {
        /// The REST endpoint.
        endpoint: String,
        /// Why the body did not decode, scrubbed (serde quotes the values it could not use).
        message: String,
    },

    /// The registered model does not exist.
    #[error("registered model `{name}` does not exist in the MLflow registry")]
    ModelNotFound {
        /// The model name that was asked for.
        name: String,
    },

    /// The registered model exists but has no version in the requested stage.
    #[error("registered model `{name}` has no version in stage `{stage}`")]
    StageEmpty {
        /// The model name.
        name: String,
        /// The stage that was asked for, as MLflow spells it.
        stage: String,
    },

    /// The registered model exists but has no such alias.
    #[error("registered model `{name}` has no alias `{alias}`")]
    AliasNotFound {
        /// The model name.
        name: String,
        /// The alias that was asked for.
        alias: String,
    },

    /// The registered model exists but the version does not (or the model has no versions).
    #[error("registered model `{name}` has no version {version}")]
    VersionNotFound {
        /// The model name.
        name: String,
        /// The version that was asked for (`latest` when the model has no version at all).
        version: String,
    },

    /// The run does not exist.
    #[error("MLflow run `{run_id}` does not exist")]
    RunNotFound {
        /// The run id that was asked for.
        run_id: String,
    },

    /// The experiment exists but was deleted (MLflow refuses new runs in it).
    #[error("MLflow experiment `{name}` is deleted; restore it or pick another name")]
    ExperimentDeleted {
        /// The experiment name.
        name: String,
    },

    /// A new model version did not become `READY` in time (or failed registration).
    #[error("model version {name}/{version} is {status}, not READY, after {waited_ms} ms")]
    VersionNotReady {
        /// The model name.
        name: String,
        /// The version.
        version: String,
        /// The last status seen, e.g. `PENDING_REGISTRATION` or `FAILED_REGISTRATION`.
        status: String,
        /// How long we polled.
        waited_ms: u128,
    },

    /// The artifact location holds no file.
    #[error("no artifacts found at `{uri}`")]
    NoArtifacts {
        /// The artifact URI that was listed.
        uri: String,
    },

    /// An artifact URI this client cannot download from (e.g. `hdfs://`, or a local path).
    #[error(
        "unsupported artifact URI `{uri}`: only `mlflow-artifacts:/` (the tracking server's proxy), \
         `s3://`, `gs://`, `wasbs://` and `abfss://` are supported"
    )]
    UnsupportedArtifactUri {
        /// The URI.
        uri: String,
    },

    /// A download or an answer of the server past its bounds: too large (sizes the server
    /// declares are not trusted: this is counted as the bytes arrive), stalled, too many
    /// files, a name that would escape its directory, or the local file.
    #[error(transparent)]
    Transfer(#[from] TransferError),

    /// A run search that matched more runs than the caller can use.
    #[error("more than {limit} runs match `{filter}`")]
    TooManyRuns {
        /// The search filter.
        filter: String,
        /// The limit.
        limit: usize,
    },

    /// A model directory's `MLmodel` could not be read or rewritten before logging.
    #[error("cannot log the model directory: {message}")]
    ModelDir {
        /// What went wrong, with the file's path.
        message: String,
    },

    /// Reading or writing an object store (`s3://`, `gs://`, Azure) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MlflowError {
    /// The MLflow `error_code` if this is an API error, e.g. `RESOURCE_ALREADY_EXISTS`.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { error_code, .. } => Some(error_code),
            _ => None,
        }
    }

    /// True for a server answer saying the thing asked for does not exist (HTTP 404).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// True for MLflow 2's artifact proxy answering a file that is not there: HTTP 500 with
    /// the server's `[Errno 2] No such file or directory` (MLflow 3 answers 404).
    pub(crate) fn is_missing_file(&self) -> bool {
        matches!(self, Self::Api { status, message, .. }
            if *status == StatusCode::INTERNAL_SERVER_ERROR
                && message.contains("No such file or directory"))
    }

    /// True when trying again later may succeed: the server was unreachable, rate-limited or
    /// failing (5xx). Not-found and validation errors are permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Store(error) => matches!(error, StoreError::Unreachable { .. }),
            Self::Api { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            _ => false,
        }
    }

    /// True for a transfer that stopped sending or ran out of time (proxy or object store).
    pub fn is_stalled(&self) -> bool {
        matches!(
            self,
            Self::Transfer(TransferError::Stalled { .. })
                | Self::Store(StoreError::Transfer(TransferError::Stalled { .. }))
        )
    }

    /// An I/O failure on `path`, naming it.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TransferError::io(path, source).into()
    }
}

impl From<UnsafePath> for MlflowError {
    fn from(path: UnsafePath) -> Self {
        TransferError::from(path).into()
    }
}

/// reqwest's own message ("error sending request") hides the reason; add the root cause.
fn describe(error: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = error;
    while let Some(next) = root.source() {
        root = next;
    }
    let (outer, inner) = (error.to_string(), root.to_string());
    if outer == inner {
        outer
    } else {
        format!("{outer} ({inner})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_names_endpoint_status_code_and_message() {
        let error = MlflowError::Api {
            endpoint: "registered-models/get".to_owned(),
            status: StatusCode::NOT_FOUND,
            error_code: "RESOURCE_DOES_NOT_EXIST".to_owned(),
            message: "Registered Model with name=x not found".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "MLflow registered-models/get failed with HTTP 404 Not Found: \
             RESOURCE_DOES_NOT_EXIST: Registered Model with name=x not found"
        );
        assert!(error.is_not_found());
        assert!(!error.is_transient());
        assert_eq!(error.error_code(), Some("RESOURCE_DOES_NOT_EXIST"));
    }

    #[test]
    fn resolution_errors_name_what_was_asked_for() {
        let stage = MlflowError::StageEmpty {
            name: "pokemon".to_owned(),
            stage: "Production".to_owned(),
        };
        assert_eq!(
            stage.to_string(),
            "registered model `pokemon` has no version in stage `Production`"
        );
        let alias = MlflowError::AliasNotFound {
            name: "pokemon".to_owned(),
            alias: "champion".to_owned(),
        };
        assert!(alias.to_string().contains("`champion`"));
        assert!(!alias.is_transient());
    }
}
