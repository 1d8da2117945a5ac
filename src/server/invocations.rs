//! `POST /invocations`: MLflow's scoring protocol. Parse straight into a row-major batch,
//! score it on the model the request started with, answer as the client asked.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::acquire::Served;
use crate::cancel::Cancel;
use crate::http::{ApiError, AppState, SMALL_BODY_BYTES, ScoredRows};
use legendary_scoring::{PredictMethod, ScoringError};

/// Bodies at least [`SMALL_BODY_BYTES`] large are parsed, scored and answered on one blocking
/// thread, off the async workers: about 3,000 rows or more, a few milliseconds of work and up
/// to tens of milliseconds for 100,000 rows. Keeping the large buffers on one thread also keeps
/// them in one allocator heap (glibc gives every thread that allocates its own heap, and each
/// would keep the peak). A row takes at least 12 bytes in any format, so every batch big enough
/// to be split across cores comes this way.
/// Score rows with MLflow's scoring protocol.
///
/// JSON (`dataframe_split`, `dataframe_records`, `instances` or `inputs`) or CSV with a header,
/// the columns being the six base stats; MLflow 1.x's pandas-split request is answered with a
/// bare list, as MLflow 1.x did.
#[utoipa::path(
    post,
    path = "/invocations",
    tag = "scoring",
    request_body(content(
        (super::openapi::ScoringRequest = "application/json"),
        (String = "text/csv"),
    )),
    responses(
        (status = 200, description = "One prediction per row", body = super::openapi::Predictions),
        (status = 400, description = "The body cannot be scored; the message says why", body = crate::http::ErrorBody),
        (status = 413, description = "Too large a body, or too many rows", body = crate::http::ErrorBody),
        (status = 415, description = "A content type or charset this server does not read", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
        (status = 504, description = "The request took longer than the server's timeout", body = crate::http::ErrorBody),
    )
)]
pub(super) async fn invocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let served = state.live_model()?;
    // A large body is read under one of `--max-large-requests` permits, held until it is
    // scored: their count times the worst case of one (docs/operations.md) is the server's
    // memory bound, whatever arrives.
    let read =
        crate::http::read_body(&state, body, &headers, state.limits().max_body_bytes).await?;
    if read.bytes.len() < SMALL_BODY_BYTES {
        return score(&state, &served, &headers, &read.bytes, None);
    }
    // Dropped with this future when the request times out: the scoring stops at its next look
    // and gives the permit back.
    let (cancel, _cancel_on_drop) = Cancel::on_drop();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _enter = span.enter();
        let _permit = read.permit;
        score(&state, &served, &headers, &read.bytes, Some(&cancel))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The raw Content-Type header, as the scoring parser reads it (`None`: absent).
pub(super) fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Parses `body` (of the content type in `headers`), scores it on `served` and renders the
/// answer in the request's dialect. Only an `offloaded` call (off the async workers, with the request's cancellation token)
/// splits a large batch across the cores, and stops between blocks once cancelled.
fn score(
    state: &AppState,
    served: &Served,
    headers: &HeaderMap,
    body: &[u8],
    offloaded: Option<&Cancel>,
) -> Result<Response, ApiError> {
    let request_id = crate::http::request_id(headers);
    let parsed = legendary_scoring::parse(
        content_type(headers),
        body,
        served.model.input_features(),
        &state.limits().scoring,
    )?;
    let cancelled = || ApiError::Timeout(state.limits().timeout);
    let never = Cancel::never();
    let cancel = offloaded.unwrap_or(&never);
    if cancel.is_cancelled() {
        return Err(cancelled());
    }
    let batch = parsed.batch;
    let rows = batch.n_rows();
    let n_cols = batch.n_cols();
    if parsed.method == PredictMethod::PredictProba {
        // The probability every answer decides on; a scikit-learn estimator has one only
        // when it is a classifier of the six stats.
        if served.model.sklearn().is_some() && !served.model.takes_demo_stats() {
            return Err(ApiError::from(ScoringError::bad_request(
                "Invalid input. params.predict_method 'predict_proba' needs a model of the six stats; this one takes other inputs.",
            )));
        }
        let probabilities = blockwise(batch.values(), n_cols, cancel, |block| {
            served.model.proba_batch(block)
        })
        .ok_or_else(cancelled)?;
        state.scored_probabilities(served, batch.values(), &probabilities, request_id);
        drop(batch);
        return Ok(json_response(
            legendary_scoring::render_probabilities(&probabilities, parsed.dialect),
            rows,
        ));
    }
    if served.model.sklearn().is_some() {
        // Labels in their own type, or floats: what `mlflow models serve` answers.
        let predictions = blockwise(batch.values(), n_cols, cancel, |block| {
            served.model.predict_values(block)
        })
        .ok_or_else(cancelled)?;
        if state.watches(served) {
            // Its probabilities (NaN for a model of other inputs, which the monitor skips).
            let probabilities = served.model.proba_batch(batch.values());
            state.scored_probabilities(served, batch.values(), &probabilities, request_id);
        }
        drop(batch);
        return Ok(json_response(
            legendary_scoring::render_values(&predictions, parsed.dialect),
            rows,
        ));
    }
    let probabilities = match offloaded {
        Some(cancel) if rows >= state.limits().parallel_rows => {
            proba_parallel(served, batch.values(), n_cols, cancel)
        }
        _ => served.model.proba_batch(batch.values()),
    };
    if cancel.is_cancelled() {
        return Err(cancelled());
    }
    let predictions = served.model.decide_all(&probabilities);
    state.scored(
        served,
        batch.values(),
        &probabilities,
        &predictions,
        request_id,
    );
    drop(batch);
    Ok(json_response(
        legendary_scoring::render(&predictions, parsed.dialect),
        rows,
    ))
}

/// `score` over the rows of `values` ([`CHUNK_ROWS`] at a time), on this thread, looking at
/// the cancellation token between blocks; `None` once cancelled.
pub(super) fn blockwise<T>(
    values: &[f64],
    n_cols: usize,
    cancel: &Cancel,
    score: impl Fn(&[f64]) -> Vec<T>,
) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(values.len() / n_cols.max(1));
    for block in values.chunks(CHUNK_ROWS * n_cols.max(1)) {
        if cancel.is_cancelled() {
            return None;
        }
        out.extend(score(block));
    }
    Some(out)
}

/// Rows scored between two looks at the cancellation token, per parallel task.
const CHUNK_ROWS: usize = 4096;

/// A 200 answer of `rows` scored rows.
pub(super) fn json_response(body: Vec<u8>, rows: usize) -> Response {
    tracing::debug!(rows, "scored");
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(ScoredRows(rows));
    response
}

/// Splits a large batch across the cores (rayon); each chunk is scored in blocks as usual,
/// and skipped once `cancel` is set (the caller then answers nothing with what is left).
fn proba_parallel(served: &Served, values: &[f64], n_cols: usize, cancel: &Cancel) -> Vec<f64> {
    use rayon::prelude::*;
    values
        .par_chunks(CHUNK_ROWS * n_cols)
        .flat_map_iter(|chunk| match cancel.is_cancelled() {
            true => Vec::new(),
            false => served.model.proba_batch(chunk),
        })
        .collect()
}
