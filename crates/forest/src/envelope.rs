//! The forest we train: a smartcore random forest with the input contract it was trained
//! under, in a versioned JSON envelope (`model.json`), plus its flat compiled copy that
//! scores rows.

use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::RandomForestClassifier;
use smartcore::linalg::basic::matrix::DenseMatrix;

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
/// trained with (its feature set, decision threshold and parameters). Its inputs are always
/// the six stats, [`FEATURES`].
pub struct ForestModel {
    forest: Forest,
    flat: FlatForest,
    feature_set: FeatureSet,
    threshold: f64,
    params: ForestParams,
}

impl std::fmt::Debug for ForestModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForestModel")
            .field("trees", &self.n_trees())
            .field("feature_set", &self.feature_set)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl ForestModel {
    /// Wraps a freshly fitted forest. It is held to the default [`ReadLimits`], so a forest
    /// this build would refuse to serve is refused when it is trained, not once published.
    ///
    /// # Errors
    /// When the forest exceeds the default [`ReadLimits`], or cannot be serialised and
    /// compiled (a smartcore bug, not bad input).
    pub fn from_forest(
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
            forest,
            flat,
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
    pub fn from_json(bytes: &[u8], limits: &ReadLimits) -> Result<Self, ModelError> {
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
            forest,
            flat,
            feature_set: envelope.feature_set,
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

    /// The decision threshold on the vote fraction.
    pub fn threshold(&self) -> f64 {
        self.threshold
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

    /// Writes the probability of legendary (mean leaf fraction over the trees) of each row of
    /// the six stats in `values` (row-major) into `out`, scoring [`BLOCK_ROWS`] rows at a
    /// time with QuickScorer when the trees allow it.
    pub fn proba_into(&self, values: &[f64], out: &mut [f64]) {
        self.proba_with(values, out, Walk::Best);
    }

    /// The probabilities of a row-major batch by the tree walk QuickScorer replaced, for
    /// benchmarking the two in one run; the same bits as [`ForestModel::proba_into`] gives.
    pub fn walk_proba_into(&self, values: &[f64], out: &mut [f64]) {
        self.proba_with(values, out, Walk::Tree);
    }

    fn proba_with(&self, values: &[f64], out: &mut [f64], walk: Walk) {
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
mod tests {
    use super::*;

    /// The repository's root, where the bundled model and the data are.
    fn repo() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn bundled() -> ForestModel {
        let bytes = std::fs::read(repo().join("models/pokemon/model.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        ForestModel::from_json(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The six stats of every Pokémon in the bundled data.
    fn every_pokemon() -> Vec<[f64; 6]> {
        let mut rows = Vec::new();
        for generation in 1..=9 {
            let path = repo().join(format!("data/pokemon/generation-{generation}.csv"));
            let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{e}"));
            let header = reader.headers().unwrap_or_else(|e| panic!("{e}")).clone();
            let at: Vec<usize> = FEATURES
                .iter()
                .map(|f| {
                    header
                        .iter()
                        .position(|h| h == *f)
                        .unwrap_or_else(|| panic!("{f}"))
                })
                .collect();
            for record in reader.records() {
                let record = record.unwrap_or_else(|e| panic!("{e}"));
                rows.push(std::array::from_fn(|i| {
                    record[at[i]].parse().unwrap_or_else(|e| panic!("{e}"))
                }));
            }
        }
        rows
    }

    fn proba_batch(model: &ForestModel, values: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; values.len() / FEATURES.len()];
        model.proba_into(values, &mut out);
        out
    }

    fn proba_row(model: &ForestModel, row: &[f64]) -> f64 {
        proba_batch(model, row)[0]
    }

    /// Stats in [1, 255], seeded.
    fn rows(n: usize) -> Vec<[f64; 6]> {
        let mut rng = crate::SplitMix64::new(7);
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
            let batch = proba_batch(&model, &values[..6 * n]);
            assert_eq!(batch.len(), n);
            for (row, p) in rows.iter().zip(&batch) {
                assert_eq!(
                    proba_row(&model, row).to_bits(),
                    p.to_bits(),
                    "batch of {n}"
                );
            }
        }
        // The tree walk QuickScorer replaced gives the same bits.
        let mut walked = vec![0.0; rows.len()];
        model.walk_proba_into(&values, &mut walked);
        assert_eq!(
            walked.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
            proba_batch(&model, &values)
                .iter()
                .map(|p| p.to_bits())
                .collect::<Vec<_>>()
        );
        // A NaN goes right, as in smartcore; the walk still ends on a leaf.
        assert!((0.0..=1.0).contains(&proba_row(&model, &[f64::NAN; 6])));
    }

    /// Padded forest rows of `raw`, for calling the walks directly.
    fn padded(model: &ForestModel, raw: &[[f64; 6]]) -> Vec<[f64; ROW_STRIDE]> {
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
        let flat = model.flat();
        assert!(
            flat.has_quickscorer(),
            "the bundled trees have at most 64 leaves"
        );
        // Every Pokémon, 10,000 random stat lines 1-255, and values no Pokémon has.
        let mut raw = every_pokemon();
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
