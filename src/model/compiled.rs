//! The compiled form of a model: what the sandboxed compiler (`legendary model compile`, see
//! `crate::sandbox`) writes once it has read and validated a model directory, and the only
//! form of an untrusted model the server itself parses.
//!
//! It is one JSON document of typed fields, so reading it is linear in its bytes: no YAML
//! aliases, no pickle memo, no skops references, nothing that one byte can turn into many
//! copies. The server reads it within a byte budget and re-checks it cheaply: a smartcore
//! forest goes through the same checked pass as `model.json` (node indices, sizes, the
//! agreement with smartcore on the input example); a scikit-learn estimator's trees through
//! the same proof that they are trees ([`super::sklearn`]). What the child computed that
//! costs more (the pickle or skops interpretation, the MLmodel YAML) is never redone.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::sklearn::{self, Class, Format, Labels, SkForest, SkTree, SklearnModel};
use super::{Background, Engine, Model, ModelDir, ModelError, ModelInfo, ReadLimits};

/// The format written at the top of every compiled model; bump when the layout changes.
pub const COMPILED_FORMAT: &str = "legendary.compiled/v1";

#[derive(Serialize, Deserialize)]
struct Compiled<F> {
    format: String,
    info: ModelInfo,
    input_example: Vec<[f64; 6]>,
    background: Option<Background>,
    model: F,
}

/// The estimator, by flavor.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Estimator<S> {
    /// `model.json`'s envelope, as this build writes it.
    Smartcore(S),
    /// A scikit-learn tree estimator, its trees as node lists.
    Sklearn(Box<SklearnParts>),
}

/// A scikit-learn estimator, field by field, with each tree's nodes as
/// `[left, right, feature, threshold, missing_left]` (`-1` children for a leaf).
#[derive(Serialize, Deserialize)]
struct SklearnParts {
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
    nodes: Vec<sklearn::RawNode>,
    values: Vec<f64>,
    n_values: usize,
}

/// Writes the compiled form of a validated model directory.
///
/// # Errors
/// Only if serialisation fails, which a validated model does not.
pub fn to_compiled(dir: &ModelDir) -> Result<Vec<u8>, ModelError> {
    let estimator = match &dir.model.engine {
        Engine::Smartcore { .. } => {
            let json = String::from_utf8(dir.model.to_json()?)
                .map_err(|e| ModelError::Smartcore(e.to_string()))?;
            Estimator::Smartcore(
                RawValue::from_string(json).map_err(|e| ModelError::Smartcore(e.to_string()))?,
            )
        }
        Engine::Sklearn(scorer) => Estimator::Sklearn(Box::new(parts(&scorer.model))),
    };
    let compiled = Compiled {
        format: COMPILED_FORMAT.to_owned(),
        info: dir.info.clone(),
        input_example: dir.input_example.clone(),
        background: dir.background.clone(),
        model: estimator,
    };
    serde_json::to_vec(&compiled).map_err(|e| ModelError::Smartcore(e.to_string()))
}

/// Reads a compiled model (at most `limits.max_model_bytes` of it: the caller reads no
/// more) and re-checks it: the trees are trees within `limits`, and a smartcore forest's
/// compiled walk agrees with smartcore on the input example.
///
/// # Errors
/// [`ModelError::Envelope`] for bytes that are not a compiled model of this build, or the
/// check that failed.
pub fn from_compiled(bytes: &[u8], limits: &ReadLimits) -> Result<ModelDir, ModelError> {
    let compiled: Compiled<Estimator<&RawValue>> = serde_json::from_slice(bytes)
        .map_err(|e| ModelError::Envelope(format!("compiled model: {e}")))?;
    if compiled.format != COMPILED_FORMAT {
        return Err(ModelError::Format {
            found: compiled.format,
        });
    }
    let model = match compiled.model {
        Estimator::Smartcore(envelope) => {
            let model = Model::from_json(envelope.get().as_bytes(), limits)?;
            model.self_check(&compiled.input_example)?;
            model
        }
        Estimator::Sklearn(parts) => Model::from_sklearn(sklearn_model(*parts, limits)?)?,
    };
    Ok(ModelDir {
        model,
        info: compiled.info,
        input_example: compiled.input_example,
        background: compiled.background,
    })
}

fn parts(model: &SklearnModel) -> SklearnParts {
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

fn sklearn_model(parts: SklearnParts, limits: &ReadLimits) -> Result<SklearnModel, ModelError> {
    let bad = |m: String| ModelError::Envelope(format!("compiled model: {m}"));
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
            sklearn::prove_tree(&t.nodes, t.values, parts.n_features, n_values, limits)
                .map_err(|e| bad(format!("tree {i}: {e}")))?,
        );
    }
    let width_ok =
        |names: &Option<Vec<String>>| names.as_ref().is_none_or(|n| n.len() == parts.n_features);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> ModelDir {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pokemon");
        super::super::read_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_bundled_model_survives_its_compiled_form_bit_for_bit() {
        let dir = bundled();
        let bytes = to_compiled(&dir).unwrap_or_else(|e| panic!("{e}"));
        let back = from_compiled(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.input_example, dir.input_example);
        assert_eq!(back.info.model_uuid, dir.info.model_uuid);
        assert_eq!(back.background, dir.background);
        let mut rng = crate::dataset::SplitMix64::new(3);
        let rows: Vec<f64> = (0..6 * 500).map(|_| (1 + rng.below(255)) as f64).collect();
        let (a, b) = (
            dir.model.walk_proba_batch(&rows),
            back.model.walk_proba_batch(&rows),
        );
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        // The same compiled bytes again: the form is deterministic.
        assert_eq!(to_compiled(&back).unwrap_or_default(), bytes);
    }

    #[test]
    fn a_compiled_model_that_lies_is_refused() {
        let bytes = to_compiled(&bundled()).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(bytes).unwrap_or_default();
        let other = text.replace(COMPILED_FORMAT, "legendary.compiled/v0");
        let e = from_compiled(other.as_bytes(), &ReadLimits::default()).err();
        assert!(matches!(e, Some(ModelError::Format { .. })), "{e:?}");
        let cut = &text.as_bytes()[..text.len() / 2];
        let e = from_compiled(cut, &ReadLimits::default()).err();
        assert!(matches!(e, Some(ModelError::Envelope(_))), "{e:?}");
        // Within the node cap only: the re-check is the envelope's own.
        let tight = ReadLimits {
            max_nodes: 100,
            ..ReadLimits::default()
        };
        assert!(from_compiled(text.as_bytes(), &tight).is_err());
    }
}
