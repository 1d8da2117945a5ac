//! `StoreError`: every way reading or writing an object store can fail, each naming the URI
//! and, where configuration can fix it, the variable to set. No message holds a secret:
//! what the server or the library said is scrubbed (see [`StoreConfig::scrub`]).

use std::path::PathBuf;

use object_store::client::{HttpError, HttpErrorKind};

use crate::store::config::StoreConfig;
use crate::store::path::UnsafePath;
use crate::store::uri::{Backend, ObjectUri};
use crate::transfer::TransferError;

/// A failed object-store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URI or the variables do not describe a usable store.
    #[error("{0}")]
    Config(String),

    /// The store refused the credentials or the operation.
    #[error("{uri}: access denied (check {hint})")]
    Denied {
        /// What was asked for.
        uri: String,
        /// The variables to check.
        hint: &'static str,
    },

    /// The bucket or container does not exist.
    #[error("{uri}: bucket or container `{bucket}` does not exist (check the artifact URI)")]
    NoBucket {
        /// What was asked for.
        uri: String,
        /// The bucket or container.
        bucket: String,
    },

    /// The object does not exist.
    #[error("{uri}: no such object")]
    NotFound {
        /// The object.
        uri: String,
    },

    /// The prefix (or the local directory to upload) holds no file.
    #[error("no artifacts found at `{uri}`")]
    NoFiles {
        /// The prefix or directory.
        uri: String,
    },

    /// The store could not be reached (connection refused, DNS, TLS, timeout) after retries.
    #[error("{uri}: cannot reach the object store (check {hint}): {message}")]
    Unreachable {
        /// What was asked for.
        uri: String,
        /// The variables to check.
        hint: &'static str,
        /// What failed, scrubbed.
        message: String,
    },

    /// Any other answer of the store, scrubbed.
    #[error("{uri}: {message}")]
    Other {
        /// What was asked for.
        uri: String,
        /// What the store or the library said.
        message: String,
    },

    /// A download past its bounds (too large, stalled, too many files), a name that would
    /// escape its directory, or the local file.
    #[error(transparent)]
    Transfer(#[from] TransferError),
}

impl StoreError {
    /// An I/O failure on `path`, naming it.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TransferError::io(path, source).into()
    }

    /// True when trying again later may succeed (the store was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. } | Self::Transfer(TransferError::Stalled { .. })
        )
    }

    /// Classifies what `object_store` said about `uri` (an object or a prefix of `location`).
    pub(crate) fn from_store(
        error: object_store::Error,
        location: &ObjectUri,
        uri: String,
        config: &StoreConfig,
    ) -> Self {
        let message = config.scrub(&describe(&error));
        // Listings come back as `Generic` whatever the status: read it from the message too.
        let status = |code: &str| message.contains(&format!("status code: {code}"));
        let denied = matches!(
            error,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || status("401")
            || status("403");
        let not_found = matches!(error, object_store::Error::NotFound { .. }) || status("404");
        if denied {
            Self::Denied {
                uri,
                hint: credential_hint(&location.backend, &message),
            }
        } else if not_found
            && (message.contains("NoSuchBucket") || message.contains("ContainerNotFound"))
        {
            Self::NoBucket {
                uri,
                bucket: bucket(&location.backend).to_owned(),
            }
        } else if not_found {
            Self::NotFound { uri }
        } else if unreachable(&error) {
            Self::Unreachable {
                uri,
                hint: endpoint_hint(&location.backend),
                message,
            }
        } else {
            Self::Other { uri, message }
        }
    }
}

/// The bucket or container of `backend`.
fn bucket(backend: &Backend) -> &str {
    match backend {
        Backend::S3 { bucket } | Backend::Gcs { bucket } => bucket,
        Backend::Azure { container, .. } => container,
    }
}

/// Which variable a refusal points to. S3 servers say which half of the key pair is wrong
/// (`SignatureDoesNotMatch` / Garage's "Invalid signature": the secret; `InvalidAccessKeyId`
/// / "No such key": the id); otherwise both, and the session token.
fn credential_hint(backend: &Backend, message: &str) -> &'static str {
    let lower = message.to_ascii_lowercase();
    match backend {
        Backend::S3 { .. } if lower.contains("signature") => "AWS_SECRET_ACCESS_KEY",
        Backend::S3 { .. }
            if lower.contains("invalidaccesskeyid") || lower.contains("no such key") =>
        {
            "AWS_ACCESS_KEY_ID"
        }
        Backend::S3 { .. } => "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN",
        Backend::Gcs { .. } => "GOOGLE_APPLICATION_CREDENTIALS",
        Backend::Azure { .. } => "AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY",
    }
}

