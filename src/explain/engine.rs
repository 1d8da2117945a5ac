//! The interventional game of one row and its exact Shapley values: for each of the 64
//! coalitions S of the six stats, v(S) is the mean over the background rows b of the
//! vote fraction of the hybrid row that takes x's stats in S and b's elsewhere.
//!
//! The game is on the vote fraction, before the model's calibration: the vote fraction is a
//! mean over trees, so its Shapley values are exact and recomputable tree by tree; the
//! calibration map is monotone but not additive. For a model without calibration the vote
//! fraction is the probability.

use super::game::{COALITIONS, EVERYONE, PLAYERS, shapley};
use legendary_forest::Stats;

use super::ExplainError;
use crate::cancel::Cancel;
use crate::model::{Background, Model};

/// Hybrid rows scored between two looks at the cancellation token: about a millisecond of
/// work with the bundled model, and whole blocks for the block scorer.
const ROWS_PER_LOOK: usize = 1024;

/// Explanations of a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// v(∅): the mean vote fraction over the background, the same for every row.
    pub base_value: f64,
    /// The legendary probability of each row, as every answer reports it (calibrated).
    pub probabilities: Vec<f64>,
    /// The vote fraction of each row, f(x) = v(all six).
    pub vote_fractions: Vec<f64>,
    /// The six Shapley values of each row; `base_value + Σ = vote fraction`.
    pub contributions: Vec<Stats>,
}

/// Hybrid rows scored per explained row: every coalition but the empty one (the base value,
/// shared) and the full one (the row itself), times the background.
pub fn evaluations_per_row(background: &Background) -> usize {
    (COALITIONS - 2) * background.data.len()
}

/// Explains `rows` (the six stats each) on `model` against `background`. The hybrid rows of
/// one explained row are scored as one batch through the model's block scorer
/// ([`Model::vote_fraction_rows`]), so the work is `62 × |background|` forest walks per row,
/// in blocks.
///
/// The work checks `cancel` every [`ROWS_PER_LOOK`] hybrid rows and stops when it is set.
///
/// # Errors
/// [`ExplainError::NotLegendary`] when the model has no legendary probability of the six stats;
/// [`ExplainError::Cancelled`] when `cancel` was set before the work was done.
pub fn explain(
    model: &Model,
    background: &Background,
    rows: &[[f64; 6]],
    cancel: &Cancel,
) -> Result<Explanation, ExplainError> {
    if !model.takes_demo_stats() {
        return Err(ExplainError::NotLegendary);
    }
    let base_value = mean(&model.vote_fraction_rows(&background.data));
    let vote_fractions = model.vote_fraction_rows(rows);
    let mut hybrid = Vec::with_capacity(evaluations_per_row(background));
    let contributions = rows
        .iter()
        .zip(&vote_fractions)
        .map(|(x, &fx)| {
            let v = game(model, background, x, [base_value, fx], &mut hybrid, cancel)?;
            Ok(Stats::from(shapley(&v)))
        })
        .collect::<Result<_, ExplainError>>()?;
    Ok(Explanation {
        base_value,
        probabilities: model.proba_rows(rows),
        vote_fractions,
        contributions,
    })
}

