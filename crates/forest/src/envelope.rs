//! The forest we train: a smartcore random forest with the input contract it was trained
//! under, in a versioned JSON envelope (`model.json`), plus its flat compiled copy that
//! scores rows.

use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::RandomForestClassifier;
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::calibration::{Calibration, CalibrationError, Knots};
use crate::features::{self, FeatureSet};
use crate::forest::{self, BLOCK_ROWS, FlatForest, ForestError, ROW_STRIDE};
use crate::{FEATURES, ReadLimits, limits};

/// The smartcore forest type we train and serialise.
pub type Forest = RandomForestClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>;

/// The envelope format written to `model.json`; bump when the layout changes.
pub const FORMAT: &str = "legendary.forest/v1";

/// Version of smartcore the forest was serialised with.
pub const SMARTCORE_VERSION: &str = "0.7.0";

/// Hyperparameters of a forest, as recorded in the artifact and logged to MLflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees.
    pub n_trees: u16,
    /// Maximum depth of a tree (None: unlimited).
    pub max_depth: Option<u16>,
    /// Minimum samples needed to split a node.
    pub min_samples_split: usize,
    /// Minimum samples in a leaf.
    pub min_samples_leaf: usize,
    /// Features tried per split (None: floor(sqrt(width))).
    pub mtry: Option<usize>,
    /// Seed of the bootstrap and feature sampling.
    pub seed: u64,
    /// Columns the forest sees.
    pub features: FeatureSet,
}

/// What `model.json` holds: `F` is the forest, `C` the calibration ([`Knots`] when read).
#[derive(Serialize, Deserialize)]
struct Envelope<F, C> {
    format: String,
    smartcore_version: String,
    estimator: String,
    /// The columns a client sends, in order.
    #[serde(deserialize_with = "limits::short_names")]
    input_features: Vec<String>,
    /// The forest's columns (inputs, then derived ones).
    #[serde(deserialize_with = "limits::short_names")]
    forest_features: Vec<String>,
    feature_set: FeatureSet,
    /// Legendary when the probability is strictly above this.
    decision_threshold: f64,
    /// The map from vote fraction to probability; absent (every model written before it
    /// existed) means the probability is the vote fraction, so those files are unchanged.
    /// (serde reads a missing `Option` as `None`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    calibration: Option<C>,
    params: ForestParams,
    forest: F,
}

/// Why a model could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// `model.json` is not valid JSON of the expected envelope.
    #[error("model.json is not a legendary smartcore forest: {0}")]
    Envelope(String),
    /// The envelope is from another format version.
    #[error("model.json has format '{found}', this build reads '{FORMAT}'")]
    Format {
        /// The format found.
        found: String,
    },
    /// The forest inside is broken.
    #[error(transparent)]
    Forest(#[from] ForestError),
    /// The envelope contradicts itself.
    #[error("model.json is inconsistent: {0}")]
    Inconsistent(String),
    /// The calibration map is not a monotone map of [0, 1] within [`crate::MAX_KNOTS`].
    #[error("model.json: {0}")]
    Calibration(#[from] CalibrationError),
    /// smartcore failed.
    #[error("smartcore: {0}")]
    Smartcore(String),
}

/// Which walk scores a smartcore forest's blocks.
#[derive(Clone, Copy)]
enum Walk {
    /// QuickScorer when the trees allow, else the tree walk.
    Best,
    /// The tree walk, always (the reference).
    Tree,
}

/// A trained forest, ready to score: the smartcore forest (kept to serialise it and to prove
/// the flat copy agrees with it) and its flat compiled copy, under the contract it was
/// trained with (its feature set, calibration, decision threshold and parameters). Its inputs
/// are always the six stats, [`FEATURES`].
pub struct ForestModel {
    forest: Forest,
    flat: FlatForest,
    feature_set: FeatureSet,
    calibration: Option<Calibration>,
    threshold: f64,
    params: ForestParams,
}

impl std::fmt::Debug for ForestModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForestModel")
            .field("trees", &self.n_trees())
            .field("feature_set", &self.feature_set)
            .field("threshold", &self.threshold)
            .field("calibrated", &self.calibration.is_some())
            .finish_non_exhaustive()
    }
}

