//! The same trees as smartcore values: a `RandomForestClassifier` (classes numbered 0..k, a
//! leaf's output the first class with the most weight) or a `RandomForestRegressor`, built by
//! writing smartcore's serialised form from the checked node arrays and deserialising it.
//! smartcore's own walk is then the independent second reading of the trees: on load, every
//! tree must reach a leaf with the same answer in both walks on generated rows (cast to
//! float32 first, as scikit-learn casts its inputs), or the model is refused.

use serde_json::{Value as Json, json};
use smartcore::ensemble::random_forest_classifier::RandomForestClassifier;
use smartcore::ensemble::random_forest_regressor::RandomForestRegressor;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::DecisionTreeClassifier;
use smartcore::tree::decision_tree_regressor::DecisionTreeRegressor;

use super::{SkForest, SkTree};
use legendary_forest::{ModelError, SplitMix64};

/// A scikit-learn estimator's trees as a smartcore forest. Scoring uses the walk (smartcore
/// exposes no probabilities); the forest is the library's reading of the same trees.
#[allow(
    dead_code,
    reason = "held as the model's smartcore value; scored through the walk"
)]
pub(crate) enum SmartcoreForest {
    /// A classifier of class indices `0..k`.
    Classifier(RandomForestClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>),
    /// A regressor.
    Regressor(RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>),
}

impl std::fmt::Debug for SmartcoreForest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Classifier(_) => "SmartcoreForest::Classifier",
            Self::Regressor(_) => "SmartcoreForest::Regressor",
        })
    }
}

/// Rows generated for the agreement check.
const CHECK_ROWS: usize = 512;

fn smartcore_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Smartcore(e.to_string())
}

/// The class a node's values favour (argmax, ties to the first).
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// smartcore's node list for `tree`: indices kept, `x <= split_value` goes to `true_child`.
fn nodes(tree: &SkTree, classifier: bool) -> Vec<Json> {
    tree.nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let values = &tree.values[i * tree.n_values..(i + 1) * tree.n_values];
            let output = if classifier {
                json!(argmax(values))
            } else {
                json!(values[0])
            };
            let (value, t, f) = if node.is_leaf() {
                (Json::Null, Json::Null, Json::Null)
            } else {
                (json!(node.threshold), json!(node.left), json!(node.right))
            };
            let mut n = json!({
                "output": output, "split_feature": node.feature, "split_value": value,
                "split_score": if node.is_leaf() { Json::Null } else { json!(0.0) },
                "true_child": t, "false_child": f,
            });
            if classifier {
                n["n_node_samples"] = json!(0);
                n["impurity"] = json!(0.0);
            }
            n
        })
        .collect()
}

/// One tree in smartcore's serialised form (a standalone classifier, or a regressor's
/// `BaseTree`).
fn tree_json(tree: &SkTree, k: Option<usize>, n_features: usize) -> Json {
    let depth = tree.depth + 1;
    match k {
        Some(k) => json!({
            "nodes": nodes(tree, true),
            "parameters": {"criterion": "Gini", "max_depth": null, "min_samples_leaf": 1,
                           "min_samples_split": 2, "seed": null},
            "num_classes": k, "classes": (0..k).collect::<Vec<_>>(), "depth": depth,
            "num_features": n_features,
            "_phantom_tx": null, "_phantom_x": null, "_phantom_y": null,
        }),
        None => json!({
            "nodes": nodes(tree, false),
            "parameters": {"max_depth": null, "min_samples_leaf": 1, "min_samples_split": 2,
                           "seed": null, "splitter": "Best"},
            "depth": depth, "root_mass": 1.0,
            "_phantom_tx": null, "_phantom_ty": null, "_phantom_x": null, "_phantom_y": null,
        }),
    }
}

/// Rows of `n` columns, stats-like (0 to 256, in hundredths), cast to float32 as scikit-learn
/// would, then one row per split of the first tree put exactly on its threshold.
fn check_rows(forest: &SkForest) -> Vec<f64> {
    let n = forest.n_features;
    let mut rng = SplitMix64::new(16);
    let mut values: Vec<f64> = (0..CHECK_ROWS * n)
        .map(|_| rng.below(25_600) as f64 / 100.0)
        .collect();
    for node in forest.trees[0]
        .nodes
        .iter()
        .filter(|n| !n.is_leaf())
        .take(64)
    {
        let at = values.len();
        values.extend_from_within(..n);
        values[at + node.feature as usize] = node.threshold;
    }
    values.into_iter().map(|v| f64::from(v as f32)).collect()
}

impl SmartcoreForest {
    /// Builds the smartcore forest, and checks tree by tree that smartcore's walk agrees
    /// with [`SkForest`]'s on generated rows.
    ///
    /// # Errors
    /// [`ModelError::Smartcore`] if smartcore refuses the trees, [`ModelError::Inconsistent`]
    /// naming the first tree and row where the walks disagree.
    pub(crate) fn build_checked(forest: &SkForest) -> Result<Self, ModelError> {
        let k = forest.labels.as_ref().map(super::Labels::len);
        let trees: Vec<Json> = forest
            .trees
            .iter()
            .map(|t| tree_json(t, k, forest.n_features))
            .collect();
        let values = check_rows(forest);
        let n_rows = values.len() / forest.n_features;
        let x = DenseMatrix::new(n_rows, forest.n_features, values.clone(), false)
            .map_err(smartcore_err)?;
        let rows: Vec<&[f64]> = values.chunks_exact(forest.n_features).collect();
        for (i, (json, tree)) in trees.iter().zip(&forest.trees).enumerate() {
            let disagree = |row: usize| {
                ModelError::Inconsistent(format!(
                    "tree {i}, generated row {row}: smartcore and the scikit-learn walk disagree"
                ))
            };
            if k.is_some() {
                let t: DecisionTreeClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>> =
                    serde_json::from_value(json.clone()).map_err(smartcore_err)?;
                let ours = rows.iter().map(|r| argmax(tree.leaf_values(r)) as u32);
                let theirs = t.predict(&x).map_err(smartcore_err)?;
                if let Some(row) = ours.zip(theirs).position(|(a, b)| a != b) {
                    return Err(disagree(row));
                }
            } else {
                let t: DecisionTreeRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>> =
                    serde_json::from_value(
                        json!({"tree_regressor": json, "num_features": forest.n_features}),
                    )
                    .map_err(smartcore_err)?;
                let ours = rows.iter().map(|r| tree.leaf_values(r)[0]);
                let theirs = t.predict(&x).map_err(smartcore_err)?;
                if let Some(row) = ours
                    .zip(theirs)
                    .position(|(a, b)| a.to_bits() != b.to_bits())
                {
                    return Err(disagree(row));
                }
            }
        }
        Ok(match k {
            Some(k) => Self::Classifier(
                serde_json::from_value(json!({
                    "trees": trees, "classes": (0..k as u32).collect::<Vec<_>>(), "samples": null,
                }))
                .map_err(smartcore_err)?,
            ),
            None => Self::Regressor(
                serde_json::from_value(json!({
                    "forest_regressor": {"trees": trees, "num_features": forest.n_features,
                                         "samples": null},
                }))
                .map_err(smartcore_err)?,
            ),
        })
    }
}
