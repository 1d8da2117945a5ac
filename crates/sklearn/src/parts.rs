//! A scikit-learn model field by field, as plain serde data: what the model compiler writes
//! of a model it has read, and what the server reads back, re-proving the trees (the cheap
//! part) without the pickle or skops interpretation (the costly one).

use legendary_forest::ReadLimits;
use serde::{Deserialize, Serialize};

use crate::extract::{RawNode, prove_tree};
use crate::value::Class;
use crate::{Format, Labels, SkForest, SkTree, SklearnError, SklearnModel};

/// A scikit-learn estimator, field by field, with each tree's nodes as
/// `[left, right, feature, threshold, missing_left]` (`-1` children for a leaf).
#[derive(Serialize, Deserialize)]
pub struct SklearnParts {
    class: String,
    labels: Option<LabelsPart>,
    n_features: usize,
    feature_names: Option<Vec<String>>,
    estimator_sklearn_version: Option<String>,
    trees: Vec<TreePart>,
    columns: Option<Vec<String>>,
    skops: bool,
    serialization_format: String,
    sklearn_version: Option<String>,
    file_name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LabelsPart {
    Bool(Vec<bool>),
    Int(Vec<i64>),
    Float(Vec<f64>),
    Str(Vec<String>),
}

#[derive(Serialize, Deserialize)]
struct TreePart {
    nodes: Vec<RawNode>,
    values: Vec<f64>,
    n_values: usize,
}

impl From<&SklearnModel> for SklearnParts {
    fn from(model: &SklearnModel) -> Self {
        let forest = &model.forest;
        SklearnParts {
            class: forest.class.name().to_owned(),
            labels: forest.labels.as_ref().map(|l| match l {
                Labels::Bool(v) => LabelsPart::Bool(v.clone()),
                Labels::Int(v) => LabelsPart::Int(v.clone()),
                Labels::Float(v) => LabelsPart::Float(v.clone()),
                Labels::Str(v) => LabelsPart::Str(v.clone()),
            }),
            n_features: forest.n_features,
            feature_names: forest.feature_names.clone(),
            estimator_sklearn_version: forest.sklearn_version.clone(),
            trees: forest.trees.iter().map(tree_part).collect(),
            columns: model.columns.clone(),
            skops: model.format == Format::Skops,
            serialization_format: model.serialization_format.clone(),
            sklearn_version: model.sklearn_version.clone(),
            file_name: model.file_name.clone(),
        }
    }
}

fn tree_part(tree: &SkTree) -> TreePart {
    TreePart {
        nodes: tree
            .nodes
            .iter()
            .map(|n| {
                if n.is_leaf() {
                    (-1, -1, -2, 0.0, false)
                } else {
                    (
                        i64::from(n.left),
                        i64::from(n.right),
                        i64::from(n.feature),
                        n.threshold,
                        n.missing_left,
                    )
                }
            })
            .collect(),
        values: tree.values.clone(),
        n_values: tree.n_values,
    }
}

impl SklearnParts {
    /// The model these parts describe, its trees proven trees within `limits` as when they
    /// were first read.
    ///
    /// # Errors
    /// [`SklearnError::Malformed`] naming what does not add up, or the tree that is not one.
    pub fn into_model(self, limits: &ReadLimits) -> Result<SklearnModel, SklearnError> {
        let parts = self;
        let bad = SklearnError::Malformed;
        let class = Class::from_name(&parts.class)
            .filter(|c| *c != Class::Tree)
            .ok_or_else(|| bad(format!("unknown estimator class '{}'", parts.class)))?;
        let labels = parts.labels.map(|l| match l {
            LabelsPart::Bool(v) => Labels::Bool(v),
            LabelsPart::Int(v) => Labels::Int(v),
            LabelsPart::Float(v) => Labels::Float(v),
            LabelsPart::Str(v) => Labels::Str(v),
        });
        if labels.is_some() != class.is_classifier() {
            return Err(bad("labels do not match the estimator class".to_owned()));
        }
        let n_values = labels.as_ref().map_or(1, Labels::len);
        if parts.trees.is_empty() || (class.is_single_tree() && parts.trees.len() != 1) {
            return Err(bad(format!(
                "a {} with {} trees",
                class.name(),
                parts.trees.len()
            )));
        }
        let mut total = 0_usize;
        let mut trees = Vec::with_capacity(parts.trees.len());
        for (i, t) in parts.trees.into_iter().enumerate() {
            if t.n_values != n_values {
                return Err(bad(format!("tree {i} has {} values per node", t.n_values)));
            }
            total = total.saturating_add(t.nodes.len());
            if total > limits.max_nodes {
                return Err(bad(format!(
                    "more than {} nodes (ReadLimits::max_nodes)",
                    limits.max_nodes
                )));
            }
            trees.push(
                prove_tree(&t.nodes, t.values, parts.n_features, n_values, limits)
                    .map_err(|e| bad(format!("tree {i}: {e}")))?,
            );
        }
        let width_ok = |names: &Option<Vec<String>>| {
            names.as_ref().is_none_or(|n| n.len() == parts.n_features)
        };
        if !width_ok(&parts.feature_names) || !width_ok(&parts.columns) {
            return Err(bad("column names do not match n_features".to_owned()));
        }
        Ok(SklearnModel {
            forest: SkForest {
                class,
                labels,
                n_features: parts.n_features,
                feature_names: parts.feature_names,
                sklearn_version: parts.estimator_sklearn_version,
                trees,
            },
            columns: parts.columns,
            format: if parts.skops {
                Format::Skops
            } else {
                Format::Pickle
            },
            serialization_format: parts.serialization_format,
            sklearn_version: parts.sklearn_version,
            file_name: parts.file_name,
        })
    }
}
