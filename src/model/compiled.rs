//! The compiled form of a model: what the sandboxed compiler (`legendary model compile`, see
//! `crate::sandbox`) writes once it has read and validated a model directory, and the only
//! form of an untrusted model the server itself parses.
//!
//! It is one JSON document of typed fields, so reading it is linear in its bytes: no YAML
//! aliases, no pickle memo, no skops references, nothing that one byte can turn into many
//! copies. The server reads it within a byte budget and re-checks it cheaply: a smartcore
//! forest goes through the same checked pass as `model.json` (node indices, sizes, the
//! agreement with smartcore on the input example); a scikit-learn estimator's trees through
//! the same proof that they are trees (`legendary_sklearn::SklearnParts`). What the child computed that
//! costs more (the pickle or skops interpretation, the MLmodel YAML) is never redone.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use legendary_forest::ModelError as ForestError;
use legendary_sklearn::SklearnParts;

use super::{Background, Engine, ForestModel, Model, ModelDir, ModelError, ModelInfo, ReadLimits};

/// The format written at the top of every compiled model; bump when the layout changes.
pub const COMPILED_FORMAT: &str = "legendary.compiled/v1";

#[derive(Serialize, Deserialize)]
struct Compiled<F> {
    format: String,
    info: ModelInfo,
    input_example: Vec<[f64; 6]>,
    background: Option<Background>,
    #[serde(default)]
    profile: Option<crate::monitor::Profile>,
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

/// Writes the compiled form of a validated model directory.
///
/// # Errors
/// Only if serialisation fails, which a validated model does not.
pub fn to_compiled(dir: &ModelDir) -> Result<Vec<u8>, ModelError> {
    let serde = |e: serde_json::Error| ForestError::Smartcore(e.to_string());
    let estimator = match &dir.model.engine {
        Engine::Forest(forest) => {
            let json = String::from_utf8(forest.to_json()?)
                .map_err(|e| ForestError::Smartcore(e.to_string()))?;
            Estimator::Smartcore(RawValue::from_string(json).map_err(serde)?)
        }
        Engine::Sklearn(scorer) => Estimator::Sklearn(Box::new(SklearnParts::from(&scorer.model))),
    };
    let compiled = Compiled {
        format: COMPILED_FORMAT.to_owned(),
        info: dir.info.clone(),
        input_example: dir.input_example.clone(),
        background: dir.background.clone(),
        profile: dir.profile.clone(),
        model: estimator,
    };
    Ok(serde_json::to_vec(&compiled).map_err(serde)?)
}

/// Reads a compiled model (at most `limits.max_model_bytes` of it: the caller reads no
/// more) and re-checks it: the trees are trees within `limits`, and a smartcore forest's
/// compiled walk agrees with smartcore on the input example.
///
/// # Errors
/// `Envelope` for bytes that are not a compiled model of this build, or the check that
/// failed.
pub fn from_compiled(bytes: &[u8], limits: &ReadLimits) -> Result<ModelDir, ModelError> {
    let bad = |m: String| ForestError::Envelope(format!("compiled model: {m}"));
    let compiled: Compiled<Estimator<&RawValue>> =
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if compiled.format != COMPILED_FORMAT {
        return Err(ForestError::Format {
            found: compiled.format,
        }
        .into());
    }
    if let Some(profile) = &compiled.profile {
        profile
            .check()
            .map_err(|m| bad(format!("monitoring profile: {m}")))?;
    }
    let model = match compiled.model {
        Estimator::Smartcore(envelope) => {
            let forest = ForestModel::from_json(envelope.get().as_bytes(), limits)?;
            forest.self_check(&compiled.input_example)?;
            Model::from(forest)
        }
        Estimator::Sklearn(parts) => {
            Model::from_sklearn(parts.into_model(limits).map_err(|e| bad(e.to_string()))?)
        }
    };
    Ok(ModelDir {
        model,
        info: compiled.info,
        input_example: compiled.input_example,
        background: compiled.background,
        profile: compiled.profile,
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
        let mut rng = legendary_forest::SplitMix64::new(3);
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
    fn a_calibrated_model_keeps_its_map_through_the_compiled_form() {
        let mut dir = bundled();
        dir.model = crate::model::calibrated(&dir.model, r#"{"x":[0.05,0.5],"y":[0.0,0.8]}"#);
        let bytes = to_compiled(&dir).unwrap_or_else(|e| panic!("{e}"));
        let back = from_compiled(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"));
        let map = |d: &ModelDir| d.model.forest().and_then(|f| f.calibration()).cloned();
        assert!(map(&back).is_some());
        assert_eq!(map(&back), map(&dir));
        let rows = dir.input_example.clone();
        assert_eq!(dir.model.proba_rows(&rows), back.model.proba_rows(&rows));
        // A compiled form whose map breaks the rules is refused with what is wrong.
        let text = String::from_utf8(bytes).unwrap_or_default();
        let bad = text.replace(r#""y":[0.0,0.8]"#, r#""y":[0.8,0.0]"#);
        let e = from_compiled(bad.as_bytes(), &ReadLimits::default()).err();
        assert!(
            matches!(e, Some(ModelError::Forest(ForestError::Calibration(_)))),
            "{e:?}"
        );
    }

    #[test]
    fn a_compiled_model_that_lies_is_refused() {
        let bytes = to_compiled(&bundled()).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(bytes).unwrap_or_default();
        let other = text.replace(COMPILED_FORMAT, "legendary.compiled/v0");
        let e = from_compiled(other.as_bytes(), &ReadLimits::default()).err();
        assert!(
            matches!(e, Some(ModelError::Forest(ForestError::Format { .. }))),
            "{e:?}"
        );
        let cut = &text.as_bytes()[..text.len() / 2];
        let e = from_compiled(cut, &ReadLimits::default()).err();
        assert!(
            matches!(e, Some(ModelError::Forest(ForestError::Envelope(_)))),
            "{e:?}"
        );
        // Within the node cap only: the re-check is the envelope's own.
        let tight = ReadLimits {
            max_nodes: 100,
            ..ReadLimits::default()
        };
        assert!(from_compiled(text.as_bytes(), &tight).is_err());
    }
}
