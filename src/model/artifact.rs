//! The MLflow model directory: `MLmodel` (YAML with a `smartcore` flavor and a signature),
//! `model.json`, `input_example.json`, `serving_input_example.json`, `metrics.json`,
//! `feature_importance.json` and `explanation_background.json`. Written by `train`, read by
//! `serve` and `predict`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::mlmodel::MlModel;
use super::read::{read_capped, read_required};
use super::{ForestModel, Model, ModelError, ReadLimits};

/// Why a model directory could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A file could not be read or written.
    // The cause is in the message, not also a `source`: printed as a chain (`{:#}`) it
    // would otherwise appear twice.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// A file is larger than its [`ReadLimits`] cap.
    #[error("{path}: {size} bytes, over the limit of {limit} bytes (ReadLimits::{limit_name})")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size on disk; for a file that grew while it was read, the bytes read (limit + 1).
        size: u64,
        /// The cap.
        limit: u64,
        /// The [`ReadLimits`] field that sets the cap.
        limit_name: &'static str,
    },
    /// A path that should be a file is a directory, a device or a pipe.
    #[error("{path}: not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// `MLmodel` is missing or malformed.
    #[error("{path}: {message}")]
    MlModel {
        /// The MLmodel file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The directory holds an MLflow model of another flavor.
    #[error(
        "{path} is an MLflow model with flavors [{flavors}], neither a smartcore nor a scikit-learn model; train one with `legendary train`"
    )]
    NotSmartcore {
        /// The MLmodel file.
        path: PathBuf,
        /// The flavors it has.
        flavors: String,
    },
    /// `model.json` is not a model this build can serve.
    #[error("{path}: {cause}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// Why.
        cause: ModelError,
    },
}

/// Metadata of a model directory, for `/version`, the model card and MLflow.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
pub struct ModelInfo {
    /// `model_uuid` from MLmodel.
    pub model_uuid: String,
    /// `utc_time_created` from MLmodel.
    pub utc_time_created: String,
    /// The MLflow run that produced the model, when it was logged.
    pub run_id: Option<String>,
    /// Contents of `metrics.json`, if present.
    pub metrics: Option<serde_json::Value>,
    /// Contents of `feature_importance.json`, if present.
    pub feature_importance: Option<serde_json::Value>,
    /// The MLmodel flavor served: `smartcore`, or `sklearn` (with [`ModelInfo::sklearn`]).
    pub flavor: String,
    /// What a scikit-learn model is, when the flavor is `sklearn`.
    pub sklearn: Option<SklearnInfo>,
}

/// A served scikit-learn model's estimator, version and file format.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize, utoipa::ToSchema)]
pub struct SklearnInfo {
    /// The estimator's class (`RandomForestClassifier`, ...).
    pub estimator: String,
    /// scikit-learn's version, as MLmodel (or else the estimator's state) records it.
    pub sklearn_version: Option<String>,
    /// `skops`, `pickle` or `cloudpickle`.
    pub serialization_format: String,
}

/// A model directory read from disk.
#[derive(Debug)]
pub struct ModelDir {
    /// The model, ready to score.
    pub model: Model,
    /// Its metadata.
    pub info: ModelInfo,
    /// Rows of the input example (six raw stats each).
    pub input_example: Vec<[f64; 6]>,
    /// The explanation background stored with the model ([`super::BACKGROUND_FILE`]), if any.
    pub background: Option<super::Background>,
    /// The monitoring reference stored with the model ([`crate::monitor::PROFILE_FILE`]), if any.
    pub profile: Option<crate::monitor::Profile>,
}

/// What `write_dir` needs beyond the model.
#[derive(Debug, Default)]
pub struct Extras<'a> {
    /// A few real rows to save as the input example.
    pub input_example: &'a [[f64; 6]],
    /// Evaluation results for `metrics.json`.
    pub metrics: Option<&'a serde_json::Value>,
    /// Importances for `feature_importance.json`.
    pub feature_importance: Option<&'a serde_json::Value>,
    /// Extra files (name, bytes), e.g. SVG plots.
    pub extra_files: &'a [(String, Vec<u8>)],
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError + '_ {
    move |cause| ArtifactError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    std::fs::write(path, bytes).map_err(io(path))
}

