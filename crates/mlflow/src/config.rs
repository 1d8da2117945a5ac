//! `TrackingConfig`: where the MLflow server is and how to talk to it, read from the same
//! environment variables MLflow's Python client reads. Its `Debug` never shows secrets.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::error::MlflowError;
use crate::retry::RetryPolicy;
pub use crate::store::Secret;
use crate::store::StoreConfig;

/// The default per-request timeout (MLflow's own default is 120 s; a registry poll should give up sooner).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default timeout of one artifact upload or download (whole body included).
pub(crate) const DEFAULT_ARTIFACT_TIMEOUT: Duration = Duration::from_secs(600);

/// The default cap on one model download: the bundled model directory is about 2 MB, the
/// pod's `/tmp` is a 256 Mi emptyDir; 192 MiB leaves room for models a hundred times larger.
pub const DEFAULT_DOWNLOAD_MAX_BYTES: u64 = 192 * 1024 * 1024;

/// The default read-idle timeout of downloads.
pub const DEFAULT_DOWNLOAD_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>` (`MLFLOW_TRACKING_TOKEN`).
    Bearer(Secret),
    /// HTTP basic auth (`MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`).
    Basic {
        /// The user name (not secret).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Auth {
    /// What a request carries of these credentials, each as a server could echo it back: the
    /// token, or the password and the `base64(user:password)` of the `Basic` header.
    pub(crate) fn secrets(&self) -> Vec<String> {
        use base64::Engine as _;
        match self {
            Self::Bearer(token) => vec![token.expose().to_owned()],
            Self::Basic { username, password } => vec![
                password.expose().to_owned(),
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose())),
            ],
        }
    }
}

/// Everything needed to build an [`MlflowClient`](crate::MlflowClient).
#[derive(Clone, Debug)]
pub struct TrackingConfig {
    /// The server's base URI, `http` or `https`, without credentials, always ending in `/`.
    pub tracking_uri: Url,
    /// Credentials, if any.
    pub auth: Option<Auth>,
    /// Accept any TLS certificate (`MLFLOW_TRACKING_INSECURE_TLS=true`).
    pub insecure_tls: bool,
    /// A PEM bundle of CA certificates to trust (`MLFLOW_TRACKING_SERVER_CERT_PATH`).
    pub server_cert_path: Option<PathBuf>,
    /// Per-request timeout (`MLFLOW_HTTP_REQUEST_TIMEOUT`, seconds).
    pub timeout: Duration,
    /// Per-file timeout of artifact transfers (`MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT`, seconds).
    pub artifact_timeout: Duration,
    /// Most bytes one model download may bring, all files together (`--download-max-bytes`).
    pub download_max_bytes: u64,
    /// A download that sends nothing for this long is abandoned (`--download-idle-timeout`).
    pub download_idle_timeout: Duration,
    /// Retries on connection errors, 429 and 5xx.
    pub retry: RetryPolicy,
    /// Object stores that runs' artifact URIs may name (`s3://`, `gs://`, Azure), reached
    /// directly rather than through the server's proxy.
    pub stores: StoreConfig,
}

impl TrackingConfig {
    /// A configuration for `uri` with no credentials and default timeout and retries.
    ///
    /// # Errors
    /// [`MlflowError::Config`] if `uri` is not an `http(s)` URL.
    pub fn new(uri: &str) -> Result<Self, MlflowError> {
        let (tracking_uri, auth) = parse_tracking_uri(uri)?;
        Ok(Self {
            tracking_uri,
            auth,
            insecure_tls: false,
            server_cert_path: None,
            timeout: DEFAULT_TIMEOUT,
            artifact_timeout: DEFAULT_ARTIFACT_TIMEOUT,
            download_max_bytes: DEFAULT_DOWNLOAD_MAX_BYTES,
            download_idle_timeout: DEFAULT_DOWNLOAD_IDLE_TIMEOUT,
            retry: RetryPolicy::default(),
            stores: StoreConfig::default(),
        })
    }

