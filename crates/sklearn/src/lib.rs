//! scikit-learn tree models as MLflow's Python client saves them (`flavors.sklearn`), read
//! without running Python or pickle code: `model.skops` (a zip of a JSON schema and `.npy`
//! arrays) or `model.pkl` (pickle protocols 2-5, pickle or cloudpickle). Both readers build
//! an inert value tree ([`value`]); [`extract`] finds the estimator and proves its trees are
//! trees; [`walk`] scores rows exactly as scikit-learn does.
//!
//! - `pickle`: the restricted pickle interpreter (a fixed list of globals, nothing called).
//! - `skops`, `npy`: the zip, its schema and its arrays.
//! - `extract`: estimator, classes, columns, node arrays (0.24 and 1.3+ layouts).
//! - `walk`: float32 inputs, `x <= threshold` goes left, mean of leaf fractions.
#![forbid(unsafe_code)]

mod extract;
#[cfg(test)]
mod hostile_tests;
mod into_smartcore;
mod npy;
mod parts;
mod pickle;
mod serve;
mod skops;
mod value;
mod walk;

pub use npy::write_f64 as write_npy;
pub use parts::SklearnParts;
pub use serve::Scorer;
pub use value::Class;

use legendary_forest::ReadLimits;

/// Why a scikit-learn model file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SklearnError {
    /// The file names a scikit-learn class this build does not serve.
    #[error(
        "{0} is not supported: legendary serves scikit-learn's RandomForest, ExtraTrees and DecisionTree classifiers and regressors"
    )]
    NotSupported(String),
    /// The file names a global outside the fixed list (e.g. `os.system`); nothing was run.
    #[error(
        "{0} is not allowed: the reader accepts only numpy array and dtype reconstruction and scikit-learn's tree estimators, and never imports or calls anything"
    )]
    NotAllowed(String),
    /// The file is broken, or not what it claims.
    #[error("{0}")]
    Malformed(String),
    /// The file is larger or more complex than [`SklearnLimits`] or [`ReadLimits`] allow.
    #[error("{0}")]
    Limit(String),
}

/// Caps on what reading one scikit-learn model file may cost, beyond the file's own size
/// (capped by [`ReadLimits::max_model_bytes`]) and the node caps of [`ReadLimits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SklearnLimits {
    /// Values a pickle may create, or objects a skops schema may hold. A 100-tree forest
    /// pickled by scikit-learn 1.9 creates about 8,000; 2^20 leaves room for 10,000 trees.
    pub max_values: usize,
    /// Deepest pickle stack (a forest's is under 20).
    pub max_stack: usize,
    /// Most memo entries (a 100-tree forest uses about 2,000).
    pub max_memo: usize,
    /// Most entries in a `model.skops` zip (a 100-tree forest has about 700).
    pub max_zip_entries: usize,
    /// Most bytes unpacked from a `model.skops` zip, whatever its entries declare.
    pub max_unpacked_bytes: u64,
}

impl Default for SklearnLimits {
    fn default() -> Self {
        Self {
            max_values: 1 << 20,
            max_stack: 1 << 12,
            max_memo: 1 << 18,
            max_zip_entries: 1 << 16,
            max_unpacked_bytes: 64 << 20,
        }
    }
}

/// A scikit-learn model as an MLflow model directory holds it: the estimator, and what
/// `MLmodel` says of it.
#[derive(Debug, Clone)]
pub struct SklearnModel {
    /// The estimator.
    pub forest: SkForest,
    /// Column names in the estimator's order, when known.
    pub columns: Option<Vec<String>>,
    /// How it was saved.
    pub format: Format,
    /// `serialization_format` as MLmodel spells it (`skops`, `pickle`, `cloudpickle`).
    pub serialization_format: String,
    /// `sklearn_version` from MLmodel (the writer's), else the estimator's own.
    pub sklearn_version: Option<String>,
    /// The model file's name (`model.skops`, `model.pkl`).
    pub file_name: String,
}

