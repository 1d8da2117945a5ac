//! A model ready to serve, whatever wrote it: our own forest ([`ForestModel`], from
//! `legendary-forest`) or a scikit-learn tree estimator (from `legendary-sklearn`), and the
//! MLflow model directory around it (`MLmodel`, the input example, the explanation
//! background), read within [`ReadLimits`] and compiled for the server by the sandboxed
//! compiler ([`to_compiled`], [`from_compiled`]).

mod artifact;
mod background;
mod compiled;
#[cfg(test)]
mod hostile_tests;
mod mlmodel;
mod pyfunc;
mod read;
mod sklearn_dir;

use legendary_forest::FEATURES;
pub use legendary_forest::{
    FeatureSet, Forest, ForestModel, ForestParams, ReadLimits, SMARTCORE_VERSION,
};
use legendary_sklearn::{Scorer, SklearnError, SklearnModel};

pub(crate) use artifact::write_dir;
pub use artifact::{
    ArtifactError, Extras, ModelDir, ModelInfo, SklearnInfo, read_dir, read_dir_with,
};
pub use background::{BACKGROUND_FILE, Background, MAX_BACKGROUND_ROWS};
pub use compiled::{COMPILED_FORMAT, from_compiled, to_compiled};
pub use mlmodel::{Provenance, record_provenance};

/// Why a model could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Our own forest (`model.json`, or its compiled form) was refused.
    #[error(transparent)]
    Forest(#[from] legendary_forest::ModelError),
    /// A scikit-learn model file was refused.
    #[error(transparent)]
    Sklearn(#[from] SklearnError),
}

/// What scores a model's rows.
enum Engine {
    /// Our own forest (boxed like the other: the two differ in size).
    Forest(Box<ForestModel>),
    /// A scikit-learn tree estimator, walked with scikit-learn's arithmetic.
    Sklearn(Box<Scorer>),
}

/// A loaded model, ready to score.
pub struct Model {
    engine: Engine,
    /// The columns a client sends, in the model's order; shared, because every request the
    /// shadow challenger is offered carries them (one reference count, not six strings).
    input_features: std::sync::Arc<[String]>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.engine {
            Engine::Forest(forest) => forest.fmt(f),
            Engine::Sklearn(scorer) => f
                .debug_struct("Model")
                .field("sklearn", &scorer.model.forest.class)
                .field("trees", &self.n_trees())
                .finish_non_exhaustive(),
        }
    }
}

