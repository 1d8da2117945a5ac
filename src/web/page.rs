//! The web page and the docs page, embedded in the binary: plain HTML, CSS and JS under
//! `assets/`, no build step and nothing fetched from elsewhere, so they work offline.

use axum::http::header;
use axum::response::{Html, IntoResponse};

const INDEX: &str = include_str!("assets/index.html");
const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");
const DOCS: &str = include_str!("assets/docs.html");
const DOCS_JS: &str = include_str!("assets/docs.js");

/// The page: enter six stats or find a Pokémon, and see the model's answer.
#[utoipa::path(get, path = "/", tag = "web",
    responses((status = 200, description = "The web page", content_type = "text/html", body = String)))]
pub(crate) async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// The page's style sheet.
#[utoipa::path(get, path = "/assets/app.css", tag = "web",
    responses((status = 200, description = "CSS", content_type = "text/css", body = String)))]
pub(crate) async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

/// The page's script.
#[utoipa::path(get, path = "/assets/app.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

/// Readable API documentation, rendered from `/openapi.json` in the browser.
#[utoipa::path(get, path = "/docs", tag = "web",
    responses((status = 200, description = "The docs page", content_type = "text/html", body = String)))]
pub(crate) async fn docs() -> Html<&'static str> {
    Html(DOCS)
}

/// The docs page's script.
#[utoipa::path(get, path = "/assets/docs.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn docs_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        DOCS_JS,
    )
}
