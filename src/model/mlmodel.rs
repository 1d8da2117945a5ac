//! Writing `MLmodel`: the `smartcore` flavor `legendary serve` reads, the `python_function`
//! flavor MLflow's own tools load (see [`super::pyfunc`]), the signature and input example;
//! and, once the directory is logged, what MLflow's `log_model` records about where it went.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::read::read_required;
use super::{ArtifactError, Model, ReadLimits, SMARTCORE_VERSION};

/// `MLmodel` as this build reads it, whichever flavor: read once per directory, within
/// `max_file_bytes`, by [`MlModel::read`].
#[derive(Deserialize)]
pub(super) struct MlModel {
    #[serde(default)]
    pub(super) flavors: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default)]
    pub(super) model_uuid: Option<String>,
    #[serde(default)]
    pub(super) utc_time_created: Option<String>,
    #[serde(default)]
    pub(super) run_id: Option<String>,
    #[serde(default)]
    signature: Option<Signature>,
}

#[derive(Deserialize)]
struct Signature {
    inputs: Option<String>,
}

/// One column of a column-based signature; unnamed columns are allowed (a numpy input).
#[derive(Deserialize)]
struct InputColumn {
    name: Option<String>,
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

/// MLflow's column-based signature for the six stats (`long`, required).
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
            r#type: "long",
            name,
            required: true,
        })
        .collect();
    // MLflow writes this JSON with Python's separators; a list of objects always serialises.
    legendary_scoring::python_json::to_string(&cols).unwrap_or_default()
}

fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `MLmodel` of a freshly written directory (not yet logged: no run, no model id).
pub(super) fn yaml(model: &Model) -> String {
    let created = humantime::format_rfc3339_micros(std::time::SystemTime::now())
        .to_string()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_owned();
    let list = |names: &[String]| {
        names
            .iter()
            .map(|f| format!("    - {f}\n"))
            .collect::<String>()
    };
    format!(
        "flavors:\n  \
           python_function:\n    \
             code: {code}\n    \
             data: model.json\n    \
             env:\n      \
               conda: conda.yaml\n      \
               virtualenv: python_env.yaml\n    \
             loader_module: {loader}\n  \
           smartcore:\n    \
             classes:\n    - false\n    - true\n    \
             decision_threshold: {threshold}\n    \
             estimator: RandomForestClassifier\n    \
             feature_set: {set}\n    \
             forest_features:\n{features}    \
             input_features:\n{inputs}    \
             model_file: model.json\n    \
             n_trees: {trees}\n    \
             smartcore_version: {SMARTCORE_VERSION}\n\
         legendary_version: {version}\n\
         model_uuid: {uuid}\n\
         saved_input_example_info:\n  \
           artifact_path: input_example.json\n  \
           pandas_orient: split\n  \
           serving_input_path: serving_input_example.json\n  \
           type: dataframe\n\
         signature:\n  \
           inputs: {sig}\n  \
           outputs: '[{{\"type\": \"tensor\", \"tensor-spec\": {{\"dtype\": \"bool\", \"shape\": [-1]}}}}]'\n  \
           params: null\n\
         utc_time_created: {created}\n",
        code = super::pyfunc::CODE_DIR,
        loader = super::pyfunc::LOADER_MODULE,
        threshold = model.threshold(),
        set = model.feature_set(),
        features = list(&model.forest_features()),
        inputs = list(model.input_features()),
        trees = model.n_trees(),
        version = env!("CARGO_PKG_VERSION"),
        uuid = uuid::Uuid::new_v4().simple(),
        sig = yaml_quote(&signature_inputs(model)),
        created = yaml_quote(&created),
    )
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
    let mut fields: BTreeMap<String, serde_yaml_ng::Value> =
        serde_yaml_ng::from_str(&text).map_err(|e| bad(format!("not a YAML mapping: {e}")))?;
    let mut set = |key: &str, value: &str| {
        fields.insert(key.to_owned(), serde_yaml_ng::Value::from(value));
    };
    set("run_id", &provenance.run_id);
    set("artifact_path", &provenance.artifact_path);
    if let Some(version) = &provenance.mlflow_version {
        set("mlflow_version", version);
    }
    if let Some(id) = &provenance.model_id {
        set("model_id", id);
        set("model_uuid", id);
    }
    let yaml = serde_yaml_ng::to_string(&fields).map_err(|e| bad(e.to_string()))?;
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