/// Writes `model` and its extras as an MLflow model directory at `dir` (created if needed).
///
/// # Errors
/// I/O failures, named with their path.
pub(crate) fn write_dir(
    dir: &Path,
    model: &Model,
    extras: &Extras<'_>,
) -> Result<(), ArtifactError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let model_path = dir.join("model.json");
    let model_error = |cause: legendary_forest::ModelError| ArtifactError::Model {
        path: model_path.clone(),
        cause: cause.into(),
    };
    let forest = model.forest().ok_or_else(|| {
        model_error(legendary_forest::ModelError::Inconsistent(
            "a scikit-learn model is served as it was saved, not rewritten".to_owned(),
        ))
    })?;
    let json = forest.to_json().map_err(model_error)?;
    write(&model_path, &json)?;
    let mlmodel = MlModel::for_model(model)
        .and_then(|m| m.to_yaml())
        .map_err(|e| ArtifactError::MlModel {
            path: dir.join("MLmodel"),
            message: e.to_string(),
        })?;
    write(&dir.join("MLmodel"), mlmodel.as_bytes())?;
    for (name, bytes) in super::pyfunc::files() {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        write(&path, bytes)?;
    }
    let example = example_split(model, extras.input_example);
    write(
        &dir.join("input_example.json"),
        example.to_string().as_bytes(),
    )?;
    let serving = serde_json::json!({ "dataframe_split": example });
    let pretty = serde_json::to_vec_pretty(&serving).unwrap_or_default();
    write(&dir.join("serving_input_example.json"), &pretty)?;
    if let Some(metrics) = extras.metrics {
        write(&dir.join("metrics.json"), &pretty_json(metrics))?;
    }
    if let Some(importance) = extras.feature_importance {
        write(
            &dir.join("feature_importance.json"),
            &pretty_json(importance),
        )?;
    }
    for (name, bytes) in extras.extra_files {
        write(&dir.join(name), bytes)?;
    }
    Ok(())
}

