//! The Open Inference Protocol v2 over REST (`/v2/…`), as KServe, Triton and MLServer speak
//! it, beside MLflow's protocol and on the same model, limits, metrics and hot reload.
//!
//! The model's name is the registry's (`models:/pokemon/…` is `pokemon`; a local directory is
//! its last path component) and its version the registry's version, when it has one; routes
//! naming another model or version answer 404. Errors are `{"error": "…"}` with the status
//! `/invocations` would use.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::invocations::{blockwise, json_response};
use crate::acquire::Served;
use crate::cancel::Cancel;
use crate::http::{ApiError, AppState, SMALL_BODY_BYTES};
use legendary_scoring::oip::{self, InferRequest};

/// An error as the protocol writes it: `{"error": "…"}`.
pub(super) struct OipError(ApiError);

impl<E: Into<ApiError>> From<E> for OipError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for OipError {
    fn into_response(self) -> Response {
        self.0.log_if_internal();
        let body = OipErrorBody {
            error: self.0.message(),
        };
        (self.0.wire().status, Json(body)).into_response()
    }
}

/// The body of every error of these routes, as the protocol writes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct OipErrorBody {
    /// What went wrong, for a person; REST's message for the same failure of `/invocations`.
    error: String,
}

/// The server's metadata.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ServerMetadata {
    /// `legendary`.
    name: &'static str,
    /// This build's version.
    version: &'static str,
    /// Protocol extensions served: none.
    extensions: Vec<String>,
}

/// The server's metadata (the Open Inference Protocol's `GET /v2`).
#[utoipa::path(
    get,
    path = "/v2",
    tag = "oip",
    responses((status = 200, description = "Name, version and extensions", body = ServerMetadata))
)]
pub(super) async fn server_metadata() -> Json<ServerMetadata> {
    Json(ServerMetadata {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        extensions: Vec::new(),
    })
}

/// Whether the process answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ServerLive {
    /// Always true: an answer is the proof.
    live: bool,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/v2/health/live",
    tag = "oip",
    responses((status = 200, description = "Live", body = ServerLive))
)]
pub(super) async fn live() -> Json<ServerLive> {
    Json(ServerLive { live: true })
}

/// Whether the server scores.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ServerReady {
    /// A model is loaded and the server is not draining.
    ready: bool,
}

/// Readiness, as `/ping`: a model loaded, not draining.
#[utoipa::path(
    get,
    path = "/v2/health/ready",
    tag = "oip",
    responses(
        (status = 200, description = "Ready", body = ServerReady),
        (status = 503, description = "No model yet, or shutting down", body = ServerReady),
    )
)]
pub(super) async fn ready(State(state): State<AppState>) -> Response {
    let is_ready = !state.is_draining() && state.live_model().is_ok();
    let status = if is_ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(ServerReady { ready: is_ready })).into_response()
}

/// The model a route names: `/v2/models/{name}` or `/v2/models/{name}/versions/{version}`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct ModelPath {
    /// The served model's name: the registry's, `--served-name`, or the directory's.
    #[param(example = "pokemon")]
    name: String,
    /// The registry version served.
    #[param(example = "7")]
    version: Option<String>,
}

/// The served model's name in this protocol: `--served-name`, else the registry's, else the
/// directory's.
fn model_name(state: &AppState, served: &Served) -> String {
    if let Some(name) = state.served_name() {
        return name.to_owned();
    }
    if let Some(name) = &served.resolved.name {
        return name.clone();
    }
    if served.uri == crate::acquire::BUNDLED_URI {
        return crate::acquire::BUNDLED_NAME.to_owned();
    }
    let path = served.uri.trim_end_matches('/');
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// The live model and its name, when a request names it (and its version, when it names
/// one); 404 otherwise. REST and gRPC alike.
pub(super) fn named(
    state: &AppState,
    name: &str,
    version: Option<&str>,
) -> Result<(Arc<Served>, String), ApiError> {
    let served = state.live_model()?;
    let served_name = model_name(state, &served);
    if name != served_name {
        return Err(ApiError::NotFound(format!(
            "Model '{name}' is not served here; this server serves '{served_name}'."
        )));
    }
    if let Some(version) = version
        && served.resolved.version.as_deref() != Some(version)
    {
        return Err(ApiError::NotFound(format!(
            "Version '{version}' of model '{served_name}' is not served here; the served version is {}.",
            served
                .resolved
                .version
                .as_deref()
                .unwrap_or("unversioned (a local model)")
        )));
    }
    Ok((served, served_name))
}

/// A tensor as model metadata describes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TensorMetadata {
    pub(super) name: String,
    pub(super) datatype: &'static str,
    pub(super) shape: [i64; 1],
}

