//! A flat, cache-friendly copy of a smartcore forest, compiled from its serialised form.
//!
//! smartcore keeps the trees private and only exposes the majority class, but serving needs
//! the vote fraction (a probability for ROC AUC, the web page and tuned thresholds) and
//! should not build a `DenseMatrix` per request. The serialised forest is the public
//! contract, so we read the same JSON into mirror structs and lay every node out in one
//! array. Load-time checks prove the copy predicts exactly what smartcore predicts.

use serde::Deserialize;

/// Why a serialised forest could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum ForestError {
    /// The JSON is not a smartcore forest of the expected shape.
    #[error("not a smartcore random forest: {0}")]
    Shape(String),
}

#[derive(Deserialize)]
struct ForestMirror {
    trees: Option<Vec<TreeMirror>>,
    classes: Option<Vec<u32>>,
}

#[derive(Deserialize)]
struct TreeMirror {
    nodes: Vec<NodeMirror>,
    num_features: usize,
}

#[derive(Deserialize)]
struct NodeMirror {
    output: usize,
    n_node_samples: usize,
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
    impurity: Option<f64>,
}

/// Values a row buffer holds per row: the forest's columns, then zeros. Leaves test the first
/// zero column against `+inf`, so a row that reached its leaf stays there (see [`Node`]).
pub const ROW_STRIDE: usize = 16;

/// Rows scored together: each tree is walked for all of them in lockstep, so the walks are
/// independent chains the CPU overlaps, and the tree stays in L1 cache for the whole block.
pub const BLOCK_ROWS: usize = 16;

/// Trees walked together for a lone row.
const TREE_LANES: usize = 8;

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

impl FlatForest {
    /// Compiles the JSON of a smartcore `RandomForestClassifier<f64, u32, ..>` whose classes
    /// are `[0, 1]` (1 = legendary).
    ///
    /// # Errors
    /// When the JSON is not a fitted binary forest with consistent node links.
    pub(crate) fn from_smartcore_json(
        forest: &serde_json::value::RawValue,
    ) -> Result<Self, ForestError> {
        let mirror: ForestMirror =
            serde_json::from_str(forest.get()).map_err(|e| ForestError::Shape(e.to_string()))?;
        let shape = |m: &str| ForestError::Shape(m.to_owned());
        let classes = mirror
            .classes
            .ok_or_else(|| shape("the forest was never fitted"))?;
        let positive = classes
            .iter()
            .position(|c| *c == 1)
            .ok_or_else(|| shape("the forest has no class 1 (legendary)"))?;
        let trees = mirror
            .trees
            .ok_or_else(|| shape("the forest has no trees"))?;
        if trees.is_empty() {
            return Err(shape("the forest has no trees"));
        }
        let n_features = trees[0].num_features;
        if n_features >= ROW_STRIDE {
            return Err(ForestError::Shape(format!(
                "{n_features} columns; at most {} are supported",
                ROW_STRIDE - 1
            )));
        }
        let n_nodes = trees.iter().map(|t| t.nodes.len()).sum();
        let mut flat = Self {
            nodes: Vec::with_capacity(n_nodes),
            leaves: Vec::with_capacity(n_nodes),
            roots: Vec::with_capacity(trees.len()),
            n_features,
            importances: vec![0.0; n_features],
        };
        for (t, tree) in trees.iter().enumerate() {
            if tree.num_features != n_features || tree.nodes.is_empty() {
                return Err(ForestError::Shape(format!(
                    "tree {t} is empty or has another width"
                )));
            }
            flat.push_tree(t, tree, positive)?;
        }
        let n_trees = trees.len() as f64;
        for v in &mut flat.importances {
            *v /= n_trees;
        }
        Ok(flat)
    }