fn pretty_json(value: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn example_split(model: &Model, rows: &[[f64; 6]]) -> serde_json::Value {
    let data: Vec<Vec<i64>> = rows
        .iter()
        .map(|r| r.iter().map(|v| *v as i64).collect())
        .collect();
    serde_json::json!({ "columns": model.input_features(), "data": data })
}

#[derive(Deserialize)]
struct SmartcoreFlavor {
    model_file: String,
}

/// Reads and checks the model directory at `dir`, within [`ReadLimits::default`].
///
/// # Errors
/// As [`read_dir_with`].
pub fn read_dir(dir: &Path) -> Result<ModelDir, ArtifactError> {
    read_dir_with(dir, &ReadLimits::default())
}

/// Reads and checks the model directory at `dir`; no file is read past its cap in `limits`,
/// and the forest is checked against them before it is used.
///
/// # Errors
/// A specific [`ArtifactError`]: missing or oversized files, another flavor, a signature that
/// does not name the six stats, or a `model.json` that does not load.
pub fn read_dir_with(dir: &Path, limits: &ReadLimits) -> Result<ModelDir, ArtifactError> {
    let mlmodel_path = dir.join("MLmodel");
    let small = limits.max_file_bytes;
    let bad = |message: String| ArtifactError::MlModel {
        path: mlmodel_path.clone(),
        message,
    };
    let mlmodel = MlModel::read(dir, limits)?;
    if !mlmodel.flavors.contains_key("smartcore") && mlmodel.flavors.contains_key("sklearn") {
        return read_sklearn(dir, limits, mlmodel);
    }
    let flavor: SmartcoreFlavor =
        mlmodel
            .flavor("smartcore")
            .map_err(bad)?
            .ok_or_else(|| ArtifactError::NotSmartcore {
                path: mlmodel_path.clone(),
                flavors: mlmodel
                    .flavors
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    if flavor.model_file.contains("..") || Path::new(&flavor.model_file).is_absolute() {
        return Err(bad(format!(
            "model_file '{}' must be a plain relative name",
            flavor.model_file
        )));
    }
    let model_path = dir.join(&flavor.model_file);
    let bytes = read_required(&model_path, limits.max_model_bytes, "max_model_bytes")?;
    let model: Model = ForestModel::from_json(&bytes, limits)
        .map_err(|cause| ArtifactError::Model {
            path: model_path.clone(),
            cause: cause.into(),
        })?
        .into();
    if let Some(names) = mlmodel.input_names().map_err(bad)? {
        // An unnamed column shows as "" and never matches.
        let names: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("")).collect();
        if names != model.input_features() {
            return Err(bad(format!(
                "signature inputs {names:?} differ from the model's {:?}",
                model.input_features()
            )));
        }
    }
    let input_example = read_example(&dir.join("input_example.json"), &model, small)?;
    model
        .self_check(&input_example)
        .map_err(|cause| ArtifactError::Model {
            path: model_path,
            cause,
        })?;
    let info = ModelInfo {
        metrics: read_optional_json(&dir.join("metrics.json"), small)?,
        feature_importance: read_optional_json(&dir.join("feature_importance.json"), small)?,
        ..ModelInfo::of(
            (mlmodel.model_uuid, mlmodel.utc_time_created, mlmodel.run_id),
            "smartcore",
        )
    };
    Ok(ModelDir {
        model,
        info,
        input_example,
        background: read_background(dir, small)?,
        profile: read_profile(dir, small)?,
    })
}

/// The `sklearn` flavor (see `legendary_sklearn`); read when there is no `smartcore` one.
/// MLmodel's `model_uuid`, `utc_time_created` and `run_id`.
type MlModelIds = (Option<String>, Option<String>, Option<String>);

impl ModelInfo {
    /// What the MLmodel file says (its uuid, creation time and run), for a model of
    /// `flavor`; metrics, importances and the scikit-learn details are the flavor reader's
    /// to add.
    fn of(mlmodel: MlModelIds, flavor: &str) -> Self {
        let (model_uuid, utc_time_created, run_id) = mlmodel;
        Self {
            model_uuid: model_uuid.unwrap_or_default(),
            utc_time_created: utc_time_created.unwrap_or_default(),
            run_id,
            metrics: None,
            feature_importance: None,
            flavor: flavor.to_owned(),
            sklearn: None,
        }
    }
}

fn read_sklearn(
    dir: &Path,
    limits: &ReadLimits,
    mlmodel: MlModel,
) -> Result<ModelDir, ArtifactError> {
    let read = super::sklearn_dir::read(dir, limits, &mlmodel)?;
    let sklearn = SklearnInfo {
        estimator: read.forest.class.name().to_owned(),
        sklearn_version: read.sklearn_version.clone(),
        serialization_format: read.serialization_format.clone(),
    };
    let model_path = dir.join(read.file_name.as_str());
    // The smartcore copy is checked against the walk on generated rows as it is built, so
    // MLflow's input example (which may name other columns than the six stats) is not read.
    let model = Model::from_sklearn(read);
    model
        .self_check(&[])
        .map_err(|cause| ArtifactError::Model {
            path: model_path,
            cause,
        })?;
    let info = ModelInfo {
        sklearn: Some(sklearn),
        ..ModelInfo::of(
            (mlmodel.model_uuid, mlmodel.utc_time_created, mlmodel.run_id),
            "sklearn",
        )
    };
    Ok(ModelDir {
        model,
        info,
        input_example: Vec::new(),
        background: read_background(dir, limits.max_file_bytes)?,
        profile: read_profile(dir, limits.max_file_bytes)?,
    })
}

#[derive(Deserialize)]
struct Example {
    columns: Vec<String>,
    data: Vec<Vec<f64>>,
}

fn read_example(path: &Path, model: &Model, limit: u64) -> Result<Vec<[f64; 6]>, ArtifactError> {
    let bad = |message: String| ArtifactError::MlModel {
        path: path.to_path_buf(),
        message,
    };
    let Some(bytes) = read_capped(path, limit, "max_file_bytes")? else {
        return Ok(Vec::new());
    };
    let example: Example = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("not a split-oriented example: {e}")))?;
    let positions: Vec<usize> = model
        .input_features()
        .iter()
        .map(|f| {
            example
                .columns
                .iter()
                .position(|c| c == f)
                .ok_or_else(|| bad(format!("the example has no column '{f}'")))
        })
        .collect::<Result<_, _>>()?;
    example
        .data
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut out = [0.0; 6];
            for (slot, &p) in out.iter_mut().zip(&positions) {
                *slot = *row
                    .get(p)
                    .ok_or_else(|| bad(format!("row {i} is too short")))?;
            }
            Ok(out)
        })
        .collect()
}

fn read_optional_json(path: &Path, limit: u64) -> Result<Option<serde_json::Value>, ArtifactError> {
    let Some(bytes) = read_capped(path, limit, "max_file_bytes")? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ArtifactError::MlModel {
            path: path.to_path_buf(),
            message: format!("not JSON: {e}"),
        })
}

/// The stored monitoring profile, when the directory has one.
fn read_profile(dir: &Path, limit: u64) -> Result<Option<crate::monitor::Profile>, ArtifactError> {
    let path = dir.join(crate::monitor::PROFILE_FILE);
    let Some(bytes) = read_capped(&path, limit, "max_file_bytes")? else {
        return Ok(None);
    };
    crate::monitor::Profile::from_json(&bytes)
        .map(Some)
        .map_err(|message| ArtifactError::MlModel { path, message })
}

/// The stored explanation background, when the directory has one.
fn read_background(dir: &Path, limit: u64) -> Result<Option<super::Background>, ArtifactError> {
    let path = dir.join(super::BACKGROUND_FILE);
    let Some(bytes) = read_capped(&path, limit, "max_file_bytes")? else {
        return Ok(None);
    };
    super::Background::from_json(&bytes)
        .map(Some)
        .map_err(|message| ArtifactError::MlModel { path, message })
}
