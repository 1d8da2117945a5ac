//! A flat, cache-friendly copy of a smartcore forest, compiled from its serialised form.
//!
//! smartcore keeps the trees private and only exposes the majority class, but serving needs
//! the vote fraction (a probability for ROC AUC, the web page and tuned thresholds) and
//! should not build a `DenseMatrix` per request. The serialised forest is the public
//! contract, so we read the same JSON into mirror structs (proven a forest in `mirror`) and
//! lay every node out in one array. Load-time checks prove the copy predicts exactly what
//! smartcore predicts.

mod quickscorer;

use crate::ReadLimits;
use crate::mirror::{self, CheckedTree, NodeMirror};
use quickscorer::QuickScorer;

/// Why a serialised forest could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum ForestError {
    /// The JSON is not a smartcore forest of the expected shape.
    #[error("not a smartcore random forest: {0}")]
    Shape(String),
    /// A tree's nodes do not form a tree, or one is out of bounds.
    #[error("tree {tree} node {node}: {problem}")]
    Node {
        /// Index of the tree in the forest.
        tree: usize,
        /// Index of the node in the tree, as written in the file.
        node: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A tree, or the whole forest, has more nodes than [`ReadLimits`] allow.
    #[error("{what} has {found} nodes, more than the limit of {limit} (ReadLimits::{limit_name})")]
    TooManyNodes {
        /// `tree N` or `the forest`.
        what: String,
        /// Its node count.
        found: usize,
        /// The cap.
        limit: usize,
        /// The [`ReadLimits`] field that sets the cap.
        limit_name: &'static str,
    },
}

/// Values a row buffer holds per row: the forest's columns, then zeros. Leaves test the first
/// zero column against `+inf`, so a row that reached its leaf stays there (see [`Node`]).
pub const ROW_STRIDE: usize = 16;

/// Rows scored together: QuickScorer turns their values into keys once, then sees each split
/// for all of them: its `u16` words of 64 rows fill four AVX2 registers or two AVX-512 ones,
/// one pass per word (measured on 200 trees of 6,000 splits, 1,000 rows, AVX-512, with the
/// earlier `u64` lanes: 0.62 µs a row with 64, 0.68 with 32).
pub const BLOCK_ROWS: usize = 64;

/// Rows the tree walk takes in lockstep: each tree is walked for all of them, so the walks
/// are independent chains the CPU overlaps, and the tree stays in L1 cache for the block.
const WALK_ROWS: usize = 16;

/// Trees walked together for a lone row.
const TREE_LANES: usize = 8;

/// Below this many rows a block is scored row by row (measured: a block of 5 rows cost 1.8 µs
/// per row with the lockstep walk, 1.4 µs each alone).
const LONE_ROWS: usize = 8;

/// One node, 16 bytes. A split sends a row to `children` when `x[feature] <= threshold` and
/// to `children + 1` otherwise (NaN goes right, as in smartcore: `NaN <= t` is false);
/// children are adjacent so the step is branch-free. A leaf tests the always-zero padding
/// column against `+inf` and points at itself, so extra steps leave a finished walk where it
/// is, and every tree is walked for exactly its depth.
#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    children: u32,
}

/// What a leaf says: the legendary fraction of its training samples and its majority vote.
#[derive(Debug, Clone, Copy, Default)]
struct Leaf {
    proba: f64,
    vote: bool,
}

/// Working memory of the lone-row QuickScorer (a bitvector per tree), kept between the rows
/// of one batch so a batch allocates it once.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    one: Vec<u64>,
}

/// Every tree of the forest in one node array.
#[derive(Debug, Clone)]
pub struct FlatForest {
    nodes: Vec<Node>,
    /// Indexed like `nodes`; meaningful for leaves only.
    leaves: Vec<Leaf>,
    /// Per tree: its root and its depth (steps from the root to the deepest leaf).
    roots: Vec<(u32, u32)>,
    n_features: usize,
    importances: Vec<f64>,
    /// The same trees laid out for the QuickScorer walk, unless a tree has too many leaves.
    quick: Option<Box<QuickScorer>>,
}

/// The fraction of legendary samples in a leaf, recovered from its Gini impurity: for two
/// classes `g = 2p(1-p)`, so the majority share is `(1 + sqrt(1 - 2g)) / 2` and `output`
/// says which class holds it. smartcore does not store class counts, but it does store this.
fn leaf_probability(node: &NodeMirror, positive: usize) -> f64 {
    let g = node.impurity.unwrap_or(0.0).clamp(0.0, 0.5);
    let majority = f64::midpoint(1.0, (1.0 - 2.0 * g).sqrt());
    if node.output == positive {
        majority
    } else {
        1.0 - majority
    }
}

/// Adds the impurity decrease of `split` (weighted by samples) to its column's importance.
fn add_importance(
    importances: &mut [f64],
    split: &NodeMirror,
    left: &NodeMirror,
    right: &NodeMirror,
) {
    if let (Some(p), Some(a), Some(b)) = (split.impurity, left.impurity, right.impurity) {
        importances[split.split_feature] += split.n_node_samples as f64 * p
            - left.n_node_samples as f64 * a
            - right.n_node_samples as f64 * b;
    }
}

