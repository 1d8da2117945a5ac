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

const LEAF: u32 = u32::MAX;

/// One node: a split (`x[feature] <= threshold` goes to `left`) or, when `feature` is
/// [`LEAF`], a leaf whose `left` is 1 for a vote for the positive class, 0 otherwise, and
/// whose `threshold` holds the leaf's fraction of legendary training samples.
#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
}

/// Every tree of the forest in one node array.
#[derive(Debug, Clone)]
pub struct FlatForest {
    nodes: Vec<Node>,
    roots: Vec<u32>,
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
    pub fn from_smartcore_json(forest: &serde_json::value::RawValue) -> Result<Self, ForestError> {
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
        let mut flat = Self {
            nodes: Vec::with_capacity(trees.iter().map(|t| t.nodes.len()).sum()),
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
        let base = self.nodes.len();
        let n = tree.nodes.len();
        let bad = |i: usize, m: &str| ForestError::Shape(format!("tree {t} node {i}: {m}"));
        let mut importances = vec![0.0; self.n_features];
        for (i, node) in tree.nodes.iter().enumerate() {
            let flat = match (node.true_child, node.false_child) {
                (None, None) => Node {
                    threshold: leaf_probability(node, positive),
                    feature: LEAF,
                    left: u32::from(node.output == positive),
                    right: 0,
                },
                (Some(l), Some(r)) => {
                    // Children always come after their parent in smartcore's breadth-first
                    // layout; requiring it also rules out cycles.
                    if l <= i || r <= i || l >= n || r >= n {
                        return Err(bad(i, "child link out of order"));
                    }
                    if node.split_feature >= self.n_features {
                        return Err(bad(i, "split feature out of range"));
                    }
                    let threshold = node
                        .split_value
                        .ok_or_else(|| bad(i, "split without value"))?;
                    let (left, right) = (&tree.nodes[l], &tree.nodes[r]);
                    if let (Some(p), Some(a), Some(b)) =
                        (node.impurity, left.impurity, right.impurity)
                    {
                        importances[node.split_feature] += node.n_node_samples as f64 * p
                            - left.n_node_samples as f64 * a
                            - right.n_node_samples as f64 * b;
                    }
                    Node {
                        threshold,
                        feature: node.split_feature as u32,
                        left: (base + l) as u32,
                        right: (base + r) as u32,
                    }
                }
                _ => return Err(bad(i, "a node with one child")),
            };
            self.nodes.push(flat);
        }
        // As scikit-learn does: each tree's importances sum to 1, then trees are averaged.
        let sum: f64 = importances.iter().sum();
        if sum > 0.0 {
            for (total, v) in self.importances.iter_mut().zip(importances) {
                *total += v / sum;
            }
        }
        self.roots.push(base as u32);
        Ok(())
    }

    /// Number of columns a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Mean decrease in impurity per column, summing to 1.
    pub fn impurity_importances(&self) -> &[f64] {
        &self.importances
    }

    /// Mean over the trees of the leaf's legendary fraction: scikit-learn's `predict_proba`.
    pub fn proba(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        for &root in &self.roots {
            sum += self.leaf(root, row).threshold;
        }
        sum / self.roots.len() as f64
    }

    #[inline]
    fn leaf(&self, root: u32, row: &[f64]) -> Node {
        let mut node = self.nodes[root as usize];
        while node.feature != LEAF {
            // NaN goes right, as in smartcore (`NaN <= t` is false).
            let next = if row[node.feature as usize] <= node.threshold {
                node.left
            } else {
                node.right
            };
            node = self.nodes[next as usize];
        }
        node
    }

    /// Number of trees voting legendary for `row` (which must have [`Self::n_features`] values).
    pub fn votes(&self, row: &[f64]) -> usize {
        self.roots
            .iter()
            .map(|&root| self.leaf(root, row).left as usize)
            .sum()
    }
}
