//! The web page and the docs page, embedded in the binary: plain HTML, CSS and JS under
//! `assets/`, and the API explorer (Swagger UI) vendored under `assets/vendor/`, no build step
//! and nothing fetched from elsewhere, so they work offline.

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use crate::http::ApiError;

const INDEX: &str = include_str!("assets/index.html");
const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");
const WHY_JS: &str = include_str!("assets/why.js");
const SHARE_JS: &str = include_str!("assets/share.js");
const CARD_JS: &str = include_str!("assets/card.js");
const MONITOR: &str = include_str!("assets/monitoring.html");
const MONITOR_JS: &str = include_str!("assets/monitor.js");
const DOCS: &str = include_str!("assets/docs.html");
const DOCS_JS: &str = include_str!("assets/docs.js");
const DOCS_CSS: &str = include_str!("assets/docs.css");
const FAVICON: &str = include_str!("assets/favicon.svg");

/// The vendored Swagger UI (`scripts/vendor-docs-ui.sh`). Its files are served under names
/// that carry this version, so they can be cached for a year: a new version is a new URL.
const SWAGGER_UI_VERSION: &str = "5.35.0";
const SWAGGER_UI_JS: &str = include_str!("assets/vendor/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &str = include_str!("assets/vendor/swagger-ui/swagger-ui.css");

/// `Cache-Control` of the versioned vendored files.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

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

/// A script of ours, with its type.
fn script(body: &'static str) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
}

/// The page's script: the stats, the search, asking for the answer.
#[utoipa::path(get, path = "/assets/app.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn js() -> impl IntoResponse {
    script(JS)
}

/// The page's answer and its why.
#[utoipa::path(get, path = "/assets/why.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn why_js() -> impl IntoResponse {
    script(WHY_JS)
}

/// The page's shareable URL and "copy as curl".
#[utoipa::path(get, path = "/assets/share.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn share_js() -> impl IntoResponse {
    script(SHARE_JS)
}

/// The page's model card, overall importances and data catalogue.
#[utoipa::path(get, path = "/assets/card.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn card_js() -> impl IntoResponse {
    script(CARD_JS)
}

/// The monitoring view: drift per feature, the answers against the reference, the expected
/// quality and a short history, read from `GET /monitoring` every few seconds.
#[utoipa::path(get, path = "/monitoring.html", tag = "web",
    responses((status = 200, description = "The monitoring view", content_type = "text/html", body = String)))]
pub(crate) async fn monitoring() -> Html<&'static str> {
    Html(MONITOR)
}

/// The monitoring view's script: polls `/monitoring` and draws it.
#[utoipa::path(get, path = "/assets/monitor.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn monitor_js() -> impl IntoResponse {
    script(MONITOR_JS)
}

/// The API explorer (Swagger UI) over `/openapi.json`, with "Try it out".
#[utoipa::path(get, path = "/docs", tag = "web",
    responses((status = 200, description = "The docs page", content_type = "text/html", body = String)))]
pub(crate) async fn docs() -> Html<&'static str> {
    Html(DOCS)
}

/// The docs page's script: starts Swagger UI on `/openapi.json`.
#[utoipa::path(get, path = "/assets/docs.js", tag = "web",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub(crate) async fn docs_js() -> impl IntoResponse {
    script(DOCS_JS)
}

/// The docs page's own style: its header, and Swagger UI's contrast and phone fixes.
#[utoipa::path(get, path = "/assets/docs.css", tag = "web",
    responses((status = 200, description = "CSS", content_type = "text/css", body = String)))]
pub(crate) async fn docs_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        DOCS_CSS,
    )
}

/// The page's icon: a small SVG, so it stays sharp in any tab size.
#[utoipa::path(get, path = "/favicon.svg", tag = "web",
    responses((status = 200, description = "SVG icon", content_type = "image/svg+xml", body = String)))]
pub(crate) async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// A file of the vendored API explorer: `swagger-ui-5.35.0.js` or `swagger-ui-5.35.0.css`.
#[utoipa::path(get, path = "/assets/vendor/{file}", tag = "web",
    params(("file" = String, Path, description = "`swagger-ui-<version>.js` or `.css`", example = "swagger-ui-5.35.0.js")),
    responses(
        (status = 200, description = "The file, cacheable for a year", content_type = "text/javascript", body = String),
        (status = 404, description = "No such file", body = crate::http::ErrorBody),
    ))]
pub(crate) async fn vendor(Path(file): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let (content_type, body) = vendored(&file)
        .ok_or_else(|| ApiError::NotFound(format!("No vendored file `{file}` in this build.")))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        body,
    ))
}

/// The content type and text of a vendored file by its served name.
fn vendored(file: &str) -> Option<(&'static str, &'static str)> {
    let (stem, ext) = file.rsplit_once('.')?;
    if stem.strip_prefix("swagger-ui-")? != SWAGGER_UI_VERSION {
        return None;
    }
    match ext {
        "js" => Some(("text/javascript; charset=utf-8", SWAGGER_UI_JS)),
        "css" => Some(("text/css; charset=utf-8", SWAGGER_UI_CSS)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_page_names_the_vendored_files_this_build_serves() {
        for ext in ["js", "css"] {
            let name = format!("swagger-ui-{SWAGGER_UI_VERSION}.{ext}");
            assert!(vendored(&name).is_some(), "{name}");
            assert!(DOCS.contains(&format!("/assets/vendor/{name}")), "{name}");
        }
        assert!(vendored("swagger-ui-0.0.1.js").is_none());
        assert!(vendored("swagger-ui-5.35.0.map").is_none());
        assert!(vendored("../app.js").is_none());
    }
}
