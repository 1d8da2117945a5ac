//! The OpenAPI 3.1 document at `/openapi.json`, generated from the `#[utoipa::path]` attributes
//! of the real handlers, so the document cannot drift from what they do. The types below
//! only describe wire formats that the scoring parser reads without serde structs.

use axum::Json;
use legendary_forest::Stats;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Every route of `legendary serve`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "legendary",
        description = "Is a Pokémon legendary? A random forest over the six base stats, served with \
            MLflow's scoring protocol (`/invocations`), the original demo's `/pokemon-type` API, \
            and a web page at `/`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        super::invocations::invocations,
        super::explain::explain,
        super::probes::ping,
        super::probes::health,
        super::probes::version,
        super::probes::model_card,
        crate::http::metrics::metrics_handler,
        super::monitoring::monitoring,
        super::oip::server_metadata,
        super::oip::live,
        super::oip::ready,
        super::oip::model_metadata,
        super::oip::version_metadata,
        super::oip::model_ready,
        super::oip::version_ready,
        super::oip::infer,
        super::oip::version_infer,
        crate::web::demo::pokemon_type_query,
        crate::web::demo::pokemon_type_json,
        crate::web::demo::pokemon_types,
        crate::web::pokedex::search,
        crate::web::datasets::search,
        crate::web::page::index,
        crate::web::page::css,
        crate::web::page::js,
        crate::web::page::why_js,
        crate::web::page::share_js,
        crate::web::page::card_js,
        crate::web::page::monitoring,
        crate::web::page::monitor_js,
        crate::web::page::docs,
        crate::web::page::docs_js,
        crate::web::page::docs_css,
        crate::web::page::vendor,
        crate::web::page::favicon,
        openapi_json,
    ),
    tags(
        (name = "scoring", description = "MLflow's scoring protocol and the server's probes"),
        (name = "oip", description = "The Open Inference Protocol v2 (KServe, Triton, MLServer) over REST; over gRPC on --grpc-port"),
        (name = "demo", description = "The original demo's API: one answer with its probability per Pokémon"),
        (name = "web", description = "The web page, its search and this documentation"),
    )
)]
struct ApiDoc;

/// The OpenAPI document, with this build's version.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    env!("CARGO_PKG_VERSION").clone_into(&mut doc.info.version);
    doc
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "web",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Value))
)]
pub(super) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// An MLflow scoring request in JSON: exactly one of the four keys.
#[allow(
    dead_code,
    reason = "a schema for the document; the scoring parser reads requests"
)]
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum ScoringRequest {
    /// Columns and rows.
    Split {
        /// `{"columns": [...], "index": [...], "data": [[...], ...]}`.
        dataframe_split: Split,
        /// What to answer.
        params: Option<Params>,
    },
    /// One object per row.
    Records {
        /// `[{"hp": 45, "attack": 49, ...}, ...]`.
        #[schema(min_items = 1)]
        dataframe_records: Vec<Stats>,
        /// What to answer.
        params: Option<Params>,
    },
    /// TF-serving rows.
    Instances {
        /// A list of rows (objects, or lists in the column order).
        #[schema(min_items = 1)]
        instances: Vec<Stats>,
        /// What to answer.
        params: Option<Params>,
    },
    /// TF-serving inputs.
    Inputs {
        /// Rows, or an object of columns.
        #[schema(value_type = Value)]
        inputs: (),
        /// What to answer.
        params: Option<Params>,
    },
}

/// The model signature's parameters.
#[derive(Serialize, ToSchema)]
pub(super) struct Params {
    /// `predict` (the default: legendary or not) or `predict_proba` (the probability the
    /// decision is taken on).
    #[schema(pattern = "^predict(_proba)?$")]
    predict_method: Option<String>,
}

/// `dataframe_split`: the columns are the six base stats, in any order.
#[derive(Serialize, ToSchema)]
pub(super) struct Split {
    /// Column names.
    columns: Vec<String>,
    /// Rows, values in the order of `columns`.
    data: Vec<Vec<f64>>,
}

