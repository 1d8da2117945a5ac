//! Data that lives elsewhere: `--data s3://bucket/pokemon/` (a package, or one CSV object) is
//! downloaded with the object store (streamed, bounded, traversal-safe, as model downloads
//! are), `--data https://host/pokemon-cleaned.csv` or `…/datapackage.json` (with the files it
//! lists) over HTTP within the same bounds, into a local directory read by the same loaders.

use std::path::Path;
use std::time::Duration;

use legendary_mlflow::store::path::safe_components;
use legendary_mlflow::store::{ObjectUri, Store, StoreConfig, StoreError};
use legendary_mlflow::transfer::{Budget, Limits, StreamError};

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
    if is_http(uri) {
        fetch_http(uri, dest).await?;
        return Ok(true);
    }
    let Some(location) = ObjectUri::parse(uri)? else {
        return Ok(false);
    };
    Store::open(config, location)?
        .download_tree(dest, limits())
        .await?;
    Ok(true)
}

/// The bounds of one data download, from now.
fn limits() -> Limits {
    Limits {
        max_bytes: MAX_BYTES,
        idle: IDLE,
        deadline: tokio::time::Instant::now() + DEADLINE,
    }
}

fn is_http(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// One file, or a `datapackage.json` and every resource and schema it names (relative paths
/// only, each checked like an artifact name), all within one budget of [`MAX_BYTES`],
/// [`IDLE`] and [`DEADLINE`].
async fn fetch_http(uri: &str, dest: &Path) -> Result<(), StoreError> {
    let config = |message: String| StoreError::Config(format!("{uri}: {message}"));
    let url = url::Url::parse(uri).map_err(|error| config(format!("not a URL: {error}")))?;
    let name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| config("names no file (a .csv or datapackage.json)".to_owned()))?
        .to_owned();
    let http = reqwest::Client::builder()
        .timeout(DEADLINE)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|error| config(format!("cannot build the HTTP client: {error}")))?;
    let mut budget = Budget::new(limits());
    download(&http, &url, &dest.join(&name), &mut budget).await?;
    if name != "datapackage.json" {
        return Ok(());
    }
    let text = std::fs::read(dest.join(&name)).map_err(|e| StoreError::io(dest.join(&name), e))?;
    let descriptor: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|error| config(format!("not a data package descriptor: {error}")))?;
    let mut files: Vec<String> = Vec::new();
    for resource in descriptor["resources"].as_array().into_iter().flatten() {
        for key in ["path", "schema"] {
            if let Some(path) = resource[key].as_str()
                && !files.iter().any(|f| f == path)
            {
                files.push(path.to_owned());
            }
        }
    }
    for file in files {
        let local: std::path::PathBuf = safe_components(&file)?.iter().collect();
        let child = url
            .join(&file)
            .map_err(|error| config(format!("`{file}`: {error}")))?;
        budget.count_file(uri)?;
        download(&http, &child, &dest.join(local), &mut budget).await?;
    }
    Ok(())
}

/// Saves `url` as `dest` through the one bounded transfer.
async fn download(
    http: &reqwest::Client,
    url: &url::Url,
    dest: &Path,
    budget: &mut Budget,
) -> Result<(), StoreError> {
    let what = url.as_str().to_owned();
    let failed = |error: reqwest::Error| StoreError::Unreachable {
        uri: what.clone(),
        hint: "the URL",
        message: error.without_url().to_string(),
    };
    let response = budget
        .before_deadline(&what, http.get(url.clone()).send())
        .await?
        .map_err(failed)?;
    match response.status() {
        status if status.is_success() => {}
        reqwest::StatusCode::NOT_FOUND => return Err(StoreError::NotFound { uri: what }),
        status => {
            return Err(StoreError::Other {
                uri: what,
                message: format!("HTTP {status}"),
            });
        }
    }
    budget
        .save(response.bytes_stream(), &what, dest)
        .await
        .map_err(|error| match error {
            StreamError::Transfer(error) => error.into(),
            StreamError::Source { error, .. } => failed(error),
        })
}

/// MLflow's `source_type` of a dataset read from `source`: `http` for a URL, the object
/// store's scheme (`s3`, `gs`, `wasbs`, …, as the Python client's artifact dataset sources
/// name them), else `local`.
pub fn source_type(source: &str) -> String {
    if source == super::EMBEDDED_SOURCE {
        return "code".to_owned();
    }
    if is_http(source) {
        return "http".to_owned();
    }
    match ObjectUri::parse(source) {
        Ok(Some(_)) => source
            .split_once("://")
            .map_or("local", |(scheme, _)| scheme)
            .to_ascii_lowercase(),
        _ => "local".to_owned(),
    }
}

/// MLflow's `source` JSON of a dataset read from `source`: `{"url": …}` for HTTP (as the
/// Python client's `HTTPDatasetSource` writes it), the embedded package as its
/// `CodeDatasetSource` writes data made by code (`{"tags": …}`), `{"uri": …}` otherwise.
pub fn source_json(source: &str) -> String {
    if source == super::EMBEDDED_SOURCE {
        let name = format!("legendary {}", env!("CARGO_PKG_VERSION"));
        return serde_json::json!({ "tags": {
            "mlflow.source.name": name,
            "mlflow.source.type": "LOCAL",
            "legendary.data": super::EMBEDDED_SOURCE,
        }})
        .to_string();
    }
    let key = if is_http(source) { "url" } else { "uri" };
    serde_json::json!({ key: source }).to_string()
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
        assert_eq!(source_type("https://host/pokemon-cleaned.csv"), "http");
        assert_eq!(source_json("http://h/p.csv"), r#"{"url":"http://h/p.csv"}"#);
        assert_eq!(source_json("s3://b/p/"), r#"{"uri":"s3://b/p/"}"#);
        assert_eq!(source_type("/abs/data/pokemon"), "local");
        // The embedded copy is not a path that exists where the run trained.
        assert_eq!(source_type(crate::dataset::EMBEDDED_SOURCE), "code");
        let code: serde_json::Value =
            serde_json::from_str(&source_json(crate::dataset::EMBEDDED_SOURCE)).unwrap();
        assert_eq!(
            code["tags"]["mlflow.source.name"],
            format!("legendary {}", env!("CARGO_PKG_VERSION"))
        );
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
