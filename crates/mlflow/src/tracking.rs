//! Tracking calls: experiments, runs, params/metrics/tags (`runs/log-batch`), datasets
//! (`runs/log-inputs`), run status and tags.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::json;

use crate::client::MlflowClient;
use crate::error::MlflowError;
use crate::wire::{self, DatasetInput, KeyValue, Metric};

/// MLflow's per-request limits for `runs/log-batch` (also 1000 entities in total).
const MAX_PARAMS: usize = 100;
const MAX_TAGS: usize = 100;
const MAX_ENTITIES: usize = 1000;

/// Milliseconds since the Unix epoch, as MLflow timestamps are.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Still going.
    Running,
    /// Completed.
    Finished,
    /// Failed.
    Failed,
    /// Stopped on purpose.
    Killed,
}

impl RunStatus {
    /// As MLflow spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
        }
    }
}

/// What to create a run with. [`NewRun::new`] fills the usual system tags' inputs.
#[derive(Clone, Debug, Default)]
pub struct NewRun {
    /// The experiment (see [`MlflowClient::get_or_create_experiment`]).
    pub experiment_id: String,
    /// Shown in the UI; MLflow invents one when absent.
    pub run_name: Option<String>,
    /// `user_id` and the `mlflow.user` tag.
    pub user: Option<String>,
    /// `mlflow.source.name`, e.g. `legendary train`.
    pub source_name: Option<String>,
    /// `mlflow.source.type`: `LOCAL`, `JOB`, `PROJECT`, `NOTEBOOK`.
    pub source_type: Option<String>,
    /// `mlflow.source.git.commit`.
    pub git_commit: Option<String>,
    /// `mlflow.parentRunId`, for child runs (e.g. one per sweep point).
    pub parent_run_id: Option<String>,
    /// More tags.
    pub tags: Vec<KeyValue>,
    /// Start time in ms (now when absent).
    pub start_time: Option<i64>,
}

impl NewRun {
    /// A run in `experiment_id` from a local `legendary` process (set `user` for "Created by").
    pub fn new(experiment_id: impl Into<String>) -> Self {
        Self {
            experiment_id: experiment_id.into(),
            source_name: Some(env!("CARGO_PKG_NAME").to_owned()),
            source_type: Some("LOCAL".to_owned()),
            ..Self::default()
        }
    }

    fn system_tags(&self) -> Vec<KeyValue> {
        let system = [
            ("mlflow.user", &self.user),
            ("mlflow.source.name", &self.source_name),
            ("mlflow.source.type", &self.source_type),
            ("mlflow.source.git.commit", &self.git_commit),
            ("mlflow.parentRunId", &self.parent_run_id),
            ("mlflow.runName", &self.run_name),
        ];
        let mut tags: Vec<KeyValue> = system
            .into_iter()
            .filter_map(|(key, value)| {
                value
                    .as_ref()
                    .map(|value| KeyValue::new(key, value.as_str()))
            })
            .collect();
        tags.extend(self.tags.iter().cloned());
        tags
    }
}

/// A dataset input built the way the Python client logs `mlflow.log_input(..., context=...)`.
pub fn dataset_input(dataset: wire::Dataset, context: &str) -> DatasetInput {
    DatasetInput {
        tags: vec![KeyValue::new("mlflow.data.context", context)],
        dataset,
    }
}

#[derive(Serialize)]
struct LogBatch<'a> {
    run_id: &'a str,
    params: &'a [KeyValue],
    metrics: &'a [Metric],
    tags: &'a [KeyValue],
}

