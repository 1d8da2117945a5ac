//! The OpenAPI 3.1 document at `/openapi.json`, generated from the handlers' `#[utoipa::path]`
//! attributes. The scoring routes of [`crate::server`] are described by `server`, next door,
//! so the server module keeps its handlers as they are.

mod server;

use axum::Json;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// MLflow's error body, which every non-2xx JSON answer of this server has.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ErrorBody {
    /// MLflow's code, e.g. `BAD_REQUEST`, `INVALID_PARAMETER_VALUE`, `TEMPORARILY_UNAVAILABLE`.
    error_code: String,
    /// What went wrong, for a person; 400s name the field at fault.
    message: String,
    /// MLflow's error class.
    error_class: String,
    /// `KAM00`, `KAM01` or `XXM00`.
    sqlstate: String,
}

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
        server::invocations,
        server::ping,
        server::health,
        server::version,
        server::model_card,
        server::metrics,
        super::demo::pokemon_type_query,
        super::demo::pokemon_type_json,
        super::demo::pokemon_types,
        super::pokedex::search,
        super::page::index,
        super::page::css,
        super::page::js,
        super::page::docs,
        super::page::docs_js,
        openapi_json,
    ),
    tags(
        (name = "scoring", description = "MLflow's scoring protocol and the server's probes"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_route() {
        let doc = serde_json::to_value(openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/invocations",
            "/ping",
            "/health",
            "/version",
            "/model",
            "/metrics",
            "/pokedex",
            "/pokemon-type",
            "/pokemon-types",
            "/",
            "/docs",
            "/openapi.json",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert!(doc["paths"]["/pokemon-type"]["get"].is_object());
        assert!(doc["paths"]["/pokemon-type"]["post"].is_object());
    }
}
