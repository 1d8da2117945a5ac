//! The page's and the explorer's files over HTTP, and the Pokédex search's spellings.

use reqwest::StatusCode;

use super::get_json;
use crate::support::app::spawn_app;

#[tokio::test]
async fn the_page_and_the_docs_are_html_with_their_assets() {
    let app = spawn_app().await;
    for (path, content_type, needle) in [
        ("/", "text/html", "<form id=\"stats\""),
        ("/docs", "text/html", "/assets/docs.js"),
        ("/monitoring.html", "text/html", "/assets/monitor.js"),
        ("/assets/monitor.js", "text/javascript", "/monitoring"),
        ("/assets/card.js", "text/javascript", "/model"),
        ("/assets/why.js", "text/javascript", "contributions"),
        ("/assets/share.js", "text/javascript", "replaceState"),
        ("/favicon.svg", "image/svg+xml", "<svg"),
        (
            "/assets/vendor/swagger-ui-5.35.0.js",
            "text/javascript",
            "SwaggerUIBundle",
        ),
        (
            "/assets/vendor/swagger-ui-5.35.0.css",
            "text/css",
            ".swagger-ui",
        ),
        ("/assets/app.js", "text/javascript", "/pokemon-type"),
        ("/assets/app.css", "text/css", "--accent"),
        ("/assets/docs.js", "text/javascript", "/openapi.json"),
        ("/assets/docs.css", "text/css", ".swagger-ui"),
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let ct = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
        assert!(response.text().await.unwrap().contains(needle), "{path}");
    }
    app.shut_down().await;
}

#[tokio::test]
async fn the_vendored_explorer_is_cached_for_a_year_and_unknown_files_are_a_404() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/assets/vendor/swagger-ui-5.35.0.css"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    for missing in ["swagger-ui-1.0.0.js", "swagger-ui-5.35.0.js.map", "app.js"] {
        let (status, body) = get_json(&app.url(&format!("/assets/vendor/{missing}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert!(
            body["message"].as_str().unwrap().contains(missing),
            "{body}"
        );
    }
    app.shut_down().await;
}

#[tokio::test]
async fn the_pokedex_forgives_accents_punctuation_formes_and_takes_numbers() {
    let app = spawn_app().await;
    for (q, first) in [
        ("flabebe", "Flabe\u{301}be\u{301}"),
        ("Flab%C3%A9b%C3%A9", "Flabe\u{301}be\u{301}"),
        ("mr%20mime", "Mr. Mime"),
        ("farfetch'd", "Farfetch\u{2019}d"),
        ("mega%20mewtwo", "Mewtwo-Mega-X"),
        ("150", "Mewtwo"),
    ] {
        let (status, list) = get_json(&app.url(&format!("/pokedex?q={q}&limit=3"))).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(list[0]["name"], first, "{q}: {list}");
    }
    app.shut_down().await;
}
