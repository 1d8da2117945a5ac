//! The original demo's API: `GET /pokemon-type?hp=…` and `POST /pokemon-type` with the same
//! fields as a JSON object answer one `{is_legendary, probability}`; `POST /pokemon-types`
//! takes a JSON list and answers a list. Errors are MLflow-shaped JSON naming the field.
//! `?explain=true` adds each answer's Shapley explanation (`base_value`, `vote_fraction`,
//! `contributions`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use serde::de;
use utoipa::ToSchema;

use super::stats::{PokemonStats, RawStats};
use crate::acquire::Served;
use legendary_forest::Stats;

use crate::explain;
use crate::http::{
    ApiError, AppState, Body, ExplainFlag, Query, background_of, explain_rows, request_id,
    too_many_to_explain,
};

/// Most Pokémon in one `/pokemon-types` list: far more than the Pokédex holds (1,025 species
/// and their forms). Batches belong on `/invocations`, which streams them into a compact batch.
const DEMO_MAX_ITEMS: usize = 10_000;

/// Largest demo request body: 10,000 stats objects with long field names and spaces fit in
/// about 1.5 MB. Two such bodies at once cost a few megabytes, where `--max-body-bytes`
/// (64 MiB) would cost 128.
const DEMO_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The demo's answer for one Pokémon.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Answer {
    /// Whether the model calls it legendary (probability above the model's decision threshold).
    is_legendary: bool,
    /// Probability of legendary, in [0, 1]: the share of the trees' votes, through the
    /// model's calibration if it has one.
    #[schema(minimum = 0.0, maximum = 1.0)]
    probability: f64,
    /// With `?explain=true`: the mean vote fraction over the explanation background.
    #[serde(skip_serializing_if = "Option::is_none")]
    base_value: Option<f64>,
    /// With `?explain=true`: the share of the trees' votes before calibration (what the
    /// contributions add up to); `probability` for a model without calibration.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 1.0)]
    vote_fraction: Option<f64>,
    /// With `?explain=true`: each stat's Shapley value; `base_value` plus the six is
    /// `vote_fraction`.
    #[serde(skip_serializing_if = "Option::is_none")]
    contributions: Option<Stats>,
}

/// `?explain=true` on the demo routes.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "documents the parameter; `ExplainFlag` reads it")]
struct ExplainParam {
    /// Add `base_value`, `vote_fraction` and `contributions` (exact Shapley values of the
    /// vote fraction, as `POST /explain`) to each answer: `true` or `false` (default). At
    /// most 32 items are explained per request.
    explain: Option<bool>,
}

/// Is a Pokémon with these stats legendary? (query string)
#[utoipa::path(
    get,
    path = "/pokemon-type",
    tag = "demo",
    params(PokemonStats, ExplainParam),
    responses(
        (status = 200, description = "The answer", body = Answer),
        (status = 400, description = "A stat is missing or invalid; the message names it", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(crate) async fn pokemon_type_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(raw): Query<RawStats>,
    Query(flag): Query<ExplainFlag>,
) -> Result<Json<Answer>, ApiError> {
    let served = state.live_model()?;
    takes_stats(&served)?;
    let explained = flag.wanted()?;
    let stats = raw.check().map_err(ApiError::BadRequest)?;
    one(answers(&state, served, &[stats], (explained, request_id(&headers))).await?)
}

/// Is a Pokémon with these stats legendary? (JSON object)
#[utoipa::path(
    post,
    path = "/pokemon-type",
    tag = "demo",
    params(ExplainParam),
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
    headers: HeaderMap,
    Query(flag): Query<ExplainFlag>,
    body: Body<DEMO_MAX_BODY_BYTES>,
) -> Result<Json<Answer>, ApiError> {
    let served = state.live_model()?;
    takes_stats(&served)?;
    let explained = flag.wanted()?;
    let raw: RawStats = body.json("a JSON object of the six stats")?;
    let stats = raw.check().map_err(ApiError::BadRequest)?;
    one(answers(&state, served, &[stats], (explained, request_id(&headers))).await?)
}

