//! `POST /invocations`: MLflow's scoring protocol. Parse straight into a row-major batch,
//! score it on the model the request started with, answer as the client asked.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::{AppState, Served};
use crate::scoring;

/// Bodies at least this large are parsed, scored and answered on one blocking thread, off
/// the async workers: about 3,000 rows or more, a few milliseconds of work and up to tens of
/// milliseconds for 100,000 rows. Keeping the large buffers on one thread also keeps them in
/// one allocator heap (glibc gives every thread that allocates its own heap, and each would
/// keep the peak). A row takes at least 12 bytes in any format, so every batch big enough to
/// be split across cores comes this way.
const LARGE_BODY_BYTES: usize = 64 * 1024;

/// Scores a request in any of MLflow's input formats (and the 1.x pandas-split request).
pub(super) async fn invocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let served = live_model(&state)?;
    let body = super::body::read(body, &headers, state.limits().max_body_bytes).await?;
    if body.len() < LARGE_BODY_BYTES {
        return score(&state, &served, content_type(&headers), &body, false);
    }
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _enter = span.enter();
        score(&state, &served, content_type(&headers), &body, true)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("scoring task failed: {e}")))?
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Parses `body`, scores it on `served` and renders the answer in the request's dialect.
/// Only an `offloaded` call (off the async workers) splits a large batch across the cores.
fn score(
    state: &AppState,
    served: &Served,
    content_type: Option<&str>,
    body: &[u8],
    offloaded: bool,
) -> Result<Response, ApiError> {
    let parsed = scoring::parse(
        content_type,
        body,
        served.model.input_features(),
        &state.limits().scoring,
    )
    .map_err(ApiError::Scoring)?;
    let batch = parsed.batch;
    let rows = batch.n_rows();
    let predictions = if offloaded && rows >= state.limits().parallel_rows {
        predict_parallel(served, batch.values(), batch.n_cols())
    } else {
        served.model.predict_batch(batch.values())
    };
    drop(batch);
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

/// Splits a large batch across the cores (rayon); each chunk is scored in blocks as usual.
fn predict_parallel(served: &Served, values: &[f64], n_cols: usize) -> Vec<bool> {
    use rayon::prelude::*;
    const CHUNK_ROWS: usize = 4096;
    values
        .par_chunks(CHUNK_ROWS * n_cols)
        .flat_map_iter(|chunk| served.model.predict_batch(chunk))
        .collect()
}