impl ForestModel {
    /// Wraps a freshly fitted forest, its probabilities the vote fraction mapped by
    /// `calibration` (the vote fraction itself when `None`). It is held to the default
    /// [`ReadLimits`], so a forest this build would refuse to serve is refused when it is
    /// trained, not once published.
    ///
    /// # Errors
    /// When the forest exceeds the default [`ReadLimits`], or cannot be serialised and
    /// compiled (a smartcore bug, not bad input).
    pub fn from_forest(
        forest: Forest,
        params: ForestParams,
        calibration: Option<Calibration>,
        threshold: f64,
    ) -> Result<Self, ModelError> {
        let json =
            serde_json::to_string(&forest).map_err(|e| ModelError::Smartcore(e.to_string()))?;
        let raw = serde_json::value::RawValue::from_string(json)
            .map_err(|e| ModelError::Smartcore(e.to_string()))?;
        let flat = FlatForest::from_smartcore_json(&raw, &ReadLimits::default())?;
        let model = Self {
            forest,
            flat,
            feature_set: params.features,
            calibration,
            threshold,
            params,
        };
        model.check_width()?;
        Ok(model)
    }

    /// Reads `model.json`: the forest is proven a forest within `limits` and compiled, and only
    /// then deserialised by smartcore (whose own predict would loop on a cycle).
    ///
    /// # Errors
    /// A specific [`ModelError`] for anything that is not a model this build can serve.
    pub fn from_json(bytes: &[u8], limits: &ReadLimits) -> Result<Self, ModelError> {
        let envelope: Envelope<&serde_json::value::RawValue, Knots> =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Envelope(e.to_string()))?;
        if envelope.format != FORMAT {
            return Err(ModelError::Format {
                found: envelope.format,
            });
        }
        // First: the checked pass bounds the node count before smartcore allocates its nodes.
        let flat = FlatForest::from_smartcore_json(envelope.forest, limits)?;
        let forest: Forest = serde_json::from_str(envelope.forest.get())
            .map_err(|e| ModelError::Envelope(format!("forest: {e}")))?;
        if envelope.forest_features != envelope.feature_set.column_names() {
            return Err(ModelError::Inconsistent(format!(
                "forest_features {:?} do not match feature set '{}'",
                envelope.forest_features, envelope.feature_set
            )));
        }
        if envelope.input_features != FEATURES {
            return Err(ModelError::Inconsistent(format!(
                "input_features must be the six base stats, found {:?}",
                envelope.input_features
            )));
        }
        if !(0.0..1.0).contains(&envelope.decision_threshold) {
            return Err(ModelError::Inconsistent(format!(
                "decision_threshold {} is not in [0, 1)",
                envelope.decision_threshold
            )));
        }
        let calibration = envelope.calibration.map(Knots::check).transpose()?;
        let model = Self {
            forest,
            flat,
            feature_set: envelope.feature_set,
            calibration,
            threshold: envelope.decision_threshold,
            params: envelope.params,
        };
        model.check_width()?;
        Ok(model)
    }

    fn check_width(&self) -> Result<(), ModelError> {
        if self.flat.n_features() != self.feature_set.width() {
            return Err(ModelError::Inconsistent(format!(
                "the forest has {} columns, feature set '{}' has {}",
                self.flat.n_features(),
                self.feature_set,
                self.feature_set.width()
            )));
        }
        Ok(())
    }

    /// Serialises the envelope; the same model always gives the same bytes.
    ///
    /// # Errors
    /// Only if serde fails, which a fitted forest does not.
    pub fn to_json(&self) -> Result<Vec<u8>, ModelError> {
        let envelope = Envelope {
            format: FORMAT.to_owned(),
            smartcore_version: SMARTCORE_VERSION.to_owned(),
            estimator: "RandomForestClassifier".to_owned(),
            input_features: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            forest_features: self.feature_set.column_names(),
            feature_set: self.feature_set,
            decision_threshold: self.threshold,
            calibration: self.calibration.as_ref(),
            params: self.params.clone(),
            forest: &self.forest,
        };
        serde_json::to_vec(&envelope).map_err(|e| ModelError::Smartcore(e.to_string()))
    }

    /// The columns the forest sees (the six stats, then derived ones).
    pub fn feature_set(&self) -> FeatureSet {
        self.feature_set
    }

    /// Hyperparameters the forest was trained with.
    pub fn params(&self) -> &ForestParams {
        &self.params
    }

    /// The decision threshold on the probability ([`ForestModel::proba_into`]).
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The map from vote fraction to probability, if the model has one.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.flat.n_trees()
    }

    /// Mean decrease in impurity for each forest column.
    pub fn impurity_importances(&self) -> &[f64] {
        self.flat.impurity_importances()
    }

    /// The compiled forest, for code that walks it (exact Shapley values).
    pub fn flat(&self) -> &FlatForest {
        &self.flat
    }

    /// Writes the probability of legendary of each row of the six stats in `values`
    /// (row-major) into `out`: the vote fraction ([`ForestModel::vote_fraction_into`]) through
    /// the calibration. This is the probability every answer reports and decides on.
    pub fn proba_into(&self, values: &[f64], out: &mut [f64]) {
        self.vote_fraction_with(values, out, Walk::Best);
        self.calibrate(out);
    }

    /// The probabilities of a row-major batch by the tree walk QuickScorer replaced, for
    /// benchmarking the two in one run; the same bits as [`ForestModel::proba_into`] gives.
    pub fn walk_proba_into(&self, values: &[f64], out: &mut [f64]) {
        self.vote_fraction_with(values, out, Walk::Tree);
        self.calibrate(out);
    }

    /// Writes the vote fraction (the mean over the trees of the leaf's legendary fraction,
    /// scikit-learn's `predict_proba`) of each row into `out`, before any calibration: what
    /// explanations decompose, since it is a mean over trees and the calibration is not.
    pub fn vote_fraction_into(&self, values: &[f64], out: &mut [f64]) {
        self.vote_fraction_with(values, out, Walk::Best);
    }

    /// The one place a vote fraction becomes the reported probability.
    fn calibrate(&self, out: &mut [f64]) {
        if let Some(c) = &self.calibration {
            for p in out {
                *p = c.apply(*p);
            }
        }
    }

    /// Scores [`BLOCK_ROWS`] rows at a time with `walk` (QuickScorer when the trees allow).
    fn vote_fraction_with(&self, values: &[f64], out: &mut [f64], walk: Walk) {
        let n = FEATURES.len();
        let mut rows = [[0.0; ROW_STRIDE]; BLOCK_ROWS];
        let mut scratch = forest::Scratch::default();
        for (block, out) in values
            .chunks(BLOCK_ROWS * n)
            .zip(out.chunks_mut(BLOCK_ROWS))
        {
            let m = out.len().min(block.len() / n);
            for (raw, row) in block.chunks_exact(n).zip(&mut rows[..m]) {
                let mut cols = [0.0; features::MAX_WIDTH];
                let width = self.feature_set.fill(raw, &mut cols);
                row[..width].copy_from_slice(&cols[..width]);
            }
            match walk {
                Walk::Best => self
                    .flat
                    .proba_block(&rows[..m], &mut out[..m], &mut scratch),
                Walk::Tree => self.flat.walk_block(&rows[..m], &mut out[..m]),
            }
        }
    }

    /// smartcore's own majority-vote prediction for rows of forest columns; used to prove at
    /// load time that the flat copy agrees with the library.
    ///
    /// # Errors
    /// If smartcore rejects the matrix.
    fn smartcore_predict(&self, raw_rows: &[[f64; 6]]) -> Result<Vec<bool>, ModelError> {
        let mut values = Vec::with_capacity(raw_rows.len() * self.feature_set.width());
        for r in raw_rows {
            self.feature_set.expand(r, &mut values);
        }
        let x = DenseMatrix::new(raw_rows.len(), self.feature_set.width(), values, false)
            .map_err(|e| ModelError::Smartcore(e.to_string()))?;
        let y = self
            .forest
            .predict(&x)
            .map_err(|e| ModelError::Smartcore(e.to_string()))?;
        Ok(y.into_iter().map(|c| c == 1).collect())
    }

    /// Checks that the flat copy and smartcore agree on `rows` (majority vote, threshold 0.5).
    ///
    /// # Errors
    /// [`ModelError::Inconsistent`] naming the first row where they differ.
    pub fn self_check(&self, raw_rows: &[[f64; 6]]) -> Result<(), ModelError> {
        let library = self.smartcore_predict(raw_rows)?;
        for (i, (row, expected)) in raw_rows.iter().zip(library).enumerate() {
            let mut cols = [0.0; features::MAX_WIDTH];
            let width = self.feature_set.fill(row, &mut cols);
            let votes = self.flat.votes(&cols[..width]);
            if (2 * votes > self.flat.n_trees()) != expected {
                return Err(ModelError::Inconsistent(format!(
                    "row {i}: the compiled forest and smartcore disagree"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
