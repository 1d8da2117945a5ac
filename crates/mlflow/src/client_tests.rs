//! `MlflowClient` against an in-process axum fake: retries, error decoding, auth, timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

use super::*;
use crate::config::Secret;

const NOT_FOUND: &str = r#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Registered Model with name=nosuch not found", "sqlstate": "KAM00", "error_class": "RESOURCE_NOT_FOUND"}"#;

async fn spawn(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

fn client(uri: &str, max_retries: u32) -> MlflowClient {
    let mut config = TrackingConfig::new(uri).unwrap();
    config.retry = RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    };
    config.timeout = Duration::from_millis(500);
    MlflowClient::new(&config).unwrap()
}

/// A route that fails with `status` for the first `failures` calls, then answers `{}`.
fn flaky(failures: u32, status: StatusCode, calls: Arc<AtomicU32>) -> Router {
    Router::new().route(
        "/api/2.0/mlflow/runs/set-tag",
        post(move || {
            let calls = Arc::clone(&calls);
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) < failures {
                    (status, "busy".to_owned())
                } else {
                    (StatusCode::OK, "{}".to_owned())
                }
            }
        }),
    )
}

#[tokio::test]
async fn a_503_is_retried_until_it_succeeds() {
    let calls = Arc::new(AtomicU32::new(0));
    let uri = spawn(flaky(
        2,
        StatusCode::SERVICE_UNAVAILABLE,
        Arc::clone(&calls),
    ))
    .await;
    client(&uri, 3).set_run_tag("r", "k", "v").await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_status_is_reported() {
    let calls = Arc::new(AtomicU32::new(0));
    let uri = spawn(flaky(
        100,
        StatusCode::TOO_MANY_REQUESTS,
        Arc::clone(&calls),
    ))
    .await;
    let error = client(&uri, 2)
        .set_run_tag("r", "k", "v")
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        matches!(error, MlflowError::Api { status, .. } if status == StatusCode::TOO_MANY_REQUESTS)
    );
}

#[tokio::test]
async fn a_4xx_is_not_retried_and_its_mlflow_body_is_decoded() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let router = Router::new().route(
        "/api/2.0/mlflow/registered-models/get",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { (StatusCode::NOT_FOUND, NOT_FOUND) }
        }),
    );
    let uri = spawn(router).await;
    let error = client(&uri, 3)
        .get_registered_model("nosuch")
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        error.to_string(),
        "registered model `nosuch` does not exist in the MLflow registry"
    );
}

#[test]
fn error_bodies_decode_into_api_errors_and_non_json_bodies_are_quoted() {
    let error = decode_error(
        "runs/get",
        StatusCode::BAD_REQUEST,
        NOT_FOUND,
        &Redactor::default(),
    );
    let MlflowError::Api {
        error_code,
        message,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(error_code, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(message, "Registered Model with name=nosuch not found");

    let html = decode_error(
        "runs/get",
        StatusCode::UNAUTHORIZED,
        "You are not authenticated.\n",
        &Redactor::default(),
    );
    assert_eq!(
        html.to_string(),
        "MLflow runs/get failed with HTTP 401 Unauthorized: : You are not authenticated."
    );
}

#[tokio::test]
async fn a_closed_port_fails_after_the_retries_naming_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = client(&uri, 2).get_run("abc").await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, MlflowError::Transport { attempts: 3, .. }),
        "{message}"
    );
    assert!(
        message.contains(&format!("{uri}/api/2.0/mlflow/runs/get")),
        "{message}"
    );
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let router = Router::new().route(
        "/api/2.0/mlflow/runs/get",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "{}"
        }),
    );
    let uri = spawn(router).await;
    let error = client(&uri, 0).get_run("abc").await.unwrap_err();
    let MlflowError::Transport { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(source.is_timeout());
}

#[tokio::test]
async fn the_bearer_token_is_sent_and_never_shown_by_debug() {
    let router = Router::new().route(
        "/prefix/api/2.0/mlflow/runs/set-tag",
        post(|headers: HeaderMap| async move {
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some("Bearer tok-SECRET") => (StatusCode::OK, "{}"),
                _ => (StatusCode::UNAUTHORIZED, "no"),
            }
        }),
    );
    // No trailing slash on purpose: the base must still be appended to, not replaced.
    let uri = format!("{}/prefix", spawn(router).await);
    let mut config = TrackingConfig::new(&uri).unwrap();
    config.auth = Some(Auth::Bearer(Secret::new("tok-SECRET")));
    let client = MlflowClient::new(&config).unwrap();
    client.set_run_tag("r", "k", "v").await.unwrap();
    assert!(!format!("{client:?}").contains("SECRET"));
}

#[test]
fn artifact_urls_encode_each_segment() {
    let client = client("http://127.0.0.1:5000/base", 0);
    let url = client.artifact_url(&["1", "run", "artifacts", "a b?#"]);
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:5000/base/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/a%20b%3F%23"
    );
}

/// A registry that answers every request with `status` and a dump of the request's headers,
/// as an echo server or a debugging proxy does, in `json` or as plain text.
fn echoing(status: StatusCode, json: bool) -> Router {
    Router::new().fallback(move |headers: HeaderMap| async move {
        let dump: String = headers
            .iter()
            .map(|(name, value)| format!("{name}: {}\n", value.to_str().unwrap_or("?")))
            .collect();
        let body = if json {
            serde_json::json!({"error_code": "INTERNAL_ERROR", "message": dump}).to_string()
        } else {
            dump
        };
        (status, body)
    })
}

#[tokio::test]
async fn an_error_body_echoing_the_credentials_is_scrubbed() {
    let basic = Auth::Basic {
        username: "bob".to_owned(),
        password: Secret::new("pw-SECRET-77"),
    };
    for auth in [Auth::Bearer(Secret::new("tok-SECRET-1234")), basic] {
        for (status, json) in [
            (StatusCode::INTERNAL_SERVER_ERROR, false),
            (StatusCode::UNAUTHORIZED, true),
        ] {
            let mut config = TrackingConfig::new(&spawn(echoing(status, json)).await).unwrap();
            config.retry.max_retries = 0;
            config.auth = Some(auth.clone());
            let secrets = auth.secrets();
            let client = MlflowClient::new(&config).unwrap();
            let error = client.set_run_tag("r", "k", "v").await.unwrap_err();
            let shown = format!("{error} {error:?}");
            assert!(shown.contains("user-agent: legendary"), "{shown}");
            for secret in &secrets {
                assert!(!shown.contains(secret.as_str()), "{secret} in {shown}");
            }
            assert!(!shown.contains("SECRET"), "{shown}");
        }
    }
}
