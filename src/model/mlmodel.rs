//! Writing `MLmodel`: the `smartcore` flavor `legendary serve` reads, the `python_function`
//! flavor MLflow's own tools load (see [`super::pyfunc`]), the signature and input example;
//! and, once the directory is logged, what MLflow's `log_model` records about where it went.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::read::read_required;
use super::{ArtifactError, Model, ReadLimits, SMARTCORE_VERSION};

/// `MLmodel`, whichever flavor: read once per directory, within `max_file_bytes`, by
/// [`MlModel::read`]; written by [`MlModel::for_model`] and [`MlModel::to_yaml`]; amended by
/// [`record_provenance`]. Keys this build does not know are kept as they were (`rest`), so a
/// file read and written back loses nothing.
#[derive(Deserialize, Serialize)]
pub(super) struct MlModel {
    #[serde(default)]
    pub(super) flavors: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) model_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) utc_time_created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_yaml_ng::Value>,
}

/// MLflow's signature: JSON column specs inside YAML strings, as its own writer stores them.
#[derive(Deserialize, Serialize)]
struct Signature {
    inputs: Option<String>,
    #[serde(default)]
    outputs: Option<String>,
    #[serde(default)]
    params: Option<serde_yaml_ng::Value>,
}

/// One column of a column-based signature; unnamed columns are allowed (a numpy input).
#[derive(Deserialize)]
struct InputColumn {
    name: Option<String>,
}

/// The `python_function` flavor MLflow's own tools load (see [`super::pyfunc`]).
#[derive(Serialize)]
struct PyfuncFlavor {
    code: &'static str,
    data: &'static str,
    env: PyfuncEnv,
    loader_module: &'static str,
}

#[derive(Serialize)]
struct PyfuncEnv {
    conda: &'static str,
    virtualenv: &'static str,
}

/// The `smartcore` flavor `legendary serve` reads: what the model file is and how it
/// decides, for people and tools reading `MLmodel`.
#[derive(Serialize)]
struct SmartcoreFlavor<'a> {
    classes: [bool; 2],
    decision_threshold: f64,
    estimator: &'static str,
    feature_set: String,
    forest_features: Vec<String>,
    input_features: &'a [String],
    model_file: &'static str,
    n_trees: usize,
    smartcore_version: &'static str,
}

/// `saved_input_example_info`, as MLflow writes it for a pandas example.
#[derive(Serialize)]
struct InputExampleInfo {
    artifact_path: &'static str,
    pandas_orient: &'static str,
    serving_input_path: &'static str,
    r#type: &'static str,
}

impl MlModel {
    /// Reads `dir/MLmodel` within `limits.max_file_bytes`.
    ///
    /// # Errors
    /// [`ArtifactError::MlModel`] for a file that is not UTF-8 or not MLmodel YAML; I/O and
    /// size errors naming the file.
    pub(super) fn read(dir: &Path, limits: &ReadLimits) -> Result<Self, ArtifactError> {
        let path = dir.join("MLmodel");
        let bytes = read_required(&path, limits.max_file_bytes, "max_file_bytes")?;
        let text = std::str::from_utf8(&bytes).map_err(|e| ArtifactError::MlModel {
            path: path.clone(),
            message: format!("not UTF-8: {e}"),
        })?;
        parse(text).map_err(|message| ArtifactError::MlModel { path, message })
    }

    /// The flavor `name`, deserialised; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// What the flavor's fields lack, as `flavors.<name>: …`.
    pub(super) fn flavor<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, String> {
        self.flavors
            .get(name)
            .map(|v| serde_yaml_ng::from_value(v.clone()))
            .transpose()
            .map_err(|e| format!("flavors.{name}: {e}"))
    }

    /// The signature's input column names (`None` for an unnamed column); `Ok(None)` without
    /// a signature.
    ///
    /// # Errors
    /// When `signature.inputs` is not a column list.
    pub(super) fn input_names(&self) -> Result<Option<Vec<Option<String>>>, String> {
        let Some(inputs) = self.signature.as_ref().and_then(|s| s.inputs.as_deref()) else {
            return Ok(None);
        };
        let cols: Vec<InputColumn> = serde_json::from_str(inputs)
            .map_err(|e| format!("signature.inputs is not a column list: {e}"))?;
        Ok(Some(cols.into_iter().map(|c| c.name).collect()))
    }
}

/// Where a model directory was logged, as MLflow's own `log_model` records it in `MLmodel`
/// (`mlflow.models.get_model_info` and the pyfunc loader read these fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The training run.
    pub run_id: String,
    /// The MLflow 3 logged model (`m-…`); `None` on servers without logged models.
    pub model_id: Option<String>,
    /// The model's artifact location (MLflow 3), or its path in the run (`model`).
    pub artifact_path: String,
    /// The tracking server's MLflow version, when it says.
    pub mlflow_version: Option<String>,
}

