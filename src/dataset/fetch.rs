//! A data package on an object store: `--data s3://bucket/pokemon/` is downloaded (streamed,
//! bounded, traversal-safe, as model downloads are) into a local directory, then read by the
//! same validating loader as a local package.

use std::path::Path;
use std::time::Duration;

use crate::store::{Limits, ObjectUri, Store, StoreConfig, StoreError};

/// Most bytes a data package may bring (the bundled one is about 90 KB).
const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Longest silence of the store while a file downloads.
const IDLE: Duration = Duration::from_secs(30);

/// Longest the whole download may take.
const DEADLINE: Duration = Duration::from_secs(600);

/// Downloads the data package at `uri` into `dest` when `uri` names an object store;
/// `Ok(false)` (nothing done) for a local path.
///
/// # Errors
/// The store's errors, naming the URI and the variable to set: missing credentials, access
/// denied, no such bucket, no files under the prefix, too large, stalled.
pub async fn fetch(uri: &str, config: &StoreConfig, dest: &Path) -> Result<bool, StoreError> {
    let Some(location) = ObjectUri::parse(uri)? else {
        return Ok(false);
    };
    let limits = Limits {
        max_bytes: MAX_BYTES,
        idle: IDLE,
        deadline: tokio::time::Instant::now() + DEADLINE,
    };
    Store::open(config, location)?
        .download_tree(dest, limits)
        .await?;
    Ok(true)
}

/// MLflow's `source_type` of a dataset read from `source`: the object store's scheme
/// (`s3`, `gs`, `wasbs`, …, as the Python client's artifact dataset sources name them), else
/// `local`.
pub fn source_type(source: &str) -> String {
    match ObjectUri::parse(source) {
        Ok(Some(_)) => source
            .split_once("://")
            .map_or("local", |(scheme, _)| scheme)
            .to_ascii_lowercase(),
        _ => "local".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_type_is_the_stores_scheme_or_local() {
        assert_eq!(source_type("s3://bucket/pokemon"), "s3");
        assert_eq!(source_type("gs://bucket/pokemon"), "gs");
        assert_eq!(
            source_type("abfss://c@acct.dfs.core.windows.net/pokemon"),
            "abfss"
        );
        assert_eq!(source_type("data/pokemon"), "local");
        assert_eq!(source_type("/abs/data/pokemon"), "local");
    }

    #[tokio::test]
    async fn a_local_path_is_left_alone() {
        let dest = tempfile::tempdir().unwrap();
        let fetched = fetch("data/pokemon", &StoreConfig::default(), dest.path())
            .await
            .unwrap();
        assert!(!fetched);
    }

    #[tokio::test]
    async fn an_object_store_without_credentials_is_named_before_any_request() {
        let dest = tempfile::tempdir().unwrap();
        let error = fetch("s3://bucket/pokemon/", &StoreConfig::default(), dest.path())
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("s3://bucket/pokemon"), "{error}");
        assert!(error.contains("AWS_ACCESS_KEY_ID"), "{error}");
    }
}