/// How the estimator was saved (MLmodel's `serialization_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `model.skops`.
    Skops,
    /// `model.pkl`, written by `pickle` or `cloudpickle` (the same opcodes for these classes).
    Pickle,
}

/// A classifier's labels, in their own type (what `/invocations` answers).
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// `classes_` of booleans.
    Bool(Vec<bool>),
    /// `classes_` of integers.
    Int(Vec<i64>),
    /// `classes_` of floats.
    Float(Vec<f64>),
    /// `classes_` of strings.
    Str(Vec<String>),
}

impl Labels {
    /// Number of classes.
    pub fn len(&self) -> usize {
        match self {
            Self::Bool(v) => v.len(),
            Self::Int(v) => v.len(),
            Self::Float(v) => v.len(),
            Self::Str(v) => v.len(),
        }
    }

    /// Whether there are no classes (never, for a read model).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Label `i` as JSON.
    pub fn json(&self, i: usize) -> serde_json::Value {
        match self {
            Self::Bool(v) => v.get(i).copied().into(),
            Self::Int(v) => v.get(i).copied().into(),
            Self::Float(v) => v.get(i).copied().into(),
            Self::Str(v) => v.get(i).cloned().into(),
        }
    }
}

/// One node of a checked tree: a split, or a leaf (`left == 0`; no child is node 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SkNode {
    pub(crate) left: u32,
    pub(crate) right: u32,
    pub(crate) feature: u32,
    pub(crate) threshold: f64,
    /// 1.3+: where a NaN goes (before 1.3 scikit-learn refused NaN inputs; right, here).
    pub(crate) missing_left: bool,
}

impl SkNode {
    fn leaf() -> Self {
        Self {
            left: 0,
            right: 0,
            feature: 0,
            threshold: f64::NAN,
            missing_left: false,
        }
    }

    pub(crate) fn is_leaf(&self) -> bool {
        self.left == 0
    }
}

/// A tree proven a tree: children after their parent, each node reached once.
#[derive(Debug, Clone)]
pub(crate) struct SkTree {
    pub(crate) nodes: Vec<SkNode>,
    /// `n_values` per node, as stored: class counts (before 1.4) or fractions, or the mean.
    pub(crate) values: Vec<f64>,
    pub(crate) n_values: usize,
    /// Splits from the root to the deepest leaf.
    pub(crate) depth: usize,
}

/// A scikit-learn tree estimator, read and checked.
#[derive(Debug, Clone)]
pub struct SkForest {
    /// The estimator's class.
    pub class: Class,
    /// A classifier's `classes_`; `None` for a regressor.
    pub labels: Option<Labels>,
    /// `n_features_in_`.
    pub n_features: usize,
    /// `feature_names_in_`, when the estimator was fitted on a DataFrame.
    pub feature_names: Option<Vec<String>>,
    /// `_sklearn_version` recorded in the estimator's state.
    pub sklearn_version: Option<String>,
    pub(crate) trees: Vec<SkTree>,
}

impl SkForest {
    /// Reads a model file of `format`, within `limits` and `node_limits`.
    ///
    /// # Errors
    /// [`SklearnError`] naming the refused class or global, the broken part, or the limit.
    pub fn read(
        bytes: &[u8],
        format: Format,
        limits: &SklearnLimits,
        node_limits: &ReadLimits,
    ) -> Result<Self, SklearnError> {
        let (heap, top) = match format {
            Format::Skops => skops::read(bytes, limits)?,
            Format::Pickle => pickle::read(bytes, limits)?,
        };
        extract::forest(&heap, &top, node_limits)
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Splits from a root to the deepest leaf, over all trees.
    pub fn max_depth(&self) -> usize {
        self.trees.iter().map(|t| t.depth).max().unwrap_or(0)
    }

    /// Total nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }
}
