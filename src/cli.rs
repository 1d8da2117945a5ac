//! The command line: clap subcommands, each flag also an environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::dataset::Generations;
use crate::model::{FeatureSet, ForestParams};
use crate::train::{Threshold, TrainConfig};

/// Train, track and serve the legendary-Pokémon random forest with MLflow, without Python.
#[derive(Debug, Parser)]
#[command(name = "legendary", version, about)]
pub struct Cli {
    /// Log format.
    #[arg(
        long,
        global = true,
        env = "LEGENDARY_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a model over MLflow's scoring protocol, with a web page.
    Serve(crate::server::ServeArgs),
    /// Train and evaluate a forest; write an MLflow model directory.
    Train(TrainArgs),
    /// Train every configuration of a TOML grid in parallel and report the best.
    Sweep(SweepArgs),
    /// Score a CSV file with a model, like `mlflow models predict`.
    Predict(PredictArgs),
}

/// MLflow tracking and registry flags, shared by `train` and `sweep`.
#[derive(Debug, Args, Clone)]
pub struct TrackingArgs {
    /// MLflow tracking server (`http(s)://…`). Without it nothing is logged. Credentials come
    /// from `MLFLOW_TRACKING_TOKEN` or `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`.
    #[arg(long, env = "MLFLOW_TRACKING_URI")]
    pub tracking_uri: Option<String>,
    /// Experiment to log into (created if missing).
    #[arg(long, env = "MLFLOW_EXPERIMENT_NAME", default_value = "pokemon")]
    pub experiment: String,
    /// Run name shown in the MLflow UI.
    #[arg(long, env = "LEGENDARY_RUN_NAME")]
    pub run_name: Option<String>,
    /// Register the model as a new version of this registered model.
    #[arg(long, env = "LEGENDARY_REGISTER_AS")]
    pub register_as: Option<String>,
    /// Move the new version to this stage (Production or Staging), archiving the previous holder.
    #[arg(long, env = "LEGENDARY_STAGE", requires = "register_as")]
    pub stage: Option<crate::mlflow::Stage>,
    /// Point this alias at the new version.
    #[arg(long, env = "LEGENDARY_ALIAS", requires = "register_as")]
    pub alias: Option<String>,
    /// Quality gate: promote the new version (stage, default Production, and alias, default
    /// `champion`) only if it beats the current champion on the same held-out rows.
    #[arg(long, env = "LEGENDARY_PROMOTE", requires = "register_as")]
    pub promote: bool,
    /// The margin the challenger must win by.
    #[arg(long, env = "LEGENDARY_MIN_IMPROVEMENT", default_value_t = 0.001)]
    pub min_improvement: f64,
    /// Metric the gate compares (roc_auc, f1, accuracy, precision, recall, log_loss).
    #[arg(long, env = "LEGENDARY_GATE_METRIC", default_value = "roc_auc")]
    pub gate_metric: String,
}

/// Flags of `legendary sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The TOML grid (see deploy/kubernetes/training/grid.toml).
    #[arg(long, env = "LEGENDARY_GRID")]
    pub grid: PathBuf,
    /// Configurations trained at once (default: the number of cores).
    #[arg(long, env = "LEGENDARY_PARALLEL")]
    pub parallel: Option<usize>,
    /// Run only configuration N of the grid (for a Kubernetes Indexed Job).
    #[arg(long, env = "LEGENDARY_ONLY_INDEX")]
    pub only_index: Option<usize>,
    /// Where to write the best model directory.
    #[arg(long, env = "LEGENDARY_OUTPUT", default_value = "target/sweep-best")]
    pub output: PathBuf,
    /// Tracking and registry.
    #[command(flatten)]
    pub tracking: TrackingArgs,
}

