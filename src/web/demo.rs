//! The original demo's API: `GET /pokemon-type?hp=…` and `POST /pokemon-type` with the same
//! fields as a JSON object answer one `{is_legendary, probability}`; `POST /pokemon-types`
//! takes a JSON list and answers a list. Errors are MLflow-shaped JSON naming the field.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::stats::{PokemonStats, RawStats};
use crate::server::{ApiError, AppState, Served};

/// The demo's answer for one Pokémon.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Answer {
    /// Whether the model calls it legendary (probability above the model's decision threshold).
    is_legendary: bool,
    /// Probability of legendary: the forest's mean leaf fraction, in [0, 1].
    #[schema(minimum = 0.0, maximum = 1.0)]
    probability: f64,
}

/// Is a Pokémon with these stats legendary? (query string)
#[utoipa::path(
    get,
    path = "/pokemon-type",
    tag = "demo",
    params(PokemonStats),
    responses(
        (status = 200, description = "The answer", body = Answer),
        (status = 400, description = "A stat is missing or invalid; the message names it", body = super::openapi::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = super::openapi::ErrorBody),
    )
)]
pub(super) async fn pokemon_type_query(
    State(state): State<AppState>,
    query: Result<Query<RawStats>, QueryRejection>,
) -> Result<Json<Answer>, ApiError> {
    let served = live_model(&state)?;
    let Query(raw) = query.map_err(|e| ApiError::BadField(e.body_text()))?;
    let stats = raw.check().map_err(ApiError::BadField)?;
    Ok(Json(answer(&served, &stats)))
}

/// Is a Pokémon with these stats legendary? (JSON object)
#[utoipa::path(
    post,
    path = "/pokemon-type",
    tag = "demo",
    request_body(content = PokemonStats, content_type = "application/json"),
    responses(
        (status = 200, description = "The answer", body = Answer),
        (status = 400, description = "The body is not a JSON object, or a stat is missing or invalid", body = super::openapi::ErrorBody),
        (status = 413, description = "The body is larger than the server's limit", body = super::openapi::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = super::openapi::ErrorBody),
    )
)]
pub(super) async fn pokemon_type_json(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Answer>, ApiError> {
    let served = live_model(&state)?;
    let raw: RawStats = parse_json(&state, body, "a JSON object of the six stats")?;
    let stats = raw.check().map_err(ApiError::BadField)?;
    Ok(Json(answer(&served, &stats)))
}

/// Which of these Pokémon are legendary? (JSON list; the answers keep its order)
#[utoipa::path(
    post,
    path = "/pokemon-types",
    tag = "demo",
    request_body(content = Vec<PokemonStats>, content_type = "application/json"),
    responses(
        (status = 200, description = "One answer per item, in order", body = Vec<Answer>),
        (status = 400, description = "The body is not a JSON list, or an item is invalid; the message names the item and field", body = super::openapi::ErrorBody),
        (status = 413, description = "The body or the list is larger than the server's limits", body = super::openapi::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = super::openapi::ErrorBody),
    )
)]
pub(super) async fn pokemon_types(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<Answer>>, ApiError> {
    let served = live_model(&state)?;
    let items: Vec<RawStats> = parse_json(&state, body, "a JSON list of objects of the six stats")?;
    let max_rows = state.limits().scoring.max_rows;
    if items.len() > max_rows {
        return Err(ApiError::Scoring(
            crate::scoring::ScoringError::too_many_rows(max_rows),
        ));
    }
    let answers = items
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            raw.check()
                .map(|stats| answer(&served, &stats))
                .map_err(|e| ApiError::BadField(format!("Item {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(answers))
}

fn answer(served: &Served, stats: &PokemonStats) -> Answer {
    let probability = served.model.proba_row(&stats.row());
    Answer {
        is_legendary: served.model.decide(probability),
        probability,
    }
}

fn live_model(state: &AppState) -> Result<Arc<Served>, ApiError> {
    state.model().ok_or_else(|| {
        ApiError::Unavailable("No model is loaded yet; retry when /ping answers 200.".to_owned())
    })
}

/// Reads the body as JSON whatever its content type (the demo's clients vary).
fn parse_json<T: serde::de::DeserializeOwned>(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
    expected: &str,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(state.limits().max_body_bytes)
        } else {
            ApiError::BadField(format!("Could not read the request body: {e}"))
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadField(format!("The body is not {expected}: {e}.")))
}