/// v(S) for every coalition of `x`'s game; `ends` are v(∅) and f(x), known already. v(all)
/// is the mean of |background| copies of f(x), as every other v(S) is a mean: that can differ
/// from f(x) in the last place, but then a stat equal in x and every background row gets
/// exactly zero, and the sum still meets f(x) to ~1e-16.
fn game(
    model: &Model,
    background: &Background,
    x: &[f64; 6],
    ends: [f64; 2],
    hybrid: &mut Vec<[f64; 6]>,
    cancel: &Cancel,
) -> Result<[f64; COALITIONS], ExplainError> {
    hybrid.clear();
    for s in 1..EVERYONE {
        hybrid.extend(background.data.iter().map(|b| {
            std::array::from_fn::<f64, PLAYERS, _>(|i| if s >> i & 1 == 1 { x[i] } else { b[i] })
        }));
    }
    // Scored in runs of whole rows (the same bits as one call: rows are scored alone).
    let mut proba = Vec::with_capacity(hybrid.len());
    for run in hybrid.chunks(ROWS_PER_LOOK) {
        if cancel.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        proba.extend(model.vote_fraction_rows(run));
    }
    let mut v = [0.0; COALITIONS];
    v[0] = ends[0];
    v[EVERYONE] = mean(&vec![ends[1]; background.data.len()]);
    for (slot, chunk) in v[1..EVERYONE]
        .iter_mut()
        .zip(proba.chunks(background.data.len()))
    {
        *slot = mean(chunk);
    }
    Ok(v)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::background;

    fn bundled() -> Model {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pokemon");
        crate::model::read_dir(&dir).unwrap().model
    }

    const MEWTWO: [f64; 6] = [106.0, 110.0, 90.0, 154.0, 90.0, 130.0];
    const BULBASAUR: [f64; 6] = [45.0, 49.0, 49.0, 65.0, 65.0, 45.0];

    #[test]
    fn base_value_plus_the_contributions_is_the_vote_fraction() {
        let bundled = bundled();
        let calibrated = crate::model::calibrated(&bundled, r#"{"x":[0.1,0.5],"y":[0.0,0.9]}"#);
        let background = background::bundled().unwrap();
        let rows = [MEWTWO, BULBASAUR, [1.0; 6], [255.0; 6], background.data[3]];
        let plain = explain(&bundled, background, &rows, &Cancel::never()).unwrap();
        let e = explain(&calibrated, background, &rows, &Cancel::never()).unwrap();
        // The game is the vote fraction's, calibrated or not: the same numbers.
        assert_eq!(e.base_value, plain.base_value);
        assert_eq!(e.contributions, plain.contributions);
        assert_eq!(e.vote_fractions, plain.vote_fractions);
        assert_eq!(plain.probabilities, plain.vote_fractions);
        for (i, (row, c)) in rows.iter().zip(&e.contributions).enumerate() {
            let (p, v) = (e.probabilities[i], e.vote_fractions[i]);
            assert_eq!(p.to_bits(), calibrated.proba_row(row).to_bits());
            assert_eq!(v.to_bits(), bundled.proba_row(row).to_bits());
            let total = e.base_value + c.values().iter().sum::<f64>();
            assert!((total - v).abs() <= 1e-12, "{total} vs {v}");
        }
        assert_ne!(e.probabilities, e.vote_fractions);
        // Mewtwo's stats push it towards legendary, Bulbasaur's away.
        assert!(e.contributions[0].values().iter().sum::<f64>() > 0.5);
        assert!(e.contributions[1].values().iter().sum::<f64>() < 0.0);
    }

    #[test]
    fn a_cancelled_explanation_stops_before_scoring_its_rows() {
        let model = bundled();
        let background = background::bundled().unwrap();
        let (cancel, guard) = Cancel::on_drop();
        drop(guard);
        assert_eq!(
            explain(&model, background, &[MEWTWO; 32], &cancel),
            Err(ExplainError::Cancelled)
        );
    }

    #[test]
    fn a_row_equal_to_the_only_background_row_has_nothing_to_explain() {
        let model = bundled();
        let background = Background::new("one".into(), vec![MEWTWO]);
        let e = explain(&model, &background, &[MEWTWO], &Cancel::never()).unwrap();
        assert_eq!(e.base_value, e.vote_fractions[0]);
        assert_eq!(e.contributions[0].values(), [0.0; 6]);
    }

    #[test]
    fn a_stat_the_row_shares_with_every_background_row_gets_nothing() {
        // Dummy player: when x's speed equals every background row's speed, no coalition
        // changes by taking x's speed, so its value is exactly 0.
        let model = bundled();
        let mut background = background::bundled().unwrap().clone();
        for row in &mut background.data {
            row[5] = 77.0;
        }
        let mut x = MEWTWO;
        x[5] = 77.0;
        let e = explain(&model, &background, &[x], &Cancel::never()).unwrap();
        assert_eq!(e.contributions[0].speed, 0.0);
    }
}