impl MlflowClient {
    /// The id of experiment `name`, creating it if missing (a concurrent creation is fine).
    ///
    /// # Errors
    /// [`MlflowError::ExperimentDeleted`] if it exists but is deleted; API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn get_or_create_experiment(&self, name: &str) -> Result<String, MlflowError> {
        if let Some(id) = self.experiment_id_by_name(name).await? {
            return Ok(id);
        }
        let created: Result<wire::CreateExperimentResponse, _> = self
            .post("experiments/create", &json!({ "name": name }))
            .await;
        match created {
            Ok(created) => Ok(created.experiment_id),
            // Someone else created it between our two calls.
            Err(error) if error.error_code() == Some("RESOURCE_ALREADY_EXISTS") => {
                self.experiment_id_by_name(name).await?.ok_or(error)
            }
            Err(error) => Err(error),
        }
    }

    async fn experiment_id_by_name(&self, name: &str) -> Result<Option<String>, MlflowError> {
        let found: Result<wire::GetExperimentResponse, _> = self
            .get("experiments/get-by-name", &[("experiment_name", name)])
            .await;
        match found {
            Ok(found) if found.experiment.lifecycle_stage == "deleted" => {
                Err(MlflowError::ExperimentDeleted {
                    name: name.to_owned(),
                })
            }
            Ok(found) => Ok(Some(found.experiment.experiment_id)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Creates a run with the system tags MLflow's Python client sets.
    ///
    /// # Errors
    /// API and transport errors (e.g. an unknown experiment id).
    #[tracing::instrument(skip_all, fields(experiment_id = %run.experiment_id), err(level = "warn"))]
    pub async fn create_run(&self, run: &NewRun) -> Result<wire::RunInfo, MlflowError> {
        let body = json!({
            "experiment_id": run.experiment_id,
            "user_id": run.user.clone().unwrap_or_default(),
            "run_name": run.run_name.clone().unwrap_or_default(),
            "start_time": run.start_time.unwrap_or_else(now_ms),
            "tags": run.system_tags(),
        });
        let created: wire::RunResponse = self.post("runs/create", &body).await?;
        Ok(created.run.info)
    }

    /// The experiment with id `experiment_id` (its artifact location, among others).
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn get_experiment(
        &self,
        experiment_id: &str,
    ) -> Result<wire::Experiment, MlflowError> {
        let found: wire::GetExperimentResponse = self
            .get("experiments/get", &[("experiment_id", experiment_id)])
            .await?;
        Ok(found.experiment)
    }

    /// The run with its params, metrics, tags and datasets.
    ///
    /// # Errors
    /// [`MlflowError::RunNotFound`]; API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn get_run(&self, run_id: &str) -> Result<wire::Run, MlflowError> {
        match self
            .get::<wire::RunResponse>("runs/get", &[("run_id", run_id)])
            .await
        {
            Ok(found) => Ok(found.run),
            Err(error) if error.is_not_found() => Err(MlflowError::RunNotFound {
                run_id: run_id.to_owned(),
            }),
            Err(error) => Err(error),
        }
    }

    /// Logs params (string values), metrics and tags, split into as many `runs/log-batch`
    /// calls as MLflow's limits need (100 params, 100 tags, 1000 entities per call).
    ///
    /// # Errors
    /// API errors, e.g. changing a param's value (`INVALID_PARAMETER_VALUE`).
    #[tracing::instrument(skip_all, fields(run_id, params = params.len(), metrics = metrics.len(), tags = tags.len()), err(level = "warn"))]
    pub async fn log_batch(
        &self,
        run_id: &str,
        params: &[KeyValue],
        metrics: &[Metric],
        tags: &[KeyValue],
    ) -> Result<(), MlflowError> {
        for (params, metrics, tags) in batches(params, metrics, tags) {
            let body = LogBatch {
                run_id,
                params,
                metrics,
                tags,
            };
            let _: wire::Empty = self.post("runs/log-batch", &body).await?;
        }
        Ok(())
    }

    /// Logs datasets used by the run (`source`, `schema`, `profile` are JSON-encoded strings).
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip_all, fields(run_id, datasets = datasets.len()), err(level = "warn"))]
    pub async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
    ) -> Result<(), MlflowError> {
        let body = json!({ "run_id": run_id, "datasets": datasets });
        let _: wire::Empty = self.post("runs/log-inputs", &body).await?;
        Ok(())
    }

    /// Sets a run's status; a terminal status also records `end_time` (now when `None`).
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<wire::RunInfo, MlflowError> {
        let mut body = json!({ "run_id": run_id, "status": status.as_str() });
        if status != RunStatus::Running {
            body["end_time"] = json!(end_time.unwrap_or_else(now_ms));
        }
        let updated: wire::UpdateRunResponse = self.post("runs/update", &body).await?;
        Ok(updated.run_info)
    }

    /// Sets (or overwrites) one run tag.
    ///
    /// # Errors
    /// API and transport errors.
    #[tracing::instrument(skip(self, value), err(level = "warn"))]
    pub async fn set_run_tag(
        &self,
        run_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), MlflowError> {
        let body = json!({ "run_id": run_id, "key": key, "value": value });
        let _: wire::Empty = self.post("runs/set-tag", &body).await?;
        Ok(())
    }
}