/// What `GET /v2/models/{name}` and gRPC's `ModelMetadata` answer: one FP64 input per
/// feature, the two outputs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ModelMetadata {
    pub(super) name: String,
    pub(super) versions: Vec<String>,
    pub(super) platform: &'static str,
    pub(super) inputs: Vec<TensorMetadata>,
    pub(super) outputs: Vec<TensorMetadata>,
}

impl ModelMetadata {
    pub(super) fn of(served: &Served, name: String) -> Self {
        let tensor = |name: &str, datatype| TensorMetadata {
            name: name.to_owned(),
            datatype,
            shape: [-1],
        };
        Self {
            name,
            versions: served.resolved.version.iter().cloned().collect(),
            platform: "legendary",
            inputs: served
                .model
                .input_features()
                .iter()
                .map(|f| tensor(f, "FP64"))
                .collect(),
            outputs: vec![
                tensor(oip::OUTPUTS[0], "BOOL"),
                tensor(oip::OUTPUTS[1], "FP64"),
            ],
        }
    }
}

/// The OIP's answers are for legendary's own forests; a scikit-learn estimator (labels of
/// its own type, maybe not the six stats) is served through `/invocations` only.
pub(super) fn forest_only(served: &Served) -> Result<(), ApiError> {
    match served.model.forest() {
        Some(_) => Ok(()),
        None => Err(ApiError::BadRequest(
            "The Open Inference Protocol is served for legendary's own forests; this model is a scikit-learn estimator: use /invocations.".to_owned(),
        )),
    }
}

/// A model's inputs and outputs.
#[utoipa::path(
    get,
    path = "/v2/models/{name}",
    tag = "oip",
    params(("name" = String, Path, description = "The served model's name", example = "pokemon")),
    responses(
        (status = 200, description = "Inputs and outputs", body = ModelMetadata),
        (status = 404, description = "Another model", body = OipErrorBody),
        (status = 503, description = "No model yet", body = OipErrorBody),
    )
)]
pub(super) async fn model_metadata(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
) -> Result<Json<ModelMetadata>, OipError> {
    let (served, name) = named(&state, &path.name, path.version.as_deref())?;
    Ok(Json(ModelMetadata::of(&served, name)))
}

/// Whether a model is ready.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ModelReady {
    /// The served model's name.
    name: String,
    /// True: only the served model is named here.
    ready: bool,
}

/// Whether the model is served and ready.
#[utoipa::path(
    get,
    path = "/v2/models/{name}/ready",
    tag = "oip",
    params(("name" = String, Path, description = "The served model's name", example = "pokemon")),
    responses(
        (status = 200, description = "Ready", body = ModelReady),
        (status = 404, description = "Another model", body = OipErrorBody),
        (status = 503, description = "No model yet", body = OipErrorBody),
    )
)]
pub(super) async fn model_ready(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
) -> Result<Json<ModelReady>, OipError> {
    let (_, name) = named(&state, &path.name, path.version.as_deref())?;
    Ok(Json(ModelReady { name, ready: true }))
}

/// A version's inputs and outputs.
#[utoipa::path(
    get,
    path = "/v2/models/{name}/versions/{version}",
    tag = "oip",
    params(ModelPath),
    responses(
        (status = 200, description = "Inputs and outputs", body = ModelMetadata),
        (status = 404, description = "Another model or version", body = OipErrorBody),
        (status = 503, description = "No model yet", body = OipErrorBody),
    )
)]
pub(super) async fn version_metadata(
    state: State<AppState>,
    path: Path<ModelPath>,
) -> Result<Json<ModelMetadata>, OipError> {
    model_metadata(state, path).await
}

/// Whether the version is served and ready.
#[utoipa::path(
    get,
    path = "/v2/models/{name}/versions/{version}/ready",
    tag = "oip",
    params(ModelPath),
    responses(
        (status = 200, description = "Ready", body = ModelReady),
        (status = 404, description = "Another model or version", body = OipErrorBody),
        (status = 503, description = "No model yet", body = OipErrorBody),
    )
)]
pub(super) async fn version_ready(
    state: State<AppState>,
    path: Path<ModelPath>,
) -> Result<Json<ModelReady>, OipError> {
    model_ready(state, path).await
}

