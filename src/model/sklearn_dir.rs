//! An MLflow model directory with a `sklearn` flavor, as `mlflow.sklearn.save_model` or
//! `log_model` writes it: `MLmodel` names the file (`pickled_model`), its
//! `serialization_format` (`skops`, `pickle`, `cloudpickle`) and the scikit-learn version,
//! and may carry a signature. The columns a client sends are the estimator's
//! `feature_names_in_` when it has them, else the signature's inputs, else none (rows are
//! read by position, in the order the model was trained on).

use std::path::Path;

use serde::Deserialize;

use legendary_forest::ReadLimits;
use legendary_sklearn::{Format, SkForest, SklearnLimits, SklearnModel};

use super::ArtifactError;
use super::mlmodel::MlModel;
use super::read::read_required;

#[derive(Deserialize)]
struct SklearnFlavor {
    pickled_model: String,
    #[serde(default)]
    serialization_format: Option<String>,
    #[serde(default)]
    sklearn_version: Option<String>,
}

/// Reads the `sklearn` flavor of the model directory at `dir`.
///
/// # Errors
/// [`ArtifactError`]: a missing or oversized file, no `sklearn` flavor, or a model file
/// the restricted readers refuse (the message names the class or global).
pub(super) fn read(
    dir: &Path,
    limits: &ReadLimits,
    mlmodel: &MlModel,
) -> Result<SklearnModel, ArtifactError> {
    let mlmodel_path = dir.join("MLmodel");
    let bad = |message: String| ArtifactError::MlModel {
        path: mlmodel_path.clone(),
        message,
    };
    let flavor: SklearnFlavor = mlmodel
        .flavor("sklearn")
        .map_err(bad)?
        .ok_or_else(|| bad("no sklearn flavor".to_owned()))?;
    let name = &flavor.pickled_model;
    if name.contains("..") || name.contains('/') || Path::new(name).is_absolute() {
        return Err(bad(format!(
            "pickled_model '{name}' must be a plain file name"
        )));
    }
    let serialization_format = flavor
        .serialization_format
        .unwrap_or_else(|| "cloudpickle".to_owned());
    let format = match serialization_format.as_str() {
        "skops" => Format::Skops,
        "pickle" | "cloudpickle" => Format::Pickle,
        other => {
            return Err(bad(format!(
                "serialization_format '{other}' is not supported"
            )));
        }
    };
    let model_path = dir.join(name);
    let bytes = read_required(&model_path, limits.max_model_bytes, "max_model_bytes")?;
    let forest =
        SkForest::read(&bytes, format, &SklearnLimits::default(), limits).map_err(|cause| {
            ArtifactError::Model {
                path: model_path.clone(),
                cause: super::ModelError::Sklearn(cause),
            }
        })?;
    let signature = mlmodel
        .input_names()
        .map_err(bad)?
        .and_then(|names| names.into_iter().collect::<Option<Vec<String>>>())
        .filter(|n| n.len() == forest.n_features);
    let columns = forest.feature_names.clone().or(signature);
    let sklearn_version = flavor
        .sklearn_version
        .or_else(|| forest.sklearn_version.clone());
    Ok(SklearnModel {
        forest,
        columns,
        format,
        serialization_format,
        sklearn_version,
        file_name: flavor.pickled_model,
    })
}
