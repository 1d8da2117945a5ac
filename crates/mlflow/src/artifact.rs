//! Artifact transfer: straight to the object store when the URI names one (`s3://`, `gs://`,
//! Azure; see [`crate::store`]), else through the tracking server's proxy
//! (`/api/2.0/mlflow-artifacts/artifacts`): upload a local directory, and list + download a
//! remote tree, refusing path traversal. Both kinds of download take the same limits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use crate::client::MlflowClient;
use crate::error::MlflowError;
use crate::store::path::{local_files, safe_components};
use crate::store::{Limits, MAX_FILES, ObjectUri, Store};

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
    /// [`MlflowError::NoArtifacts`] when nothing is there, [`MlflowError::UnsafePath`] for a
    /// listed name that would escape `dest_dir`, [`MlflowError::TooLarge`],
    /// [`MlflowError::Stalled`], [`MlflowError::TooManyFiles`], I/O, API and transport errors;
    /// from an object store, the same conditions as [`MlflowError::Store`].
    #[tracing::instrument(skip(self, dest_dir), err(level = "warn"))]
    pub async fn download_artifacts(
        &self,
        artifact_uri: &str,
        dest_dir: &Path,
        deadline: Instant,
    ) -> Result<Vec<PathBuf>, MlflowError> {
        if let Some(location) = ObjectUri::parse(artifact_uri)? {
            let store = Store::open(&self.stores, location)?;
            let limits = Limits {
                max_bytes: self.download_max_bytes,
                idle: self.download_idle_timeout,
                deadline,
            };
            return Ok(store.download_tree(dest_dir, limits).await?);
        }
        let root = proxy_path(artifact_uri)?;
        let mut budget = Budget {
            left: self.download_max_bytes,
            limit: self.download_max_bytes,
            idle: self.download_idle_timeout,
            deadline,
        };
        let mut written = Vec::new();
        let mut pending = vec![(root.clone(), PathBuf::new(), 0usize)];
        while let Some((remote, local, depth)) = pending.pop() {
            let listing = budget
                .before_deadline(&remote, self.list_artifacts(&remote))
                .await?;
            for entry in listing.files {
                // Names are relative to the listed directory; never trust them with the file system.
                let parts = safe_components(&entry.path)?;
                let remote_child = format!("{remote}/{}", parts.join("/"));
                let local_child: PathBuf = local.join(parts.iter().collect::<PathBuf>());
                if entry.is_dir {
                    if depth + 1 > MAX_DEPTH {
                        return Err(MlflowError::UnsafePath { path: remote_child });
                    }
                    pending.push((remote_child, local_child, depth + 1));
                } else {
                    if written.len() >= MAX_FILES {
                        return Err(MlflowError::TooManyFiles {
                            uri: artifact_uri.to_owned(),
                            limit: MAX_FILES,
                        });
                    }
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

    /// Streams one file to `dest` (through `dest.part`, renamed when complete), counting its
    /// bytes against `budget` as they arrive and giving up when none come for the idle timeout
    /// or the deadline passes.
    async fn download_file(
        &self,
        remote: &str,
        dest: &Path,
        budget: &mut Budget,
    ) -> Result<(), MlflowError> {
        let segments = safe_components(remote)?;
        let mut response = budget
            .before_deadline(remote, self.get_artifact(&segments))
            .await?;
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|error| MlflowError::io(parent, error))?;
        }
        let mut partial = dest.as_os_str().to_owned();
        partial.push(".part");
        let partial = PathBuf::from(partial);
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|error| MlflowError::io(&partial, error))?;
        let mut received = 0u64;
        loop {
            let chunk = match budget.next_chunk(&mut response).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(why) => {
                    drop(file);
                    let _ = tokio::fs::remove_file(&partial).await;
                    return Err(why.into_error(remote, received, self));
                }
            };
            received += chunk.len() as u64;
            if chunk.len() as u64 > budget.left {
                drop(file);
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(MlflowError::TooLarge {
                    what: remote.to_owned(),
                    limit: budget.limit,
                });
            }
            budget.left -= chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|error| MlflowError::io(&partial, error))?;
        }
        file.flush()
            .await
            .map_err(|error| MlflowError::io(&partial, error))?;
        drop(file);
        tokio::fs::rename(&partial, dest)
            .await
            .map_err(|error| MlflowError::io(dest, error))
    }
}

/// What one model download may still take: bytes, idle time per read, and a deadline.
struct Budget {
    left: u64,
    limit: u64,
    idle: Duration,
    deadline: Instant,
}

/// Why a read stopped early.
enum Stop {
    Idle(Duration),
    Deadline,
    Transport(reqwest::Error),
}

impl Stop {
    fn into_error(self, remote: &str, received: u64, client: &MlflowClient) -> MlflowError {
        let why = match self {
            Self::Idle(idle) => format!(
                "no bytes for {} (--download-idle-timeout)",
                humantime::format_duration(idle)
            ),
            Self::Deadline => "not finished by its deadline".to_owned(),
            Self::Transport(source) => {
                return MlflowError::Transport {
                    url: format!(
                        "{}api/2.0/mlflow-artifacts/artifacts/{remote}",
                        client.tracking_uri()
                    ),
                    attempts: 1,
                    source: source.without_url(),
                };
            }
        };
        MlflowError::Stalled {
            what: remote.to_owned(),
            why,
            received,
        }
    }
}

impl Budget {
    /// The next chunk of `response`, waiting at most the idle timeout and never past the
    /// deadline.
    async fn next_chunk(&self, response: &mut reqwest::Response) -> Result<Option<Bytes>, Stop> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let wait = self.idle.min(left);
        match tokio::time::timeout(wait, response.chunk()).await {
            Ok(Ok(chunk)) => Ok(chunk),
            Ok(Err(error)) => Err(Stop::Transport(error)),
            Err(_) if wait < self.idle => Err(Stop::Deadline),
            Err(_) => Err(Stop::Idle(self.idle)),
        }
    }

    /// Runs a request (listing, or the start of a download) unless the deadline passes first.
    async fn before_deadline<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = Result<T, MlflowError>>,
    ) -> Result<T, MlflowError> {
        tokio::time::timeout_at(self.deadline, call)
            .await
            .map_err(|_| MlflowError::Stalled {
                what: what.to_owned(),
                why: "no answer by its deadline".to_owned(),
                received: 0,
            })?
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
