//! The trained model: a smartcore random forest with the input contract it was trained
//! under, in a versioned JSON envelope, plus the MLflow model directory around it.

mod artifact;
mod background;
mod compiled;
mod features;
mod forest;
#[cfg(test)]
mod hostile_tests;
mod limits;
mod mirror;
mod mlmodel;
mod pyfunc;
pub mod sklearn;

use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::RandomForestClassifier;
use smartcore::linalg::basic::matrix::DenseMatrix;

pub(crate) use artifact::write_dir;
pub use artifact::{
    ArtifactError, Extras, ModelDir, ModelInfo, SklearnInfo, read_dir, read_dir_with,
};
pub use background::{BACKGROUND_FILE, Background, MAX_BACKGROUND_ROWS};
pub use compiled::{COMPILED_FORMAT, from_compiled, to_compiled};
pub use features::{DERIVED, FeatureSet, REGULARITY};
pub use forest::{BLOCK_ROWS, FlatForest, ForestError, ROW_STRIDE};
pub use limits::ReadLimits;
pub use mlmodel::{Provenance, record_provenance};

use crate::dataset::FEATURES;

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

/// What `model.json` holds.
#[derive(Serialize, Deserialize)]
struct Envelope<F> {
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
    /// Legendary when the fraction of trees voting legendary is strictly above this.
    decision_threshold: f64,
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
    /// A scikit-learn model file was refused (see [`sklearn`]).
    #[error(transparent)]
    Sklearn(#[from] sklearn::SklearnError),
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

/// What scores a model's rows.
enum Engine {
    /// Our own: the smartcore forest plus its flat compiled copy.
    Smartcore { forest: Forest, flat: FlatForest },
    /// A scikit-learn tree estimator, walked with scikit-learn's arithmetic (see [`sklearn`]).
    Sklearn(Box<sklearn::Scorer>),
}

/// A loaded model, ready to score: a smartcore forest plus its flat compiled copy, or a
/// scikit-learn tree estimator.
pub struct Model {
    engine: Engine,
    input_features: Vec<String>,
    feature_set: FeatureSet,
    threshold: f64,
    params: ForestParams,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("trees", &self.n_trees())
            .field("feature_set", &self.feature_set)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Wraps a freshly fitted forest. It is held to the default [`ReadLimits`], so a forest
    /// this build would refuse to serve is refused when it is trained, not once published.
    ///
    /// # Errors
    /// When the forest exceeds the default [`ReadLimits`], or cannot be serialised and
    /// compiled (a smartcore bug, not bad input).
    pub(crate) fn from_forest(
        forest: Forest,
        params: ForestParams,
        threshold: f64,
    ) -> Result<Self, ModelError> {
        let json =
            serde_json::to_string(&forest).map_err(|e| ModelError::Smartcore(e.to_string()))?;
        let raw = serde_json::value::RawValue::from_string(json)
            .map_err(|e| ModelError::Smartcore(e.to_string()))?;
        let flat = FlatForest::from_smartcore_json(&raw, &ReadLimits::default())?;
        let model = Self {
            engine: Engine::Smartcore { forest, flat },
            input_features: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            feature_set: params.features,
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
    pub(crate) fn from_json(bytes: &[u8], limits: &ReadLimits) -> Result<Self, ModelError> {
        let envelope: Envelope<&serde_json::value::RawValue> =
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
        let model = Self {
            engine: Engine::Smartcore { forest, flat },
            input_features: envelope.input_features,
            feature_set: envelope.feature_set,
            threshold: envelope.decision_threshold,
            params: envelope.params,
        };
        model.check_width()?;
        Ok(model)
    }

    fn check_width(&self) -> Result<(), ModelError> {
        let Engine::Smartcore { flat, .. } = &self.engine else {
            return Ok(());
        };
        if flat.n_features() != self.feature_set.width() {
            return Err(ModelError::Inconsistent(format!(
                "the forest has {} columns, feature set '{}' has {}",
                flat.n_features(),
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
        let Engine::Smartcore { forest, .. } = &self.engine else {
            return Err(ModelError::Inconsistent(
                "a scikit-learn model is served as it was saved, not rewritten".to_owned(),
            ));
        };
        let envelope = Envelope {
            format: FORMAT.to_owned(),
            smartcore_version: SMARTCORE_VERSION.to_owned(),
            estimator: "RandomForestClassifier".to_owned(),
            input_features: self.input_features.clone(),
            forest_features: self.feature_set.column_names(),
            feature_set: self.feature_set,
            decision_threshold: self.threshold,
            params: self.params.clone(),
            forest,
        };
        serde_json::to_vec(&envelope).map_err(|e| ModelError::Smartcore(e.to_string()))
    }

    /// The columns a client must send, in the model's order.
    pub(crate) fn input_features(&self) -> &[String] {
        &self.input_features
    }

    /// The forest's columns (inputs, then derived ones).
    pub(crate) fn forest_features(&self) -> Vec<String> {
        self.feature_set.column_names()
    }

    /// Hyperparameters the forest was trained with.
    pub fn params(&self) -> &ForestParams {
        &self.params
    }

    /// The decision threshold on the vote fraction.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        match &self.engine {
            Engine::Smartcore { flat, .. } => flat.n_trees(),
            Engine::Sklearn(s) => s.model.forest.n_trees(),
        }
    }

    /// Mean decrease in impurity for each forest column.
    pub(crate) fn impurity_importances(&self) -> &[f64] {
        match &self.engine {
            Engine::Smartcore { flat, .. } => flat.impurity_importances(),
            Engine::Sklearn(_) => &[],
        }
    }

    /// Probability of legendary (mean leaf fraction over the trees) for one row of the six raw stats.
    pub fn proba_row(&self, raw: &[f64]) -> f64 {
        let mut out = [0.0];
        self.proba_into(raw, &mut out);
        out[0]
    }

    /// Applies the decision threshold to a probability.
    pub fn decide(&self, proba: f64) -> bool {
        proba > self.threshold
    }

    /// Probabilities for a row-major batch of raw stats (`values.len()` a multiple of 6).
    fn proba_batch(&self, values: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; values.len() / self.input_features.len()];
        self.proba_into(values, &mut out);
        out
    }

    /// Probabilities for rows of the six raw stats: the one way evaluation, the gate and
    /// `predict` score a list of rows (in blocks, bit-identical to [`Model::proba_row`]).
    pub(crate) fn proba_rows(&self, rows: &[[f64; 6]]) -> Vec<f64> {
        self.proba_batch(rows.as_flattened())
    }

    /// Predictions for a row-major batch of raw stats.
    pub fn predict_batch(&self, values: &[f64]) -> Vec<bool> {
        self.proba_batch(values)
            .into_iter()
            .map(|p| self.decide(p))
            .collect()
    }

    /// The probabilities of a row-major batch by the tree walk QuickScorer replaced, for
    /// benchmarking the two in one run; the same bits as [`Model::predict_batch`] decides on.
    #[doc(hidden)]
    pub fn walk_proba_batch(&self, values: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; values.len() / self.input_features.len()];
        self.proba_with(values, &mut out, Walk::Tree);
        out
    }

    /// Writes the probability of each row of `values` into `out`, scoring [`BLOCK_ROWS`] rows
    /// at a time.
    fn proba_into(&self, values: &[f64], out: &mut [f64]) {
        self.proba_with(values, out, Walk::Best);
    }

    fn proba_with(&self, values: &[f64], out: &mut [f64], walk: Walk) {
        let n = self.input_features.len();
        let flat = match &self.engine {
            Engine::Smartcore { flat, .. } => flat,
            // Rows here are the six stats; a model of other inputs has no legendary probability.
            Engine::Sklearn(_) if !self.takes_demo_stats() => {
                out.fill(f64::NAN);
                return;
            }
            Engine::Sklearn(s) => {
                for (row, o) in values.chunks_exact(n).zip(out.iter_mut()) {
                    *o = s.legendary_proba(row);
                }
                return;
            }
        };
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
                Walk::Best => flat.proba_block(&rows[..m], &mut out[..m], &mut scratch),
                Walk::Tree => flat.walk_block(&rows[..m], &mut out[..m]),
            }
        }
    }

    /// smartcore's own majority-vote prediction for rows of forest columns; used to prove at
    /// load time that the flat copy agrees with the library.
    ///
    /// # Errors
    /// If smartcore rejects the matrix.
    fn smartcore_predict(
        &self,
        forest: &Forest,
        raw_rows: &[[f64; 6]],
    ) -> Result<Vec<bool>, ModelError> {
        let mut values = Vec::with_capacity(raw_rows.len() * self.feature_set.width());
        for r in raw_rows {
            self.feature_set.expand(r, &mut values);
        }
        let x = DenseMatrix::new(raw_rows.len(), self.feature_set.width(), values, false)
            .map_err(|e| ModelError::Smartcore(e.to_string()))?;
        let y = forest
            .predict(&x)
            .map_err(|e| ModelError::Smartcore(e.to_string()))?;
        Ok(y.into_iter().map(|c| c == 1).collect())
    }

    /// Checks that the flat copy and smartcore agree on `rows` (majority vote, threshold 0.5).
    ///
    /// # Errors
    /// [`ModelError::Inconsistent`] naming the first row where they differ.
    pub(crate) fn self_check(&self, raw_rows: &[[f64; 6]]) -> Result<(), ModelError> {
        let (forest, flat) = match &self.engine {
            Engine::Smartcore { forest, flat } => (forest, flat),
            Engine::Sklearn(s) => return s.self_check(),
        };
        let library = self.smartcore_predict(forest, raw_rows)?;
        for (i, (row, expected)) in raw_rows.iter().zip(library).enumerate() {
            let mut cols = [0.0; features::MAX_WIDTH];
            let width = self.feature_set.fill(row, &mut cols);
            let votes = flat.votes(&cols[..width]);
            if (2 * votes > flat.n_trees()) != expected {
                return Err(ModelError::Inconsistent(format!(
                    "row {i}: the compiled forest and smartcore disagree"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Model {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pokemon");
        read_dir(&dir)
            .map(|d| d.model)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Stats in [1, 255], seeded.
    fn rows(n: usize) -> Vec<[f64; 6]> {
        let mut rng = crate::dataset::SplitMix64::new(7);
        (0..n)
            .map(|_| std::array::from_fn(|_| (1 + rng.below(255)) as f64))
            .collect()
    }

    #[test]
    fn blocked_lone_and_voting_walks_agree_with_each_other_and_smartcore() {
        let model = bundled();
        let rows = rows(1000);
        // The compiled layout votes exactly as smartcore does on many rows, not only the example.
        model.self_check(&rows).unwrap_or_else(|e| panic!("{e}"));
        // Full blocks of 16, padded blocks of 8-15 rows, lone-row tails of 1-7, and lone rows
        // give bit-identical probabilities.
        let values: Vec<f64> = rows.iter().flatten().copied().collect();
        for n in [999, 27, 15, 8, 7, 1] {
            let batch = model.proba_batch(&values[..6 * n]);
            assert_eq!(batch.len(), n);
            for (row, p) in rows.iter().zip(&batch) {
                assert_eq!(model.proba_row(row).to_bits(), p.to_bits(), "batch of {n}");
            }
        }
        let predictions = model.predict_batch(&values);
        for (row, predicted) in rows.iter().zip(predictions) {
            assert_eq!(model.decide(model.proba_row(row)), predicted);
        }
        // A NaN goes right, as in smartcore; the walk still ends on a leaf.
        assert!((0.0..=1.0).contains(&model.proba_row(&[f64::NAN; 6])));
    }

    /// Padded forest rows of `raw`, for calling the walks directly.
    fn padded(model: &Model, raw: &[[f64; 6]]) -> Vec<[f64; ROW_STRIDE]> {
        raw.iter()
            .map(|r| {
                let mut cols = [0.0; features::MAX_WIDTH];
                let width = model.feature_set.fill(r, &mut cols);
                let mut row = [0.0; ROW_STRIDE];
                row[..width].copy_from_slice(&cols[..width]);
                row
            })
            .collect()
    }

    #[test]
    fn quickscorer_and_the_tree_walk_agree_to_the_bit() {
        let model = bundled();
        let Engine::Smartcore { flat, .. } = &model.engine else {
            panic!("the bundled model is a smartcore forest");
        };
        assert!(
            flat.has_quickscorer(),
            "the bundled trees have at most 64 leaves"
        );
        // Every Pokémon, 10,000 random stat lines 1-255, and values no Pokémon has.
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pokemon");
        let dataset = crate::dataset::load(&data, &crate::dataset::Generations::all())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut raw: Vec<[f64; 6]> = dataset.rows.iter().map(|p| p.stats).collect();
        raw.extend(rows(10_000));
        for odd in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            -1.0,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            80.5,
        ] {
            raw.push([odd; 6]);
            raw.push([100.0, odd, 100.0, 100.0, odd, 100.0]);
        }
        let padded = padded(&model, &raw);
        // Full blocks, partial blocks and lone rows (the scalar QuickScorer).
        for size in [BLOCK_ROWS, 20, 16, 13, 8, 7, 1] {
            for (i, block) in padded.chunks(size).enumerate() {
                let (mut quick, mut walked) = ([0.0; BLOCK_ROWS], [0.0; BLOCK_ROWS]);
                flat.proba_block(block, &mut quick, &mut forest::Scratch::default());
                flat.walk_block(block, &mut walked);
                for (q, w) in quick.iter().zip(&walked).take(block.len()) {
                    assert_eq!(q.to_bits(), w.to_bits(), "block {i} of {size}: {q} vs {w}");
                }
                // The kernels the dispatch picks on other machines answer the same.
                if block.len() >= 8 {
                    let every = flat.quickscorer_every_arch(block);
                    assert!(!every.is_empty());
                    for (arch, answers) in every.iter().enumerate() {
                        for (q, w) in answers.iter().zip(&walked) {
                            assert_eq!(q.to_bits(), w.to_bits(), "arch {arch}, block {i}");
                        }
                    }
                }
            }
        }
    }
}
