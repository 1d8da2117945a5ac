//! A scikit-learn estimator as a served [`Model`]: its columns, its labels in their own type
//! for `/invocations`, and the legendary-class probability for the demo API and the web page
//! when it is a two-class classifier of the six stats.

use super::into_smartcore::SmartcoreForest;
use super::{Labels, SklearnModel};
use crate::dataset::FEATURES;
use crate::model::{Engine, FeatureSet, ForestParams, Model, ModelError};

/// What a served scikit-learn model scores with.
#[derive(Debug)]
pub(crate) struct Scorer {
    pub(crate) model: SklearnModel,
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
    pub(crate) fn legendary_proba(&self, row: &[f64]) -> f64 {
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
    pub(crate) fn self_check(&self) -> Result<(), ModelError> {
        SmartcoreForest::build_checked(&self.model.forest).map(drop)
    }
}

impl Model {
    /// Serves a scikit-learn estimator. Its columns are `feature_names_in_`, else the
    /// signature's, else the six stats when it takes six columns (what the original demo's
    /// 1.x client sends, by position), else `0`, `1`, ... (a pandas frame without names).
    ///
    /// Agreement with smartcore is [`Model::self_check`]'s to prove.
    ///
    /// # Errors
    /// None today; kept fallible like the other constructors.
    pub(crate) fn from_sklearn(model: SklearnModel) -> Result<Self, ModelError> {
        let n = model.forest.n_features;
        let input_features = model.columns.clone().unwrap_or_else(|| {
            if n == FEATURES.len() {
                FEATURES.iter().map(|s| (*s).to_owned()).collect()
            } else {
                (0..n).map(|i| i.to_string()).collect()
            }
        });
        let legendary = model.forest.labels.as_ref().and_then(legendary_class);
        let params = ForestParams {
            n_trees: u16::try_from(model.forest.n_trees()).unwrap_or(u16::MAX),
            max_depth: u16::try_from(model.forest.max_depth()).ok(),
            min_samples_split: 2,
            min_samples_leaf: 1,
            mtry: None,
            seed: 0,
            features: FeatureSet::Raw,
        };
        Ok(Self {
            engine: Engine::Sklearn(Box::new(Scorer { model, legendary })),
            input_features,
            feature_set: FeatureSet::Raw,
            // A two-class argmax with ties to the first class: legendary iff p > 0.5.
            threshold: 0.5,
            params,
        })
    }

    /// The scikit-learn estimator, when this model is one.
    pub fn sklearn(&self) -> Option<&SklearnModel> {
        match &self.engine {
            Engine::Sklearn(s) => Some(&s.model),
            Engine::Smartcore { .. } => None,
        }
    }

    /// Whether the demo API and the web page can ask this model about the six stats: a
    /// smartcore forest, or a two-class scikit-learn classifier of exactly those columns with
    /// a legendary class.
    pub fn takes_demo_stats(&self) -> bool {
        match &self.engine {
            Engine::Smartcore { .. } => true,
            Engine::Sklearn(s) => s.legendary.is_some() && self.input_features == FEATURES,
        }
    }

    /// `predict` for a row-major batch, as MLflow's scoring server answers it: a scikit-learn
    /// model's labels in their own type (floats for a regressor), a smartcore forest's booleans.
    pub fn predict_values(&self, values: &[f64]) -> Vec<serde_json::Value> {
        match &self.engine {
            Engine::Sklearn(s) => values
                .chunks_exact(self.input_features.len())
                .map(|row| s.model.forest.predict_json(row))
                .collect(),
            Engine::Smartcore { .. } => self
                .predict_batch(values)
                .into_iter()
                .map(serde_json::Value::Bool)
                .collect(),
        }
    }
}
