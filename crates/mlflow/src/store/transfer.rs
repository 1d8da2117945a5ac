//! Moving trees between a local directory and an object-store prefix. Uploads stream each
//! file (one PUT when small, a multipart upload when large); downloads list the prefix, then
//! save each object through the one bounded transfer ([`crate::transfer`]), as proxy
//! downloads do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt as _;
use object_store::buffered::BufWriter;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _};
use tokio::io::AsyncWriteExt as _;

use crate::store::config::StoreConfig;
use crate::store::error::StoreError;
use crate::store::open::open;
use crate::store::path::{local_files, safe_components};
use crate::store::uri::ObjectUri;
use crate::transfer::{Budget, Limits, StreamError};

/// An opened object-store location: the client and the prefix its keys live under.
#[derive(Clone, Debug)]
pub struct Store {
    client: Arc<dyn ObjectStore>,
    location: ObjectUri,
    config: Arc<StoreConfig>,
}

impl Store {
    /// Opens the store that `location` names (no request is made yet).
    ///
    /// # Errors
    /// [`StoreError::Config`] for missing credentials and other unusable configuration.
    pub fn open(config: &StoreConfig, location: ObjectUri) -> Result<Self, StoreError> {
        Ok(Self {
            client: open(config, &location)?,
            location,
            config: Arc::new(config.clone()),
        })
    }

    /// Lists (at most one key of) the location: the credentials, the bucket and the endpoint
    /// are checked with one request, nothing is written.
    ///
    /// # Errors
    /// The store's refusals ([`StoreError::Denied`], [`StoreError::NoBucket`],
    /// [`StoreError::Unreachable`], …).
    pub async fn check(&self) -> Result<(), StoreError> {
        let prefix: Key = self.prefix_parts().iter().map(String::as_str).collect();
        match self.client.list(Some(&prefix)).next().await {
            Some(Err(error)) => Err(self.error(error, &self.location.to_string())),
            Some(Ok(_)) | None => Ok(()),
        }
    }

    /// Uploads every file under `local_dir` to `<location>/<sub_path>/…`; returns the relative
    /// paths uploaded.
    ///
    /// # Errors
    /// [`StoreError::NoFiles`] for an empty directory, [`StoreError::Io`] reading it, and the
    /// store's refusals ([`StoreError::Denied`], [`StoreError::NoBucket`], …).
    pub async fn upload_dir(
        &self,
        sub_path: &str,
        local_dir: &Path,
    ) -> Result<Vec<String>, StoreError> {
        let sub = sub_path.trim_matches('/');
        let mut base = self.prefix_parts();
        if !sub.is_empty() {
            base.extend(safe_components(sub)?.into_iter().map(str::to_owned));
        }
        let files = local_files(local_dir).await?;
        for relative in &files {
            let mut parts = base.clone();
            parts.extend(safe_components(relative)?.into_iter().map(str::to_owned));
            let key: Key = parts.iter().map(String::as_str).collect();
            self.upload_file(&local_dir.join(relative), key).await?;
        }
        tracing::info!(files = files.len(), to = %self.location.join(sub), "uploaded artifacts");
        Ok(files)
    }