/// What `/invocations` answers: `{"predictions": [...]}`, or the bare list for MLflow 1.x
/// pandas-split requests.
#[allow(
    dead_code,
    reason = "a schema for the document; `scoring::render` writes answers"
)]
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum Predictions {
    /// MLflow 2.x and later.
    Wrapped {
        /// One per row, in order: legendary or not.
        predictions: Vec<bool>,
    },
    /// With `params.predict_method` `predict_proba`.
    Probabilities {
        /// One per row, in order: the probability of legendary.
        predictions: Vec<f64>,
    },
    /// MLflow 1.x.
    Bare(Vec<bool>),
    /// MLflow 1.x with `params.predict_method` `predict_proba`.
    BareProbabilities(Vec<f64>),
}

/// An Open Inference Protocol request.
#[derive(Serialize, ToSchema)]
pub(super) struct InferRequest {
    /// Echoed in the answer.
    id: Option<String>,
    /// One `[N, 6]` tensor, or one `[N]` (or `[N, 1]`) tensor per stat, named as the stat.
    #[schema(min_items = 1)]
    inputs: Vec<InputTensor>,
    /// The outputs wanted (default: both).
    outputs: Option<Vec<RequestedOutput>>,
}

/// An input tensor.
#[derive(Serialize, ToSchema)]
pub(super) struct InputTensor {
    /// A stat's name, or any name for one `[N, 6]` tensor.
    name: String,
    /// Its dimensions.
    shape: Vec<u64>,
    /// A numeric datatype: FP16, FP32, FP64, INT8 to INT64, UINT8 to UINT64.
    #[schema(pattern = "^(FP(16|32|64)|U?INT(8|16|32|64))$")]
    datatype: String,
    /// The values, flattened row-major (or nested).
    #[schema(value_type = Vec<Value>)]
    data: Vec<f64>,
}

/// An output asked for by name.
#[derive(Serialize, ToSchema)]
pub(super) struct RequestedOutput {
    /// `predict` or `predict_proba`.
    #[schema(pattern = "^predict(_proba)?$")]
    name: String,
}

/// An Open Inference Protocol answer.
#[derive(Serialize, ToSchema)]
pub(super) struct InferResponse {
    /// The served model's name.
    model_name: String,
    /// Its registry version, when it has one.
    model_version: Option<String>,
    /// The request's `id`, when it had one.
    id: Option<String>,
    /// The outputs asked for.
    outputs: Vec<OutputTensor>,
}

/// An output tensor: `predict` (BOOL) or `predict_proba` (FP64), shape `[N]`.
#[derive(Serialize, ToSchema)]
pub(super) struct OutputTensor {
    /// `predict` or `predict_proba`.
    name: String,
    /// `BOOL` or `FP64`.
    datatype: String,
    /// `[N]`.
    shape: Vec<u64>,
    /// One value per row.
    #[schema(value_type = Vec<Value>)]
    data: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_route() {
        let doc = serde_json::to_value(openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/invocations",
            "/explain",
            "/ping",
            "/health",
            "/version",
            "/model",
            "/metrics",
            "/monitoring",
            "/pokedex",
            "/datasets",
            "/pokemon-type",
            "/pokemon-types",
            "/",
            "/docs",
            "/openapi.json",
            "/v2",
            "/v2/models/{name}/infer",
            "/v2/models/{name}/versions/{version}/infer",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert!(doc["paths"]["/pokemon-type"]["get"].is_object());
        assert!(doc["paths"]["/pokemon-type"]["post"].is_object());
        // `/version`'s last reload: the cause's class and status, no remote text.
        let reload = &doc["components"]["schemas"]["ReloadAttempt"]["properties"];
        for field in ["at", "outcome", "cause", "status", "version", "error"] {
            assert!(
                reload[field].is_object(),
                "ReloadAttempt.{field} missing: {reload}"
            );
        }
    }
}
