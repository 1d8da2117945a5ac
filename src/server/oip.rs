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
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        self.0.log_if_internal();
        let body = Body {
            error: self.0.message(),
        };
        (self.0.wire().status, Json(body)).into_response()
    }
}

/// `GET /v2`: the server's metadata.
pub(super) async fn server_metadata() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": [],
    }))
}

/// `GET /v2/health/live`: the process answers.
pub(super) async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "live": true }))
}

/// `GET /v2/health/ready`: ready as `/ping` is (a model loaded, not draining).
pub(super) async fn ready(State(state): State<AppState>) -> Response {
    let is_ready = !state.is_draining() && state.live_model().is_ok();
    let status = if is_ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(serde_json::json!({ "ready": is_ready }))).into_response()
}

/// The model a route names: `/v2/models/{name}` or `/v2/models/{name}/versions/{version}`.
#[derive(serde::Deserialize)]
pub(super) struct ModelPath {
    name: String,
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
#[derive(Debug, Serialize)]
pub(super) struct TensorMetadata {
    pub(super) name: String,
    pub(super) datatype: &'static str,
    pub(super) shape: [i64; 1],
}

/// What `GET /v2/models/{name}` and gRPC's `ModelMetadata` answer: one FP64 input per
/// feature, the two outputs.
#[derive(Debug, Serialize)]
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

/// `GET /v2/models/{name}[/versions/{version}]`: inputs and outputs.
pub(super) async fn model_metadata(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
) -> Result<Json<ModelMetadata>, OipError> {
    let (served, name) = named(&state, &path.name, path.version.as_deref())?;
    Ok(Json(ModelMetadata::of(&served, name)))
}

/// `GET /v2/models/{name}[/versions/{version}]/ready`.
pub(super) async fn model_ready(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
) -> Result<Json<serde_json::Value>, OipError> {
    let (_, name) = named(&state, &path.name, path.version.as_deref())?;
    Ok(Json(serde_json::json!({ "name": name, "ready": true })))
}

/// `POST /v2/models/{name}[/versions/{version}]/infer`: as `/invocations`, the body read under
/// the same permits and limits, a large one parsed and scored off the async workers.
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
    if read.bytes.len() < SMALL_BODY_BYTES {
        return answer(
            &state,
            &served,
            &name,
            version.as_deref(),
            &read.bytes,
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
            &name,
            version.as_deref(),
            &read.bytes,
            &cancel,
        )
    })
    .await
    .map_err(ApiError::internal)?
}

/// Parses, scores (block by block, looking at `cancel` between blocks) and renders one
/// request.
fn answer(
    state: &AppState,
    served: &Served,
    name: &str,
    version: Option<&str>,
    body: &[u8],
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
    let decisions: Vec<bool> = probabilities
        .iter()
        .map(|&p| served.model.decide(p))
        .collect();
    let body = oip::render_infer(name, version, &request, &decisions, &probabilities);
    Ok(json_response(body, decisions.len()))
}
