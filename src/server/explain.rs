//! `POST /explain`: every body `/invocations` takes, answered with each row's prediction,
//! legendary probability and the six stats' exact Shapley values of its vote fraction (see
//! [`crate::explain`]).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use legendary_forest::Stats;

use crate::explain;
use crate::http::{ApiError, AppState, background_of, explain_rows, too_many_to_explain};
use legendary_scoring::ScoringErrorKind;

/// Largest `/explain` body: 32 rows fit in a few kilobytes in any format; 1 MiB leaves room
/// for rows with many extra columns (dropped, as `/invocations` drops them).
const EXPLAIN_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Explanations of the rows of a request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Explained {
    /// The mean vote fraction over the explanation background (`GET /model` shows it).
    base_value: f64,
    /// One per row, as `/invocations` answers it: legendary or not for a smartcore model, a
    /// scikit-learn classifier's labels in their own type.
    #[schema(value_type = Vec<Value>)]
    predictions: Vec<serde_json::Value>,
    /// One per row: the legendary probability, as the demo API answers it (the vote fraction
    /// through the model's calibration, if it has one).
    probabilities: Vec<f64>,
    /// One per row: the share of the trees' votes for legendary, before calibration; equal
    /// to the probability for a model without calibration.
    vote_fractions: Vec<f64>,
    /// One per row: how much each stat moves the vote fraction from `base_value`;
    /// `base_value` plus the six is the row's vote fraction.
    contributions: Vec<Stats>,
}

/// Explain predictions: exact Shapley values of the vote fraction over the six stats.
///
/// Takes every body `/invocations` takes (JSON `dataframe_split`, `dataframe_records`,
/// `instances`, `inputs`, the MLflow 1.x pandas-split, or CSV), at most 32 rows (fewer for a
/// model stored with a background of more than 100 rows). The values explain the vote
/// fraction, which a calibrated model maps to its probability (docs/explain.md).
#[utoipa::path(
    post,
    path = "/explain",
    tag = "scoring",
    request_body(content(
        (super::openapi::ScoringRequest = "application/json"),
        (String = "text/csv"),
    )),
    responses(
        (status = 200, description = "Each row's prediction, probability, vote fraction and the six contributions", body = Explained),
        (status = 400, description = "The body cannot be scored, has more than 32 rows, or the model has no legendary probability of the six stats", body = crate::http::ErrorBody),
        (status = 413, description = "The body is larger than the server's limit", body = crate::http::ErrorBody),
        (status = 415, description = "A content type or charset this server does not read", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
        (status = 504, description = "The request took longer than the server's timeout", body = crate::http::ErrorBody),
    )
)]
pub(super) async fn explain(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Explained>, ApiError> {
    let served = state.live_model()?;
    crate::web::demo::takes_stats(&served)?;
    let limit = state.limits().max_body_bytes.min(EXPLAIN_MAX_BODY_BYTES);
    let body = crate::http::read_body(&state, body, &headers, limit).await?;
    let body = body.bytes;
    let background = background_of(&served)?;
    let limits = legendary_scoring::Limits {
        max_rows: explain::max_rows(background),
    };
    let batch = legendary_scoring::parse(
        super::invocations::content_type(&headers),
        &body,
        served.model.input_features(),
        &limits,
    )
    .map_err(|e| match e.kind() {
        ScoringErrorKind::TooManyRows => too_many_to_explain(background),
        _ => e.into(),
    })?
    .batch;
    let rows: Vec<[f64; 6]> = batch.values().as_chunks::<6>().0.to_vec();
    let predictions = served.model.predict_values(batch.values());
    let e = explain_rows(&state, served, rows).await?;
    Ok(Json(Explained {
        base_value: e.base_value,
        predictions,
        probabilities: e.probabilities,
        vote_fractions: e.vote_fractions,
        contributions: e.contributions,
    }))
}