    /// Downloads every object under the location into `dest_dir` (or, when the location is a
    /// single object, that object as `dest_dir/<name>`); returns the relative paths written.
    ///
    /// # Errors
    /// [`StoreError::NoFiles`] when nothing is there, [`StoreError::UnsafePath`] for a key
    /// that would escape `dest_dir`, [`StoreError::TooLarge`], [`StoreError::Stalled`],
    /// [`StoreError::TooManyFiles`], I/O errors and the store's refusals.
    pub async fn download_tree(
        &self,
        dest_dir: &Path,
        limits: Limits,
    ) -> Result<Vec<PathBuf>, StoreError> {
        let prefix: Key = self.prefix_parts().iter().map(String::as_str).collect();
        let mut budget = Budget::new(limits);
        let mut listing = self.client.list(Some(&prefix));
        let mut written = Vec::new();
        while let Some(meta) = budget
            .before_deadline(&self.location.to_string(), listing.next())
            .await?
        {
            let meta = meta.map_err(|error| self.error(error, &self.location.to_string()))?;
            let Some(parts) = meta.location.prefix_match(&prefix) else {
                continue;
            };
            let relative = parts
                .map(|part| part.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join("/");
            let local: PathBuf = safe_components(&relative)?.iter().collect();
            budget.count_file(&self.location.to_string())?;
            self.download_file(&meta.location, &dest_dir.join(&local), &mut budget)
                .await?;
            written.push(local);
        }
        if written.is_empty() {
            written.push(self.download_single(&prefix, dest_dir, &mut budget).await?);
        }
        written.sort();
        tracing::info!(files = written.len(), from = %self.location, "downloaded artifacts");
        Ok(written)
    }

    /// Writes `parts`, one after the other, as the object `<location>/<relative>` in one PUT
    /// (the parts are not copied into one buffer): for small files written whole, such as the
    /// batches of a log.
    ///
    /// # Errors
    /// [`StoreError::UnsafePath`] for a name that would leave the location, and the store's
    /// refusals ([`StoreError::Denied`], [`StoreError::NoBucket`], …).
    pub async fn put(&self, relative: &str, parts: Vec<bytes::Bytes>) -> Result<(), StoreError> {
        let key = self.key(relative)?;
        let uri = self.uri_of(&key);
        self.client
            .put(&key, object_store::PutPayload::from_iter(parts))
            .await
            .map(|_| ())
            .map_err(|error| self.error(error, &uri))
    }

    /// The object `<location>/<relative>`, read whole when it is at most `max_bytes`;
    /// `None` when there is none.
    ///
    /// # Errors
    /// An object larger than `max_bytes` ([`StoreError::Other`]), an unsafe name, and the
    /// store's refusals.
    pub async fn get_small(
        &self,
        relative: &str,
        max_bytes: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.key(relative)?;
        let uri = self.uri_of(&key);
        let answer = match self.client.get(&key).await {
            Ok(answer) => answer,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => {
                return match self.error(error, &uri) {
                    StoreError::NotFound { .. } => Ok(None),
                    other => Err(other),
                };
            }
        };
        if answer.meta.size > max_bytes {
            return Err(StoreError::Other {
                uri,
                message: format!(
                    "{} bytes, more than the {max_bytes} read here",
                    answer.meta.size
                ),
            });
        }
        let bytes = answer
            .bytes()
            .await
            .map_err(|error| self.error(error, &uri))?;
        Ok(Some(bytes.to_vec()))
    }

    /// The key of `relative` under the location, each part checked.
    fn key(&self, relative: &str) -> Result<Key, StoreError> {
        let mut parts = self.prefix_parts();
        parts.extend(safe_components(relative)?.into_iter().map(str::to_owned));
        Ok(parts.iter().map(String::as_str).collect())
    }

    /// The location itself as one object (`runs:/…/model.json`-style URIs name a file).
    async fn download_single(
        &self,
        key: &Key,
        dest_dir: &Path,
        budget: &mut Budget,
    ) -> Result<PathBuf, StoreError> {
        let no_files = || StoreError::NoFiles {
            uri: self.location.to_string(),
        };
        let name = key.filename().ok_or_else(no_files)?.to_owned();
        let local = PathBuf::from(safe_components(&name)?.concat());
        match self
            .download_file(key, &dest_dir.join(&local), budget)
            .await
        {
            Ok(()) => Ok(local),
            Err(StoreError::NotFound { .. }) => Err(no_files()),
            Err(error) => Err(error),
        }
    }

    fn prefix_parts(&self) -> Vec<String> {
        if self.location.prefix.is_empty() {
            return Vec::new();
        }
        self.location.prefix.split('/').map(str::to_owned).collect()
    }

    fn uri_of(&self, key: &Key) -> String {
        self.location.root() + key.as_ref()
    }

    fn error(&self, error: object_store::Error, uri: &str) -> StoreError {
        StoreError::from_store(error, &self.location, uri.to_owned(), &self.config)
    }

    /// Streams one local file to `key`; a store error comes back through the writer as an
    /// `io::Error` wrapping `object_store::Error`, told apart from a local read error here.
    async fn upload_file(&self, path: &Path, key: Key) -> Result<(), StoreError> {
        let uri = self.uri_of(&key);
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|error| StoreError::io(path, error))?;
        let mut writer = BufWriter::new(Arc::clone(&self.client), key);
        let copied = tokio::io::copy(&mut file, &mut writer).await;
        let result = match copied {
            Ok(_) => writer.shutdown().await,
            Err(error) => {
                let _ = writer.abort().await;
                Err(error)
            }
        };
        result.map_err(|error| match into_store_error(error) {
            Ok(store_error) => self.error(store_error, &uri),
            Err(local) => StoreError::io(path, local),
        })
    }

    /// Saves one object as `dest`, within the budget.
    async fn download_file(
        &self,
        key: &Key,
        dest: &Path,
        budget: &mut Budget,
    ) -> Result<(), StoreError> {
        let uri = self.uri_of(key);
        let answer = budget
            .before_deadline(&uri, self.client.get(key))
            .await?
            .map_err(|error| self.error(error, &uri))?;
        budget
            .save(answer.into_stream(), &uri, dest)
            .await
            .map_err(|error| match error {
                StreamError::Transfer(error) => error.into(),
                StreamError::Source { error, .. } => self.error(error, &uri),
            })
    }
}

/// The `object_store::Error` inside an `io::Error` from the upload writer, or the local
/// error back.
fn into_store_error(error: std::io::Error) -> Result<object_store::Error, std::io::Error> {
    if !error
        .get_ref()
        .is_some_and(|inner| inner.is::<object_store::Error>())
    {
        return Err(error);
    }
    match error
        .into_inner()
        .map(|inner| inner.downcast::<object_store::Error>())
    {
        Some(Ok(inner)) => Ok(*inner),
        _ => Err(std::io::Error::other("upload failed")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::Secret;

    #[tokio::test]
    async fn an_unreachable_endpoint_is_named_with_the_variable_to_check() {
        // A port nobody listens on: bind one, then let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap();
        let config = StoreConfig {
            s3_endpoint: Some(format!("http://127.0.0.1:{port}")),
            aws_access_key_id: Some("id".to_owned()),
            aws_secret_access_key: Some(Secret::new("s3-SECRET-1")),
            max_retries: 0,
            ..StoreConfig::default()
        };
        let location = ObjectUri::parse("s3://models/mlflow/1").unwrap().unwrap();
        let store = Store::open(&config, location).unwrap();
        let error = store.check().await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(
            text.starts_with("s3://models/mlflow/1: cannot reach"),
            "{text}"
        );
        assert!(text.contains("MLFLOW_S3_ENDPOINT_URL"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");

        let dest = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_bytes: 1024,
            idle: Duration::from_secs(5),
            deadline: tokio::time::Instant::now() + Duration::from_secs(5),
        };
        let error = store.download_tree(dest.path(), limits).await.unwrap_err();
        assert!(matches!(error, StoreError::Unreachable { .. }), "{error}");
    }
}
