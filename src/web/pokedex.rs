//! `GET /pokedex?q=mew&limit=10`: find Pokémon of the bundled data set by name, so the page
//! can fill in their stats. Case-insensitive substring match: the exact name first, then
//! names that start with the query, then the others, each group in Pokédex order.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dataset::{Dataset, Pokemon};
use crate::http::{ApiError, AppState, Query};

/// Results when `limit` is not given.
const DEFAULT_LIMIT: usize = 10;
/// Most results one search may ask for.
const MAX_LIMIT: usize = 100;

/// The search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// Part of a name, any case (empty or absent: every Pokémon).
    #[param(max_length = 100, example = "mew")]
    q: Option<String>,
    /// Most results to return (1-100, default 10).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// One Pokémon of the data set.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Entry {
    /// Name, unique in the data set (formes are separate entries).
    name: String,
    /// National Pokédex number.
    number: u32,
    /// Generation it was introduced in (1-9).
    generation: u8,
    /// The label the model was trained on.
    legendary: bool,
    /// `ordinary`, `sub-legendary`, `restricted-legendary` or `mythical`.
    category: String,
    /// The six base stats.
    stats: EntryStats,
}

/// The six base stats, named as in the data set.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryStats {
    hp: f64,
    attack: f64,
    defense: f64,
    special_attack: f64,
    special_defense: f64,
    speed: f64,
}

impl From<&Pokemon> for Entry {
    fn from(p: &Pokemon) -> Self {
        let [hp, attack, defense, special_attack, special_defense, speed] = p.stats;
        Self {
            name: p.name.clone(),
            number: p.number,
            generation: p.generation,
            legendary: p.legendary,
            category: p.category.clone(),
            stats: EntryStats {
                hp,
                attack,
                defense,
                special_attack,
                special_defense,
                speed,
            },
        }
    }
}

/// Find Pokémon by name.
#[utoipa::path(
    get,
    path = "/pokedex",
    tag = "web",
    params(SearchQuery),
    responses(
        (status = 200, description = "Matches: the exact name, then names starting with `q`, then the rest", body = Vec<Entry>),
        (status = 400, description = "`limit` is not a whole number in 1-100, or `q` is too long", body = crate::http::ErrorBody),
        (status = 503, description = "The data set was not loaded", body = crate::http::ErrorBody),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<Entry>>, ApiError> {
    let limit = query.limit.map_or(DEFAULT_LIMIT, |l| l as usize);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "Query parameter `limit` must be 1-{MAX_LIMIT}, got {limit}."
        )));
    }
    let needle = query.q.unwrap_or_default();
    if needle.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "Query parameter `q` is longer than 100 characters.".to_owned(),
        ));
    }
    let dex = state.pokedex().ok_or_else(|| {
        ApiError::Unavailable(
            "The Pokédex data set is not loaded on this server (see --data).".to_owned(),
        )
    })?;
    Ok(Json(find(dex, &needle, limit).map(Entry::from).collect()))
}

/// Rows whose name contains `needle` (any case): the exact name, then prefixes, then others.
fn find<'a>(dex: &'a Dataset, needle: &str, limit: usize) -> impl Iterator<Item = &'a Pokemon> {
    let needle = needle.trim().to_lowercase();
    let mut hits: Vec<(u8, usize, &Pokemon)> = dex
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let name = p.name.to_lowercase();
            let rank = match name.find(&needle)? {
                0 if name.len() == needle.len() => 0,
                0 => 1,
                _ => 2,
            };
            Some((rank, i, p))
        })
        .collect();
    // Within a rank, data-set order (which is Pokédex order).
    hits.sort_by_key(|&(rank, i, _)| (rank, i));
    hits.into_iter().take(limit).map(|(_, _, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dex() -> Dataset {
        crate::dataset::load(
            std::path::Path::new("data/pokemon"),
            &crate::dataset::Generations::all(),
        )
        .unwrap()
    }

    fn names(dex: &Dataset, q: &str, limit: usize) -> Vec<String> {
        find(dex, q, limit).map(|p| p.name.clone()).collect()
    }

    #[test]
    fn the_exact_name_comes_first_then_prefixes_then_other_matches_in_any_case() {
        let dex = dex();
        let found = names(&dex, "MEW", 50);
        assert_eq!(
            found[..3],
            ["Mew", "Mewtwo", "Mewtwo-Mega-X"].map(str::to_owned)
        );
        let first_inner = found
            .iter()
            .position(|n| !n.to_lowercase().starts_with("mew"));
        if let Some(at) = first_inner {
            assert!(
                found[at..]
                    .iter()
                    .all(|n| !n.to_lowercase().starts_with("mew"))
            );
        }
    }

    #[test]
    fn the_limit_is_respected_and_an_empty_query_lists_from_the_start() {
        let dex = dex();
        assert_eq!(names(&dex, "", 3).len(), 3);
        assert_eq!(names(&dex, "", 1), [dex.rows[0].name.clone()]);
        assert!(names(&dex, "no such pokemon", 10).is_empty());
    }
}
