//! `StoreConfig`: how to reach object stores, from the same variables MLflow's Python client
//! (boto3, google-cloud-storage, azure-storage-blob) reads. Its `Debug` never shows a secret,
//! and [`StoreConfig::scrub`] removes them from any text that leaves the process.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::redact::Redactor;
use crate::store::error::StoreError;

/// A secret string (token, password, key). `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it goes on the wire.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The region when `AWS_DEFAULT_REGION` is unset (boto3's default for S3 too).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Everything needed to open an `s3://`, `gs://` or Azure store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `MLFLOW_S3_ENDPOINT_URL`: an S3-compatible server (MinIO, Garage); path-style addressing.
    pub s3_endpoint: Option<String>,
    /// `AWS_ACCESS_KEY_ID` (an identifier, not a secret).
    pub aws_access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub aws_secret_access_key: Option<Secret>,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub aws_session_token: Option<Secret>,
    /// `AWS_DEFAULT_REGION`, else [`DEFAULT_REGION`].
    pub aws_region: String,
    /// `MLFLOW_S3_IGNORE_TLS=true`: accept any certificate from the S3 endpoint.
    pub s3_ignore_tls: bool,
    /// `AWS_CA_BUNDLE`: a PEM bundle of CA certificates to trust for S3.
    pub aws_ca_bundle: Option<PathBuf>,
    /// `GOOGLE_APPLICATION_CREDENTIALS`: a service-account (or authorized-user) JSON file.
    pub google_credentials: Option<PathBuf>,
    /// `AZURE_STORAGE_CONNECTION_STRING` (it holds the account key or a SAS token).
    pub azure_connection_string: Option<Secret>,
    /// `AZURE_STORAGE_ACCESS_KEY`: the account key.
    pub azure_access_key: Option<Secret>,
    /// The longest one request (a whole file) may take.
    pub request_timeout: Duration,
    /// Retries of a failed request (connection errors, 5xx, 429), with backoff.
    pub max_retries: usize,
    /// No retry starts after this long from the first attempt.
    pub retry_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            s3_endpoint: None,
            aws_access_key_id: None,
            aws_secret_access_key: None,
            aws_session_token: None,
            aws_region: DEFAULT_REGION.to_owned(),
            s3_ignore_tls: false,
            aws_ca_bundle: None,
            google_credentials: None,
            azure_connection_string: None,
            azure_access_key: None,
            request_timeout: Duration::from_secs(600),
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
        }
    }
}

impl StoreConfig {
    /// Reads the variables through `lookup` (the process environment is read only by
    /// the binary's `config::Env`); blank values count as unset.
    ///
    /// # Errors
    /// [`StoreError::Config`] for an `MLFLOW_S3_ENDPOINT_URL` that is not an http(s) URL or
    /// an `MLFLOW_S3_IGNORE_TLS` that is not a boolean.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StoreError> {
        let get = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        let secret = |key: &str| get(key).map(|value| Secret(value.trim().to_owned()));
        let mut config = Self {
            s3_endpoint: get("MLFLOW_S3_ENDPOINT_URL").map(|url| url.trim().to_owned()),
            aws_access_key_id: get("AWS_ACCESS_KEY_ID").map(|id| id.trim().to_owned()),
            aws_secret_access_key: secret("AWS_SECRET_ACCESS_KEY"),
            aws_session_token: secret("AWS_SESSION_TOKEN"),
            aws_ca_bundle: get("AWS_CA_BUNDLE").map(PathBuf::from),
            google_credentials: get("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from),
            azure_connection_string: secret("AZURE_STORAGE_CONNECTION_STRING"),
            azure_access_key: secret("AZURE_STORAGE_ACCESS_KEY"),
            ..Self::default()
        };
        if let Some(region) = get("AWS_DEFAULT_REGION") {
            config.aws_region = region.trim().to_owned();
        }
        if let Some(endpoint) = &config.s3_endpoint {
            let scheme_ok = url::Url::parse(endpoint)
                .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
            if !scheme_ok {
                return Err(StoreError::Config(format!(
                    "MLFLOW_S3_ENDPOINT_URL must be an http(s):// URL, got `{endpoint}`"
                )));
            }
        }
        if let Some(value) = get("MLFLOW_S3_IGNORE_TLS") {
            config.s3_ignore_tls = match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(StoreError::Config(format!(
                        "MLFLOW_S3_IGNORE_TLS must be true or false, got `{value}`"
                    )));
                }
            };
        }
        Ok(config)
    }

    /// `text` with every secret of this configuration, and anything shaped like a credential,
    /// replaced by `***` (by [`crate::redact`]): for messages built from what a server or a
    /// library said, which we do not control.
    pub fn scrub(&self, text: &str) -> String {
        Redactor::new(self.secrets()).scrub(text)
    }

    /// Every secret of this configuration, including the key or signature inside an Azure
    /// connection string (a message may quote that part alone).
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let mut secrets: Vec<&str> = [
            &self.aws_secret_access_key,
            &self.aws_session_token,
            &self.azure_access_key,
        ]
        .into_iter()
        .flatten()
        .map(Secret::expose)
        .collect();
        if let Some(connection) = &self.azure_connection_string {
            secrets.push(connection.expose());
            secrets.extend(
                azure_connection_parts(connection.expose())
                    .filter(|(key, _)| {
                        key.eq_ignore_ascii_case("AccountKey")
                            || key.eq_ignore_ascii_case("SharedAccessSignature")
                    })
                    .map(|(_, value)| value),
            );
        }
        secrets
    }
}

