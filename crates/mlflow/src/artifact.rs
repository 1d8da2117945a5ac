//! Artifact transfer: straight to the object store when the URI names one (`s3://`, `gs://`,
//! Azure; see [`crate::store`]), else through the tracking server's proxy
//! (`/api/2.0/mlflow-artifacts/artifacts`): upload a local directory, and list + download a
//! remote tree, refusing path traversal. Both kinds of download go through the one bounded
//! transfer ([`crate::transfer`]).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::time::Instant;

use crate::client::MlflowClient;
use crate::error::MlflowError;
use crate::store::path::{UnsafePath, local_files, safe_components};
use crate::store::{ObjectUri, Store};
use crate::transfer::{Budget, Limits, StreamError};

/// Bounds that keep a hostile or broken listing from running forever.
const MAX_DEPTH: usize = 32;

/// The proxy path of an `mlflow-artifacts:` URI: `mlflow-artifacts:/1/abc/artifacts` → `1/abc/artifacts`.
///
/// # Errors
/// [`MlflowError::UnsupportedArtifactUri`] for any other scheme (`s3://`, `runs:/`, a local path).
pub(crate) fn proxy_path(artifact_uri: &str) -> Result<String, MlflowError> {
    let unsupported = || MlflowError::UnsupportedArtifactUri {
        uri: artifact_uri.to_owned(),
    };
    let rest = artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .ok_or_else(unsupported)?;
    let path = match rest.strip_prefix("//") {
        // `mlflow-artifacts://host:port/path`: the tracking server we talk to is the proxy.
        Some(authority_and_path) => authority_and_path
            .split_once('/')
            .map_or("", |(_, path)| path),
        None => rest,
    };
    let path = path.trim_matches('/');
    safe_components(path)?;
    Ok(path.to_owned())
}

impl MlflowClient {
    /// Uploads every file under `local_dir` to `<artifact_uri>/<sub_path>/…` (e.g. a run's
    /// `mlflow-artifacts:/4/<run>/artifacts` or `s3://bucket/mlflow/4/<run>/artifacts`, and
    /// `model`). Returns the uploaded relative paths.
    ///
    /// # Errors
    /// [`MlflowError::UnsupportedArtifactUri`] for a scheme that is neither the proxy nor an
    /// object store; [`MlflowError::Store`] for the store's refusals and local reads; API and
    /// transport errors of the proxy.
    #[tracing::instrument(skip(self, local_dir), err(level = "warn"))]
    pub async fn upload_dir(
        &self,
        artifact_uri: &str,
        sub_path: &str,
        local_dir: &Path,
    ) -> Result<Vec<String>, MlflowError> {
        if let Some(location) = ObjectUri::parse(artifact_uri)? {
            let store = Store::open(&self.stores, location)?;
            return Ok(store.upload_dir(sub_path, local_dir).await?);
        }
        let root = proxy_path(artifact_uri)?;
        let sub = sub_path.trim_matches('/');
        let mut base: Vec<&str> = safe_components(&root)?;
        if !sub.is_empty() {
            base.extend(safe_components(sub)?);
        }
        let files = local_files(local_dir).await?;
        let mut uploaded = Vec::with_capacity(files.len());
        for relative in files {
            let path = local_dir.join(&relative);
            let content = tokio::fs::read(&path)
                .await
                .map_err(|error| MlflowError::io(&path, error))?;
            let mut segments = base.clone();
            segments.extend(safe_components(&relative)?);
            self.put_artifact(&segments, Bytes::from(content)).await?;
            uploaded.push(relative);
        }
        tracing::info!(files = uploaded.len(), "uploaded artifacts");
        Ok(uploaded)
    }

