//! `resolve` against an in-process fake registry answering as MLflow 3.17 does.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::*;
use crate::TrackingConfig;
use crate::retry::RetryPolicy;

/// Version 3 in Production, registered with a `runs:/` source (returned verbatim by the server).
const VERSION_3: &str = r#"{"name": "pokemon", "version": "3", "current_stage": "Production",
    "source": "runs:/abc/model", "run_id": "abc", "status": "READY", "aliases": ["champion"]}"#;

async fn fake() -> MlflowClient {
    let api = "/api/2.0/mlflow";
    let router = Router::new()
        .route(
            &format!("{api}/registered-models/get-latest-versions"),
            // An empty stage answers `{}`: no `model_versions` key at all.
            post(|body: String| async move {
                if body.contains("Production") {
                    format!(r#"{{"model_versions": [{VERSION_3}]}}"#)
                } else {
                    "{}".to_owned()
                }
            }),
        )
        .route(
            &format!("{api}/registered-models/alias"),
            get(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    r#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias nope not found.", "sqlstate": "KAM00", "error_class": "INVALID_PARAMETER_VALUE"}"#,
                )
            }),
        )
        .route(
            &format!("{api}/registered-models/get"),
            get(|| async { r#"{"registered_model": {"name": "pokemon"}}"# }),
        )
        .route(
            &format!("{api}/model-versions/get-download-uri"),
            get(|| async { r#"{"artifact_uri": "runs:/abc/model"}"# }),
        )
        .route(
            &format!("{api}/runs/get"),
            get(|| async {
                r#"{"run": {"info": {"run_id": "abc", "artifact_uri": "mlflow-artifacts:/4/abc/artifacts"}}}"#
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let mut config = TrackingConfig::new(&uri).unwrap();
    config.retry = RetryPolicy::NONE;
    MlflowClient::new(&config).unwrap()
}

#[tokio::test]
async fn a_stage_resolves_through_a_runs_source_to_the_run_artifacts() {
    let client = fake().await;
    let resolved = resolve(&client, &"models:/pokemon/production".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        resolved,
        Resolved {
            name: Some("pokemon".to_owned()),
            version: Some("3".to_owned()),
            stage: Some("Production".to_owned()),
            aliases: vec!["champion".to_owned()],
            run_id: Some("abc".to_owned()),
            artifact_uri: "mlflow-artifacts:/4/abc/artifacts/model".to_owned(),
        }
    );
}

#[tokio::test]
async fn an_empty_stage_and_an_unknown_alias_are_typed_errors() {
    let client = fake().await;
    let staging = resolve(&client, &"models:/pokemon/Staging".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(staging, MlflowError::StageEmpty { ref stage, .. } if stage == "Staging"),
        "{staging:?}"
    );
    let alias = resolve(&client, &"models:/pokemon@nope".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(alias, MlflowError::AliasNotFound { .. }),
        "{alias:?}"
    );
}

#[tokio::test]
async fn a_local_path_resolves_without_a_call() {
    let client = fake().await;
    let resolved = resolve(&client, &"models/pokemon".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(resolved.artifact_uri, "models/pokemon");
    assert_eq!(resolved.version, None);
}
