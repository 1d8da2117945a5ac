//! Choosing the background: a fixed, seeded, stratified sample of about
//! [`BACKGROUND_ROWS`] rows (both classes present), of the training rows when a model is
//! trained, and of the bundled data package for a model stored without one.

use std::sync::OnceLock;

use super::ExplainError;
use crate::dataset::{self, Generations, stratified_split};
use crate::model::Background;

/// About how many rows a background holds: each explained row costs 62 evaluations per
/// background row, and 100 keeps an explanation at a few milliseconds (docs/explain.md)
/// while the base value's sampling error stays near a percent.
pub const BACKGROUND_ROWS: usize = 100;

/// Seed of the background of a model stored without one (the bundled data's sample).
pub const BACKGROUND_SEED: u64 = 42;

/// A stratified sample of about [`BACKGROUND_ROWS`] of `rows`: each class contributes in
/// proportion and at least one row, so a rare class (legendary, about one row in ten) is in it.
/// All rows when there are no more than that. `what` names the rows in the source, e.g.
/// `training rows of data/pokemon`.
pub fn sample(rows: &[[f64; 6]], labels: &[bool], seed: u64, what: &str) -> Background {
    let n = rows.len();
    let picked: Vec<[f64; 6]> = if n <= BACKGROUND_ROWS {
        rows.to_vec()
    } else {
        let fraction = BACKGROUND_ROWS as f64 / n as f64;
        stratified_split(labels, fraction, seed)
            .test
            .into_iter()
            .map(|i| rows[i])
            .collect()
    };
    let source = format!(
        "stratified sample (by legendary, seed {seed}) of {} of the {n} {what}",
        picked.len()
    );
    Background::new(source, picked)
}

/// The background of a model whose directory has none: [`sample`] of every row of the bundled
/// data package with [`BACKGROUND_SEED`], made once per process.
///
/// # Errors
/// [`ExplainError::Background`] if the bundled package could not be read (a temporary
/// directory that cannot be written).
pub fn bundled() -> Result<&'static Background, ExplainError> {
    static BUNDLED: OnceLock<Result<Background, String>> = OnceLock::new();
    BUNDLED
        .get_or_init(|| {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            crate::embedded::write_data(dir.path()).map_err(|e| e.to_string())?;
            let data = dataset::load(dir.path(), &Generations::all()).map_err(|e| e.to_string())?;
            let rows: Vec<[f64; 6]> = data.rows.iter().map(|p| p.stats).collect();
            let what = format!("rows of the bundled {}", dataset::DEFAULT_PACKAGE);
            Ok(sample(&rows, &data.labels(), BACKGROUND_SEED, &what))
        })
        .as_ref()
        .map_err(|e| ExplainError::Background(e.clone()))
}

/// The background to explain a model with: the one stored with it, else [`bundled`].
///
/// # Errors
/// As [`bundled`].
pub fn of(stored: Option<&Background>) -> Result<&Background, ExplainError> {
    match stored {
        Some(background) => Ok(background),
        None => bundled(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_background_is_fixed_stratified_and_about_a_hundred_rows() {
        let a = bundled().unwrap();
        assert!((95..=105).contains(&a.data.len()), "{}", a.data.len());
        assert!(a.source.contains("seed 42"), "{}", a.source);
        // Both classes, in about the data's proportion (legendary: ~10%).
        let data = dataset::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pokemon"),
            &Generations::all(),
        )
        .unwrap();
        let legendary: Vec<[f64; 6]> = data
            .rows
            .iter()
            .filter(|p| p.legendary)
            .map(|p| p.stats)
            .collect();
        let in_sample = a.data.iter().filter(|r| legendary.contains(r)).count();
        assert!((5..=20).contains(&in_sample), "{in_sample} legendary rows");
        // The same rows every time: a seed, not the clock.
        let rows: Vec<[f64; 6]> = data.rows.iter().map(|p| p.stats).collect();
        let again = sample(&rows, &data.labels(), BACKGROUND_SEED, "x");
        assert_eq!(again.data, a.data);
        assert_ne!(sample(&rows, &data.labels(), 7, "x").data, a.data);
    }

    #[test]
    fn few_rows_are_taken_whole() {
        let rows = [[1.0; 6], [2.0; 6]];
        let b = sample(&rows, &[true, false], 1, "rows");
        assert_eq!(b.data, rows);
        assert!(b.source.contains("2 of the 2 rows"), "{}", b.source);
    }
}
