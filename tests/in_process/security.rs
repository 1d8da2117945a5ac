//! The security headers on every kind of answer (page, explorer, assets, JSON, errors), and
//! what a client sends kept out of answers at a bounded size.

use reqwest::{Method, StatusCode};

use crate::support::app::spawn_app;

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let c = &app.client;
    let requests = [
        c.get(app.url("/")),
        c.get(app.url("/docs")),
        c.get(app.url("/assets/app.js")),
        c.get(app.url("/assets/vendor/swagger-ui-5.35.0.css")),
        c.get(app.url("/version")),
        c.get(app.url("/openapi.json")),
        c.get(app.url("/metrics")),
        c.get(app.url("/nope")),
        c.delete(app.url("/invocations")),
        c.post(app.url("/invocations")).body("{"),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let what = format!("{} {}", response.status(), response.url().path());
        let h = response.headers();
        assert_eq!(
            h["content-security-policy"],
            legendary::server::CONTENT_SECURITY_POLICY,
            "{what}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    }
    let csp = legendary::server::CONTENT_SECURITY_POLICY;
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    app.shut_down().await;
}

#[tokio::test]
async fn a_huge_method_name_is_not_echoed_in_full() {
    let app = spawn_app().await;
    let method = Method::from_bytes("A".repeat(70 * 1024).as_bytes()).unwrap();
    for path in ["/invocations", "/nope"] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            matches!(
                status,
                StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND
            ),
            "{path}: {status}"
        );
        let body = response.text().await.unwrap();
        assert!(body.len() < 300, "{path}: {} bytes", body.len());
        assert!(body.contains(&format!("{}…", "A".repeat(32))), "{body}");
    }
    app.shut_down().await;
}
