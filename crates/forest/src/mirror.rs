//! The serialised smartcore forest, read into mirror structs and proven to be a forest before
//! anything walks it. smartcore checks nothing when it deserialises, and its `predict` follows
//! whatever links it finds (a link back up loops forever); the compiled copy lays each tree
//! out by walking it, so a node with two parents is copied twice, doubling per level. Nodes
//! are counted before any is kept, so the caps hold whatever the file says.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::{ForestError, ReadLimits};

/// A forest whose every tree is a tree, within the limits it was read with.
pub(crate) struct CheckedForest {
    pub(crate) trees: Vec<CheckedTree>,
    /// Index of class 1 (legendary) in the forest's classes.
    pub(crate) positive: usize,
    /// Columns a row must have.
    pub(crate) n_features: usize,
}

/// A tree whose nodes are each reached exactly once from node 0.
pub(crate) struct CheckedTree {
    pub(crate) nodes: Vec<NodeMirror>,
    /// Splits from the root to the deepest leaf.
    pub(crate) depth: u32,
}

#[derive(Deserialize)]
struct ForestMirror {
    trees: Option<Vec<TreeMirror>>,
    classes: Option<Vec<u32>>,
    /// smartcore's `keep_samples` bootstrap masks, which `train` never keeps. Refused: smartcore
    /// would read `[[],[],…]` into 24 bytes per 3 bytes of input, and serving never needs them.
    samples: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct TreeMirror {
    nodes: Vec<NodeMirror>,
    num_features: usize,
}

/// One node as smartcore writes it; `split_score` is not needed.
#[derive(Deserialize)]
pub(crate) struct NodeMirror {
    pub(crate) output: usize,
    pub(crate) n_node_samples: usize,
    pub(crate) split_feature: usize,
    pub(crate) split_value: Option<f64>,
    pub(crate) true_child: Option<usize>,
    pub(crate) false_child: Option<usize>,
    pub(crate) impurity: Option<f64>,
}

/// The first pass: how many nodes each tree has, keeping none of them.
#[derive(Deserialize)]
struct Census {
    trees: Option<Vec<TreeCensus>>,
}

#[derive(Deserialize)]
struct TreeCensus {
    nodes: NodeCount,
}

/// The length of a list, counted without keeping its elements.
struct NodeCount(usize);

impl<'de> Deserialize<'de> for NodeCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = usize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of nodes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
                let mut n = 0_usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(n)
            }
        }
        deserializer.deserialize_seq(Count).map(Self)
    }
}

fn shape(message: impl Into<String>) -> ForestError {
    ForestError::Shape(message.into())
}

