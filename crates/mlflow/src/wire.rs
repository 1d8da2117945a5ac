//! serde structs that mirror MLflow's REST JSON exactly (no logic).
//!
//! MLflow omits fields holding their default value and answers `{}` for empty messages, so every
//! response field is `#[serde(default)]`. Versions and ids are strings; timestamps are ms.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most entries of a list that can grow with use (a run's metrics, params and tags, search
/// results, an artifact listing): MLflow's own page sizes stay under it.
const MAX_ITEMS: usize = 100_000;

/// Most entries of a list that stays short or holds large items (aliases, versions, a run's
/// dataset inputs and model outputs).
const MAX_SMALL: usize = 10_000;

/// Deserialises a list of at most `N` items, refused at item `N + 1`: an answer is capped in
/// bytes (16 MiB), but `[{},{},…]` of empty objects becomes millions of structs of defaults,
/// each tens of times its three bytes. Every list of an answer goes through here.
///
/// # Errors
/// When the list is longer, or its items do not decode.
fn capped<'de, D, T, const N: usize>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Capped<T, const N: usize>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Capped<T, N> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {N} items")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                if items.len() == N {
                    return Err(A::Error::invalid_length(N + 1, &self));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
    deserializer.deserialize_seq(Capped::<T, N>(PhantomData))
}

/// An MLflow error body: `{"error_code", "message", "sqlstate", "error_class"}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    /// e.g. `RESOURCE_DOES_NOT_EXIST`.
    pub error_code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// A key/value pair: run params, run tags, model-version tags and dataset-input tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value (MLflow stores params and tags as strings).
    pub value: String,
}

impl KeyValue {
    /// A pair from anything string-like.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One metric value at a time and step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metric {
    /// The metric name.
    pub key: String,
    /// The value; NaN and infinities travel as `"NaN"`, `"Infinity"`, `"-Infinity"`.
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    /// Milliseconds since the epoch (required by the server).
    pub timestamp: i64,
    /// The training step.
    pub step: i64,
    /// MLflow 3: the logged model the value describes (shown on the model's page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

impl Metric {
    /// A value at `step`, logged at `timestamp` (ms; see `tracking::now_ms`).
    pub fn new(key: impl Into<String>, value: f64, timestamp: i64, step: i64) -> Self {
        Self {
            key: key.into(),
            value,
            timestamp,
            step,
            model_id: None,
        }
    }
}

/// An experiment.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Experiment {
    /// The id (a string of digits).
    pub experiment_id: String,
    /// The unique name.
    pub name: String,
    /// e.g. `mlflow-artifacts:/2`.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// `experiments/get-by-name` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GetExperimentResponse {
    /// The experiment.
    pub experiment: Experiment,
}

/// `experiments/create` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateExperimentResponse {
    /// The new id.
    pub experiment_id: String,
}

/// A run's metadata.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    /// The run id (32 hex characters).
    pub run_id: String,
    /// The experiment id.
    pub experiment_id: String,
    /// The run name.
    pub run_name: String,
    /// The user id sent at creation.
    pub user_id: String,
    /// `RUNNING`, `FINISHED`, `FAILED`, `KILLED` or `SCHEDULED`.
    pub status: String,
    /// Start, ms since the epoch.
    pub start_time: Option<i64>,
    /// End, ms since the epoch.
    pub end_time: Option<i64>,
    /// e.g. `mlflow-artifacts:/4/<run_id>/artifacts`.
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// A run's logged data.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunData {
    /// Latest value of each metric.
    #[serde(deserialize_with = "capped::<_, _, MAX_ITEMS>")]
    pub metrics: Vec<Metric>,
    /// Params.
    #[serde(deserialize_with = "capped::<_, _, MAX_ITEMS>")]
    pub params: Vec<KeyValue>,
    /// Tags, including the `mlflow.*` system tags.
    #[serde(deserialize_with = "capped::<_, _, MAX_ITEMS>")]
    pub tags: Vec<KeyValue>,
}

