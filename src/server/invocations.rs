//! `POST /invocations`: MLflow's scoring protocol. Parse straight into a row-major batch,
//! score it on the model the request started with, answer as the client asked.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::{AppState, Served};
use crate::scoring;

/// Scores a request in any of MLflow's input formats (and the 1.x pandas-split request).
pub(super) async fn invocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let served = live_model(&state)?;
    let body = body.map_err(|e| body_error(&e, &state))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let parsed = scoring::parse(
        content_type,
        &body,
        served.model.input_features(),
        &state.limits().scoring,
    )
    .map_err(ApiError::Scoring)?;
    let rows = parsed.batch.n_rows();
    let predictions = predict(&state, served, parsed.batch).await?;
    tracing::debug!(rows, "scored");
    let mut response = (
        StatusCode::OK,
        scoring::render(&predictions, parsed.dialect),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(ScoredRows(rows));
    Ok(response)
}

/// Rows scored by a response, for the metrics layer.
#[derive(Debug, Clone, Copy)]
pub struct ScoredRows(pub usize);

/// The live model, or 503 while none is loaded.
pub(super) fn live_model(state: &AppState) -> Result<Arc<Served>, ApiError> {
    state.model().ok_or_else(|| {
        ApiError::Unavailable("No model is loaded yet; retry when /ping answers 200.".to_owned())
    })
}

fn body_error(e: &BytesRejection, state: &AppState) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(state.limits().max_body_bytes)
    } else {
        ApiError::BadField(format!("Could not read the request body: {e}"))
    }
}

/// Small batches are scored inline (a row costs about a microsecond, less than a hop to
/// another thread); large ones go to the blocking pool and are split across cores.
pub(super) async fn predict(
    state: &AppState,
    served: Arc<Served>,
    batch: scoring::Batch,
) -> Result<Vec<bool>, ApiError> {
    if batch.n_rows() < state.limits().parallel_rows {
        return Ok(served.model.predict_batch(batch.values()));
    }
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _enter = span.enter();
        predict_parallel(&served, batch.values(), batch.n_cols())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("prediction task failed: {e}")))
}

fn predict_parallel(served: &Served, values: &[f64], n_cols: usize) -> Vec<bool> {
    use rayon::prelude::*;
    const CHUNK_ROWS: usize = 4096;
    values
        .par_chunks(CHUNK_ROWS * n_cols)
        .flat_map_iter(|chunk| served.model.predict_batch(chunk))
        .collect()
}