/// Which variable points at the server when it cannot be reached.
fn endpoint_hint(backend: &Backend) -> &'static str {
    match backend {
        Backend::S3 { .. } => "MLFLOW_S3_ENDPOINT_URL, MLFLOW_S3_IGNORE_TLS and AWS_CA_BUNDLE",
        Backend::Gcs { .. } => "the network path to storage.googleapis.com",
        Backend::Azure { .. } => {
            "the account in the URI or BlobEndpoint in AZURE_STORAGE_CONNECTION_STRING"
        }
    }
}

/// True when the request never got an answer: connecting, sending or waiting failed.
fn unreachable(error: &object_store::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(http) = current.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            );
        }
        source = current.source();
    }
    false
}

/// The error and its causes on one line (object_store's outer messages hide the reason).
fn describe(error: &object_store::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(current) = source {
        let part = current.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = current.source();
    }
    text
}

impl From<UnsafePath> for StoreError {
    fn from(path: UnsafePath) -> Self {
        TransferError::from(path).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3() -> ObjectUri {
        ObjectUri::parse("s3://models/mlflow").unwrap().unwrap()
    }

    fn classify(error: object_store::Error) -> StoreError {
        let config = StoreConfig {
            aws_secret_access_key: Some(crate::store::Secret::new("s3-SECRET-1")),
            ..StoreConfig::default()
        };
        StoreError::from_store(error, &s3(), "s3://models/mlflow/x".to_owned(), &config)
    }

    fn boxed(text: &str) -> Box<dyn std::error::Error + Send + Sync> {
        text.into()
    }

    #[test]
    fn a_wrong_secret_names_the_uri_and_the_variable_and_hides_the_secret() {
        let error = classify(object_store::Error::PermissionDenied {
            path: "mlflow/x".to_owned(),
            source: boxed("403 Forbidden: SignatureDoesNotMatch, signed with s3-SECRET-1"),
        });
        assert_eq!(
            error.to_string(),
            "s3://models/mlflow/x: access denied (check AWS_SECRET_ACCESS_KEY)"
        );
        let error = classify(object_store::Error::PermissionDenied {
            path: "mlflow/x".to_owned(),
            source: boxed("AccessDenied: Forbidden: No such key: GK123"),
        });
        assert!(error.to_string().ends_with("(check AWS_ACCESS_KEY_ID)"));
    }

    #[test]
    fn a_missing_bucket_is_told_apart_from_a_missing_object() {
        let error = classify(object_store::Error::NotFound {
            path: "mlflow/x".to_owned(),
            source: boxed("<Code>NoSuchBucket</Code>"),
        });
        assert!(matches!(error, StoreError::NoBucket { ref bucket, .. } if bucket == "models"));
        let error = classify(object_store::Error::NotFound {
            path: "mlflow/x".to_owned(),
            source: boxed("<Code>NoSuchKey</Code>"),
        });
        assert!(matches!(error, StoreError::NotFound { .. }));
        assert!(!error.is_transient());
    }

    #[test]
    fn a_refused_listing_is_classified_by_its_status() {
        let error = classify(object_store::Error::Generic {
            store: "S3",
            source: boxed(
                "Error performing list request: Server returned non-2xx status code: \
                 403 Forbidden: <Code>AccessDenied</Code><Message>Forbidden: Invalid signature",
            ),
        });
        assert_eq!(
            error.to_string(),
            "s3://models/mlflow/x: access denied (check AWS_SECRET_ACCESS_KEY)"
        );
        let error = classify(object_store::Error::Generic {
            store: "S3",
            source: boxed("status code: 404 Not Found: <Code>NoSuchBucket</Code>"),
        });
        assert!(matches!(error, StoreError::NoBucket { .. }), "{error}");
    }

    #[test]
    fn other_answers_are_quoted_without_secrets() {
        let error = classify(object_store::Error::Generic {
            store: "S3",
            source: boxed("500 with s3-SECRET-1 echoed"),
        });
        let text = error.to_string();
        assert!(text.starts_with("s3://models/mlflow/x: "), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