impl From<ForestModel> for Model {
    fn from(forest: ForestModel) -> Self {
        Self {
            engine: Engine::Forest(Box::new(forest)),
            input_features: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Model {
    /// Serves a scikit-learn estimator. Its columns are `feature_names_in_`, else the
    /// signature's, else the six stats when it takes six columns (what the original demo's
    /// 1.x client sends, by position), else `0`, `1`, ... (a pandas frame without names).
    ///
    /// Agreement with smartcore is proven by the model compiler ([`Scorer::self_check`]).
    pub(crate) fn from_sklearn(model: SklearnModel) -> Self {
        let n = model.forest.n_features;
        let input_features = model.columns.clone().unwrap_or_else(|| {
            if n == FEATURES.len() {
                FEATURES.iter().map(|s| (*s).to_owned()).collect()
            } else {
                (0..n).map(|i| i.to_string()).collect()
            }
        });
        Self {
            engine: Engine::Sklearn(Box::new(Scorer::new(model))),
            input_features: input_features.into(),
        }
    }

    /// Our own forest, when this model is one.
    pub fn forest(&self) -> Option<&ForestModel> {
        match &self.engine {
            Engine::Forest(forest) => Some(forest),
            Engine::Sklearn(_) => None,
        }
    }

    /// The scikit-learn estimator, when this model is one.
    pub fn sklearn(&self) -> Option<&SklearnModel> {
        match &self.engine {
            Engine::Sklearn(s) => Some(&s.model),
            Engine::Forest(_) => None,
        }
    }

    /// The columns a client must send, in the model's order.
    pub(crate) fn input_features(&self) -> &[String] {
        &self.input_features
    }

    /// [`Model::input_features`], shared.
    pub(crate) fn shared_input_features(&self) -> &std::sync::Arc<[String]> {
        &self.input_features
    }

    /// The columns the trees see: ours derive some from the six stats; a scikit-learn
    /// estimator sees what it is sent.
    pub(crate) fn feature_set(&self) -> FeatureSet {
        match &self.engine {
            Engine::Forest(forest) => forest.feature_set(),
            Engine::Sklearn(_) => FeatureSet::Raw,
        }
    }

    /// The forest's columns (inputs, then derived ones).
    pub(crate) fn forest_features(&self) -> Vec<String> {
        match &self.engine {
            Engine::Forest(forest) => forest.feature_set().column_names(),
            Engine::Sklearn(_) => self.input_features.to_vec(),
        }
    }

    /// The hyperparameters our forest was trained with; a scikit-learn estimator's are its
    /// own business and not recorded here.
    pub fn params(&self) -> Option<&ForestParams> {
        self.forest().map(ForestModel::params)
    }

    /// The decision threshold on the legendary probability (after our forest's calibration):
    /// ours as trained, and 0.5 for a two-class scikit-learn classifier (an argmax with ties
    /// to the first class).
    pub fn threshold(&self) -> f64 {
        match &self.engine {
            Engine::Forest(forest) => forest.threshold(),
            Engine::Sklearn(_) => 0.5,
        }
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        match &self.engine {
            Engine::Forest(forest) => forest.n_trees(),
            Engine::Sklearn(s) => s.model.forest.n_trees(),
        }
    }

    /// Mean decrease in impurity for each forest column (none for a scikit-learn estimator).
    pub(crate) fn impurity_importances(&self) -> &[f64] {
        match &self.engine {
            Engine::Forest(forest) => forest.impurity_importances(),
            Engine::Sklearn(_) => &[],
        }
    }

    /// Whether the demo API and the web page can ask this model about the six stats: our
    /// forest, or a two-class scikit-learn classifier of exactly those columns with a
    /// legendary class.
    pub fn takes_demo_stats(&self) -> bool {
        match &self.engine {
            Engine::Forest(_) => true,
            Engine::Sklearn(s) => s.has_legendary_class() && *self.input_features == FEATURES,
        }
    }

    /// Whether the probability is our forest's vote fraction through a calibration map
    /// (otherwise it is the vote fraction, or a scikit-learn estimator's `predict_proba`).
    pub fn is_calibrated(&self) -> bool {
        self.forest().is_some_and(|f| f.calibration().is_some())
    }

    /// Probability of legendary for one row of the six raw stats: what every answer reports
    /// and decides on (see [`ForestModel::proba_into`]).
    pub fn proba_row(&self, raw: &[f64]) -> f64 {
        let mut out = [0.0];
        self.proba_into(raw, &mut out);
        out[0]
    }

    /// Applies the decision threshold to a probability.
    pub fn decide(&self, proba: f64) -> bool {
        proba > self.threshold()
    }

    /// Probabilities for a row-major batch of raw stats (`values.len()` a multiple of 6).
    pub fn proba_batch(&self, values: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; values.len() / self.input_features.len()];
        self.proba_into(values, &mut out);
        out
    }

    /// Probabilities for rows of the six raw stats: the one way evaluation, the gate and
    /// `predict` score a list of rows (in blocks, bit-identical to [`Model::proba_row`]).
    pub(crate) fn proba_rows(&self, rows: &[[f64; 6]]) -> Vec<f64> {
        self.proba_batch(rows.as_flattened())
    }

    /// The vote fractions of rows of the six raw stats, before calibration: what explanations
    /// decompose (a mean over trees is a sum of Shapley values; the calibration map is not).
    /// For a scikit-learn estimator, its probability.
    pub(crate) fn vote_fraction_rows(&self, rows: &[[f64; 6]]) -> Vec<f64> {
        let values = rows.as_flattened();
        let mut out = vec![0.0; rows.len()];
        match &self.engine {
            Engine::Forest(forest) => forest.vote_fraction_into(values, &mut out),
            Engine::Sklearn(_) => self.proba_into(values, &mut out),
        }
        out
    }

    /// The answers to `probabilities`: [`Model::decide`] on each, the one mapping every route,
    /// the shadow, the gate and the monitor profile use.
    pub fn decide_all(&self, probabilities: &[f64]) -> Vec<bool> {
        probabilities.iter().map(|&p| self.decide(p)).collect()
    }

    /// Predictions for a row-major batch of raw stats.
    pub fn predict_batch(&self, values: &[f64]) -> Vec<bool> {
        self.decide_all(&self.proba_batch(values))
    }

    /// The probabilities of a row-major batch by the tree walk QuickScorer replaced, for
    /// benchmarking the two in one run; the same bits as [`Model::predict_batch`] decides on.
    #[doc(hidden)]
    pub fn walk_proba_batch(&self, values: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; values.len() / self.input_features.len()];
        match &self.engine {
            Engine::Forest(forest) => forest.walk_proba_into(values, &mut out),
            Engine::Sklearn(_) => self.proba_into(values, &mut out),
        }
        out
    }

    /// Writes the probability of each row of `values` into `out`: every probability a model
    /// reports comes from here.
    fn proba_into(&self, values: &[f64], out: &mut [f64]) {
        match &self.engine {
            Engine::Forest(forest) => forest.proba_into(values, out),
            // Rows here are the six stats; a model of other inputs has no legendary probability.
            Engine::Sklearn(_) if !self.takes_demo_stats() => out.fill(f64::NAN),
            Engine::Sklearn(s) => {
                let n = self.input_features.len();
                for (row, o) in values.chunks_exact(n).zip(out.iter_mut()) {
                    *o = s.legendary_proba(row);
                }
            }
        }
    }

    /// `predict` for a row-major batch, as MLflow's scoring server answers it: a scikit-learn
    /// model's labels in their own type (floats for a regressor), our forest's booleans.
    pub fn predict_values(&self, values: &[f64]) -> Vec<serde_json::Value> {
        match &self.engine {
            Engine::Sklearn(s) => values
                .chunks_exact(self.input_features.len())
                .map(|row| s.model.forest.predict_json(row))
                .collect(),
            Engine::Forest(_) => self
                .predict_batch(values)
                .into_iter()
                .map(serde_json::Value::Bool)
                .collect(),
        }
    }

    /// Proves the model scores as its library would: our flat forest against smartcore on
    /// `raw_rows`; a scikit-learn estimator's walk against a smartcore copy of its trees.
    ///
    /// # Errors
    /// The first disagreement, or what smartcore refused.
    pub(crate) fn self_check(&self, raw_rows: &[[f64; 6]]) -> Result<(), ModelError> {
        match &self.engine {
            Engine::Forest(forest) => forest.self_check(raw_rows)?,
            Engine::Sklearn(s) => s.self_check()?,
        }
        Ok(())
    }
}

/// `model`'s forest with `calibration` (the envelope's JSON) put in, for tests of what a
/// calibrated model answers.
#[cfg(test)]
pub(crate) fn calibrated(model: &Model, calibration: &str) -> Model {
    let json = model
        .forest()
        .and_then(|f| f.to_json().ok())
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
        .replacen(
            ",\"params\":",
            &format!(",\"calibration\":{calibration},\"params\":"),
            1,
        );
    ForestModel::from_json(json.as_bytes(), &ReadLimits::default())
        .map(Model::from)
        .unwrap_or_else(|e| panic!("{e}"))
}
