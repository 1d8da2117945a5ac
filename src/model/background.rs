//! The explanation background stored with a model: the rows whose predictions stand for
//! "a typical Pokémon" when Shapley values are computed (see the `explain` module), in
//! `explanation_background.json` of the model directory, so the numbers a server gives can
//! be reproduced from the model directory alone.
//!
//! The file is split-oriented JSON, like `input_example.json`, plus where the rows came from:
//! `{"columns": ["hp", …, "speed"], "data": [[…], …], "source": "…"}`.

use serde::{Deserialize, Serialize};

use legendary_forest::FEATURES;

/// The file's name in a model directory.
pub const BACKGROUND_FILE: &str = "explanation_background.json";

/// Most rows a stored background may hold: each explained row costs 62 model evaluations per
/// background row, so a larger background makes every explanation dearer by the same factor.
pub const MAX_BACKGROUND_ROWS: usize = 1000;

/// Background rows (the six stats each, in [`FEATURES`] order) and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Background {
    /// Where the rows came from, e.g. `stratified sample of 100 of the 985 training rows of data/pokemon (seed 42)`.
    pub source: String,
    /// The six stats, in this order.
    #[schema(value_type = Vec<String>)]
    pub columns: Vec<String>,
    /// The rows, each in `columns` order.
    #[schema(value_type = Vec<Vec<f64>>)]
    pub data: Vec<[f64; 6]>,
}

impl Background {
    /// A background of `rows`, described by `source`.
    pub fn new(source: String, rows: Vec<[f64; 6]>) -> Self {
        Self {
            source,
            columns: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            data: rows,
        }
    }

    /// The file's bytes (pretty JSON, so it reads in the MLflow UI).
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Reads the file's bytes.
    ///
    /// # Errors
    /// A message saying what is wrong: not JSON of this shape, other columns than the six
    /// stats, no rows or more than [`MAX_BACKGROUND_ROWS`] (JSON has no NaN or infinity).
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let background: Self = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a split-oriented background: {e}"))?;
        if background.columns != FEATURES {
            return Err(format!(
                "columns must be the six stats {FEATURES:?}, found {:?}",
                background.columns
            ));
        }
        let n = background.data.len();
        if n == 0 || n > MAX_BACKGROUND_ROWS {
            return Err(format!(
                "holds {n} rows; a background has 1 to {MAX_BACKGROUND_ROWS}"
            ));
        }
        Ok(background)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_background_survives_its_file_and_bad_files_are_named() {
        let background = Background::new("test".into(), vec![[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]]);
        assert_eq!(
            Background::from_json(&background.to_json()).unwrap(),
            background
        );
        let bad = |text: &str| Background::from_json(text.as_bytes()).unwrap_err();
        assert!(bad("[]").contains("not a split-oriented background"));
        assert!(bad(r#"{"source":"x","columns":["hp"],"data":[]}"#).contains("six stats"));
        let cols =
            r#""columns":["hp","attack","defense","special_attack","special_defense","speed"]"#;
        assert!(bad(&format!(r#"{{"source":"x",{cols},"data":[]}}"#)).contains("holds 0 rows"));
        assert!(
            bad(&format!(r#"{{"source":"x",{cols},"data":[[1,2,3]]}}"#))
                .contains("not a split-oriented")
        );
    }
}