/// MLflow's column-based signature for the six stats: `double`, required, as
/// `mlflow.sklearn.log_model` writes it for float columns. `double` because every path scores
/// fractional stats (`legendary serve` does, and a `long` signature made pyfunc and Spark
/// refuse float columns); MLflow converts int32 columns (Spark's inferred CSV integers) to
/// it, and refuses pandas' int64 like any `double` model's (`df.astype(float)`).
fn signature_inputs(model: &Model) -> String {
    /// One column, its fields in the order MLflow writes them.
    #[derive(serde::Serialize)]
    struct ColSpec<'a> {
        r#type: &'a str,
        name: &'a str,
        required: bool,
    }
    let cols: Vec<ColSpec<'_>> = model
        .input_features()
        .iter()
        .map(|name| ColSpec {
            r#type: "double",
            name,
            required: true,
        })
        .collect();
    // MLflow writes this JSON with Python's separators; a list of objects always serialises.
    legendary_scoring::python_json::to_string(&cols).unwrap_or_default()
}

impl MlModel {
    /// `MLmodel` of a freshly written directory (not yet logged: no run, no model id).
    ///
    /// # Errors
    /// A flavor that does not serialise (it always does: plain strings and numbers).
    pub(super) fn for_model(model: &Model) -> Result<Self, serde_yaml_ng::Error> {
        // MLflow's `utc_time_created`: `2026-11-25 12:29:00.875896`.
        let created = humantime::format_rfc3339_micros(std::time::SystemTime::now())
            .to_string()
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_owned();
        let pyfunc = PyfuncFlavor {
            code: super::pyfunc::CODE_DIR,
            data: "model.json",
            env: PyfuncEnv {
                conda: "conda.yaml",
                virtualenv: "python_env.yaml",
            },
            loader_module: super::pyfunc::LOADER_MODULE,
        };
        let smartcore = SmartcoreFlavor {
            classes: [false, true],
            decision_threshold: model.threshold(),
            estimator: "RandomForestClassifier",
            feature_set: model.feature_set().to_string(),
            forest_features: model.forest_features(),
            input_features: model.input_features(),
            model_file: "model.json",
            n_trees: model.n_trees(),
            smartcore_version: SMARTCORE_VERSION,
        };
        let example = InputExampleInfo {
            artifact_path: "input_example.json",
            pandas_orient: "split",
            serving_input_path: "serving_input_example.json",
            r#type: "dataframe",
        };
        Ok(Self {
            flavors: BTreeMap::from([
                (
                    "python_function".to_owned(),
                    serde_yaml_ng::to_value(pyfunc)?,
                ),
                ("smartcore".to_owned(), serde_yaml_ng::to_value(smartcore)?),
            ]),
            model_uuid: Some(uuid::Uuid::new_v4().simple().to_string()),
            utc_time_created: Some(created),
            run_id: None,
            signature: Some(Signature {
                inputs: Some(signature_inputs(model)),
                // A boolean column, as `mlflow.sklearn.log_model` writes a classifier's
                // output: `spark_udf` then gives a boolean column without `result_type`.
                outputs: Some(r#"[{"type": "boolean", "required": true}]"#.to_owned()),
                // The loader's one parameter; pyfunc passes only the params declared here.
                params: Some(serde_yaml_ng::Value::String(
                    r#"[{"name": "predict_method", "default": "predict", "shape": null, "type": "string"}]"#
                        .to_owned(),
                )),
            }),
            rest: BTreeMap::from([
                (
                    "legendary_version".to_owned(),
                    env!("CARGO_PKG_VERSION").into(),
                ),
                (
                    "saved_input_example_info".to_owned(),
                    serde_yaml_ng::to_value(example)?,
                ),
            ]),
        })
    }

    /// The YAML text.
    ///
    /// # Errors
    /// A value YAML cannot hold (none of ours).
    pub(super) fn to_yaml(&self) -> Result<String, serde_yaml_ng::Error> {
        serde_yaml_ng::to_string(self)
    }
}

/// Adds where the directory at `dir` was logged to its `MLmodel`, as MLflow's `log_model`
/// does: `run_id`, `artifact_path`, `mlflow_version`, and on MLflow 3 `model_id` (which
/// is also the `model_uuid` there). Everything else in the file is kept.
///
/// # Errors
/// I/O failures, or an `MLmodel` that is not a YAML mapping.
pub fn record_provenance(dir: &Path, provenance: &Provenance) -> Result<(), ArtifactError> {
    let path = dir.join("MLmodel");
    let bad = |message: String| ArtifactError::MlModel {
        path: path.clone(),
        message,
    };
    let io = |cause| ArtifactError::Io {
        path: path.clone(),
        cause,
    };
    let text = std::fs::read_to_string(&path).map_err(io)?;
    let mut mlmodel: MlModel = parse(&text).map_err(bad)?;
    mlmodel.run_id = Some(provenance.run_id.clone());
    let mut set = |key: &str, value: &str| {
        mlmodel
            .rest
            .insert(key.to_owned(), serde_yaml_ng::Value::from(value));
    };
    set("artifact_path", &provenance.artifact_path);
    if let Some(version) = &provenance.mlflow_version {
        set("mlflow_version", version);
    }
    if let Some(id) = &provenance.model_id {
        set("model_id", id);
        mlmodel.model_uuid = Some(id.clone());
    }
    let yaml = mlmodel.to_yaml().map_err(|e| bad(e.to_string()))?;
    std::fs::write(&path, yaml).map_err(io)
}

/// Parses an `MLmodel` file. YAML anchors and aliases are refused before the YAML parser sees
/// the text: MLflow never writes them, and an alias repeated inside repeated aliases turns a
/// few kilobytes into gigabytes of values ("billion laughs").
///
/// # Errors
/// A message: an anchor or alias (where), or what the YAML parser said.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    if let Some(line) = anchor_or_alias(text) {
        return Err(format!(
            "line {line} uses a YAML anchor or alias (`&name` / `*name`), which MLflow never writes; refused"
        ));
    }
    serde_yaml_ng::from_str(text).map_err(|e| format!("not valid MLmodel YAML: {e}"))
}

