//! A command's MLflow session: the server, the experiment its runs go to and who runs them,
//! found once per process. A command without a tracking server has no session (`None`), so
//! the optional connection is one `Option<Session>` instead of a client, an experiment id and
//! a user passed side by side.

use std::path::Path;

use crate::model::Model;
use crate::train::{HeldOut, Outcome};
use legendary_mlflow::tracking::{NewRun, RunStatus, now_ms};
use legendary_mlflow::wire::KeyValue;
use legendary_mlflow::{MlflowClient, MlflowError, TrackingConfig};

use super::publish::{PublishConfig, Published};
use super::{LoggedModel, LoggedRun, RunContext, dataset, files, git_commit, model};

/// MLflow's limit on a tag value (8000 since 2.x; 5000 stays within older servers too).
const MAX_TAG_CHARS: usize = 5000;

/// Where and as whom a command logs.
#[derive(Debug)]
pub(crate) struct Session {
    client: MlflowClient,
    experiment_id: String,
    experiment: String,
    user: Option<String>,
}

impl Session {
    /// Connects to the server and finds `experiment`, creating it if missing; runs are
    /// created as `user` ("Created by").
    ///
    /// # Errors
    /// A bad tracking configuration, a deleted experiment, API and transport errors.
    pub(crate) async fn open(
        tracking: &TrackingConfig,
        experiment: &str,
        user: Option<&str>,
    ) -> Result<Self, MlflowError> {
        let client = MlflowClient::new(tracking)?;
        let experiment_id = client.get_or_create_experiment(experiment).await?;
        Ok(Self {
            client,
            experiment_id,
            experiment: experiment.to_owned(),
            user: user.map(str::to_owned),
        })
    }

    /// The client, for calls that are not about the session's runs (searching, tagging).
    pub(crate) fn client(&self) -> &MlflowClient {
        &self.client
    }

    /// The experiment's id.
    pub(crate) fn experiment_id(&self) -> &str {
        &self.experiment_id
    }

    /// The experiment's name, for messages.
    pub(crate) fn experiment(&self) -> &str {
        &self.experiment
    }

    /// Starts a run (RUNNING) in the session's experiment, as its user.
    ///
    /// # Errors
    /// API and transport errors.
    pub(crate) async fn start_run(&self, ctx: &RunContext) -> Result<LoggedRun, MlflowError> {
        let mut new = NewRun::new(self.experiment_id.clone());
        new.run_name.clone_from(&ctx.run_name);
        new.parent_run_id.clone_from(&ctx.parent_run_id);
        new.user.clone_from(&self.user);
        new.git_commit = git_commit();
        new.tags.clone_from(&ctx.tags);
        new.start_time = Some(ctx.start_time.unwrap_or_else(now_ms));
        let info = self.client.create_run(&new).await?;
        Ok(LoggedRun {
            run_id: info.run_id,
            artifact_uri: info.artifact_uri,
            model: None,
        })
    }

    /// Logs a finished training into a new run and finishes it (see
    /// [`Session::finish_training`]).
    ///
    /// # Errors
    /// API and transport errors.
    pub(crate) async fn log_training(
        &self,
        ctx: &RunContext,
        outcome: &Outcome,
        model_dir: &Path,
    ) -> Result<LoggedRun, MlflowError> {
        let run = self.start_run(ctx).await?;
        self.finish_training(run, outcome, model_dir).await
    }

    /// Logs a finished training into `run` (started before it) and finishes it. On any
    /// failure the run is marked FAILED with the reason (see [`Session::fail_run`]) before
    /// the error is returned.
    ///
    /// # Errors
    /// API and transport errors.
    pub(crate) async fn finish_training(
        &self,
        mut run: LoggedRun,
        outcome: &Outcome,
        model_dir: &Path,
    ) -> Result<LoggedRun, MlflowError> {
        match self.log_into(&run, outcome, model_dir).await {
            Ok(model) => {
                run.model = Some(model);
                self.client
                    .update_run(&run.run_id, RunStatus::Finished, Some(now_ms()))
                    .await?;
                Ok(run)
            }
            Err(e) => {
                // Best effort: the error being returned matters more than the tag.
                let _ = self.fail_run(&run, &e.to_string()).await;
                Err(e)
            }
        }
    }

    /// Marks `run` FAILED, saying why: the `legendary.error` tag (searchable) and the run's
    /// description (`mlflow.note.content`, which the run page shows at the top).
    ///
    /// # Errors
    /// API and transport errors.
    pub(crate) async fn fail_run(&self, run: &LoggedRun, reason: &str) -> Result<(), MlflowError> {
        let reason: String = reason.chars().take(MAX_TAG_CHARS).collect();
        self.client
            .set_run_tag(&run.run_id, "legendary.error", &reason)
            .await?;
        self.client
            .set_run_tag(
                &run.run_id,
                "mlflow.note.content",
                &format!("**Failed**: {reason}"),
            )
            .await?;
        self.client
            .update_run(&run.run_id, RunStatus::Failed, Some(now_ms()))
            .await
            .map(drop)
    }

    /// Marks a new run FAILED with the reason (for sweep trials that failed to train).
    ///
    /// # Errors
    /// API and transport errors.
    pub(crate) async fn log_failure(
        &self,
        ctx: &RunContext,
        reason: &str,
    ) -> Result<LoggedRun, MlflowError> {
        let run = self.start_run(ctx).await?;
        self.fail_run(&run, reason).await?;
        Ok(run)
    }

    /// Registers the run's model and places it as `config` says (see [`super::publish()`]).
    ///
    /// # Errors
    /// Registry failures, or a champion that cannot be loaded.
    pub(crate) async fn publish(
        &self,
        config: &PublishConfig,
        run: &LoggedRun,
        model: &Model,
        held_out: &HeldOut,
        description: Option<&str>,
    ) -> anyhow::Result<Published> {
        super::publish::publish(&self.client, config, run, model, held_out, description).await
    }

    async fn log_into(
        &self,
        run: &LoggedRun,
        outcome: &Outcome,
        model_dir: &Path,
    ) -> Result<LoggedModel, MlflowError> {
        let (params, metrics) = super::params_and_metrics(outcome);
        let tags = vec![KeyValue::new(
            "legendary.version",
            env!("CARGO_PKG_VERSION"),
        )];
        self.client
            .log_batch(&run.run_id, &params, &metrics, &tags)
            .await?;
        dataset::log(&self.client, run, outcome).await?;
        files::upload(&self.client, run, outcome).await?;
        model::log(self, run, &params, &metrics, model_dir).await
    }

    /// The user runs and logged models are created as.
    pub(super) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}