/// Flags of `legendary train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The data package directory.
    #[arg(long, env = "LEGENDARY_DATA", default_value = "data/pokemon")]
    pub data: PathBuf,
    /// Generations to use, e.g. `1-6,9`.
    #[arg(long, env = "LEGENDARY_GENERATIONS", default_value = "1-9")]
    pub generations: Generations,
    /// Forest hyperparameters.
    #[command(flatten)]
    pub forest: ForestArgs,
    /// Held-out fraction of the stratified split.
    #[arg(long, env = "LEGENDARY_TEST_SIZE", default_value_t = 0.2)]
    pub test_size: f64,
    /// Folds of stratified cross-validation over all selected rows (0: none).
    #[arg(long, env = "LEGENDARY_CV_FOLDS", default_value_t = 5)]
    pub cv_folds: usize,
    /// Where to write the MLflow model directory.
    #[arg(long, env = "LEGENDARY_OUTPUT", default_value = "target/model")]
    pub output: PathBuf,
    /// Tracking and registry.
    #[command(flatten)]
    pub tracking: TrackingArgs,
}

/// Forest hyperparameters, shared by `train` and `sweep`.
#[derive(Debug, Args, Clone)]
pub struct ForestArgs {
    /// Number of trees.
    #[arg(long, env = "LEGENDARY_N_TREES", default_value_t = 200)]
    pub n_trees: u16,
    /// Maximum tree depth (unlimited when absent).
    #[arg(long, env = "LEGENDARY_MAX_DEPTH")]
    pub max_depth: Option<u16>,
    /// Minimum samples to split a node.
    #[arg(long, env = "LEGENDARY_MIN_SAMPLES_SPLIT", default_value_t = 2)]
    pub min_samples_split: usize,
    /// Minimum samples in a leaf.
    #[arg(long, env = "LEGENDARY_MIN_SAMPLES_LEAF", default_value_t = 5)]
    pub min_samples_leaf: usize,
    /// Features tried per split (`0`: floor(sqrt(columns))).
    #[arg(long, env = "LEGENDARY_MTRY", default_value_t = 4)]
    pub mtry: usize,
    /// Seed of the split, the folds and the forest.
    #[arg(long, env = "LEGENDARY_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Columns the forest sees: `raw` (six stats), `derived` (plus total, min, second
    /// lowest, spread, std) or `regularity` (total, min, second lowest, spread, plus how
    /// round and repeated the stats are; see docs/model.md).
    #[arg(long, env = "LEGENDARY_FEATURES", default_value = "regularity")]
    pub features: FeatureSet,
    /// Decision threshold on the vote fraction: a number in [0, 1) or `auto` (best
    /// out-of-fold F1 on the training rows).
    #[arg(long, env = "LEGENDARY_THRESHOLD", default_value = "auto")]
    pub threshold: Threshold,
}

impl ForestArgs {
    /// The forest parameters these flags describe.
    pub fn params(&self) -> ForestParams {
        ForestParams {
            n_trees: self.n_trees,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            mtry: (self.mtry > 0).then_some(self.mtry),
            seed: self.seed,
            features: self.features,
        }
    }
}

impl TrainArgs {
    /// The training config these flags describe.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            data: self.data.clone(),
            generations: self.generations.clone(),
            params: self.forest.params(),
            test_size: self.test_size,
            cv_folds: self.cv_folds,
            threshold: self.forest.threshold,
        }
    }
}

/// Flags of `legendary predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model: a local MLflow model directory or an MLflow model URI.
    #[arg(
        long,
        short = 'm',
        env = "MLFLOW_MODEL_URI",
        default_value = "models/pokemon"
    )]
    pub model_uri: String,
    /// CSV file with a header naming the six stats (extra columns are kept in the output).
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Output CSV (standard output when absent): the input columns plus `prediction` and `probability`.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn train_defaults_are_the_documented_ones() {
        let cli = Cli::try_parse_from(["legendary", "train"]).unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not train")
        };
        let config = args.config();
        let defaults = TrainConfig::default();
        assert_eq!(config.params, defaults.params);
        assert_eq!(config.cv_folds, defaults.cv_folds);
        assert_eq!(config.threshold, defaults.threshold);
    }

    #[test]
    fn bad_flags_are_refused_with_the_reason() {
        let err = Cli::try_parse_from(["legendary", "train", "--generations", "0-3"]).unwrap_err();
        assert!(err.to_string().contains("'0'"), "{err}");
        let err = Cli::try_parse_from(["legendary", "train", "--threshold", "2"]).unwrap_err();
        assert!(err.to_string().contains("threshold"), "{err}");
    }
}
