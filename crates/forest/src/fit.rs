//! Fitting smartcore's forest. It lives here, not in the binary, so that smartcore's generic
//! fitting code is instantiated in this crate, which is optimised even in debug builds:
//! instantiated in an unoptimised crate, one training took minutes in the tests.

use smartcore::ensemble::random_forest_classifier::RandomForestClassifierParameters;
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::{Forest, ForestParams, ModelError};

/// Fits a forest on `rows` (six raw stats each, expanded to `params.features`' columns).
///
/// # Errors
/// [`ModelError::Smartcore`] when smartcore refuses the data or the parameters.
pub fn fit_forest(
    rows: &[[f64; 6]],
    labels: &[bool],
    params: &ForestParams,
) -> Result<Forest, ModelError> {
    let smartcore = |e: smartcore::error::Failed| ModelError::Smartcore(e.to_string());
    let width = params.features.width();
    let mut values = Vec::with_capacity(rows.len() * width);
    for r in rows {
        params.features.expand(r, &mut values);
    }
    let x = DenseMatrix::new(rows.len(), width, values, false).map_err(smartcore)?;
    let y: Vec<u32> = labels.iter().map(|&l| u32::from(l)).collect();
    let mut p = RandomForestClassifierParameters::default()
        .with_n_trees(params.n_trees)
        .with_min_samples_split(params.min_samples_split)
        .with_min_samples_leaf(params.min_samples_leaf)
        .with_seed(params.seed);
    if let Some(d) = params.max_depth {
        p = p.with_max_depth(d);
    }
    if let Some(m) = params.mtry {
        p = p.with_m(m);
    }
    Forest::fit(&x, &y, p).map_err(smartcore)
}
