//! `MlflowClient`: the one outbound HTTP client (one connection pool), with authentication,
//! bounded retries, and MLflow error bodies decoded into [`MlflowError::Api`].

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{Auth, TrackingConfig};
use crate::error::MlflowError;
use crate::redact::Redactor;
use crate::retry::RetryPolicy;
use crate::transfer::TransferError;
use crate::wire;

/// Typed access to the MLflow REST API. Cheap to clone (shares one connection pool); make one per process.
#[derive(Clone)]
pub struct MlflowClient {
    http: reqwest::Client,
    base: Url,
    auth: Option<Arc<Auth>>,
    retry: RetryPolicy,
    artifact_timeout: std::time::Duration,
    /// Byte cap of one model download.
    pub(crate) download_max_bytes: u64,
    /// Read-idle timeout of downloads.
    pub(crate) download_idle_timeout: std::time::Duration,
    /// How to reach the object stores that artifact URIs may name.
    pub(crate) stores: crate::store::StoreConfig,
    /// What the server can do, asked once (see [`MlflowClient::server_info`]).
    pub(crate) server: Arc<tokio::sync::OnceCell<crate::server::ServerInfo>>,
    /// Scrubs what the server says before it becomes an error: a server or a proxy that
    /// echoes the request would otherwise put our credentials in logs and answers.
    redactor: Redactor,
}

impl fmt::Debug for MlflowClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlflowClient")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth) // `Auth`'s Debug redacts the secrets
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One request, rebuilt for every attempt (the body is shared, not copied).
struct Call<'a> {
    method: Method,
    endpoint: &'a str,
    url: Url,
    body: Option<(Bytes, &'static str)>,
    /// Overrides the client's timeout (artifact transfers move whole files).
    timeout: Option<std::time::Duration>,
}