impl FlatForest {
    /// Compiles the JSON of a smartcore `RandomForestClassifier<f64, u32, ..>` whose classes
    /// are `[0, 1]` (1 = legendary), once it is proven a forest within `limits`.
    ///
    /// # Errors
    /// When the JSON is not a fitted binary forest whose trees are trees within `limits`.
    pub(crate) fn from_smartcore_json(
        forest: &serde_json::value::RawValue,
        limits: &ReadLimits,
    ) -> Result<Self, ForestError> {
        let checked = mirror::read(forest, limits)?;
        let n_features = checked.n_features;
        let n_nodes = checked.trees.iter().map(|t| t.nodes.len()).sum();
        let mut flat = Self {
            nodes: Vec::with_capacity(n_nodes),
            leaves: Vec::with_capacity(n_nodes),
            roots: Vec::with_capacity(checked.trees.len()),
            n_features,
            importances: vec![0.0; n_features],
            quick: None,
        };
        for tree in &checked.trees {
            flat.push_tree(tree, checked.positive)?;
        }
        let n_trees = checked.trees.len() as f64;
        for v in &mut flat.importances {
            *v /= n_trees;
        }
        flat.quick = QuickScorer::build(&flat).map(Box::new);
        Ok(flat)
    }

    /// Lays `tree` out breadth-first, each split's children side by side. The tree was proven
    /// to reach each node once, so each is laid out once: the copy is the size of the input.
    fn push_tree(&mut self, tree: &CheckedTree, positive: usize) -> Result<(), ForestError> {
        let too_many = || ForestError::Shape("more nodes than a u32 can index".to_owned());
        let base = self.nodes.len();
        let mut order = Vec::with_capacity(tree.nodes.len()); // smartcore indices
        order.push(0_usize);
        let mut next = 0;
        while let Some(&i) = order.get(next) {
            let at = u32::try_from(base + next).map_err(|_| too_many())?;
            let node = &tree.nodes[i];
            let (flat, leaf) = match (node.true_child, node.false_child) {
                (Some(l), Some(r)) => {
                    let first = u32::try_from(base + order.len()).map_err(|_| too_many())?;
                    order.push(l);
                    order.push(r);
                    (
                        Node {
                            threshold: node.split_value.unwrap_or(f64::NAN),
                            feature: node.split_feature as u32,
                            children: first,
                        },
                        Leaf::default(),
                    )
                }
                _ => (
                    Node {
                        threshold: f64::INFINITY,
                        feature: self.n_features as u32,
                        children: at,
                    },
                    Leaf {
                        proba: leaf_probability(node, positive),
                        vote: node.output == positive,
                    },
                ),
            };
            self.nodes.push(flat);
            self.leaves.push(leaf);
            next += 1;
        }
        // In file order, so the sums are the same bits whatever the layout.
        let mut importances = vec![0.0; self.n_features];
        for node in &tree.nodes {
            if let (Some(l), Some(r)) = (node.true_child, node.false_child) {
                add_importance(&mut importances, node, &tree.nodes[l], &tree.nodes[r]);
            }
        }
        // As scikit-learn does: each tree's importances sum to 1, then trees are averaged.
        let sum: f64 = importances.iter().sum();
        if sum > 0.0 {
            for (total, v) in self.importances.iter_mut().zip(importances) {
                *total += v / sum;
            }
        }
        let root = u32::try_from(base).map_err(|_| too_many())?;
        self.roots.push((root, tree.depth));
        Ok(())
    }

    /// Number of columns a row must have.
    pub(crate) fn n_features(&self) -> usize {
        self.n_features
    }

    /// Whether batches are scored with QuickScorer (every tree has at most 64 leaves).
    #[cfg(test)]
    pub(crate) fn has_quickscorer(&self) -> bool {
        self.quick.is_some()
    }