/// The `Key=Value` pairs of an Azure connection string (values may contain `=`).
pub(crate) fn azure_connection_parts(connection: &str) -> impl Iterator<Item = (&str, &str)> {
    connection
        .split(';')
        .filter_map(|part| part.trim().split_once('='))
        .map(|(key, value)| (key.trim(), value.trim()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<StoreConfig, StoreError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        StoreConfig::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn mlflows_s3_variables_are_read_with_boto3s_default_region() {
        let config = config(&[
            ("MLFLOW_S3_ENDPOINT_URL", "http://minio:9000"),
            ("AWS_ACCESS_KEY_ID", "minio"),
            ("AWS_SECRET_ACCESS_KEY", "s3-SECRET-1"),
            ("AWS_SESSION_TOKEN", "tok-SECRET-2"),
            ("MLFLOW_S3_IGNORE_TLS", "true"),
            ("AWS_CA_BUNDLE", "ca.pem"),
        ])
        .unwrap();
        assert_eq!(config.s3_endpoint.as_deref(), Some("http://minio:9000"));
        assert_eq!(config.aws_access_key_id.as_deref(), Some("minio"));
        assert_eq!(config.aws_region, "us-east-1");
        assert!(config.s3_ignore_tls);
        assert_eq!(config.aws_ca_bundle, Some(PathBuf::from("ca.pem")));
        let debug = format!("{config:?}");
        assert!(debug.contains("minio"), "{debug}");
        assert!(!debug.contains("SECRET"), "{debug}");
    }

    #[test]
    fn gcs_and_azure_variables_are_read_and_never_shown() {
        let config = config(&[
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/secrets/sa.json"),
            (
                "AZURE_STORAGE_CONNECTION_STRING",
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=az-SECRET-3==;EndpointSuffix=core.windows.net",
            ),
            ("AZURE_STORAGE_ACCESS_KEY", "az-SECRET-4"),
        ])
        .unwrap();
        assert_eq!(config.aws_region, "eu-west-3");
        assert_eq!(
            config.google_credentials,
            Some(PathBuf::from("/secrets/sa.json"))
        );
        assert!(config.azure_connection_string.is_some());
        assert!(!format!("{config:?}").contains("SECRET"));
    }

    #[test]
    fn bad_endpoint_or_tls_values_are_errors_naming_the_variable() {
        let error = config(&[("MLFLOW_S3_ENDPOINT_URL", "minio:9000")]).unwrap_err();
        assert!(
            error.to_string().contains("MLFLOW_S3_ENDPOINT_URL"),
            "{error}"
        );
        let error = config(&[("MLFLOW_S3_IGNORE_TLS", "maybe")]).unwrap_err();
        assert!(
            error.to_string().contains("MLFLOW_S3_IGNORE_TLS"),
            "{error}"
        );
        assert!(
            !config(&[("MLFLOW_S3_IGNORE_TLS", "0")])
                .unwrap()
                .s3_ignore_tls
        );
    }

    #[test]
    fn scrub_removes_every_secret_and_the_key_inside_a_connection_string() {
        let config = config(&[
            ("AWS_SECRET_ACCESS_KEY", "s3-SECRET-1"),
            (
                "AZURE_STORAGE_CONNECTION_STRING",
                "AccountName=acct;AccountKey=az-SECRET-3==",
            ),
        ])
        .unwrap();
        let text = config.scrub("signed with s3-SECRET-1 and az-SECRET-3== for acct");
        assert_eq!(text, "signed with *** and *** for acct");
    }
}
