//! Why the model says what it says: exact interventional Shapley values of the legendary
//! probability over the six stats a person types, for any served model that has one (a
//! smartcore forest, whatever derived columns it computes from the six, or a two-class
//! scikit-learn classifier of the six stats). docs/explain.md has the math.
//!
//! Layout:
//! - `game`: Shapley values of a six-player game from its 64 coalition values.
//! - `engine`: the interventional game of a row over a background, scored in batches.
//! - `background`: the seeded, stratified background sample and the bundled default.
//! - `shap_files`: a training run's `model_explanations_shap/`, as MLflow's shap integration
//!   logs it; `plot` its summary bar plot (a [`crate::plot`] chart, as PNG and SVG).

mod background;
mod engine;
mod game;
mod plot;
mod shap_files;

use crate::model::Background;

pub use background::{BACKGROUND_ROWS, BACKGROUND_SEED, bundled, of as background_of, sample};
pub use engine::{Explanation, evaluations_per_row, explain};
pub use shap_files::{
    SHAP_ARTIFACT_PATH, explain_parallel, files as shap_files, write as write_shap_files,
};

/// Most rows one `POST /explain` (or demo `?explain=true`) request may explain against the
/// default background of [`BACKGROUND_ROWS`] rows. Each row costs 62 × 100 forest walks,
/// about 7 ms with the bundled model on this project's machine (`cargo bench --bench scoring
/// -- explain/`, docs/explain.md), so the largest request holds one core for about 0.22 s and
/// cannot crowd out the server.
pub const MAX_EXPLAIN_ROWS: usize = 32;

/// The hybrid rows one request may have scored: [`MAX_EXPLAIN_ROWS`] rows against the default
/// background. A larger stored background lowers the row limit so the cost stays the same.
pub const MAX_EVALUATIONS: usize = MAX_EXPLAIN_ROWS * 62 * BACKGROUND_ROWS;

/// Most rows one request may explain against `background`: [`MAX_EXPLAIN_ROWS`], or fewer
/// when it has more than [`BACKGROUND_ROWS`] rows (within [`MAX_EVALUATIONS`]), at least one.
pub fn max_rows(background: &Background) -> usize {
    (MAX_EVALUATIONS / evaluations_per_row(background).max(1)).clamp(1, MAX_EXPLAIN_ROWS)
}

/// Why rows could not be explained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExplainError {
    /// The model has no legendary probability of the six stats (a regressor, a multi-class
    /// classifier, other columns).
    #[error("the model has no legendary probability of the six stats to explain")]
    NotLegendary,
    /// The default background could not be built.
    #[error("the explanation background could not be read: {0}")]
    Background(String),
    /// An explanation file could not be drawn or written.
    #[error("writing the explanations: {0}")]
    Io(String),
    /// The request was dropped (timed out, or its client left) before the work was done.
    #[error("cancelled")]
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_limit_keeps_a_requests_cost_whatever_the_background() {
        let background = |n| Background::new("test".into(), vec![[1.0; 6]; n]);
        assert_eq!(max_rows(&background(BACKGROUND_ROWS)), MAX_EXPLAIN_ROWS);
        assert_eq!(max_rows(&background(10)), MAX_EXPLAIN_ROWS);
        let large = background(crate::model::MAX_BACKGROUND_ROWS);
        assert_eq!(max_rows(&large), 3);
        assert!(max_rows(&large) * evaluations_per_row(&large) <= MAX_EVALUATIONS);
        assert_eq!(max_rows(&background(MAX_EVALUATIONS)), 1);
    }
}