/// Score rows with the Open Inference Protocol: one `[N, 6]` tensor, or one `[N]` tensor per
/// stat; answers `predict` (BOOL) and `predict_proba` (FP64), or the outputs named.
///
/// As `/invocations`: the body read under the same permits and limits, a large one parsed and
/// scored off the async workers.
#[utoipa::path(
    post,
    path = "/v2/models/{name}/infer",
    tag = "oip",
    params(("name" = String, Path, description = "The served model's name", example = "pokemon")),
    request_body(content = super::openapi::InferRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The outputs, one value per row", body = super::openapi::InferResponse),
        (status = 400, description = "The body cannot be scored; the message says why", body = OipErrorBody),
        (status = 404, description = "Another model", body = OipErrorBody),
        (status = 408, description = "The body did not arrive in time", body = OipErrorBody),
        (status = 413, description = "Too large a body, or too many rows", body = OipErrorBody),
        (status = 503, description = "No model yet", body = OipErrorBody),
        (status = 504, description = "Longer than the server's timeout", body = OipErrorBody),
    )
)]
pub(super) async fn infer(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OipError> {
    let (served, name) = named(&state, &path.name, path.version.as_deref())?;
    forest_only(&served)?;
    let read =
        crate::http::read_body(&state, body, &headers, state.limits().max_body_bytes).await?;
    let version = served.resolved.version.clone();
    let request_id = crate::http::request_id(&headers).to_owned();
    if read.bytes.len() < SMALL_BODY_BYTES {
        return answer(
            &state,
            &served,
            (&name, version.as_deref()),
            &read.bytes,
            &request_id,
            &Cancel::never(),
        );
    }
    // As `/invocations`: dropped with this future when the request times out, so the scoring
    // stops at its next look and gives the permit back.
    let (cancel, _cancel_on_drop) = Cancel::on_drop();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _enter = span.enter();
        let _permit = read.permit;
        answer(
            &state,
            &served,
            (&name, version.as_deref()),
            &read.bytes,
            &request_id,
            &cancel,
        )
    })
    .await
    .map_err(ApiError::internal)?
}

/// Score rows with a given version of the model.
#[utoipa::path(
    post,
    path = "/v2/models/{name}/versions/{version}/infer",
    tag = "oip",
    params(ModelPath),
    request_body(content = super::openapi::InferRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The outputs, one value per row", body = super::openapi::InferResponse),
        (status = 400, description = "The body cannot be scored; the message says why", body = OipErrorBody),
        (status = 404, description = "Another model or version", body = OipErrorBody),
        (status = 408, description = "The body did not arrive in time", body = OipErrorBody),
        (status = 413, description = "Too large a body, or too many rows", body = OipErrorBody),
        (status = 503, description = "No model yet", body = OipErrorBody),
        (status = 504, description = "Longer than the server's timeout", body = OipErrorBody),
    )
)]
pub(super) async fn version_infer(
    state: State<AppState>,
    path: Path<ModelPath>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OipError> {
    infer(state, path, headers, body).await
}

/// Parses, scores (block by block, looking at `cancel` between blocks) and renders one
/// request to the model `(name, version)`.
fn answer(
    state: &AppState,
    served: &Served,
    (name, version): (&str, Option<&str>),
    body: &[u8],
    request_id: &str,
    cancel: &Cancel,
) -> Result<Response, OipError> {
    let request: InferRequest =
        oip::parse_infer(body, served.model.input_features(), &state.limits().scoring)
            .map_err(OipError::from)?;
    let batch = &request.batch;
    let probabilities = blockwise(batch.values(), batch.n_cols(), cancel, |block| {
        served.model.proba_batch(block)
    })
    .ok_or(ApiError::Timeout(state.limits().timeout))?;
    let decisions = served.model.decide_all(&probabilities);
    state.scored(
        served,
        batch.values(),
        &probabilities,
        &decisions,
        request_id,
    );
    let body = oip::render_infer(name, version, &request, &decisions, &probabilities);
    Ok(json_response(body, decisions.len()))
}