    /// Checks, before anything is logged, that an object store named by `artifact_root` (an
    /// experiment's artifact location) can be opened and listed with the configured
    /// credentials; the proxy is checked by the first upload instead. Write permission shows
    /// only at the upload.
    ///
    /// # Errors
    /// [`MlflowError::Store`]: missing credentials, access denied, no such bucket, unreachable.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn check_artifact_root(&self, artifact_root: &str) -> Result<(), MlflowError> {
        if let Some(location) = ObjectUri::parse(artifact_root)? {
            Store::open(&self.stores, location)?.check().await?;
        }
        Ok(())
    }

    /// Downloads the tree at `artifact_uri` into `dest_dir`; returns the files written (relative).
    /// All files together may bring at most `download_max_bytes`, each read may wait at most
    /// `download_idle_timeout`, and nothing runs past `deadline`.
    ///
    /// # Errors
    /// [`MlflowError::NoArtifacts`] when nothing is there, [`MlflowError::Transfer`] for a
    /// listed name that would escape `dest_dir`, a download past its bounds and local I/O;
    /// API and transport errors; from an object store, the same conditions as
    /// [`MlflowError::Store`].
    #[tracing::instrument(skip(self, dest_dir), err(level = "warn"))]
    pub async fn download_artifacts(
        &self,
        artifact_uri: &str,
        dest_dir: &Path,
        deadline: Instant,
    ) -> Result<Vec<PathBuf>, MlflowError> {
        let limits = Limits {
            max_bytes: self.download_max_bytes,
            idle: self.download_idle_timeout,
            deadline,
        };
        if let Some(location) = ObjectUri::parse(artifact_uri)? {
            let store = Store::open(&self.stores, location)?;
            return Ok(store.download_tree(dest_dir, limits).await?);
        }
        let root = proxy_path(artifact_uri)?;
        let mut budget = Budget::new(limits);
        let mut written = Vec::new();
        let mut pending = vec![(root.clone(), PathBuf::new(), 0usize)];
        while let Some((remote, local, depth)) = pending.pop() {
            let listing = budget
                .before_deadline(&remote, self.list_artifacts(&remote))
                .await??;
            for entry in listing.files {
                // Names are relative to the listed directory; never trust them with the file system.
                let parts = safe_components(&entry.path)?;
                let remote_child = format!("{remote}/{}", parts.join("/"));
                let local_child: PathBuf = local.join(parts.iter().collect::<PathBuf>());
                if entry.is_dir {
                    if depth + 1 > MAX_DEPTH {
                        return Err(UnsafePath(remote_child).into());
                    }
                    pending.push((remote_child, local_child, depth + 1));
                } else {
                    budget.count_file(artifact_uri)?;
                    self.download_file(&remote_child, &dest_dir.join(&local_child), &mut budget)
                        .await?;
                    written.push(local_child);
                }
            }
        }
        if written.is_empty() {
            // An empty listing also means "this is a file": MLflow lists files as `{}`.
            let name = root.rsplit('/').next().unwrap_or(&root).to_owned();
            match self
                .download_file(&root, &dest_dir.join(&name), &mut budget)
                .await
            {
                Ok(()) => written.push(PathBuf::from(name)),
                // MLflow 2's proxy answers a missing file with a 500 quoting the OS error.
                Err(error) if error.is_not_found() || error.is_missing_file() => {
                    return Err(MlflowError::NoArtifacts {
                        uri: artifact_uri.to_owned(),
                    });
                }
                Err(error) => return Err(error),
            }
        }
        written.sort();
        Ok(written)
    }

    /// Saves one file as `dest`, within the budget.
    async fn download_file(
        &self,
        remote: &str,
        dest: &Path,
        budget: &mut Budget,
    ) -> Result<(), MlflowError> {
        let segments = safe_components(remote)?;
        let response = budget
            .before_deadline(remote, self.get_artifact(&segments))
            .await??;
        budget
            .save(response.bytes_stream(), remote, dest)
            .await
            .map_err(|error| match error {
                StreamError::Transfer(error) => error.into(),
                StreamError::Source { error, .. } => MlflowError::Transport {
                    url: format!(
                        "{}api/2.0/mlflow-artifacts/artifacts/{remote}",
                        self.tracking_uri()
                    ),
                    attempts: 1,
                    source: error.without_url(),
                },
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_paths_strip_the_scheme_and_any_host() {
        assert_eq!(
            proxy_path("mlflow-artifacts:/1/abc/artifacts").unwrap(),
            "1/abc/artifacts"
        );
        assert_eq!(
            proxy_path("mlflow-artifacts://h:5000/1/abc/artifacts/").unwrap(),
            "1/abc/artifacts"
        );
        for uri in [
            "s3://b/k",
            "runs:/abc/model",
            "/tmp/x",
            "mlflow-artifacts:/",
            "mlflow-artifacts:/1/../../etc",
        ] {
            assert!(proxy_path(uri).is_err(), "{uri}");
        }
    }
}