    fn push_tree(
        &mut self,
        t: usize,
        tree: &TreeMirror,
        positive: usize,
    ) -> Result<(), ForestError> {
        let n = tree.nodes.len();
        let bad = |i: usize, m: &str| ForestError::Shape(format!("tree {t} node {i}: {m}"));
        let mut importances = vec![0.0; self.n_features];
        // Validate, and collect each split's children.
        let mut children = vec![None; n];
        for (i, node) in tree.nodes.iter().enumerate() {
            match (node.true_child, node.false_child) {
                (None, None) => {}
                (Some(l), Some(r)) => {
                    // Children always come after their parent in smartcore's breadth-first
                    // layout; requiring it also rules out cycles.
                    if l <= i || r <= i || l >= n || r >= n {
                        return Err(bad(i, "child link out of order"));
                    }
                    if node.split_feature >= self.n_features {
                        return Err(bad(i, "split feature out of range"));
                    }
                    if node.split_value.is_none() {
                        return Err(bad(i, "split without value"));
                    }
                    let (left, right) = (&tree.nodes[l], &tree.nodes[r]);
                    if let (Some(p), Some(a), Some(b)) =
                        (node.impurity, left.impurity, right.impurity)
                    {
                        importances[node.split_feature] += node.n_node_samples as f64 * p
                            - left.n_node_samples as f64 * a
                            - right.n_node_samples as f64 * b;
                    }
                    children[i] = Some((l, r));
                }
                _ => return Err(bad(i, "a node with one child")),
            }
        }
        // Lay the reachable nodes out breadth-first, each split's children side by side.
        let base = self.nodes.len();
        let mut order = vec![(0_usize, 0_u32)]; // (smartcore index, depth)
        let mut depth = 0;
        let mut next = 0;
        while next < order.len() {
            let (i, d) = order[next];
            let at = u32::try_from(base + next).map_err(|_| bad(i, "too many nodes"))?;
            let node = &tree.nodes[i];
            depth = depth.max(d);
            let (flat, leaf) = match children[i] {
                None => (
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
                Some((l, r)) => {
                    let first =
                        u32::try_from(base + order.len()).map_err(|_| bad(i, "too many nodes"))?;
                    order.push((l, d + 1));
                    order.push((r, d + 1));
                    (
                        Node {
                            threshold: node.split_value.unwrap_or(f64::NAN),
                            feature: node.split_feature as u32,
                            children: first,
                        },
                        Leaf::default(),
                    )
                }
            };
            self.nodes.push(flat);
            self.leaves.push(leaf);
            next += 1;
        }
        // As scikit-learn does: each tree's importances sum to 1, then trees are averaged.
        let sum: f64 = importances.iter().sum();
        if sum > 0.0 {
            for (total, v) in self.importances.iter_mut().zip(importances) {
                *total += v / sum;
            }
        }
        self.roots.push((base as u32, depth));
        Ok(())
    }

    /// Number of columns a row must have.
    pub(crate) fn n_features(&self) -> usize {
        self.n_features
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
    pub(crate) fn proba_block(&self, rows: &[[f64; ROW_STRIDE]], out: &mut [f64]) {
        let m = rows.len();
        assert!(m <= BLOCK_ROWS && out.len() >= m, "bad block");
        if m < 8 {
            // Too few rows to overlap well (measured: 5 rows cost 1.8 µs each in a block,
            // 1.4 µs each alone): overlap trees instead.
            for (o, row) in out.iter_mut().zip(rows) {
                *o = self.proba_one(row);
            }
            return;
        }
        // Always a full block, so the step loop below has a constant trip count the
        // compiler unrolls; padding rows are walked too and their answers dropped.
        let mut padded = [[0.0; ROW_STRIDE]; BLOCK_ROWS];
        let block: &[[f64; ROW_STRIDE]; BLOCK_ROWS] = match rows.try_into() {
            Ok(full) => full,
            Err(_) => {
                padded[..m].copy_from_slice(rows);
                &padded
            }
        };
        let mut sums = [0.0; BLOCK_ROWS];
        for &(root, depth) in &self.roots {
            // Every walk takes exactly the tree's depth in steps: a walk that reached its leaf
            // stays there. Checking for that costs more than the steps it would save.
            let mut at = [root; BLOCK_ROWS];
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
