//! `GET /datasets?q=gen&generation=7&owner=legendary`: the data catalogue of the package the
//! server reads (the bundled one, or `--data`), searched as `legendary data search` does.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::dataset::catalogue::{Entry, Query as Search};
use crate::http::{ApiError, AppState, Query};

/// The search; every given part must match.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DatasetQuery {
    /// Text in the name, title, owner or format, any case (empty or absent: everything).
    #[param(max_length = 100, example = "generation")]
    q: Option<String>,
    /// Only this generation (1-9).
    #[param(minimum = 1, maximum = 9)]
    generation: Option<u8>,
    /// Only this owner, any case.
    #[param(max_length = 100)]
    owner: Option<String>,
}

/// Find data sets by name, type, owner or generation.
#[utoipa::path(
    get,
    path = "/datasets",
    tag = "web",
    params(DatasetQuery),
    responses(
        (status = 200, description = "The matching data sets, in descriptor order", body = Vec<Entry>),
        (status = 400, description = "`generation` is not 1-9, or `q`/`owner` is too long", body = crate::http::ErrorBody),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Query(query): Query<DatasetQuery>,
) -> Result<Json<Vec<Entry>>, ApiError> {
    if query.generation.is_some_and(|g| !(1..=9).contains(&g)) {
        return Err(ApiError::BadRequest(
            "Query parameter `generation` must be 1-9.".to_owned(),
        ));
    }
    for (name, value) in [("q", &query.q), ("owner", &query.owner)] {
        if value.as_deref().is_some_and(|v| v.chars().count() > 100) {
            return Err(ApiError::BadRequest(format!(
                "Query parameter `{name}` is longer than 100 characters."
            )));
        }
    }
    let search = Search {
        text: query.q.filter(|q| !q.trim().is_empty()),
        generation: query.generation,
        owner: query.owner.filter(|o| !o.trim().is_empty()),
    };
    Ok(Json(
        state
            .catalogue()
            .iter()
            .filter(|entry| search.matches(entry))
            .cloned()
            .collect(),
    ))
}
