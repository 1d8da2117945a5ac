//! Artifact URIs that name an object store: `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `wasbs://container@account.blob.core.windows.net/prefix` and `abfss://…` (also the plain
//! `wasb://` / `abfs://`). Anything else (`mlflow-artifacts:`, a local path) is not ours.

use std::fmt;

use crate::store::error::StoreError;
use crate::store::path::safe_components;

/// Which service, and the bucket or container in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// AWS S3 or an S3-compatible server (MinIO, Garage: `MLFLOW_S3_ENDPOINT_URL`).
    S3 {
        /// The bucket.
        bucket: String,
    },
    /// Google Cloud Storage.
    Gcs {
        /// The bucket.
        bucket: String,
    },
    /// Azure Blob Storage (ADLS Gen2 accounts too: their blob endpoint serves the same data).
    Azure {
        /// The container.
        container: String,
        /// The storage account.
        account: String,
        /// The host as the URI gives it, e.g. `acct.blob.core.windows.net`.
        host: String,
        /// The scheme as given (`wasbs`, `wasb`, `abfss`, `abfs`), kept for messages.
        scheme: &'static str,
    },
}

/// An object-store artifact location: the store and the key prefix under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectUri {
    /// The store.
    pub backend: Backend,
    /// Keys under this prefix (no leading or trailing `/`; empty: the whole bucket).
    pub prefix: String,
}

impl ObjectUri {
    /// Parses `uri`; `Ok(None)` when it names no object store (the proxy, a local path).
    ///
    /// # Errors
    /// [`StoreError::Config`] for an object-store URI without a bucket, a malformed Azure
    /// authority, or a prefix with `.`/`..`/empty components.
    pub fn parse(uri: &str) -> Result<Option<Self>, StoreError> {
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(None);
        };
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(
            scheme.as_str(),
            "s3" | "gs" | "wasbs" | "wasb" | "abfss" | "abfs"
        ) {
            return Ok(None);
        }
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bad = |why: &str| StoreError::Config(format!("artifact URI `{uri}`: {why}"));
        if authority.is_empty() {
            return Err(bad("no bucket or container"));
        }
        let backend = match scheme.as_str() {
            "s3" => Backend::S3 {
                bucket: authority.to_owned(),
            },
            "gs" => Backend::Gcs {
                bucket: authority.to_owned(),
            },
            "wasbs" => azure(authority, "wasbs").ok_or_else(|| bad(AZURE_SHAPE))?,
            "wasb" => azure(authority, "wasb").ok_or_else(|| bad(AZURE_SHAPE))?,
            "abfss" => azure(authority, "abfss").ok_or_else(|| bad(AZURE_SHAPE))?,
            "abfs" => azure(authority, "abfs").ok_or_else(|| bad(AZURE_SHAPE))?,
            _ => return Ok(None),
        };
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            safe_components(prefix).map_err(|_| bad("empty, `.` or `..` path components"))?;
        }
        Ok(Some(Self {
            backend,
            prefix: prefix.to_owned(),
        }))
    }

    /// The URI of `relative` under this location (for messages and for MLflow).
    pub fn join(&self, relative: &str) -> String {
        let relative = relative.trim_matches('/');
        let mut uri = self.to_string();
        if !relative.is_empty() {
            if !self.prefix.is_empty() {
                uri.push('/');
            }
            uri.push_str(relative);
        }
        uri
    }

    /// The store's own URI, without the prefix (`s3://bucket`).
    pub fn root(&self) -> String {
        Self {
            backend: self.backend.clone(),
            prefix: String::new(),
        }
        .to_string()
    }
}

const AZURE_SHAPE: &str = "expected `container@account.blob.core.windows.net`";

/// `container@account.host…` → the Azure backend.
fn azure(authority: &str, scheme: &'static str) -> Option<Backend> {
    let (container, host) = authority.split_once('@')?;
    let account = host.split('.').next()?;
    if container.is_empty() || account.is_empty() || !host.contains('.') {
        return None;
    }
    Some(Backend::Azure {
        container: container.to_owned(),
        account: account.to_owned(),
        host: host.to_owned(),
        scheme,
    })
}

impl fmt::Display for ObjectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::S3 { bucket } => write!(f, "s3://{bucket}/")?,
            Backend::Gcs { bucket } => write!(f, "gs://{bucket}/")?,
            Backend::Azure {
                container,
                host,
                scheme,
                ..
            } => write!(f, "{scheme}://{container}@{host}/")?,
        }
        f.write_str(&self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str) -> ObjectUri {
        ObjectUri::parse(uri).unwrap().unwrap()
    }

    #[test]
    fn s3_and_gcs_uris_give_the_bucket_and_the_prefix() {
        let s3 = parse("s3://models/mlflow/1/abc/artifacts/");
        assert_eq!(
            s3.backend,
            Backend::S3 {
                bucket: "models".to_owned()
            }
        );
        assert_eq!(s3.prefix, "mlflow/1/abc/artifacts");
        assert_eq!(s3.to_string(), "s3://models/mlflow/1/abc/artifacts");
        assert_eq!(s3.join("model"), "s3://models/mlflow/1/abc/artifacts/model");
        assert_eq!(s3.root(), "s3://models/");

        let gs = parse("gs://team-bucket");
        assert_eq!(
            gs.backend,
            Backend::Gcs {
                bucket: "team-bucket".to_owned()
            }
        );
        assert_eq!(gs.prefix, "");
        assert_eq!(gs.join("MLmodel"), "gs://team-bucket/MLmodel");
    }

    #[test]
    fn azure_uris_give_container_account_and_host() {
        for (uri, scheme) in [
            (
                "wasbs://models@acct.blob.core.windows.net/mlflow/1",
                "wasbs",
            ),
            ("abfss://models@acct.dfs.core.windows.net/mlflow/1", "abfss"),
            ("wasb://models@acct.blob.core.windows.net/mlflow/1", "wasb"),
        ] {
            let parsed = parse(uri);
            let Backend::Azure {
                container,
                account,
                scheme: got,
                ..
            } = &parsed.backend
            else {
                panic!("{uri}: {parsed:?}");
            };
            assert_eq!((container.as_str(), account.as_str()), ("models", "acct"));
            assert_eq!(*got, scheme);
            assert_eq!(parsed.prefix, "mlflow/1");
            assert_eq!(parsed.to_string(), uri);
        }
    }

    #[test]
    fn other_schemes_are_not_object_stores() {
        for uri in [
            "mlflow-artifacts:/1/abc/artifacts",
            "mlflow-artifacts://host:5000/1/abc",
            "/tmp/mlruns/1",
            "runs:/abc/model",
            "file:///tmp/x",
            "http://example.com/x",
        ] {
            assert!(ObjectUri::parse(uri).unwrap().is_none(), "{uri}");
        }
    }

    #[test]
    fn malformed_object_store_uris_are_errors_naming_the_uri() {
        for uri in [
            "s3://",
            "s3:///key",
            "gs://b/../etc",
            "s3://b/a//c",
            "wasbs://acct.blob.core.windows.net/x",
            "abfss://@acct.dfs.core.windows.net/x",
            "wasbs://c@localhost/x",
        ] {
            let error = ObjectUri::parse(uri).unwrap_err().to_string();
            assert!(error.contains(uri), "{uri}: {error}");
        }
    }
}