    /// The QuickScorer block kernel's answers under every instruction set this machine has.
    #[cfg(test)]
    pub(crate) fn quickscorer_every_arch(&self, rows: &[[f64; ROW_STRIDE]]) -> Vec<Vec<f64>> {
        self.quick
            .as_ref()
            .map(|q| q.proba_block_every_arch(rows))
            .unwrap_or_default()
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Mean decrease in impurity per column, summing to 1.
    pub(crate) fn impurity_importances(&self) -> &[f64] {
        &self.importances
    }

    /// Mean over the trees of the leaf's legendary fraction (scikit-learn's `predict_proba`)
    /// for up to [`BLOCK_ROWS`] rows at once, each padded to [`ROW_STRIDE`]
    /// values with zeros after the forest's columns; `out` gets one probability per row.
    ///
    /// # Panics
    /// If `rows` is longer than [`BLOCK_ROWS`] or `out` is shorter than `rows`.
    pub(crate) fn proba_block(
        &self,
        rows: &[[f64; ROW_STRIDE]],
        out: &mut [f64],
        scratch: &mut Scratch,
    ) {
        let m = rows.len();
        assert!(m <= BLOCK_ROWS && out.len() >= m, "bad block");
        if let Some(quick) = &self.quick {
            if m < LONE_ROWS {
                for (o, row) in out.iter_mut().zip(rows) {
                    *o = quick.proba_one(row, &mut scratch.one);
                }
            } else {
                quick.proba_block(rows, out);
            }
            return;
        }
        self.walk_block(rows, out);
    }

    /// [`Self::proba_block`] by walking each tree: for forests QuickScorer cannot take, and the
    /// reference it is tested against.
    pub(crate) fn walk_block(&self, rows: &[[f64; ROW_STRIDE]], out: &mut [f64]) {
        let m = rows.len();
        assert!(m <= BLOCK_ROWS && out.len() >= m, "bad block");
        for (rows, out) in rows.chunks(WALK_ROWS).zip(out.chunks_mut(WALK_ROWS)) {
            self.walk_lockstep(rows, out);
        }
    }

    /// Up to [`WALK_ROWS`] rows down every tree in lockstep.
    fn walk_lockstep(&self, rows: &[[f64; ROW_STRIDE]], out: &mut [f64]) {
        let m = rows.len();
        if m < LONE_ROWS {
            // Too few rows to overlap well (measured: 5 rows cost 1.8 µs each in a block,
            // 1.4 µs each alone): overlap trees instead.
            for (o, row) in out.iter_mut().zip(rows) {
                *o = self.proba_one(row);
            }
            return;
        }
        // Always a full block, so the step loop below has a constant trip count the
        // compiler unrolls; padding rows are walked too and their answers dropped.
        let mut padded = [[0.0; ROW_STRIDE]; WALK_ROWS];
        let block: &[[f64; ROW_STRIDE]; WALK_ROWS] = match rows.try_into() {
            Ok(full) => full,
            Err(_) => {
                padded[..m].copy_from_slice(rows);
                &padded
            }
        };
        let mut sums = [0.0; WALK_ROWS];
        for &(root, depth) in &self.roots {
            // Every walk takes exactly the tree's depth in steps: a walk that reached its leaf
            // stays there. Checking for that costs more than the steps it would save.
            let mut at = [root; WALK_ROWS];
            for _ in 0..depth {
                for (a, row) in at.iter_mut().zip(block) {
                    *a = self.step(*a, row);
                }
            }
            // Summed tree by tree in order, exactly as a row-at-a-time loop would.
            for (sum, a) in sums.iter_mut().zip(&at) {
                *sum += self.leaves[*a as usize].proba;
            }
        }
        let n_trees = self.roots.len() as f64;
        for (o, sum) in out[..m].iter_mut().zip(&sums[..m]) {
            *o = sum / n_trees;
        }
    }

    /// One branch-free step down from node `at` for `row`; a leaf's children point at itself,
    /// so stepping from a leaf stays put.
    #[inline(always)]
    fn step(&self, at: u32, row: &[f64; ROW_STRIDE]) -> u32 {
        let node = self.nodes[at as usize];
        let x = row[node.feature as usize % ROW_STRIDE];
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must go right
        let right = !(x <= node.threshold);
        node.children + u32::from(right)
    }

    /// One padded row, walking [`TREE_LANES`] trees in lockstep (a lone row's walks down one
    /// tree are a chain of dependent loads; walks down different trees are independent).
    fn proba_one(&self, row: &[f64; ROW_STRIDE]) -> f64 {
        let mut sum = 0.0;
        for trees in self.roots.chunks(TREE_LANES) {
            let mut at = [0_u32; TREE_LANES];
            let mut depth = 0;
            for (a, &(root, d)) in at.iter_mut().zip(trees) {
                *a = root;
                depth = depth.max(d);
            }
            let k = trees.len();
            for _ in 0..depth {
                let mut moved = false;
                for a in &mut at[..k] {
                    let next = self.step(*a, row);
                    moved |= next != *a;
                    *a = next;
                }
                if !moved {
                    break;
                }
            }
            // Summed tree by tree in order, as in `proba_block`.
            for a in &at[..k] {
                sum += self.leaves[*a as usize].proba;
            }
        }
        sum / self.roots.len() as f64
    }

    /// Number of trees voting legendary for `row` (which must have [`Self::n_features`] values).
    pub(crate) fn votes(&self, row: &[f64]) -> usize {
        let row = pad(row);
        self.roots
            .iter()
            .filter(|&&(root, depth)| {
                let leaf = (0..depth).fold(root, |a, _| self.step(a, &row));
                self.leaves[leaf as usize].vote
            })
            .count()
    }
}

/// `row` followed by zeros, as the walk expects.
fn pad(row: &[f64]) -> [f64; ROW_STRIDE] {
    let mut padded = [0.0; ROW_STRIDE];
    let n = row.len().min(ROW_STRIDE - 1);
    padded[..n].copy_from_slice(&row[..n]);
    padded
}