impl MlflowClient {
    /// Builds the client: timeout, TLS settings and user agent.
    ///
    /// # Errors
    /// [`MlflowError::Config`] if the CA bundle cannot be read or the TLS setup fails.
    pub fn new(config: &TrackingConfig) -> Result<Self, MlflowError> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(10)))
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ));
        if config.insecure_tls {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(path) = &config.server_cert_path {
            let pem = std::fs::read(path).map_err(|error| MlflowError::io(path, error))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
                MlflowError::Config(format!("bad CA bundle `{}`: {error}", path.display()))
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|error| {
            MlflowError::Config(format!("cannot build the HTTP client: {error}"))
        })?;
        let secrets = (config.auth.iter().flat_map(Auth::secrets))
            .chain(config.stores.secrets().into_iter().map(str::to_owned));
        Ok(Self {
            redactor: Redactor::new(secrets),
            http,
            base: config.tracking_uri.clone(),
            auth: config.auth.clone().map(Arc::new),
            retry: config.retry,
            artifact_timeout: config.artifact_timeout,
            download_max_bytes: config.download_max_bytes,
            download_idle_timeout: config.download_idle_timeout,
            stores: config.stores.clone(),
            server: Arc::default(),
        })
    }

    /// The longest one artifact transfer may take (`MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT`).
    pub fn artifact_timeout(&self) -> std::time::Duration {
        self.artifact_timeout
    }

    /// The tracking server's base URI (ends in `/`, holds no credentials).
    pub fn tracking_uri(&self) -> &Url {
        &self.base
    }

    /// `GET api/2.0/mlflow/<endpoint>?<query>` decoded as `R`.
    pub(crate) async fn get<R: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<R, MlflowError> {
        let mut url = self.api_url(endpoint);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.json(Call {
            method: Method::GET,
            endpoint,
            url,
            body: None,
            timeout: None,
        })
        .await
    }

    /// `POST api/2.0/mlflow/<endpoint>` with a JSON body, decoded as `R`.
    pub(crate) async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &B,
    ) -> Result<R, MlflowError> {
        self.json_call(Method::POST, endpoint, body).await
    }

    /// `PATCH api/2.0/mlflow/<endpoint>` with a JSON body (MLflow 3's logged-model updates).
    pub(crate) async fn patch<B: Serialize, R: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &B,
    ) -> Result<R, MlflowError> {
        self.json_call(Method::PATCH, endpoint, body).await
    }

    /// `GET <tracking URI>/version`: the server's MLflow version as plain text, or `None` when
    /// it does not answer one (a proxy in front, or a server that predates the route).
    pub(crate) async fn server_version(&self) -> Option<String> {
        let mut url = self.base.clone();
        url.set_path(&format!("{}version", self.base.path()));
        let call = Call {
            method: Method::GET,
            endpoint: "version",
            url,
            body: None,
            timeout: None,
        };
        let mut response = self.send(&call).await.ok()?;
        // A version is a few bytes; a server answering a page here is not asked to send it all.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            body.extend_from_slice(&chunk);
            if body.len() > 64 {
                return None;
            }
        }
        let text = String::from_utf8(body).ok()?;
        let version = text.trim();
        let plausible = !version.is_empty()
            && version.len() <= 32
            && version.starts_with(|c: char| c.is_ascii_digit())
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'));
        plausible.then(|| version.to_owned())
    }

    /// `DELETE api/2.0/mlflow/<endpoint>`: MLflow reads DELETE parameters from a JSON body.
    pub(crate) async fn delete<B: Serialize, R: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &B,
    ) -> Result<R, MlflowError> {
        self.json_call(Method::DELETE, endpoint, body).await
    }

    /// `GET api/2.0/mlflow-artifacts/artifacts?path=<path>` (a listing).
    pub(crate) async fn list_artifacts(
        &self,
        path: &str,
    ) -> Result<wire::ListArtifactsResponse, MlflowError> {
        let mut url = self.artifact_url(&[]);
        url.query_pairs_mut().append_pair("path", path);
        self.json(Call {
            method: Method::GET,
            endpoint: "mlflow-artifacts/artifacts",
            url,
            body: None,
            timeout: None,
        })
        .await
    }

    /// `GET api/2.0/mlflow-artifacts/artifacts/<segments…>`: the response, ready to stream.
    pub(crate) async fn get_artifact(&self, segments: &[&str]) -> Result<Response, MlflowError> {
        let call = Call {
            method: Method::GET,
            endpoint: "mlflow-artifacts/artifacts (download)",
            url: self.artifact_url(segments),
            body: None,
            timeout: Some(self.artifact_timeout),
        };
        self.send(&call).await
    }

    /// `PUT api/2.0/mlflow-artifacts/artifacts/<segments…>` with the file's bytes.
    pub(crate) async fn put_artifact(
        &self,
        segments: &[&str],
        content: Bytes,
    ) -> Result<(), MlflowError> {
        let call = Call {
            method: Method::PUT,
            endpoint: "mlflow-artifacts/artifacts (upload)",
            url: self.artifact_url(segments),
            body: Some((content, "application/octet-stream")),
            timeout: Some(self.artifact_timeout),
        };
        self.send(&call).await.map(drop)
    }

    fn api_url(&self, endpoint: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}api/2.0/mlflow/{endpoint}", url.path());
        url.set_path(&path);
        url
    }

    /// Each segment is percent-encoded on its own, so a `/` inside a name cannot add a level.
    fn artifact_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "2.0", "mlflow-artifacts", "artifacts"])
                .extend(segments);
        }
        url
    }

    async fn json_call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: &str,
        body: &B,
    ) -> Result<R, MlflowError> {
        let bytes = serde_json::to_vec(body).map_err(|error| MlflowError::Decode {
            endpoint: endpoint.to_owned(),
            message: error.to_string(),
        })?;
        self.json(Call {
            method,
            endpoint,
            url: self.api_url(endpoint),
            body: Some((Bytes::from(bytes), "application/json")),
            timeout: None,
        })
        .await
    }

    async fn json<R: DeserializeOwned>(&self, call: Call<'_>) -> Result<R, MlflowError> {
        let mut response = self.send(&call).await?;
        let url = redact(response.url());
        // The request's own timeout bounds the time; this bounds the memory.
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| MlflowError::Transport {
                url: url.clone(),
                attempts: 1,
                source: source.without_url(),
            })?
        {
            if body.len() + chunk.len() > MAX_API_BODY {
                return Err(TransferError::TooLarge {
                    what: call.endpoint.to_owned(),
                    limit: MAX_API_BODY as u64,
                }
                .into());
            }
            body.extend_from_slice(&chunk);
        }
        // Some endpoints answer an empty body instead of `{}`.
        let body: &[u8] = if body.is_empty() { b"{}" } else { &body };
        // serde quotes the values it could not use, which may be echoed text.
        serde_json::from_slice(body).map_err(|error| MlflowError::Decode {
            endpoint: call.endpoint.to_owned(),
            message: self.redactor.scrub(&error.to_string()),
        })
    }

    /// Sends `call`, retrying connection errors, 429 and 5xx with backoff; non-2xx becomes `Api`.
    ///
    /// POSTs are retried too, as MLflow's Python client does: a timed-out `runs/create` may then
    /// create a second run, which is better than failing a long training job at the end.
    #[tracing::instrument(level = "debug", skip_all, fields(method = %call.method, endpoint = call.endpoint))]
    async fn send(&self, call: &Call<'_>) -> Result<Response, MlflowError> {
        let mut retry = 0;
        loop {
            let can_retry = retry < self.retry.max_retries;
            let wait = match self.request(call).send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response)
                    if can_retry && RetryPolicy::is_retryable_status(response.status()) =>
                {
                    tracing::warn!(status = %response.status(), retry, "MLflow busy or failing; retrying");
                    retry_after(&response).map_or_else(
                        || self.retry.backoff(retry),
                        |wait| wait.min(self.retry.max_backoff),
                    )
                }
                Ok(response) => {
                    return Err(api_error(call.endpoint, response, &self.redactor).await);
                }
                Err(error) if can_retry && RetryPolicy::is_retryable_error(&error) => {
                    tracing::warn!(error = %error.without_url(), retry, "MLflow unreachable; retrying");
                    self.retry.backoff(retry)
                }
                Err(error) => {
                    return Err(MlflowError::Transport {
                        url: redact(&call.url),
                        attempts: retry + 1,
                        source: error.without_url(),
                    });
                }
            };
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    fn request(&self, call: &Call<'_>) -> RequestBuilder {
        let mut builder = self.http.request(call.method.clone(), call.url.clone());
        if let Some(timeout) = call.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some((body, content_type)) = &call.body {
            builder = builder
                .header(CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        // reqwest marks both authorization headers as sensitive, so they never show in its Debug.
        match self.auth.as_deref() {
            Some(Auth::Bearer(token)) => builder.bearer_auth(token.expose()),
            Some(Auth::Basic { username, password }) => {
                builder.basic_auth(username, Some(password.expose()))
            }
            None => builder,
        }
    }
}

/// Largest answer of an API call (a listing of 10,000 files is about 1 MB).
const MAX_API_BODY: usize = 16 * 1024 * 1024;

/// Most of an error answer that is read (it is quoted, briefly, in the error).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Decodes MLflow's `{"error_code", "message"}`; other bodies (HTML, plain text) are quoted
/// briefly. Either is scrubbed by `redactor` first.
async fn api_error(endpoint: &str, mut response: Response, redactor: &Redactor) -> MlflowError {
    let status = response.status();
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY - body.len())]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    decode_error(endpoint, status, &String::from_utf8_lossy(&body), redactor)
}

/// The error of a non-success answer whose body is `text`: scrubbed whole before it is cut
/// short, so that no part of a secret survives the cut.
pub(crate) fn decode_error(
    endpoint: &str,
    status: StatusCode,
    text: &str,
    redactor: &Redactor,
) -> MlflowError {
    let (error_code, message) = match serde_json::from_str::<wire::ErrorBody>(text) {
        Ok(body) if !body.error_code.is_empty() => (
            redactor.scrub(&body.error_code),
            redactor.scrub(&body.message),
        ),
        _ => (
            String::new(),
            redactor.scrub(text).trim().chars().take(300).collect(),
        ),
    };
    MlflowError::Api {
        endpoint: endpoint.to_owned(),
        status,
        error_code,
        message,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: backoff applies then).
fn retry_after(response: &Response) -> Option<std::time::Duration> {
    let seconds = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(std::time::Duration::from_secs(seconds))
}

/// The URL without its query string (which may name models or runs but is never needed to debug a
/// connection problem); the base never holds credentials (see `TrackingConfig`).
fn redact(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