/// Which of these Pokémon are legendary? (JSON list; the answers keep its order)
#[utoipa::path(
    post,
    path = "/pokemon-types",
    tag = "demo",
    params(ExplainParam),
    request_body(content = Vec<PokemonStats>, content_type = "application/json"),
    responses(
        (status = 200, description = "One answer per item, in order", body = Vec<Answer>),
        (status = 400, description = "The body is not a JSON list, an item is invalid (the message names the item and field), or more than 32 items are to be explained", body = crate::http::ErrorBody),
        (status = 413, description = "The body or the list is larger than the server's limits", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(crate) async fn pokemon_types(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(flag): Query<ExplainFlag>,
    body: Body<DEMO_MAX_BODY_BYTES>,
) -> Result<Json<Vec<Answer>>, ApiError> {
    let served = state.live_model()?;
    takes_stats(&served)?;
    let explained = flag.wanted()?;
    let max_rows = match explained {
        true => explain::max_rows(background_of(&served)?),
        false => state.limits().scoring.max_rows.min(DEMO_MAX_ITEMS),
    };
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_slice(&body.0);
    let list = CheckedList {
        max_rows,
        failure: &mut failure,
    };
    let parsed =
        de::DeserializeSeed::deserialize(list, &mut de).and_then(|rows| de.end().map(|()| rows));
    let rows = match (parsed, failure) {
        (Ok(rows), _) => rows,
        (Err(_), Some(ListError::TooMany)) if explained => {
            return Err(too_many_to_explain(background_of(&served)?));
        }
        (Err(_), Some(ListError::TooMany)) => {
            return Err(legendary_scoring::ScoringError::too_many_rows(max_rows).into());
        }
        (Err(_), Some(ListError::Item(message))) => return Err(ApiError::BadRequest(message)),
        (Err(e), None) => {
            return Err(ApiError::BadRequest(format!(
                "The body is not a JSON list of objects of the six stats: {e}."
            )));
        }
    };
    Ok(Json(
        answers(&state, served, &rows, (explained, request_id(&headers))).await?,
    ))
}

/// Reads a JSON list of stats objects, checking each item as it is read and the count against
/// the row limit, so memory grows with the rows accepted (48 bytes each), never with a list of
/// junk (`[{}, {}, …]` stops at its first item). Why it stopped goes to `failure` (serde's
/// errors carry only text), as the scoring parser does.
struct CheckedList<'a> {
    max_rows: usize,
    failure: &'a mut Option<ListError>,
}

/// Why [`CheckedList`] stopped before the end of the list.
enum ListError {
    /// More items than the row limit.
    TooMany,
    /// An item that is not a valid stats object; the message names it and the field.
    Item(String),
}

impl<'de> de::DeserializeSeed<'de> for CheckedList<'_> {
    type Value = Vec<PokemonStats>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> de::Visitor<'de> for CheckedList<'_> {
    type Value = Vec<PokemonStats>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON list of objects of the six stats")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(raw) = seq.next_element::<RawStats>()? {
            if rows.len() == self.max_rows {
                *self.failure = Some(ListError::TooMany);
                return Err(de::Error::custom("too many items"));
            }
            match raw.check() {
                Ok(stats) => rows.push(stats),
                Err(e) => {
                    *self.failure = Some(ListError::Item(format!("Item {}: {e}", rows.len())));
                    return Err(de::Error::custom("invalid item"));
                }
            }
        }
        Ok(rows)
    }
}

/// The demo asks about the six stats; a served model that takes other inputs (a regressor, a
/// multi-class or other-column scikit-learn model) is said so plainly.
pub(crate) fn takes_stats(served: &Served) -> Result<(), ApiError> {
    if served.model.takes_demo_stats() {
        return Ok(());
    }
    let what = served
        .info
        .sklearn
        .as_ref()
        .map_or("model", |s| s.estimator.as_str());
    Err(ApiError::BadRequest(format!(
        "The served {what} does not answer 'legendary or not' from the six stats (it takes {:?}); use POST /invocations.",
        served.model.input_features()
    )))
}

/// The answers for `stats`, explained when asked (off the async workers, see
/// [`explain_rows`]), to the request `request_id`.
async fn answers(
    state: &AppState,
    served: Arc<Served>,
    stats: &[PokemonStats],
    (explained, request_id): (bool, &str),
) -> Result<Vec<Answer>, ApiError> {
    let answer = |probability: f64, explained: Option<(f64, f64, Stats)>| Answer {
        is_legendary: served.model.decide(probability),
        probability,
        base_value: explained.map(|e| e.0),
        vote_fraction: explained.map(|e| e.1),
        contributions: explained.map(|e| e.2),
    };
    if !explained {
        let rows: Vec<[f64; 6]> = stats.iter().map(PokemonStats::row).collect();
        let probabilities: Vec<f64> = rows.iter().map(|r| served.model.proba_row(r)).collect();
        let answers: Vec<Answer> = probabilities.iter().map(|&p| answer(p, None)).collect();
        let decisions: Vec<bool> = answers.iter().map(|a| a.is_legendary).collect();
        state.scored_stats(&served, &rows, &probabilities, &decisions, request_id);
        return Ok(answers);
    }
    let rows: Vec<[f64; 6]> = stats.iter().map(PokemonStats::row).collect();
    let e = explain_rows(state, Arc::clone(&served), rows.clone()).await?;
    let decisions = served.model.decide_all(&e.probabilities);
    state.scored_stats(&served, &rows, &e.probabilities, &decisions, request_id);
    Ok(e.probabilities
        .iter()
        .zip(&e.vote_fractions)
        .zip(e.contributions)
        .map(|((&p, &v), c)| answer(p, Some((e.base_value, v, c))))
        .collect())
}

/// The one answer of a one-Pokémon route.
fn one(mut answers: Vec<Answer>) -> Result<Json<Answer>, ApiError> {
    answers
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::BadRequest("Nothing to answer.".to_owned()))
}