/// The line (from 1) of the first anchor (`&name`) or alias (`*name`) outside quotes and
/// comments: a `&` or `*` that starts a token and is followed by a name character. Quoted
/// strings may span lines (MLflow wraps its long signature strings), so quotes are followed
/// across them.
fn anchor_or_alias(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = ' ';
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
            comment = false;
            prev = ' ';
            continue;
        }
        let starts_token = prev.is_whitespace() || "[{,:-?".contains(prev);
        match quote {
            _ if comment => {}
            // Inside double quotes a backslash escapes the next character.
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && prev.is_whitespace() => comment = true,
            None if (c == '\'' || c == '"') && starts_token => quote = Some(c),
            None if (c == '&' || c == '*')
                && starts_token
                && chars
                    .peek()
                    .is_some_and(|n| !n.is_whitespace() && !",[]{}".contains(*n)) =>
            {
                return Some(line);
            }
            None => {}
        }
        prev = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_is_added_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let original = "flavors:\n  smartcore:\n    model_file: model.json\nmodel_uuid: abc\n\
                        signature:\n  inputs: '[{\"name\": \"hp\"}]'\n";
        std::fs::write(dir.path().join("MLmodel"), original).unwrap_or_else(|e| panic!("{e}"));
        let provenance = Provenance {
            run_id: "r1".to_owned(),
            model_id: Some("m-1".to_owned()),
            artifact_path: "mlflow-artifacts:/1/models/m-1/artifacts".to_owned(),
            mlflow_version: Some("3.17.2".to_owned()),
        };
        record_provenance(dir.path(), &provenance).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(dir.path().join("MLmodel")).unwrap_or_default();
        let read: BTreeMap<String, serde_yaml_ng::Value> =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let get = |k: &str| read.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        assert_eq!(get("run_id"), "r1");
        assert_eq!(get("model_id"), "m-1");
        assert_eq!(get("model_uuid"), "m-1");
        assert_eq!(get("mlflow_version"), "3.17.2");
        assert_eq!(get("artifact_path"), provenance.artifact_path);
        assert!(text.contains("model_file: model.json"), "{text}");
        assert!(text.contains("[{\"name\": \"hp\"}]"), "{text}");
    }

    #[test]
    fn anchors_and_aliases_are_refused_and_quoted_text_is_not() {
        let laughs = "a: &a [x, x]\nb: &b [*a, *a]\nflavors: {}\n";
        let e = parse::<serde_yaml_ng::Value>(laughs)
            .err()
            .unwrap_or_default();
        assert!(e.contains("line 1") && e.contains("anchor"), "{e}");
        let alias_only = "flavors:\n  x: 1\n  y: *x\n";
        assert!(parse::<serde_yaml_ng::Value>(alias_only).is_err());
        // What MLflow writes: quoted JSON across lines, `*` and `&` inside text and comments.
        let fine = "signature:\n  inputs: '[{\"type\": \"double\", \"name\": \"a*b\"},\n    {\"name\": \"&c\"}]'\nnote: \"R&D *and* \\\" &x\"\n# *not an alias\nrun: x&y # &z\n";
        let v: serde_yaml_ng::Value = parse(fine).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["run"].as_str(), Some("x&y"));
    }
}
