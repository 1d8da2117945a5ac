//! `/ping` is readiness (a model loaded and not draining); `/health` is liveness (always 200).

use legendary::http::{AppState, ServerLimits};
use serde_json::Value;

use crate::support::app::{TestApp as App, bundled_model, spawn_state as spawn};

async fn get(app: &App, path: &str) -> (u16, Value) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn ping_is_503_without_a_model_200_with_one_and_503_while_draining() {
    let app = spawn(AppState::new(ServerLimits::default(), None)).await;

    let (status, body) = get(&app, "/ping").await;
    assert_eq!(status, 503);
    assert_eq!(body["error_code"], "TEMPORARILY_UNAVAILABLE");
    assert!(
        body["message"].as_str().unwrap().contains("No model"),
        "{body}"
    );
    assert_eq!(
        get(&app, "/health").await,
        (200, serde_json::json!({"status": "alive"}))
    );

    app.state.set_model(bundled_model());
    let (status, body) = get(&app, "/ping").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ready");

    app.state.start_draining();
    let (status, body) = get(&app, "/ping").await;
    assert_eq!(status, 503);
    assert!(
        body["message"].as_str().unwrap().contains("shutting down"),
        "{body}"
    );
    assert_eq!(get(&app, "/health").await.0, 200);
    app.shut_down().await;
}