/// Reads the JSON of a smartcore `RandomForestClassifier<f64, u32, ..>` with classes `[0, 1]`
/// and checks it: node counts first (a pass that keeps no node), then each tree's graph.
/// Time and memory are linear in the input and bounded by `limits`.
///
/// # Errors
/// [`ForestError`] naming the tree and node at fault, or the cap that was exceeded.
pub(crate) fn read(
    forest: &serde_json::value::RawValue,
    limits: &ReadLimits,
) -> Result<CheckedForest, ForestError> {
    let census: Census = serde_json::from_str(forest.get()).map_err(|e| shape(e.to_string()))?;
    check_counts(census.trees.as_deref().unwrap_or_default(), limits)?;
    let mirror: ForestMirror =
        serde_json::from_str(forest.get()).map_err(|e| shape(e.to_string()))?;
    if mirror.samples.is_some() {
        return Err(shape(
            "the forest keeps its bootstrap samples (keep_samples), which this build never writes",
        ));
    }
    let classes = mirror
        .classes
        .ok_or_else(|| shape("the forest was never fitted"))?;
    let positive = classes
        .iter()
        .position(|c| *c == 1)
        .ok_or_else(|| shape("the forest has no class 1 (legendary)"))?;
    let trees = mirror.trees.unwrap_or_default();
    let n_features = trees
        .first()
        .ok_or_else(|| shape("the forest has no trees"))?
        .num_features;
    if n_features >= crate::ROW_STRIDE {
        return Err(shape(format!(
            "{n_features} columns; at most {} are supported",
            crate::ROW_STRIDE - 1
        )));
    }
    let shape = Shape {
        n_features,
        n_classes: classes.len(),
        max_depth: limits.max_depth,
    };
    let trees = trees
        .into_iter()
        .enumerate()
        .map(|(t, tree)| {
            if tree.num_features != n_features {
                return Err(ForestError::Shape(format!("tree {t} has another width")));
            }
            let depth = shape.check(t, &tree.nodes)?;
            Ok(CheckedTree {
                nodes: tree.nodes,
                depth,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(CheckedForest {
        trees,
        positive,
        n_features,
    })
}

/// Every tree has nodes, and none has more than the caps allow.
fn check_counts(trees: &[TreeCensus], limits: &ReadLimits) -> Result<(), ForestError> {
    let too_many = |what: String, found, limit, limit_name| ForestError::TooManyNodes {
        what,
        found,
        limit,
        limit_name,
    };
    let mut total = 0_usize;
    for (t, tree) in trees.iter().enumerate() {
        let n = tree.nodes.0;
        if n == 0 {
            return Err(shape(format!("tree {t} has no nodes")));
        }
        if n > limits.max_tree_nodes {
            return Err(too_many(
                format!("tree {t}"),
                n,
                limits.max_tree_nodes,
                "max_tree_nodes",
            ));
        }
        total = total.saturating_add(n);
    }
    if total > limits.max_nodes {
        return Err(too_many(
            "the forest".to_owned(),
            total,
            limits.max_nodes,
            "max_nodes",
        ));
    }
    Ok(())
}

/// What every tree of one forest must agree with.
struct Shape {
    n_features: usize,
    n_classes: usize,
    max_depth: usize,
}

/// Stands for "no parent" in [`Shape::check`]: the root's, and any node's not yet reached.
const NO_PARENT: usize = usize::MAX;

impl Shape {
    /// Proves that `nodes` (tree `t`) form one tree rooted at node 0: every link in range, every
    /// node reached exactly once (no shared children, no cycles, no unreachable nodes), no leaf
    /// deeper than the cap, splits on existing columns, leaves voting for existing classes.
    /// Each node is queued at most once, so this is linear in the tree. Returns its depth.
    fn check(&self, t: usize, nodes: &[NodeMirror]) -> Result<u32, ForestError> {
        let bad = |node: usize, problem: String| ForestError::Node {
            tree: t,
            node,
            problem,
        };
        let n = nodes.len();
        if n == 0 {
            return Err(shape(format!("tree {t} has no nodes")));
        }
        let mut parent = vec![NO_PARENT; n];
        let mut reached = vec![false; n];
        reached[0] = true;
        // Breadth-first, so the first fault reported is the one nearest the root.
        let mut queue = Vec::with_capacity(n);
        queue.push((0_usize, 0_usize)); // (node, splits from the root)
        let mut next = 0;
        let mut depth = 0;
        while let Some(&(i, d)) = queue.get(next) {
            next += 1;
            depth = depth.max(d);
            let node = &nodes[i];
            let (l, r) = match (node.true_child, node.false_child) {
                (None, None) if node.output < self.n_classes => continue,
                (None, None) => {
                    return Err(bad(
                        i,
                        format!(
                            "a leaf voting for class {}; the forest has {} classes",
                            node.output, self.n_classes
                        ),
                    ));
                }
                (Some(l), Some(r)) => (l, r),
                _ => return Err(bad(i, "a split with one child".to_owned())),
            };
            if node.split_feature >= self.n_features {
                return Err(bad(i, "split feature out of range".to_owned()));
            }
            if node.split_value.is_none() {
                return Err(bad(i, "split without value".to_owned()));
            }
            if d >= self.max_depth {
                return Err(bad(
                    l,
                    format!(
                        "at depth {} (splits from the root), deeper than the limit of {} (ReadLimits::max_depth)",
                        d + 1,
                        self.max_depth
                    ),
                ));
            }
            for c in [l, r] {
                if c >= n {
                    return Err(bad(
                        i,
                        format!("child {c} is out of range (the tree has {n} nodes)"),
                    ));
                }
                if reached[c] {
                    let (node, problem) = reached_twice(i, c, &parent);
                    return Err(bad(node, problem));
                }
                reached[c] = true;
                parent[c] = i;
                queue.push((c, d + 1));
            }
        }
        // smartcore never writes a node that no split links to. Refused rather than skipped:
        // it would mean the file was edited, and a dead node still costs memory and counts
        // in the feature importances while never scoring a row.
        if let Some(unreached) = reached.iter().position(|r| !r) {
            return Err(bad(
                unreached,
                "not reachable from the root (no split links to it)".to_owned(),
            ));
        }
        Ok(u32::try_from(depth).unwrap_or(u32::MAX))
    }
}

/// Why split `i` links to `c`, which was already reached: a link to itself or back up to an
/// ancestor (a cycle) names `i`; a node with two parents names `c`. Walks up from `i`, which
/// takes at most the depth of the tree.
fn reached_twice(i: usize, c: usize, parent: &[usize]) -> (usize, String) {
    if c == i {
        return (i, "links to itself (a cycle)".to_owned());
    }
    let mut up = parent[i];
    while up != NO_PARENT {
        if up == c {
            return (i, format!("links back to node {c}, its ancestor (a cycle)"));
        }
        up = parent[up];
    }
    // The root has no parent and is an ancestor of every node, so `parent[c]` is a node here.
    let first = parent[c];
    let problem = if first == i {
        format!(
            "reached twice, as both children of node {i} (a split's children must be distinct nodes)"
        )
    } else {
        format!(
            "reached twice, from node {first} and node {i} (a split's children must be distinct nodes)"
        )
    };
    (c, problem)
}