    /// Reads MLflow's variables through `lookup` (the process environment is read only by
    /// the binary's `config::Env`), the object-store ones too (see [`StoreConfig::from_lookup`]);
    /// `Ok(None)` when `MLFLOW_TRACKING_URI` is unset or empty.
    ///
    /// # Errors
    /// [`MlflowError::Config`] for a non-http URI, half-given credentials, unparsable numbers
    /// or a bad object-store variable.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, MlflowError> {
        let get = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        let Some(uri) = get("MLFLOW_TRACKING_URI") else {
            return Ok(None);
        };
        let mut config = Self::new(uri.trim())?;
        // Same precedence as MLflow's Python client: basic auth first, then the bearer token.
        match (
            get("MLFLOW_TRACKING_USERNAME"),
            get("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(username), Some(password)) => {
                config.auth = Some(Auth::Basic {
                    username,
                    password: Secret::new(password),
                });
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(MlflowError::Config(
                    "set both MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or neither"
                        .to_owned(),
                ));
            }
            (None, None) => {
                if let Some(token) = get("MLFLOW_TRACKING_TOKEN") {
                    config.auth = Some(Auth::Bearer(Secret::new(token)));
                }
            }
        }
        if let Some(value) = get("MLFLOW_TRACKING_INSECURE_TLS") {
            config.insecure_tls = parse_bool("MLFLOW_TRACKING_INSECURE_TLS", &value)?;
        }
        config.server_cert_path = get("MLFLOW_TRACKING_SERVER_CERT_PATH").map(PathBuf::from);
        if config.insecure_tls && config.server_cert_path.is_some() {
            return Err(MlflowError::Config(
                "MLFLOW_TRACKING_INSECURE_TLS=true and MLFLOW_TRACKING_SERVER_CERT_PATH cannot both be set"
                    .to_owned(),
            ));
        }
        if let Some(value) = get("MLFLOW_HTTP_REQUEST_TIMEOUT") {
            config.timeout =
                Duration::from_secs_f64(parse_positive("MLFLOW_HTTP_REQUEST_TIMEOUT", &value)?);
        }
        if let Some(value) = get("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT") {
            let seconds = parse_positive("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", &value)?;
            config.artifact_timeout = Duration::from_secs_f64(seconds);
        }
        if let Some(value) = get("MLFLOW_HTTP_REQUEST_MAX_RETRIES") {
            config.retry.max_retries = value.trim().parse().map_err(|_| {
                MlflowError::Config(format!(
                    "MLFLOW_HTTP_REQUEST_MAX_RETRIES must be a whole number, got `{value}`"
                ))
            })?;
        }
        config.stores = StoreConfig::from_lookup(&lookup)
            .map_err(|error| MlflowError::Config(error.to_string()))?;
        // One setting for both: a whole artifact file within the artifact timeout, and as
        // many retries as MLflow's own requests get.
        config.stores.request_timeout = config.artifact_timeout;
        config.stores.max_retries = config.retry.max_retries as usize;
        Ok(Some(config))
    }
}

