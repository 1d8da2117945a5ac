//! Every error the server sends, whatever the route, has MLflow's body byte for byte in form:
//! `{"error_code": …, "message": …, "sqlstate": …, "error_class": …}` with `json.dumps`'
//! separators, and `Content-Type: application/json`.

use std::time::Duration;

use legendary::http::{AppState, ServerLimits};

use crate::support::app::{TestApp, spawn_state, spawn_with};

/// Checks the body's exact form and returns `(status, error_code)`.
async fn mlflow_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["error_class", "error_code", "message", "sqlstate"],
        "{text}"
    );
    // The same four fields, re-written the way MLflow writes them, give the same bytes: the
    // key order and the `", "` / `": "` separators are MLflow's.
    let expected = format!(
        "{{\"error_code\": {}, \"message\": {}, \"sqlstate\": {}, \"error_class\": {}}}",
        json["error_code"], json["message"], json["sqlstate"], json["error_class"]
    );
    assert_eq!(text, expected, "status {status}");
    (status, json["error_code"].as_str().unwrap().to_owned())
}

async fn check(app: &TestApp, request: reqwest::RequestBuilder, status: u16, code: &str) {
    let _ = app;
    let (got, got_code) = mlflow_error(request.send().await.unwrap()).await;
    assert_eq!((got, got_code.as_str()), (status, code));
}

#[tokio::test]
async fn every_route_answers_errors_in_mlflows_format() {
    let limits = ServerLimits {
        max_body_bytes: 1024,
        scoring: legendary_scoring::Limits { max_rows: 2 },
        ..ServerLimits::default()
    };
    let app = spawn_with(limits).await;
    let c = &app.client;
    let json = |path: &str, body: &str| {
        c.post(app.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    // The scoring protocol: bad JSON, a schema error, too many rows, a bad media type, too big.
    check(&app, json("/invocations", "{"), 400, "BAD_REQUEST").await;
    check(
        &app,
        json(
            "/invocations",
            r#"{"dataframe_split": {"columns": ["hp"], "data": [[1]]}}"#,
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    check(
        &app,
        json("/invocations", r#"{"inputs": {"hp": [1, 2, 3]}}"#),
        413,
        "BAD_REQUEST",
    )
    .await;
    check(
        &app,
        c.post(app.url("/invocations"))
            .header("content-type", "text/plain")
            .body("x"),
        415,
        "BAD_REQUEST",
    )
    .await;
    check(
        &app,
        json("/invocations", &"x".repeat(2048)),
        413,
        "REQUEST_LIMIT_EXCEEDED",
    )
    .await;
    // Routing: no route, wrong method.
    check(&app, c.get(app.url("/nope")), 404, "ENDPOINT_NOT_FOUND").await;
    check(&app, c.delete(app.url("/invocations")), 405, "BAD_REQUEST").await;
    // The demo API: a missing stat, a bad query, a body that is not an object, too big.
    check(
        &app,
        c.get(app.url("/pokemon-type?hp=1")),
        400,
        "BAD_REQUEST",
    )
    .await;
    check(
        &app,
        c.get(app.url("/pokemon-type?hp=x&attack=1")),
        400,
        "BAD_REQUEST",
    )
    .await;
    check(&app, json("/pokemon-type", "[1]"), 400, "BAD_REQUEST").await;
    check(
        &app,
        json("/pokemon-types", &"x".repeat(2048)),
        413,
        "REQUEST_LIMIT_EXCEEDED",
    )
    .await;
    check(&app, c.get(app.url("/pokedex?limit=0")), 400, "BAD_REQUEST").await;
    app.shut_down().await;

    // No model yet: every model route is a 503 in the same form.
    let app = spawn_state(AppState::new(ServerLimits::default(), None)).await;
    for path in ["/ping", "/model", "/pokemon-type?hp=1"] {
        check(
            &app,
            app.client.get(app.url(path)),
            503,
            "TEMPORARILY_UNAVAILABLE",
        )
        .await;
    }
    app.shut_down().await;

    // A request slower than the timeout: 504. A 1,000,000-row CSV takes far longer than 1 ms.
    let slow = ServerLimits {
        timeout: Duration::from_millis(1),
        ..ServerLimits::default()
    };
    let app = spawn_with(slow).await;
    let mut csv = String::from("hp,attack,defense,special_attack,special_defense,speed\n");
    for _ in 0..200_000 {
        csv.push_str("80,100,90,110,95,105\n");
    }
    let request = app
        .client
        .post(app.url("/invocations"))
        .header("content-type", "text/csv")
        .body(csv);
    check(&app, request, 504, "DEADLINE_EXCEEDED").await;
    app.shut_down().await;
}
