//! The original demo's API: `GET /pokemon-type?hp=…` and `POST /pokemon-type` with the same
//! fields as a JSON object answer one `{is_legendary, probability}`; `POST /pokemon-types`
//! takes a JSON list and answers a list. Errors are MLflow-shaped JSON naming the field.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::stats::{PokemonStats, RawStats};
use crate::acquire::Served;
use crate::http::{ApiError, AppState, Body, Query};

/// The demo's answer for one Pokémon.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Answer {
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
        (status = 400, description = "A stat is missing or invalid; the message names it", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(crate) async fn pokemon_type_query(
    State(state): State<AppState>,
    Query(raw): Query<RawStats>,
) -> Result<Json<Answer>, ApiError> {
    let served = state.live_model()?;
    let stats = raw.check().map_err(ApiError::BadRequest)?;
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
        (status = 400, description = "The body is not a JSON object, or a stat is missing or invalid", body = crate::http::ErrorBody),
        (status = 413, description = "The body is larger than the server's limit", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(crate) async fn pokemon_type_json(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<Answer>, ApiError> {
    let served = state.live_model()?;
    let raw: RawStats = body.json("a JSON object of the six stats")?;
    let stats = raw.check().map_err(ApiError::BadRequest)?;
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
        (status = 400, description = "The body is not a JSON list, or an item is invalid; the message names the item and field", body = crate::http::ErrorBody),
        (status = 413, description = "The body or the list is larger than the server's limits", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(crate) async fn pokemon_types(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<Vec<Answer>>, ApiError> {
    let served = state.live_model()?;
    let items: Vec<RawStats> = body.json("a JSON list of objects of the six stats")?;
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
                .map_err(|e| ApiError::BadRequest(format!("Item {i}: {e}")))
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
