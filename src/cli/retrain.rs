//! `legendary retrain`: the training flags plus where to look for a reason to retrain,
//! turned into a [`RetrainJob`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::{Env, RetrainJob, parse_duration};
use crate::retrain::Watch;

/// Flags of `legendary retrain`: every flag of `train` (the recipe, the data, the tracking
/// server, the registered model and the gate; `--promote` is implied), and the signals.
#[derive(Debug, Args)]
pub(crate) struct RetrainArgs {
    /// The recipe, the data and where the new version goes.
    #[command(flatten)]
    pub train: super::TrainArgs,
    /// A serving replica's monitoring report (`http://replica:8080/monitoring`); repeat, or
    /// separate with commas.
    #[arg(long, env = "LEGENDARY_MONITORING_URLS", value_delimiter = ',')]
    pub monitoring_url: Vec<String>,
    /// Prometheus (`http://prometheus:9090`): its firing drift alerts (the rules in
    /// deploy/kubernetes/components/drift-monitoring) count as the fleet's alarms.
    #[arg(long, env = "LEGENDARY_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
    /// No retraining this soon after the last one started (e.g. `30m`, `6h`).
    #[arg(long, env = "LEGENDARY_COOLDOWN", default_value = "1h", value_parser = parse_duration)]
    pub cooldown: Duration,
    /// Retrain whatever the signals say (the gate still decides what is promoted).
    #[arg(long, env = "LEGENDARY_RETRAIN_FORCE")]
    pub force: bool,
    /// Sweep this TOML grid instead of training the one recipe: its axes vary the recipe
    /// the other flags give, the best configuration by the grid's metric goes to the gate.
    /// The grid may not have a `[data]` table: retrain trains on the catalogue it watches.
    #[arg(long, env = "LEGENDARY_GRID")]
    pub grid: Option<PathBuf>,
    /// Configurations of `--grid` trained at once (default: the number of cores).
    #[arg(long, env = "LEGENDARY_PARALLEL", requires = "grid")]
    pub parallel: Option<usize>,
}

impl RetrainArgs {
    /// The retrain job these flags describe.
    ///
    /// # Errors
    /// What `train` refuses, no tracking server, or no `--register-as`.
    pub(crate) fn into_job(mut self, env: &Env) -> anyhow::Result<RetrainJob> {
        if self.train.tracking.register_as.is_none() {
            anyhow::bail!(
                "retrain needs --register-as (the registered model whose champion it may replace)"
            );
        }
        self.train.tracking.promote = true;
        let train = self.train.into_job(env)?;
        if train.tracking.is_none() {
            anyhow::bail!(
                "retrain needs a tracking server (--tracking-uri or MLFLOW_TRACKING_URI)"
            );
        }
        for url in self.monitoring_url.iter().chain(&self.prometheus_url) {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("'{url}' is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                anyhow::bail!("'{url}' is not an http(s) URL");
            }
        }
        Ok(RetrainJob {
            train,
            watch: Watch {
                monitoring: self.monitoring_url,
                prometheus: self.prometheus_url,
                cooldown: self.cooldown,
                force: self.force,
            },
            grid: self.grid,
            parallel: super::parallelism(self.parallel),
        })
    }
}
