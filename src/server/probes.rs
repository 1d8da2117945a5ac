//! The probes and descriptions of the live model: `/ping` (readiness), `/health` (liveness),
//! `/version` and `/model`. Their response types are what the OpenAPI document describes.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::acquire::Provenance;
use crate::http::{ApiError, AppState, ReloadAttempt};
use crate::model::{Background, ForestParams};

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Ready {
    /// `ready`.
    status: &'static str,
    /// Registered version of the live model, when served from a registry.
    model_version: Option<String>,
    /// `model_uuid` of the live model.
    model_uuid: String,
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Alive {
    /// `alive`.
    status: &'static str,
}

/// Hot reloads since start-up.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Reloads {
    /// New versions swapped in.
    succeeded: u64,
    /// New versions refused (the previous one kept serving).
    refused: u64,
}

/// The server's version and the live model's provenance.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Version {
    /// Version of `legendary`.
    legendary: &'static str,
    /// Provenance of the live model; null before a model is loaded.
    model: Option<Provenance>,
    /// Hot reloads so far.
    reloads: Reloads,
    /// The last reload poll that found a new version or failed; null before any.
    last_reload: Option<ReloadAttempt>,
}

/// The model card.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ModelCard {
    /// Where the model came from.
    meta: Provenance,
    /// The columns a client sends, in order.
    input_features: Vec<String>,
    /// The forest's columns (inputs, then derived ones).
    forest_features: Vec<String>,
    /// Number of trees.
    n_trees: usize,
    /// Legendary when the probability is above this.
    decision_threshold: f64,
    /// Whether the probability is the trees' vote fraction through a calibration map fitted
    /// on out-of-fold predictions (docs/model.md); false: it is the vote fraction itself (or
    /// a scikit-learn estimator's `predict_proba`).
    calibrated: bool,
    /// The hyperparameters our forest was trained with; null for a scikit-learn estimator
    /// (its own are in its file, and not read).
    #[schema(value_type = Option<Object>)]
    params: Option<ForestParams>,
    /// `metrics.json` of the model directory: held-out, cross-validation and data summaries.
    #[schema(value_type = Option<Object>)]
    metrics: Option<serde_json::Value>,
    /// `feature_importance.json`: `impurity` and `permutation` (`[{feature, mean, std}]`).
    #[schema(value_type = Option<Object>)]
    feature_importance: Option<serde_json::Value>,
    /// The background `POST /explain` explains against: the rows and where they came from
    /// (the model directory's `explanation_background.json`, else a sample of the bundled
    /// data); null for a model without a legendary probability of the six stats.
    explanation_background: Option<Background>,
}

/// Readiness: 200 only while a model is loaded and the server is not draining.
#[utoipa::path(
    get,
    path = "/ping",
    tag = "scoring",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "No model yet, or shutting down", body = crate::http::ErrorBody),
    )
)]
pub(super) async fn ping(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    if state.is_draining() {
        return Err(ApiError::Unavailable(
            "The server is shutting down.".to_owned(),
        ));
    }
    let served = state.live_model()?;
    Ok(Json(Ready {
        status: "ready",
        model_version: served.resolved.version.clone(),
        model_uuid: served.info.model_uuid.clone(),
    }))
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health",
    tag = "scoring",
    responses((status = 200, description = "Alive", body = Alive))
)]
pub(super) async fn health() -> Json<Alive> {
    Json(Alive { status: "alive" })
}

/// This server's version and the live model's provenance.
#[utoipa::path(
    get,
    path = "/version",
    tag = "scoring",
    responses((status = 200, description = "Versions", body = Version))
)]
pub(super) async fn version(State(state): State<AppState>) -> Json<Version> {
    let (succeeded, refused) = state.metrics().reloads();
    Json(Version {
        legendary: env!("CARGO_PKG_VERSION"),
        model: state.model().map(|s| s.provenance()),
        reloads: Reloads { succeeded, refused },
        last_reload: state.metrics().last_reload(),
    })
}

/// The model card: provenance, parameters, metrics and feature importances of the live model.
#[utoipa::path(
    get,
    path = "/model",
    tag = "scoring",
    responses(
        (status = 200, description = "The model card", body = ModelCard),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(super) async fn model_card(State(state): State<AppState>) -> Result<Json<ModelCard>, ApiError> {
    let served = state.live_model()?;
    let m = &served.model;
    Ok(Json(ModelCard {
        meta: served.provenance(),
        input_features: m.input_features().to_vec(),
        forest_features: m.forest_features(),
        n_trees: m.n_trees(),
        decision_threshold: m.threshold(),
        calibrated: m.is_calibrated(),
        params: m.params().cloned(),
        metrics: served.info.metrics.clone(),
        feature_importance: served.info.feature_importance.clone(),
        explanation_background: m
            .takes_demo_stats()
            .then(|| crate::explain::background_of(served.background.as_ref()).ok())
            .flatten()
            .cloned(),
    }))
}
