//! From an [`ObjectUri`] and the [`StoreConfig`] to a client of that store (`object_store`'s
//! S3, GCS or Azure implementation), with our timeouts and retries. Missing credentials are
//! refused here, before any request: without them `object_store` would ask a cloud metadata
//! service, which on a laptop or a test machine only times out.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::{BackoffConfig, Certificate, ClientOptions, ObjectStore, RetryConfig};

use crate::store::config::{StoreConfig, azure_connection_parts};
use crate::store::error::StoreError;
use crate::store::uri::{Backend, ObjectUri};

/// Opens the store that `uri` names.
///
/// # Errors
/// [`StoreError::Config`] naming the variable to set: missing or half-given credentials, an
/// unreadable CA bundle or credentials file, an Azure connection string for another account.
pub(crate) fn open(
    config: &StoreConfig,
    uri: &ObjectUri,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let built = match &uri.backend {
        Backend::S3 { bucket } => s3(config, uri, bucket)?,
        Backend::Gcs { bucket } => gcs(config, uri, bucket)?,
        Backend::Azure {
            container,
            account,
            host,
            ..
        } => azure(config, uri, container, account, host)?,
    };
    Ok(built)
}

fn retry(config: &StoreConfig) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: config.max_retries,
        retry_timeout: config.retry_timeout,
    }
}

fn client_options(config: &StoreConfig) -> ClientOptions {
    ClientOptions::new()
        .with_timeout(config.request_timeout)
        .with_connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
        .with_user_agent(object_store::HeaderValue::from_static(concat!(
            env!("CARGO_PKG_NAME"),
            "/",
            env!("CARGO_PKG_VERSION")
        )))
}

