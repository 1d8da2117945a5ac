//! The router: every route in one place, and the layers around them with their order.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::error::ApiError;
use super::invocations::invocations;
use super::state::AppState;

/// Builds the application: pure, so tests serve exactly what production serves.
pub fn router(state: AppState) -> Router {
    let limits = state.limits().clone();
    Router::new()
        .route("/invocations", post(invocations))
        .route("/ping", get(ping))
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/model", get(model_card))
        .route("/metrics", get(super::metrics::metrics))
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        // Layers run outside-in, i.e. bottom to top of this list. `Router::layer` wraps each
        // route (and the fallbacks), so every layer here already sees `MatchedPath`.
        // 1. the body limit only sets a limit that the `Bytes` extractor enforces (413 JSON);
        //    `/invocations` reads its body itself and enforces the same limit (`body.rs`);
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        // 2. the timeout covers reading the body and scoring, and answers 504 JSON;
        .layer(middleware::from_fn_with_state(limits.timeout, timeout))
        // 3. metrics: outside the timeout so 504s are counted with their real latency,
        //    inside the span so nothing it does escapes the request's logs;
        .layer(middleware::from_fn_with_state(state, super::metrics::track))
        // 4. the trace span sees the request id set by 5; one access line per response;
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(super::telemetry::request_span)
                .on_response(super::telemetry::AccessLog)
                // the access line carries the status; 5xx details are logged by `ApiError`.
                .on_failure(()),
        )
        // 5. request ids: taken from `x-request-id` or made, and echoed on the response.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit).into_response(),
    }
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Readiness: 200 only while a model is loaded and the server is not draining.
async fn ping(State(state): State<AppState>) -> Response {
    if state.is_draining() {
        return ApiError::Unavailable("The server is shutting down.".to_owned()).into_response();
    }
    match state.model() {
        Some(served) => json(
            StatusCode::OK,
            &serde_json::json!({ "status": "ready", "model_version": served.meta.version, "model_uuid": served.meta.model_uuid }),
        ),
        None => ApiError::Unavailable("No model is loaded yet.".to_owned()).into_response(),
    }
}

/// Liveness: the process answers.
async fn health() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "alive" }))
}

/// This server's version and the live model's provenance.
async fn version(State(state): State<AppState>) -> Response {
    let model = state
        .model()
        .map(|s| serde_json::to_value(&s.meta).unwrap_or_default());
    let (succeeded, refused) = state.reloads();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "legendary": env!("CARGO_PKG_VERSION"),
            "model": model,
            "reloads": { "succeeded": succeeded, "refused": refused },
        }),
    )
}

/// The model card: provenance, parameters, metrics and importances of the live model.
async fn model_card(State(state): State<AppState>) -> Result<Response, ApiError> {
    let served = super::invocations::live_model(&state)?;
    let m = &served.model;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "meta": served.meta,
            "input_features": m.input_features(),
            "forest_features": m.forest_features(),
            "n_trees": m.n_trees(),
            "decision_threshold": m.threshold(),
            "params": m.params(),
            "metrics": served.metrics,
            "feature_importance": served.importance,
        }),
    ))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "No route for {} {}.",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "Method {} is not allowed on {}.",
        request.method(),
        request.uri().path()
    ))
}