/// A dataset, as `runs/log-inputs` takes it and `runs/get` returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dataset {
    /// The dataset name.
    pub name: String,
    /// A short content hash (the Python client uses 8 hex characters).
    pub digest: String,
    /// e.g. `local`, `http`, `s3`.
    pub source_type: String,
    /// JSON-encoded string, e.g. `{"uri": "data/pokemon.csv"}`.
    pub source: String,
    /// JSON-encoded string, e.g. `{"mlflow_colspec": [...]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// JSON-encoded string, e.g. `{"num_rows": 800, "num_elements": 5600}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A dataset used by a run, with tags such as `mlflow.data.context`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetInput {
    /// Input tags (`mlflow.data.context` = `training`, `evaluation`, ...).
    #[serde(deserialize_with = "capped::<_, _, MAX_ITEMS>")]
    pub tags: Vec<KeyValue>,
    /// The dataset.
    pub dataset: Dataset,
}

/// A run's inputs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunInputs {
    /// Datasets logged with `runs/log-inputs`.
    #[serde(deserialize_with = "capped::<_, _, MAX_SMALL>")]
    pub dataset_inputs: Vec<DatasetInput>,
}

/// One model a run produced (MLflow 3 `runs/outputs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelOutput {
    /// The logged model, `m-…`.
    pub model_id: String,
    /// The step it was logged at.
    pub step: i64,
}

/// A run's outputs (MLflow 3; absent on MLflow 2).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunOutputs {
    /// Models logged as this run's outputs.
    #[serde(deserialize_with = "capped::<_, _, MAX_SMALL>")]
    pub model_outputs: Vec<ModelOutput>,
}

/// A run.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Params, metrics, tags.
    pub data: RunData,
    /// Datasets.
    pub inputs: RunInputs,
    /// Logged models.
    pub outputs: RunOutputs,
}

/// `runs/create` and `runs/get` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunResponse {
    /// The run.
    pub run: Run,
}

/// `runs/update` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateRunResponse {
    /// The updated metadata.
    pub run_info: RunInfo,
}

/// A registered model's version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ModelVersion {
    /// The registered model name.
    pub name: String,
    /// The version number, as a string (`"3"`).
    pub version: String,
    /// Creation, ms since the epoch.
    pub creation_timestamp: i64,
    /// Last update, ms since the epoch.
    pub last_updated_timestamp: i64,
    /// `None`, `Staging`, `Production` or `Archived`.
    pub current_stage: String,
    /// Free text.
    pub description: String,
    /// Where the files are: `mlflow-artifacts:/…`, `runs:/…` or `models:/m-…`.
    pub source: String,
    /// The run that produced it (may be empty).
    pub run_id: String,
    /// `READY`, `PENDING_REGISTRATION` or `FAILED_REGISTRATION`.
    pub status: String,
    /// Why registration failed, if it did.
    pub status_message: String,
    /// Aliases pointing here (absent from search results).
    #[serde(deserialize_with = "capped::<_, _, MAX_SMALL>")]
    pub aliases: Vec<String>,
    /// Version tags.
    #[serde(deserialize_with = "capped::<_, _, MAX_ITEMS>")]
    pub tags: Vec<KeyValue>,
}

/// An alias of a registered model.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisteredModelAlias {
    /// The alias.
    pub alias: String,
    /// The version it points to.
    pub version: String,
}

/// A registered model.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisteredModel {
    /// The unique name.
    pub name: String,
    /// Latest version of each stage (without aliases).
    #[serde(deserialize_with = "capped::<_, _, MAX_SMALL>")]
    pub latest_versions: Vec<ModelVersion>,
    /// All aliases.
    #[serde(deserialize_with = "capped::<_, _, MAX_SMALL>")]
    pub aliases: Vec<RegisteredModelAlias>,
}

/// `registered-models/get` and `registered-models/create` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisteredModelResponse {
    /// The model.
    pub registered_model: RegisteredModel,
}

/// Answers holding one `model_version`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ModelVersionResponse {
    /// The version.
    pub model_version: ModelVersion,
}

/// Answers holding a list of versions (`{}` when empty).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ModelVersionsResponse {
    /// The versions.
    #[serde(deserialize_with = "capped::<_, _, MAX_SMALL>")]
    pub model_versions: Vec<ModelVersion>,
    /// Present when there are more search results.
    pub next_page_token: Option<String>,
}