/// Checks the scheme, moves `user:password@` out of the URL into basic auth, and adds the
/// trailing `/` that makes `Url::join` append instead of replacing the last segment.
fn parse_tracking_uri(uri: &str) -> Result<(Url, Option<Auth>), MlflowError> {
    let mut url = Url::parse(uri).map_err(|error| {
        MlflowError::Config(format!("MLFLOW_TRACKING_URI `{uri}` is not a URL: {error}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        // Never echo the URI whole here: it may carry a password.
        return Err(MlflowError::Config(format!(
            "MLFLOW_TRACKING_URI must be an http(s):// server URL, got scheme `{}`",
            url.scheme()
        )));
    }
    let auth = match (url.username(), url.password()) {
        ("", None) => None,
        (username, password) => Some(Auth::Basic {
            username: username.to_owned(),
            password: Secret::new(password.unwrap_or_default()),
        }),
    };
    // Both setters only fail for URLs that cannot have a host, excluded above.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok((url, auth))
}

fn parse_bool(key: &str, value: &str) -> Result<bool, MlflowError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(MlflowError::Config(format!(
            "{key} must be true or false, got `{value}`"
        ))),
    }
}

fn parse_positive(key: &str, value: &str) -> Result<f64, MlflowError> {
    match value.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(MlflowError::Config(format!(
            "{key} must be a positive number of seconds, got `{value}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Option<TrackingConfig>, MlflowError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TrackingConfig::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn no_tracking_uri_means_no_config() {
        assert!(config(&[]).unwrap().is_none());
        assert!(config(&[("MLFLOW_TRACKING_URI", " ")]).unwrap().is_none());
    }

    #[test]
    fn the_tracking_uri_gets_a_trailing_slash_so_joins_append() {
        let config = config(&[("MLFLOW_TRACKING_URI", "http://mlflow:5000/prefix")])
            .unwrap()
            .unwrap();
        assert_eq!(config.tracking_uri.as_str(), "http://mlflow:5000/prefix/");
        assert_eq!(
            config
                .tracking_uri
                .join("api/2.0/mlflow/runs/get")
                .unwrap()
                .as_str(),
            "http://mlflow:5000/prefix/api/2.0/mlflow/runs/get"
        );
    }

    #[test]
    fn non_http_tracking_uris_are_refused() {
        for uri in [
            "file:///tmp/mlruns",
            "databricks",
            "sqlite:///mlflow.db",
            "./mlruns",
        ] {
            let error = config(&[("MLFLOW_TRACKING_URI", uri)]).unwrap_err();
            assert!(matches!(error, MlflowError::Config(_)), "{uri}: {error}");
        }
    }

    #[test]
    fn debug_never_prints_the_token_or_the_password() {
        let bearer = config(&[
            ("MLFLOW_TRACKING_URI", "https://mlflow.example"),
            ("MLFLOW_TRACKING_TOKEN", "tok-SECRET-123"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            bearer.auth,
            Some(Auth::Bearer(Secret::new("tok-SECRET-123")))
        );
        assert!(!format!("{bearer:?}").contains("SECRET"));

        let basic = config(&[
            ("MLFLOW_TRACKING_URI", "https://mlflow.example"),
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", "pw-SECRET-456"),
            ("MLFLOW_TRACKING_TOKEN", "tok-SECRET-123"),
        ])
        .unwrap()
        .unwrap();
        let debug = format!("{basic:?}");
        assert!(debug.contains("alice"));
        assert!(!debug.contains("SECRET"), "{debug}");
    }

    #[test]
    fn credentials_in_the_uri_become_basic_auth_and_leave_the_url() {
        let config = config(&[("MLFLOW_TRACKING_URI", "http://bob:pw-SECRET@127.0.0.1:5000")])
            .unwrap()
            .unwrap();
        assert_eq!(config.tracking_uri.as_str(), "http://127.0.0.1:5000/");
        assert!(matches!(config.auth, Some(Auth::Basic { ref username, .. }) if username == "bob"));
        assert!(!format!("{config:?}").contains("SECRET"));
    }

    #[test]
    fn half_given_basic_credentials_are_an_error() {
        let error = config(&[
            ("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"),
            ("MLFLOW_TRACKING_USERNAME", "alice"),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("MLFLOW_TRACKING_PASSWORD"));
    }

    #[test]
    fn tls_timeout_and_retry_settings_are_read() {
        let config = config(&[
            ("MLFLOW_TRACKING_URI", "https://mlflow.example"),
            ("MLFLOW_TRACKING_INSECURE_TLS", "TRUE"),
            ("MLFLOW_HTTP_REQUEST_TIMEOUT", "2.5"),
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"),
            ("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", "60"),
        ])
        .unwrap()
        .unwrap();
        assert!(config.insecure_tls);
        assert_eq!(config.timeout, Duration::from_millis(2500));
        assert_eq!(config.retry.max_retries, 0);
        assert_eq!(config.artifact_timeout, Duration::from_secs(60));

        let both = self::config(&[
            ("MLFLOW_TRACKING_URI", "https://mlflow.example"),
            ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
            ("MLFLOW_TRACKING_SERVER_CERT_PATH", "ca.pem"),
        ]);
        assert!(both.is_err());
        assert!(
            self::config(&[
                ("MLFLOW_TRACKING_URI", "https://mlflow.example"),
                ("MLFLOW_HTTP_REQUEST_TIMEOUT", "-1"),
            ])
            .is_err()
        );
    }
}