fn s3(
    config: &StoreConfig,
    uri: &ObjectUri,
    bucket: &str,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let (id, secret) = match (&config.aws_access_key_id, &config.aws_secret_access_key) {
        (Some(id), Some(secret)) => (id, secret),
        (None, None) => {
            return Err(StoreError::Config(format!(
                "{uri}: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                 (and MLFLOW_S3_ENDPOINT_URL for MinIO or another S3-compatible server)"
            )));
        }
        (Some(_), None) => {
            return Err(StoreError::Config(format!(
                "{uri}: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
            )));
        }
        (None, Some(_)) => {
            return Err(StoreError::Config(format!(
                "{uri}: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
            )));
        }
    };
    let mut options = client_options(config).with_allow_invalid_certificates(config.s3_ignore_tls);
    if let Some(path) = &config.aws_ca_bundle {
        let pem = std::fs::read(path).map_err(|error| {
            StoreError::Config(format!("AWS_CA_BUNDLE `{}`: {error}", path.display()))
        })?;
        let certificates = Certificate::from_pem_bundle(&pem).map_err(|error| {
            StoreError::Config(format!("AWS_CA_BUNDLE `{}`: {error}", path.display()))
        })?;
        for certificate in certificates {
            options = options.with_root_certificate(certificate);
        }
    }
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(&config.aws_region)
        .with_access_key_id(id)
        .with_secret_access_key(secret.expose())
        .with_retry(retry(config));
    if let Some(token) = &config.aws_session_token {
        builder = builder.with_token(token.expose());
    }
    if let Some(endpoint) = &config.s3_endpoint {
        // What MLflow's client does with a custom endpoint: path-style URLs
        // (`endpoint/bucket/key`), which MinIO and Garage serve without wildcard DNS.
        options = options.with_allow_http(endpoint.starts_with("http://"));
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    let store = builder
        .with_client_options(options)
        .build()
        .map_err(|error| build_error(config, uri, &error))?;
    Ok(Arc::new(store))
}

fn gcs(
    config: &StoreConfig,
    uri: &ObjectUri,
    bucket: &str,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let Some(path) = &config.google_credentials else {
        return Err(StoreError::Config(format!(
            "{uri}: no Google Cloud credentials: set GOOGLE_APPLICATION_CREDENTIALS to a \
             service-account key file"
        )));
    };
    if !path.is_file() {
        return Err(StoreError::Config(format!(
            "{uri}: GOOGLE_APPLICATION_CREDENTIALS `{}` is not a readable file",
            path.display()
        )));
    }
    let store = GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_application_credentials(path.display().to_string())
        .with_retry(retry(config))
        .with_client_options(client_options(config))
        .build()
        .map_err(|error| build_error(config, uri, &error))?;
    Ok(Arc::new(store))
}

/// How an Azure request authenticates, from one of the two variables.
#[derive(Debug, PartialEq, Eq)]
enum AzureAuth<'a> {
    AccessKey(&'a str),
    Sas(Vec<(String, String)>),
}

/// The account endpoint and credentials for `account`: `AZURE_STORAGE_CONNECTION_STRING`
/// first (as MLflow's client reads it), else `AZURE_STORAGE_ACCESS_KEY`.
fn azure_auth<'a>(
    config: &'a StoreConfig,
    uri: &ObjectUri,
    account: &str,
    host: &str,
) -> Result<(String, AzureAuth<'a>), StoreError> {
    let blob_host = host.replacen(".dfs.", ".blob.", 1);
    let mut endpoint = format!("https://{blob_host}");
    if let Some(connection) = &config.azure_connection_string {
        let mut auth = None;
        for (key, value) in azure_connection_parts(connection.expose()) {
            match key.to_ascii_lowercase().as_str() {
                "accountname" if value != account => {
                    return Err(StoreError::Config(format!(
                        "{uri}: AZURE_STORAGE_CONNECTION_STRING is for account `{value}`, \
                         not `{account}`"
                    )));
                }
                "accountkey" => auth = Some(AzureAuth::AccessKey(value)),
                "sharedaccesssignature" => {
                    let pairs =
                        url::form_urlencoded::parse(value.trim_start_matches('?').as_bytes())
                            .map(|(k, v)| (k.into_owned(), v.into_owned()))
                            .collect();
                    auth = Some(AzureAuth::Sas(pairs));
                }
                "blobendpoint" => endpoint = value.trim_end_matches('/').to_owned(),
                _ => {}
            }
        }
        return auth.map(|auth| (endpoint, auth)).ok_or_else(|| {
            StoreError::Config(format!(
                "{uri}: AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor \
                 SharedAccessSignature"
            ))
        });
    }
    match &config.azure_access_key {
        Some(key) => Ok((endpoint, AzureAuth::AccessKey(key.expose()))),
        None => Err(StoreError::Config(format!(
            "{uri}: no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING or \
             AZURE_STORAGE_ACCESS_KEY"
        ))),
    }
}

fn azure(
    config: &StoreConfig,
    uri: &ObjectUri,
    container: &str,
    account: &str,
    host: &str,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let (endpoint, auth) = azure_auth(config, uri, account, host)?;
    let options = client_options(config).with_allow_http(endpoint.starts_with("http://"));
    let builder = MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_container_name(container)
        .with_endpoint(endpoint)
        .with_retry(retry(config))
        .with_client_options(options);
    let builder = match auth {
        AzureAuth::AccessKey(key) => builder.with_access_key(key),
        AzureAuth::Sas(pairs) => builder.with_sas_authorization(pairs),
    };
    let store = builder
        .build()
        .map_err(|error| build_error(config, uri, &error))?;
    Ok(Arc::new(store))
}

