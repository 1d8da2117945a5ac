//! OpenAPI descriptions of the routes that [`crate::server`] serves: MLflow's scoring
//! protocol, the probes, the model card and the metrics. These functions are never called;
//! they only carry the `#[utoipa::path]` attributes, so the server's handlers stay as they are.
#![allow(
    dead_code,
    reason = "descriptions only: the real handlers live in crate::server"
)]

use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;

/// An MLflow scoring request in JSON: exactly one of the four keys.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum ScoringRequest {
    /// Columns and rows.
    Split {
        /// `{"columns": [...], "index": [...], "data": [[...], ...]}`.
        dataframe_split: Split,
    },
    /// One object per row.
    Records {
        /// `[{"hp": 45, "attack": 49, ...}, ...]`.
        #[schema(min_items = 1)]
        dataframe_records: Vec<Record>,
    },
    /// TF-serving rows.
    Instances {
        /// A list of rows (objects, or lists in the column order).
        #[schema(min_items = 1)]
        instances: Vec<Record>,
    },
    /// TF-serving inputs.
    Inputs {
        /// Rows, or an object of columns.
        #[schema(value_type = Value)]
        inputs: (),
    },
}

/// `dataframe_split`: the columns are the six base stats, in any order.
#[derive(Serialize, ToSchema)]
struct Split {
    /// Column names.
    columns: Vec<String>,
    /// Rows, values in the order of `columns`.
    data: Vec<Vec<f64>>,
}

/// One row: the six base stats.
#[derive(Serialize, ToSchema)]
struct Record {
    hp: f64,
    attack: f64,
    defense: f64,
    special_attack: f64,
    special_defense: f64,
    speed: f64,
}

/// What `/invocations` answers: `{"predictions": [...]}`, or the bare list for MLflow 1.x
/// pandas-split requests.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum Predictions {
    /// MLflow 2.x and later.
    Wrapped {
        /// One per row, in order: legendary or not.
        predictions: Vec<bool>,
    },
    /// MLflow 1.x.
    Bare(Vec<bool>),
}

/// Readiness.
#[derive(Serialize, ToSchema)]
struct Ready {
    /// `ready`.
    status: String,
    /// Registered version of the live model, when served from a registry.
    model_version: Option<String>,
    /// `model_uuid` of the live model.
    model_uuid: String,
}

/// Liveness.
#[derive(Serialize, ToSchema)]
struct Alive {
    /// `alive`.
    status: String,
}

/// The server's version and the live model's provenance.
#[derive(Serialize, ToSchema)]
struct Version {
    /// Version of `legendary`.
    legendary: String,
    /// Provenance of the live model (uri, name, version, stage, aliases, run_id, model_uuid,
    /// trained_at, loaded_at); null before a model is loaded.
    #[schema(value_type = Option<Object>)]
    model: Option<()>,
}

/// The model card.
#[derive(Serialize, ToSchema)]
struct ModelCard {
    /// Provenance: uri, name, version, stage, aliases, run_id, model_uuid, trained_at, loaded_at.
    #[schema(value_type = Object)]
    meta: (),
    /// The columns a client sends, in order.
    input_features: Vec<String>,
    /// The forest's columns (inputs, then derived ones).
    forest_features: Vec<String>,
    /// Number of trees.
    n_trees: u64,
    /// Legendary when the vote fraction is above this.
    decision_threshold: f64,
    /// Hyperparameters.
    #[schema(value_type = Object)]
    params: (),
    /// `metrics.json` of the model directory: held-out, cross-validation and data summaries.
    #[schema(value_type = Option<Object>)]
    metrics: Option<()>,
    /// `feature_importance.json`: `impurity` and `permutation` (`[{feature, mean, std}]`).
    #[schema(value_type = Option<Object>)]
    feature_importance: Option<()>,
}

/// Score rows with MLflow's scoring protocol.
///
/// JSON (`dataframe_split`, `dataframe_records`, `instances` or `inputs`) or CSV with a header,
/// the columns being the six base stats.
#[utoipa::path(
    post,
    path = "/invocations",
    tag = "scoring",
    request_body(content(
        (ScoringRequest = "application/json"),
        (String = "text/csv"),
    )),
    responses(
        (status = 200, description = "One prediction per row", body = Predictions),
        (status = 400, description = "The body cannot be scored; the message says why", body = ErrorBody),
        (status = 413, description = "Too large a body, or too many rows", body = ErrorBody),
        (status = 415, description = "A content type or charset this server does not read", body = ErrorBody),
        (status = 503, description = "No model is loaded yet", body = ErrorBody),
        (status = 504, description = "The request took longer than the server's timeout", body = ErrorBody),
    )
)]
fn invocations() {}

/// Readiness: 200 only while a model is loaded and the server is not draining.
#[utoipa::path(
    get,
    path = "/ping",
    tag = "scoring",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "No model yet, or shutting down", body = ErrorBody),
    )
)]
fn ping() {}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health",
    tag = "scoring",
    responses((status = 200, description = "Alive", body = Alive))
)]
fn health() {}

/// This server's version and the live model's provenance.
#[utoipa::path(
    get,
    path = "/version",
    tag = "scoring",
    responses((status = 200, description = "Versions", body = Version))
)]
fn version() {}

/// The model card: provenance, parameters, metrics and feature importances of the live model.
#[utoipa::path(
    get,
    path = "/model",
    tag = "scoring",
    responses(
        (status = 200, description = "The model card", body = ModelCard),
        (status = 503, description = "No model is loaded yet", body = ErrorBody),
    )
)]
fn model_card() {}

/// Prometheus metrics of the server and the live model.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "scoring",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
fn metrics() {}