/// `model-versions/get-download-uri` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DownloadUriResponse {
    /// e.g. `mlflow-artifacts:/1/models/m-…/artifacts`.
    pub artifact_uri: String,
}

/// One entry of an artifact listing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FileInfo {
    /// Name relative to the listed directory.
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size in bytes (absent for directories).
    pub file_size: Option<i64>,
}

/// `mlflow-artifacts/artifacts?path=…` answer (`{}` when empty, missing or a file).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListArtifactsResponse {
    /// The entries.
    #[serde(deserialize_with = "capped::<_, _, MAX_ITEMS>")]
    pub files: Vec<FileInfo>,
}

/// A logged model's metadata (MLflow 3 `models:/m-…`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoggedModelInfo {
    /// `m-<32 hex>`.
    pub model_id: String,
    /// The experiment id.
    pub experiment_id: String,
    /// Where its files are: `mlflow-artifacts:/<exp>/models/<id>/artifacts` or an object store.
    pub artifact_uri: String,
    /// The run that logged it.
    pub source_run_id: String,
    /// `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
    pub status: String,
}

/// A logged model.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoggedModel {
    /// Metadata.
    pub info: LoggedModelInfo,
}

/// `logged-models/<id>` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoggedModelResponse {
    /// The model.
    pub model: LoggedModel,
}

/// Any answer whose content we ignore (`{}`).
#[derive(Debug, Default, Deserialize)]
pub struct Empty {}

/// Protobuf-JSON spells non-finite doubles as strings; serde_json would write `null`.
fn ser_f64<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        serializer.serialize_str("NaN")
    } else if value.is_infinite() {
        serializer.serialize_str(if *value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        })
    } else {
        serializer.serialize_f64(*value)
    }
}

fn de_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(f64),
        String(String),
    }
    match NumberOrString::deserialize(deserializer)? {
        NumberOrString::Number(value) => Ok(value),
        NumberOrString::String(text) => match text.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other.parse().map_err(serde::de::Error::custom),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_answers_decode_to_empty_lists() {
        let versions: ModelVersionsResponse = serde_json::from_str("{}").unwrap();
        assert!(versions.model_versions.is_empty());
        let files: ListArtifactsResponse = serde_json::from_str("{}").unwrap();
        assert!(files.files.is_empty());
    }

    #[test]
    fn a_flood_of_empty_objects_is_refused_at_the_cap_not_decoded() {
        // 16 MiB of `{},`: 5.6 million versions of defaults if decoded whole.
        let mut body = String::from(r#"{"model_versions":["#);
        body.push_str(&"{},".repeat(16 * 1024 * 1024 / 3 - 10));
        body.push_str("{}]}");
        assert!(body.len() <= 16 * 1024 * 1024);
        let e = serde_json::from_str::<ModelVersionsResponse>(&body)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("a list of at most 10000 items"), "{e}");
        let ok = format!(
            r#"{{"model_versions":[{}{{}}]}}"#,
            "{},".repeat(MAX_SMALL - 1)
        );
        let versions: ModelVersionsResponse = serde_json::from_str(&ok).unwrap();
        assert_eq!(versions.model_versions.len(), MAX_SMALL);
    }

    #[test]
    fn a_model_version_without_aliases_decodes() {
        let body = r#"{"model_version": {"name": "pokemon", "version": "3",
            "current_stage": "Production", "source": "models:/m-1", "run_id": "ac8", "status": "READY"}}"#;
        let version: ModelVersionResponse = serde_json::from_str(body).unwrap();
        assert_eq!(version.model_version.version, "3");
        assert!(version.model_version.aliases.is_empty());
    }

    #[test]
    fn non_finite_metrics_travel_as_protobuf_strings() {
        let metric = Metric::new("loss", f64::NAN, 1, 0);
        let json = serde_json::to_string(&metric).unwrap();
        assert_eq!(
            json,
            r#"{"key":"loss","value":"NaN","timestamp":1,"step":0}"#
        );
        let back: Metric = serde_json::from_str(&json).unwrap();
        assert!(back.value.is_nan());
        let finite: Metric = serde_json::from_str(r#"{"key":"a","value":0.985}"#).unwrap();
        assert_eq!(finite.value, 0.985);
    }
}