/// At most this many runs per `runs/search` page (MLflow's own maximum is 50,000).
const SEARCH_PAGE: usize = 1000;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct SearchRuns {
    runs: Vec<wire::Run>,
    next_page_token: Option<String>,
}

impl MlflowClient {
    /// The runs of `experiment_id` that match `filter` (MLflow's search syntax, e.g.
    /// ``tags.`legendary.sweep.id` = 'abc'``), following pages up to `limit` runs so that a
    /// huge or looping answer cannot hold memory or time without bound.
    ///
    /// # Errors
    /// API and transport errors; [`MlflowError::TooManyRuns`] past `limit`.
    #[tracing::instrument(skip(self), err(level = "warn"))]
    pub async fn search_runs(
        &self,
        experiment_id: &str,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<wire::Run>, MlflowError> {
        let mut runs = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut body = json!({
                "experiment_ids": [experiment_id],
                "filter": filter,
                "max_results": SEARCH_PAGE,
            });
            if let Some(token) = &page_token {
                body["page_token"] = json!(token);
            }
            let page: SearchRuns = self.post("runs/search", &body).await?;
            runs.extend(page.runs);
            if runs.len() > limit {
                return Err(MlflowError::TooManyRuns {
                    filter: filter.to_owned(),
                    limit,
                });
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(token) => page_token = Some(token),
                None => return Ok(runs),
            }
        }
    }
}

/// Splits into `(params, metrics, tags)` chunks within MLflow's log-batch limits.
fn batches<'a>(
    mut params: &'a [KeyValue],
    mut metrics: &'a [Metric],
    mut tags: &'a [KeyValue],
) -> Vec<(&'a [KeyValue], &'a [Metric], &'a [KeyValue])> {
    let mut out = Vec::new();
    while !(params.is_empty() && metrics.is_empty() && tags.is_empty()) {
        let (p, rest_p) = params.split_at(params.len().min(MAX_PARAMS));
        let (t, rest_t) = tags.split_at(tags.len().min(MAX_TAGS));
        let room = MAX_ENTITIES - p.len() - t.len();
        let (m, rest_m) = metrics.split_at(metrics.len().min(room));
        out.push((p, m, t));
        (params, metrics, tags) = (rest_p, rest_m, rest_t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(n: usize) -> Vec<KeyValue> {
        (0..n)
            .map(|i| KeyValue::new(format!("k{i}"), i.to_string()))
            .collect()
    }

    fn metrics(n: usize) -> Vec<Metric> {
        (0..n)
            .map(|i| Metric {
                key: "loss".to_owned(),
                value: 1.0,
                timestamp: 1,
                step: i64::try_from(i).unwrap(),
                model_id: None,
            })
            .collect()
    }

    #[test]
    fn batches_respect_mlflow_limits_and_keep_everything() {
        let (p, m, t) = (kv(250), metrics(2500), kv(120));
        let chunks = batches(&p, &m, &t);
        for (p, m, t) in &chunks {
            assert!(p.len() <= 100 && t.len() <= 100 && m.len() <= 1000);
            assert!(p.len() + m.len() + t.len() <= 1000);
        }
        assert_eq!(chunks.iter().map(|c| c.0.len()).sum::<usize>(), 250);
        assert_eq!(chunks.iter().map(|c| c.1.len()).sum::<usize>(), 2500);
        assert_eq!(chunks.iter().map(|c| c.2.len()).sum::<usize>(), 120);
        assert_eq!(chunks.len(), 3);
    }

    #[test]
    fn nothing_to_log_makes_no_call_and_a_little_makes_one() {
        assert!(batches(&[], &[], &[]).is_empty());
        assert_eq!(batches(&kv(2), &metrics(2), &[]).len(), 1);
    }

    #[test]
    fn system_tags_include_parent_and_commit_only_when_given() {
        let mut run = NewRun::new("1");
        run.user = Some("ash".to_owned());
        let keys = |run: &NewRun| {
            run.system_tags()
                .into_iter()
                .map(|t| t.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&run),
            ["mlflow.user", "mlflow.source.name", "mlflow.source.type"]
        );
        run.git_commit = Some("abc".to_owned());
        run.parent_run_id = Some("parent".to_owned());
        assert!(keys(&run).contains(&"mlflow.parentRunId".to_owned()));
        assert!(keys(&run).contains(&"mlflow.source.git.commit".to_owned()));
    }
}
