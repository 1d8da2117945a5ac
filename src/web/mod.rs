//! The web side of `legendary serve`: the page at `/`, the Pokédex search behind it, the
//! original demo's `/pokemon-type` API, and the OpenAPI description with a docs page.
//!
//! Layout:
//! - `page`: the embedded page and its assets (`GET /`, `/assets/*`, `/favicon.svg`, `/docs`
//!   with the vendored API explorer, `/monitoring.html`).
//! - `pokedex`: `GET /pokedex`, name search over the bundled data set.
//! - `names`: how typed names are folded and compared for that search.
//! - `datasets`: `GET /datasets`, the data catalogue of the same package.
//! - `stats`: the six stats of one demo request, parsed and checked field by field.
//! - `demo`: `GET`/`POST /pokemon-type` and `POST /pokemon-types`.

pub(crate) mod datasets;
pub(crate) mod demo;
mod names;
pub(crate) mod page;
pub(crate) mod pokedex;
pub(crate) mod stats;

use axum::Router;
use axum::routing::{get, post};

use crate::http::AppState;

/// The web routes, merged into the server's application (`server::app`) before its fallback.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.css", get(page::css))
        .route("/assets/app.js", get(page::js))
        .route("/assets/why.js", get(page::why_js))
        .route("/assets/share.js", get(page::share_js))
        .route("/assets/card.js", get(page::card_js))
        .route("/monitoring.html", get(page::monitoring))
        .route("/assets/monitor.js", get(page::monitor_js))
        .route("/docs", get(page::docs))
        .route("/assets/docs.js", get(page::docs_js))
        .route("/assets/docs.css", get(page::docs_css))
        .route("/assets/vendor/{file}", get(page::vendor))
        .route("/favicon.svg", get(page::favicon))
        .route("/pokedex", get(pokedex::search))
        .route("/datasets", get(datasets::search))
        .route(
            "/pokemon-type",
            get(demo::pokemon_type_query).post(demo::pokemon_type_json),
        )
        .route("/pokemon-types", post(demo::pokemon_types))
}
