//! A scikit-learn estimator ready to serve: the legendary-class probability for the demo API
//! and the web page when it is a two-class classifier with a legendary class, and the proof,
//! run by the model compiler, that smartcore walks its trees as scikit-learn does.

use legendary_forest::ModelError;

use super::into_smartcore::SmartcoreForest;
use super::{Labels, SklearnModel};

/// What a served scikit-learn model scores with.
#[derive(Debug)]
pub struct Scorer {
    /// The estimator and what `MLmodel` says of it.
    pub model: SklearnModel,
    /// Index of the legendary class (`True`, `1` or `"legendary"`) of a two-class classifier.
    legendary: Option<usize>,
}

/// The class meaning "legendary", if a two-class classifier has one.
fn legendary_class(labels: &Labels) -> Option<usize> {
    if labels.len() != 2 {
        return None;
    }
    match labels {
        Labels::Bool(v) => v.iter().position(|&b| b),
        Labels::Int(v) => v.iter().position(|&i| i == 1),
        Labels::Float(v) => v.iter().position(|&f| f == 1.0),
        Labels::Str(v) => v
            .iter()
            .position(|s| matches!(s.as_str(), "legendary" | "True" | "true")),
    }
}

impl Scorer {
    /// The probability of the legendary class for one row in the model's column order
    /// (NaN when the model has no such class; the demo routes refuse those models first).
    pub fn legendary_proba(&self, row: &[f64]) -> f64 {
        let Some(k) = self.legendary else {
            return f64::NAN;
        };
        let mut proba = [0.0; 2];
        self.model.forest.proba_into(row, &mut proba);
        proba[k]
    }

    /// Builds the same trees as a smartcore forest and checks its walk against
    /// scikit-learn's, tree by tree ([`SmartcoreForest::build_checked`]). Run by the model
    /// compiler; the server reads the compiled trees and does not build the copy again
    /// (it scores with the walk, and the copy costs far more memory than the trees).
    pub fn self_check(&self) -> Result<(), ModelError> {
        SmartcoreForest::build_checked(&self.model.forest).map(drop)
    }
}

impl Scorer {
    /// Serves `model`, finding its legendary class if it has one.
    pub fn new(model: SklearnModel) -> Self {
        let legendary = model.forest.labels.as_ref().and_then(legendary_class);
        Self { model, legendary }
    }

    /// Whether it is a two-class classifier with a legendary class.
    pub fn has_legendary_class(&self) -> bool {
        self.legendary.is_some()
    }
}
