//! `GET /pokedex?q=mew&limit=10`: find Pokémon of the bundled data set by name, so the page
//! can fill in their stats. Names are compared folded ([`super::names`]: no accents, case or
//! punctuation, words in any order); the exact name first, then names that start with the
//! query, then names with every word, then the others, each group in Pokédex order. A query
//! that is only a number finds that Pokédex number (`150`: Mewtwo and its formes).

use axum::Json;
use axum::extract::State;
use legendary_forest::Stats;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::names::{Folded, Rank};
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
    /// Part of a name, in any case, with or without accents and punctuation, words in any
    /// order (`flabebe`, `mr mime`, `mega mewtwo`); or a Pokédex number (`150`). Empty or
    /// absent: every Pokémon.
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
    stats: Stats,
}

impl From<&Pokemon> for Entry {
    fn from(p: &Pokemon) -> Self {
        Self {
            name: p.name.clone(),
            number: p.number,
            generation: p.generation,
            legendary: p.legendary,
            category: p.category.clone(),
            stats: Stats::from(p.stats),
        }
    }
}

/// Find Pokémon by name.
#[utoipa::path(
    get,
    path = "/pokedex",
    // `search` alone is also the data catalogue's handler; operation ids must be unique.
    operation_id = "pokedex_search",
    tag = "web",
    params(SearchQuery),
    responses(
        (status = 200, description = "Matches: the exact name, then names starting with `q`, then names with all its words, then the rest; or every entry with that Pokédex number", body = Vec<Entry>),
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

/// Rows matching `needle` ([`Folded::rank`]), best first; a bare number is a Pokédex number.
fn find<'a>(dex: &'a Dataset, needle: &str, limit: usize) -> impl Iterator<Item = &'a Pokemon> {
    let query = Folded::new(needle);
    let number = query.number();
    let mut hits: Vec<(Rank, usize, &Pokemon)> = dex
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let rank = match number {
                Some(n) => (p.number == n).then_some(Rank::Exact)?,
                None if query.is_empty() => Rank::Inside,
                None => Folded::new(&p.name).rank(&query)?,
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

    #[test]
    fn spellings_people_type_find_their_pokemon() {
        let dex = dex();
        for (query, first) in [
            ("flabebe", "Flabe\u{301}be\u{301}"),
            ("Flab\u{e9}b\u{e9}", "Flabe\u{301}be\u{301}"),
            ("mr mime", "Mr. Mime"),
            ("farfetch'd", "Farfetch\u{2019}d"),
            ("farfetchd", "Farfetch\u{2019}d"),
            ("mega mewtwo", "Mewtwo-Mega-X"),
            ("150", "Mewtwo"),
            ("#150", "Mewtwo"),
        ] {
            let found = names(&dex, query, 10);
            assert_eq!(
                found.first().map(String::as_str),
                Some(first),
                "{query}: {found:?}"
            );
        }
        assert_eq!(
            names(&dex, "mega mewtwo", 10),
            ["Mewtwo-Mega-X", "Mewtwo-Mega-Y"].map(str::to_owned)
        );
        assert_eq!(
            names(&dex, "150", 10),
            ["Mewtwo", "Mewtwo-Mega-X", "Mewtwo-Mega-Y"].map(str::to_owned)
        );
        assert!(names(&dex, "mr mime", 10).contains(&"Mr. Mime-Galar".to_owned()));
        assert!(names(&dex, "0", 10).is_empty());
    }
}