fn build_error(config: &StoreConfig, uri: &ObjectUri, error: &object_store::Error) -> StoreError {
    StoreError::Config(format!(
        "{uri}: cannot set up the store: {}",
        config.scrub(&error.to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Secret;

    fn uri(text: &str) -> ObjectUri {
        ObjectUri::parse(text).unwrap().unwrap()
    }

    #[test]
    fn s3_without_credentials_is_refused_before_any_request_naming_the_variables() {
        let error = open(&StoreConfig::default(), &uri("s3://models/mlflow"))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("s3://models/mlflow: "), "{error}");
        assert!(error.contains("AWS_ACCESS_KEY_ID"), "{error}");
        assert!(error.contains("AWS_SECRET_ACCESS_KEY"), "{error}");
        let half = StoreConfig {
            aws_access_key_id: Some("id".to_owned()),
            ..StoreConfig::default()
        };
        let error = open(&half, &uri("s3://models")).unwrap_err().to_string();
        assert!(
            error.contains("AWS_SECRET_ACCESS_KEY is set")
                || error.contains("AWS_SECRET_ACCESS_KEY is not"),
            "{error}"
        );
    }

    #[test]
    fn s3_with_keys_and_a_custom_endpoint_opens_without_a_request() {
        let config = StoreConfig {
            s3_endpoint: Some("http://127.0.0.1:9".to_owned()),
            aws_access_key_id: Some("id".to_owned()),
            aws_secret_access_key: Some(Secret::new("s3-SECRET-1")),
            aws_session_token: Some(Secret::new("tok-SECRET-2")),
            ..StoreConfig::default()
        };
        let store = open(&config, &uri("s3://models/mlflow")).unwrap();
        // object_store's own Display and Debug name the bucket, never the keys.
        assert!(!format!("{store} {store:?}").contains("SECRET"));
        let bad_ca = StoreConfig {
            aws_ca_bundle: Some("/nonexistent/ca.pem".into()),
            ..config
        };
        let error = open(&bad_ca, &uri("s3://models")).unwrap_err().to_string();
        assert!(error.contains("AWS_CA_BUNDLE"), "{error}");
    }

    #[test]
    fn gcs_needs_a_readable_credentials_file() {
        let error = open(&StoreConfig::default(), &uri("gs://bucket/x"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{error}");
        let missing = StoreConfig {
            google_credentials: Some("/nonexistent/sa.json".into()),
            ..StoreConfig::default()
        };
        let error = open(&missing, &uri("gs://bucket/x"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/sa.json"), "{error}");
    }

    #[test]
    fn azure_reads_the_connection_string_first_then_the_access_key() {
        let wasbs = uri("wasbs://models@acct.blob.core.windows.net/mlflow");
        let empty = StoreConfig::default();
        let none = azure_auth(&empty, &wasbs, "acct", "acct.blob.core.windows.net");
        let error = none.unwrap_err().to_string();
        assert!(error.contains("AZURE_STORAGE_CONNECTION_STRING"), "{error}");
        assert!(error.contains("AZURE_STORAGE_ACCESS_KEY"), "{error}");

        let key_only = StoreConfig {
            azure_access_key: Some(Secret::new("a2V5")),
            ..StoreConfig::default()
        };
        let (endpoint, auth) =
            azure_auth(&key_only, &wasbs, "acct", "acct.dfs.core.windows.net").unwrap();
        assert_eq!(endpoint, "https://acct.blob.core.windows.net");
        assert_eq!(auth, AzureAuth::AccessKey("a2V5"));

        let azurite = StoreConfig {
            azure_connection_string: Some(Secret::new(
                "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5PT0=;\
                 BlobEndpoint=http://127.0.0.1:10000/acct/",
            )),
            ..key_only
        };
        let (endpoint, auth) =
            azure_auth(&azurite, &wasbs, "acct", "acct.blob.core.windows.net").unwrap();
        assert_eq!(endpoint, "http://127.0.0.1:10000/acct");
        assert_eq!(auth, AzureAuth::AccessKey("a2V5PT0="));
        assert!(open(&azurite, &wasbs).is_ok());

        let sas = StoreConfig {
            azure_connection_string: Some(Secret::new(
                "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2022-11-02&sig=abc%2Bd",
            )),
            ..StoreConfig::default()
        };
        let (_, auth) = azure_auth(&sas, &wasbs, "acct", "acct.blob.core.windows.net").unwrap();
        assert_eq!(
            auth,
            AzureAuth::Sas(vec![
                ("sv".to_owned(), "2022-11-02".to_owned()),
                ("sig".to_owned(), "abc+d".to_owned())
            ])
        );

        let other_account = StoreConfig {
            azure_connection_string: Some(Secret::new("AccountName=other;AccountKey=a2V5")),
            ..StoreConfig::default()
        };
        let error = azure_auth(&other_account, &wasbs, "acct", "acct.blob.core.windows.net")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`other`"), "{error}");
        assert!(!error.contains("a2V5"), "{error}");
    }
}
