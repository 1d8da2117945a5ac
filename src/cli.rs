//! The command line: clap subcommands, each flag also an environment variable; and the one
//! place that turns them, with [`Env`] for the variables clap does not own, into the typed
//! configs of [`crate::config`]. No other module sees clap.

mod data;
mod retrain;

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::acquire::ModelSource;
use crate::config::{
    CollectConfig, Env, PredictJob, ServeConfig, SweepJob, SweepStep, TrackingTarget, TrainJob,
    default_max_connections, listen_addr, parse_bytes, parse_duration,
};
use crate::dataset::Generations;
use crate::http::ServerLimits;
use crate::model::{FeatureSet, ForestParams};
use crate::sandbox::{Sandbox, SandboxLimits};
use crate::telemetry::LogFormat;
use crate::track::{GateConfig, GateRules, Placement, PublishConfig};
use crate::train::{CalibrationMethod, GenerationEval, MetricName, Threshold, TrainConfig};
use legendary_mlflow::{Stage, TrackingConfig};
use legendary_scoring::Limits;

/// Parses the process's command line; `--help`, `--version` and mistakes exit here, with
/// clap's messages.
pub(crate) fn parse() -> Cli {
    Cli::parse()
}

/// Train, track and serve the legendary-Pokémon random forest with MLflow, without Python.
#[derive(Debug, Parser)]
#[command(name = "legendary", version, about)]
pub(crate) struct Cli {
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

impl ValueEnum for LogFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Text, Self::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Self::Text => PossibleValue::new("text").help("Human-readable lines"),
            Self::Json => PossibleValue::new("json").help("One JSON object per line"),
        })
    }
}

impl ValueEnum for MetricName {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    // Boxed: its flags outweigh every other command's.
    /// Serve a model over MLflow's scoring protocol, with a web page.
    Serve(Box<ServeArgs>),
    /// Train and evaluate a forest; write an MLflow model directory.
    Train(TrainArgs),
    /// Train every configuration of a TOML grid in parallel and report the best.
    Sweep(SweepArgs),
    /// Retrain when the data changed (the fleet's drift recorded beside it), gate, promote:
    /// one step of the loop, made to run as a CronJob.
    Retrain(retrain::RetrainArgs),
    /// Score a CSV file with a model, like `mlflow models predict`.
    Predict(PredictArgs),
    /// The data catalogue: search the data sets of a data package, or show one.
    Data(data::DataArgs),
    /// Monitoring: build a model's reference profile from a data package.
    Monitor(MonitorArgs),
    /// Internal: the sandboxed model compiler that `serve`, `predict` and the gate run.
    #[command(hide = true)]
    Model(ModelArgs),
}

/// `legendary monitor`.
#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: MonitorAction,
}

/// `legendary monitor …`.
#[derive(Debug, Subcommand)]
pub(crate) enum MonitorAction {
    /// Build the monitoring profile of a model that has none (a scikit-learn model logged
    /// from Python) from the rows it was trained on, for `serve --monitoring-profile`.
    Profile(ProfileArgs),
}

/// Flags of `legendary monitor profile`.
#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    /// The model: a local MLflow model directory or an MLflow model URI (default: the model
    /// bundled in the binary).
    #[arg(long, short = 'm', env = "MLFLOW_MODEL_URI")]
    pub model_uri: Option<String>,
    /// The data package (a directory) or CSV file of the reference rows: the model's
    /// training rows, or rows like them.
    #[arg(long, env = "LEGENDARY_DATA", default_value = "data/pokemon")]
    pub data: PathBuf,
    /// Generations to use, e.g. `1-8`.
    #[arg(long, env = "LEGENDARY_GENERATIONS", default_value = "1-9")]
    pub generations: Generations,
    /// Where to write the profile (standard output when absent).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Transfer limits of the model download.
    #[command(flatten)]
    pub download: DownloadArgs,
    /// Limits of the model compiler.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

impl ProfileArgs {
    /// The profile job these flags describe: the same model resolution as `predict`.
    ///
    /// # Errors
    /// A malformed model URI or bad tracking settings.
    pub(crate) fn into_job(self, env: &Env) -> anyhow::Result<crate::config::ProfileJob> {
        let model = ModelSource::choose(self.model_uri.as_deref(), None, None)?;
        Ok(crate::config::ProfileJob {
            model,
            tracking: self.download.apply(env.tracking(None)?),
            data: self.data,
            generations: self.generations,
            output: self.output,
            sandbox: self.sandbox.sandbox()?,
        })
    }
}

/// `legendary model`: internal tools.
#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ModelAction,
}

/// `legendary model …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ModelAction {
    /// Confine this process, read and validate a model directory, and write its compiled
    /// form to standard output (refusals: one JSON line on standard error, exit code 3).
    Compile(CompileArgs),
}

/// Flags of `legendary model compile`; no environment variables (the parent clears them).
#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// The model directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Address-space limit, in bytes.
    #[arg(long)]
    pub memory_bytes: u64,
    /// CPU-time limit, in seconds.
    #[arg(long)]
    pub cpu_seconds: u64,
    /// Largest compiled form, in bytes.
    #[arg(long)]
    pub max_model_bytes: u64,
    /// Open-file limit.
    #[arg(long, default_value_t = 64)]
    pub max_open_files: u64,
}

impl CompileArgs {
    /// The limits the parent asked for (the deadline is the parent's to enforce).
    pub(crate) fn limits(&self) -> SandboxLimits {
        SandboxLimits {
            memory_bytes: self.memory_bytes,
            cpu: Duration::from_secs(self.cpu_seconds),
            max_model_bytes: self.max_model_bytes,
            max_open_files: self.max_open_files,
            ..SandboxLimits::for_container(None)
        }
    }
}

/// Limits of the sandboxed model compiler, shared by `serve` and `predict`; defaults follow
/// the container's memory limit (docs/operations.md).
#[derive(Debug, Args, Clone)]
pub(crate) struct SandboxArgs {
    /// Memory (address space) the model compiler may use, e.g. `160MiB` (default: half the
    /// container's memory limit, 1 GiB without one). A model that needs more is refused.
    #[arg(long, env = "LEGENDARY_COMPILE_MEMORY", value_parser = parse_bytes)]
    pub compile_memory: Option<u64>,
    /// CPU time the model compiler may use.
    #[arg(long, env = "LEGENDARY_COMPILE_CPU", default_value = "30s", value_parser = parse_duration)]
    pub compile_cpu: Duration,
    /// Wall-clock time the model compiler may take before it is killed.
    #[arg(long, env = "LEGENDARY_COMPILE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub compile_timeout: Duration,
    /// The largest compiled model served, e.g. `20MiB`: the memory budget of one model
    /// (default: a sixteenth of the container's memory limit, 64 MiB without one).
    #[arg(long, env = "LEGENDARY_MODEL_MAX_BYTES", value_parser = parse_bytes)]
    pub model_max_bytes: Option<u64>,
}

impl SandboxArgs {
    /// The sandbox these flags describe, running this binary.
    fn sandbox(&self) -> anyhow::Result<Sandbox> {
        let defaults = SandboxLimits::detect();
        Sandbox::this_binary(SandboxLimits {
            memory_bytes: self.compile_memory.unwrap_or(defaults.memory_bytes),
            cpu: self.compile_cpu.max(Duration::from_secs(1)),
            deadline: self.compile_timeout,
            max_model_bytes: self.model_max_bytes.unwrap_or(defaults.max_model_bytes),
            ..defaults
        })
        .map_err(|e| anyhow::anyhow!("finding this binary to compile models with: {e}"))
    }
}

/// MLflow tracking and registry flags, shared by `train` and `sweep`.
#[derive(Debug, Args, Clone)]
pub(crate) struct TrackingArgs {
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
    #[arg(long, env = "LEGENDARY_STAGE", requires = "register_as", value_parser = active_stage)]
    pub stage: Option<legendary_mlflow::Stage>,
    /// Point this alias at the new version.
    #[arg(long, env = "LEGENDARY_ALIAS", requires = "register_as")]
    pub alias: Option<String>,
    /// Quality gate: promote the new version (stage, default Production, and alias, default
    /// `champion`) only if it beats the current champion on the same held-out rows.
    #[arg(long, env = "LEGENDARY_PROMOTE", requires = "register_as")]
    pub promote: bool,
    /// The margin the challenger must win by: the lower end of the paired bootstrap interval
    /// of its gain over the champion must be above it.
    #[arg(long, env = "LEGENDARY_MIN_IMPROVEMENT", default_value_t = 0.001)]
    pub min_improvement: f64,
    /// Confidence of the gain's interval (two-sided; 0.95 means the challenger's gain is
    /// above the margin with 97.5 % confidence).
    #[arg(long, env = "LEGENDARY_GATE_CONFIDENCE", default_value_t = 0.95, value_parser = confidence)]
    pub gate_confidence: f64,
    /// Bootstrap resamples of the gain's interval.
    #[arg(long, env = "LEGENDARY_GATE_RESAMPLES", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(100..=100_000))]
    pub gate_resamples: u32,
    /// An absolute floor on a challenger metric, `METRIC=VALUE` (at most VALUE for log_loss,
    /// brier, ece); repeat for more, or separate with commas.
    #[arg(long, env = "LEGENDARY_GATE_FLOOR", value_delimiter = ',', value_parser = floor)]
    pub gate_floor: Vec<(MetricName, f64)>,
    /// The metric compared on each generation of the held-out rows (a smooth one: a
    /// generation holds a few dozen rows).
    #[arg(long, env = "LEGENDARY_GATE_SLICE_METRIC", default_value = "brier")]
    pub gate_slice_metric: MetricName,
    /// How much worse than the champion the challenger may be on any one generation.
    #[arg(
        long,
        env = "LEGENDARY_GATE_MAX_SLICE_REGRESSION",
        default_value_t = 0.02
    )]
    pub gate_max_slice_regression: f64,
    /// Generations with fewer held-out rows are shown but not checked.
    #[arg(long, env = "LEGENDARY_GATE_MIN_SLICE_ROWS", default_value_t = 10)]
    pub gate_min_slice_rows: usize,
    /// When the challenger's data differs from the champion's (a new generation, new labelled
    /// rows), the lower end of the gain's interval need only be above minus this: a challenger
    /// that is not worse replaces a champion that never saw the new data.
    #[arg(
        long,
        env = "LEGENDARY_GATE_NEW_DATA_TOLERANCE",
        default_value_t = 0.02
    )]
    pub gate_new_data_tolerance: f64,
    /// Metric the gate compares (log_loss, brier, ece: lower is better; the others: higher).
    #[arg(long, env = "LEGENDARY_GATE_METRIC", default_value = "roc_auc")]
    pub gate_metric: MetricName,
    /// Exit code when the gate refuses the challenger. A Kubernetes Job sets 0: a refusal is
    /// a normal outcome there, and a failed pod would be retried and register again.
    #[arg(long, env = "LEGENDARY_NOT_PROMOTED_EXIT_CODE", default_value_t = crate::track::EXIT_NOT_PROMOTED)]
    pub not_promoted_exit_code: u8,
}

/// Parses `--gate-confidence`: strictly between 0 and 1.
fn confidence(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(c) if c > 0.0 && c < 1.0 => Ok(c),
        _ => Err(format!(
            "'{text}' is not a confidence between 0 and 1 (e.g. 0.95)"
        )),
    }
}

/// Parses one `--gate-floor METRIC=VALUE`.
fn floor(text: &str) -> Result<(MetricName, f64), String> {
    let (metric, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not METRIC=VALUE (e.g. roc_auc=0.95)"))?;
    let metric = metric.trim().parse::<MetricName>()?;
    let value: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("'{value}' in '{text}' is not a number"))?;
    Ok((metric, value))
}

/// Parses `--stage`, refusing the stages a new version cannot be moved to while the previous
/// holder is archived: MLflow answers `'Archived' is not an Active stage` only after the
/// training ran and the version was registered, which would leave an orphan version behind.
fn active_stage(text: &str) -> Result<Stage, String> {
    match text.parse::<Stage>().map_err(|e| e.to_string())? {
        stage @ (Stage::Staging | Stage::Production) => Ok(stage),
        stage => Err(format!(
            "a new version can be moved to Staging or Production, not {stage} (a version \
             is archived by registering a newer one in its stage; leave --stage out to \
             keep the new version in None)"
        )),
    }
}

impl TrackingArgs {
    /// Where runs go, if a tracking server is named.
    fn target(&self, env: &Env) -> anyhow::Result<Option<TrackingTarget>> {
        Ok(env
            .tracking(self.tracking_uri.as_deref())?
            .map(|tracking| TrackingTarget {
                tracking,
                experiment: self.experiment.clone(),
                run_name: self.run_name.clone(),
                user: env.user(),
            }))
    }

    /// Registration and placement, if `--register-as` is given.
    fn publish(&self) -> Option<PublishConfig> {
        let name = self.register_as.clone()?;
        let placement = if self.promote {
            Placement::Gate(GateConfig {
                name: name.clone(),
                alias: self.alias.clone().unwrap_or_else(|| "champion".to_owned()),
                stage: self.stage.unwrap_or(Stage::Production),
                metric: self.gate_metric,
                min_improvement: self.min_improvement,
                rules: GateRules {
                    confidence: self.gate_confidence,
                    resamples: self.gate_resamples as usize,
                    floors: self.gate_floor.clone(),
                    slice_metric: self.gate_slice_metric,
                    max_slice_regression: self.gate_max_slice_regression,
                    min_slice_rows: self.gate_min_slice_rows,
                    new_data_tolerance: self.gate_new_data_tolerance,
                },
            })
        } else {
            Placement::Direct {
                stage: self.stage,
                alias: self.alias.clone(),
            }
        };
        Some(PublishConfig {
            name,
            placement,
            not_promoted_exit_code: self.not_promoted_exit_code,
        })
    }

    /// Both, refusing to publish without a server to publish to.
    fn configs(
        &self,
        env: &Env,
    ) -> anyhow::Result<(Option<TrackingTarget>, Option<PublishConfig>)> {
        let target = self.target(env)?;
        let publish = self.publish();
        if target.is_none() && publish.is_some() {
            anyhow::bail!(
                "--register-as and --promote need a tracking server: set --tracking-uri or MLFLOW_TRACKING_URI"
            );
        }
        if !self.min_improvement.is_finite() {
            anyhow::bail!("--min-improvement must be a number");
        }
        Ok((target, publish))
    }
}

/// Flags of `legendary sweep`.
#[derive(Debug, Args)]
pub(crate) struct SweepArgs {
    /// The TOML grid (see deploy/kubernetes/training/grid.toml).
    #[arg(long, env = "LEGENDARY_GRID")]
    pub grid: PathBuf,
    /// Configurations trained at once (default: the number of cores).
    #[arg(long, env = "LEGENDARY_PARALLEL")]
    pub parallel: Option<usize>,
    /// Train and log only configuration N of the grid (numbered from 0, in the grid's order).
    #[arg(long, env = "LEGENDARY_ONLY_INDEX", conflicts_with_all = ["job_index", "collect"])]
    pub only_index: Option<usize>,
    /// Do not train: wait until every configuration of the sweep `--sweep-id` has a finished
    /// or failed run in MLflow, then rank them and publish the best.
    #[arg(
        long,
        env = "LEGENDARY_COLLECT",
        requires = "sweep_id",
        conflicts_with = "job_index"
    )]
    pub collect: bool,
    /// A pod of a Kubernetes Indexed Job of N + 1 completions for a grid of N
    /// configurations: index i < N does `--only-index i`, index N does `--collect`.
    #[arg(long, env = "LEGENDARY_JOB_INDEX", requires = "sweep_id")]
    pub job_index: Option<usize>,
    /// Tags every run of this sweep, so that `--collect` finds them (an Indexed Job passes
    /// its own uid). A fresh id when absent.
    #[arg(long, env = "LEGENDARY_SWEEP_ID")]
    pub sweep_id: Option<String>,
    /// How long `--collect` waits for the configurations' runs before ranking what it has.
    #[arg(long, env = "LEGENDARY_COLLECT_TIMEOUT", default_value = "50m", value_parser = parse_duration)]
    pub collect_timeout: Duration,
    /// How often `--collect` asks MLflow for the sweep's runs.
    #[arg(long, env = "LEGENDARY_COLLECT_POLL", default_value = "10s", value_parser = parse_duration)]
    pub collect_poll: Duration,
    /// Where to write the best model directory.
    #[arg(long, env = "LEGENDARY_OUTPUT", default_value = "target/sweep-best")]
    pub output: PathBuf,
    /// Tracking and registry.
    #[command(flatten)]
    pub tracking: TrackingArgs,
}

impl SweepArgs {
    /// The sweep job these flags describe.
    ///
    /// # Errors
    /// Bad tracking settings, or publishing without a tracking server.
    pub(crate) fn into_job(self, env: &Env) -> anyhow::Result<SweepJob> {
        let (tracking, publish) = self.tracking.configs(env)?;
        let collect = CollectConfig {
            timeout: self.collect_timeout,
            poll: self.collect_poll.max(Duration::from_millis(100)),
        };
        let step = match (self.only_index, self.collect, self.job_index) {
            (Some(i), _, _) => SweepStep::Only(i),
            (None, true, _) => SweepStep::Collect(collect),
            (None, false, Some(i)) => SweepStep::JobIndex(i, collect),
            (None, false, None) => SweepStep::All,
        };
        if publish.is_some() && matches!(step, SweepStep::Only(_)) {
            anyhow::bail!(
                "--register-as and --promote do not go with --only-index: every pod would publish its own configuration. Use --job-index (its last index collects the results and publishes the best) or --collect"
            );
        }
        if tracking.is_none() && matches!(step, SweepStep::Collect(_) | SweepStep::JobIndex(..)) {
            anyhow::bail!(
                "--collect and --job-index need a tracking server: set --tracking-uri or MLFLOW_TRACKING_URI"
            );
        }
        if self
            .sweep_id
            .as_deref()
            .is_some_and(|id| !valid_sweep_id(id))
        {
            anyhow::bail!(
                "--sweep-id must be 1-64 letters, digits, '-', '_' or '.' (it goes into an MLflow search filter)"
            );
        }
        Ok(SweepJob {
            grid: self.grid,
            parallel: parallelism(self.parallel),
            step,
            sweep_id: self.sweep_id,
            output: self.output,
            tracking,
            publish,
        })
    }
}

/// Configurations trained at once: as asked, else the number of cores; at least one.
fn parallelism(asked: Option<usize>) -> usize {
    asked
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1)
}

/// A sweep id is quoted into an MLflow search filter: keep it to characters that need no
/// escaping there (a Kubernetes uid, a date, a name).
fn valid_sweep_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Flags of `legendary train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The data package: a directory, or an object-store prefix holding one
    /// (`s3://bucket/pokemon/`, `gs://…`, `wasbs://…`, with MLflow's client variables).
    #[arg(long, env = "LEGENDARY_DATA", default_value = "data/pokemon")]
    pub data: PathBuf,
    /// Generations to use, e.g. `1-6,9`, or `all` (every generation the data package has).
    #[arg(long, env = "LEGENDARY_GENERATIONS", default_value = "all")]
    pub generations: Generations,
    /// Forest hyperparameters.
    #[command(flatten)]
    pub forest: ForestArgs,
    /// Held-out fraction.
    #[arg(long, env = "LEGENDARY_TEST_SIZE", default_value_t = 0.2)]
    pub test_size: f64,
    /// How the held-out rows are picked: `stat-line` (by a hash of each row's six stats: the
    /// same rows for every seed and as data grows, so the gate pairs two models row by row)
    /// or `seeded` (a stratified shuffle by `--seed`, the only one before; to retrain an
    /// older model byte for byte).
    #[arg(long, env = "LEGENDARY_HOLDOUT", default_value = "stat-line")]
    pub holdout: crate::dataset::Holdout,
    /// Folds of the two stratified cross-validations over all selected rows (0: none): the
    /// reported one keeps rows with identical stats in one fold, the other deals row by row.
    #[arg(long, env = "LEGENDARY_CV_FOLDS", default_value_t = 5)]
    pub cv_folds: usize,
    /// After evaluation, fit the shipped model on every selected row (`false`: ship the
    /// evaluation fit, which saw only the training part of the split).
    #[arg(
        long,
        env = "LEGENDARY_REFIT_ALL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub refit_all: bool,
    /// How the recipe does on a generation it has not seen: `both`, `forward` (train on the
    /// generations before each one), `leave-one-out` (on all the others) or `none`.
    #[arg(long, env = "LEGENDARY_GENERATION_EVAL", default_value = "both")]
    pub generation_eval: GenerationEval,
    /// Where to write the MLflow model directory.
    #[arg(long, env = "LEGENDARY_OUTPUT", default_value = "target/model")]
    pub output: PathBuf,
    /// Tracking and registry.
    #[command(flatten)]
    pub tracking: TrackingArgs,
}

/// Forest hyperparameters, shared by `train` and `sweep`.
#[derive(Debug, Args, Clone)]
pub(crate) struct ForestArgs {
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
    #[arg(long, env = "LEGENDARY_MIN_SAMPLES_LEAF", default_value_t = 1)]
    pub min_samples_leaf: usize,
    /// Features tried per split (default: 8, or every column of a narrower feature set; `0`:
    /// floor(sqrt(columns))).
    #[arg(long, env = "LEGENDARY_MTRY")]
    pub mtry: Option<usize>,
    /// Seed of the split, the folds and the forest.
    #[arg(long, env = "LEGENDARY_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Columns the forest sees: `raw` (six stats), `derived` (plus total, min, second
    /// lowest, spread, std) or `regularity` (total, min, second lowest, spread, plus how
    /// round and repeated the stats are; see docs/model.md).
    #[arg(long, env = "LEGENDARY_FEATURES", default_value = "regularity")]
    pub features: FeatureSet,
    /// Decision threshold on the probability: a number in [0, 1) or `auto` (best
    /// out-of-fold F1 on the training rows).
    #[arg(long, env = "LEGENDARY_THRESHOLD", default_value = "auto")]
    pub threshold: Threshold,
    /// How the trees' vote fraction becomes the probability: `centred-isotonic` (a monotone
    /// map fitted on out-of-fold votes of the training rows that keeps their order; see
    /// docs/model.md), `isotonic` (scikit-learn's map, flat steps) or `none` (the vote
    /// fraction itself).
    #[arg(
        long,
        env = "LEGENDARY_CALIBRATION",
        default_value = "centred-isotonic"
    )]
    pub calibration: CalibrationMethod,
}

impl ForestArgs {
    /// The forest parameters these flags describe.
    pub(crate) fn params(&self) -> ForestParams {
        ForestParams {
            n_trees: self.n_trees,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            mtry: match self.mtry {
                Some(0) => None,
                Some(m) => Some(m),
                None => Some(crate::train::default_mtry(self.features)),
            },
            seed: self.seed,
            features: self.features,
        }
    }
}

impl TrainArgs {
    /// The training config these flags describe, unchecked.
    fn train_config(&self) -> TrainConfig {
        TrainConfig {
            data: self.data.clone(),
            generations: self.generations.clone(),
            params: self.forest.params(),
            test_size: self.test_size,
            holdout: self.holdout,
            cv_folds: self.cv_folds,
            threshold: self.forest.threshold,
            refit_all: self.refit_all,
            generation_eval: self.generation_eval,
            calibration: self.forest.calibration,
        }
    }

    /// The training job these flags describe, every setting checked before any work starts.
    ///
    /// # Errors
    /// A setting out of range (named by its flag), bad tracking settings, or publishing
    /// without a tracking server.
    pub(crate) fn into_job(self, env: &Env) -> anyhow::Result<TrainJob> {
        let train = self.train_config().validate()?;
        let (tracking, publish) = self.tracking.configs(env)?;
        Ok(TrainJob {
            train,
            output: self.output,
            tracking,
            publish,
            stores: env.stores()?,
        })
    }
}

/// Flags of `legendary predict`.
#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// The model: a local MLflow model directory or an MLflow model URI (default: the model
    /// bundled in the binary).
    #[arg(long, short = 'm', env = "MLFLOW_MODEL_URI")]
    pub model_uri: Option<String>,
    /// CSV file with a header naming the six stats (extra columns are kept in the output).
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Output CSV (standard output when absent): the input columns plus `prediction` and `probability`.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Transfer limits of the model download.
    #[command(flatten)]
    pub download: DownloadArgs,
    /// Limits of the model compiler.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

impl PredictArgs {
    /// The predict job these flags describe: the same model resolution as `serve`.
    ///
    /// # Errors
    /// A malformed model URI or bad tracking settings.
    pub(crate) fn into_job(self, env: &Env) -> anyhow::Result<PredictJob> {
        let model = ModelSource::choose(self.model_uri.as_deref(), None, None)?;
        Ok(PredictJob {
            model,
            tracking: self.download.apply(env.tracking(None)?),
            input: self.input,
            output: self.output,
            sandbox: self.sandbox.sandbox()?,
        })
    }
}

/// Limits of model downloads from the registry, shared by `serve` and `predict`.
#[derive(Debug, Args, Clone)]
pub(crate) struct DownloadArgs {
    /// Most bytes one model download may bring, all its files together; counted as they
    /// arrive (the sizes a registry lists are not trusted).
    #[arg(long, env = "LEGENDARY_DOWNLOAD_MAX_BYTES", default_value_t = legendary_mlflow::config::DEFAULT_DOWNLOAD_MAX_BYTES)]
    pub download_max_bytes: u64,
    /// A download that sends nothing for this long is abandoned.
    #[arg(long, env = "LEGENDARY_DOWNLOAD_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub download_idle_timeout: Duration,
}

impl DownloadArgs {
    fn apply(&self, tracking: Option<TrackingConfig>) -> Option<TrackingConfig> {
        tracking.map(|mut t| {
            t.download_max_bytes = self.download_max_bytes;
            t.download_idle_timeout = self.download_idle_timeout;
            t
        })
    }
}

/// A monitoring profile file, checked.
fn read_profile(path: &std::path::Path) -> anyhow::Result<crate::monitor::Profile> {
    use anyhow::Context as _;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    crate::monitor::Profile::from_json(&bytes)
        .map_err(|e| anyhow::anyhow!("{} (--monitoring-profile): {e}", path.display()))
}

/// `--grpc-port`: a port, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrpcPort {
    Port(u16),
    Off,
}

fn parse_grpc_port(text: &str) -> Result<GrpcPort, String> {
    match text {
        "off" => Ok(GrpcPort::Off),
        port => port
            .parse()
            .map(GrpcPort::Port)
            .map_err(|_| format!("'{port}' is not a port (0 to 65535) or 'off'")),
    }
}

/// Flags of `legendary serve`.
#[derive(Debug, Args, Clone)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LEGENDARY_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, env = "LEGENDARY_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Port of the Open Inference Protocol over gRPC (KServe's default), on the same address;
    /// `off` serves no gRPC.
    #[arg(long, env = "LEGENDARY_GRPC_PORT", default_value = "8081", value_parser = parse_grpc_port)]
    pub grpc_port: GrpcPort,
    /// The model: a local MLflow model directory, `models:/NAME/STAGE`, `models:/NAME/VERSION`,
    /// `models:/NAME@ALIAS`, `models:/NAME/latest`, `runs:/RUN_ID/PATH` or `mlflow-artifacts:/PATH`.
    /// Without it, `MLFLOW_MODEL_NAME` + `MLFLOW_MODEL_STAGE` are used if set, else the model
    /// bundled in the binary (built from `models/pokemon`).
    #[arg(long, short = 'm', env = "MLFLOW_MODEL_URI")]
    pub model_uri: Option<String>,
    /// Registered model name (the original demo's Kubernetes variable).
    #[arg(long, env = "MLFLOW_MODEL_NAME", hide = true)]
    pub model_name: Option<String>,
    /// Registry stage to serve with `MLFLOW_MODEL_NAME` (default Production).
    #[arg(long, env = "MLFLOW_MODEL_STAGE", hide = true)]
    pub model_stage: Option<String>,
    /// How often to poll the registry for a new version when the URI names a stage, an alias
    /// or `latest` (`0s` turns polling off).
    #[arg(long, env = "LEGENDARY_RELOAD_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub reload_interval: Duration,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "LEGENDARY_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Longest a request may take before a 504 (default 60s, or
    /// `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT` seconds when set).
    #[arg(long, env = "LEGENDARY_TIMEOUT", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Most rows accepted in one request.
    #[arg(long, env = "LEGENDARY_MAX_ROWS", default_value_t = 1_000_000)]
    pub max_rows: usize,
    /// Longest a client may take to send a request's headers; also how long an idle
    /// keep-alive connection stays open. Longer than the usual 60 s load-balancer idle
    /// timeout, so a balancer never reuses a connection the server is closing.
    #[arg(long, env = "LEGENDARY_HEADER_TIMEOUT", default_value = "65s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Most large requests (64 KiB and more) read and scored at once, and most explanations
    /// computed at once; others wait.
    /// Memory is bounded by this times the worst case of one request (docs/operations.md).
    #[arg(long, env = "LEGENDARY_MAX_LARGE_REQUESTS", default_value_t = 2)]
    pub max_large_requests: usize,
    /// Most small request bodies (under 64 KiB) read at once; they never wait for large ones.
    #[arg(long, env = "LEGENDARY_MAX_SMALL_REQUESTS", default_value_t = 256)]
    pub max_small_requests: usize,
    /// Longest a request body may take to arrive once its permit is held: a stalled or
    /// dripping upload then gets a 408 and gives its permit back.
    #[arg(long, env = "LEGENDARY_BODY_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub body_timeout: Duration,
    /// Most connections open at once (default: the open-file limit minus 64, at most 10,000).
    /// At the cap, the oldest connection that has not sent a request yet is closed to make room.
    #[arg(long, env = "LEGENDARY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most connections open at once from one IP address (default: half of
    /// `--max-connections`). A peer at its share that opens another loses its own oldest idle
    /// connection. Behind a proxy every client has the proxy's address: set it to the cap (or
    /// more) to turn it off.
    #[arg(long, env = "LEGENDARY_MAX_CONNECTIONS_PER_PEER")]
    pub max_connections_per_peer: Option<usize>,
    /// On shutdown, how long requests in flight may take to finish.
    #[arg(long, env = "LEGENDARY_DRAIN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub drain_grace: Duration,
    /// How long start-up may take to get the model from the registry, retries and download
    /// included; also the longest one hot-reload poll may take.
    #[arg(long, env = "LEGENDARY_STARTUP_DEADLINE", default_value = "60s", value_parser = parse_duration)]
    pub startup_deadline: Duration,
    /// Transfer limits of model downloads.
    #[command(flatten)]
    pub download: DownloadArgs,
    /// Limits of the model compiler.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// When the model, stage or alias does not exist yet (a fresh registry), stay up and
    /// unready (`/ping` 503 with the reason) and poll at the reload interval, instead of
    /// exiting. Off by default, so a misspelt name fails at once.
    #[arg(long, env = "LEGENDARY_WAIT_FOR_MODEL")]
    pub wait_for_model: bool,
    /// The data package the web page searches (default: the one bundled in the binary).
    #[arg(long, env = "LEGENDARY_DATA")]
    pub data: Option<PathBuf>,
    /// The model's name in the Open Inference Protocol's routes (`/v2/models/NAME/…`);
    /// default: the registry's model name, else the model directory's name. KServe passes
    /// the InferenceService's name.
    #[arg(long, env = "LEGENDARY_SERVED_NAME")]
    pub served_name: Option<String>,
    /// Rows in the monitoring window of the last rows (drift, answer rate and expected
    /// quality at `/monitoring` and on `/metrics`).
    #[arg(long, env = "LEGENDARY_MONITOR_ROWS", default_value_t = 1000)]
    pub monitor_rows: usize,
    /// Time in the monitoring window of the last minutes.
    #[arg(long, env = "LEGENDARY_MONITOR_WINDOW", default_value = "1h", value_parser = parse_duration)]
    pub monitor_window: Duration,
    /// The monitoring reference for a model without one of its own (a scikit-learn model
    /// logged from Python), made by `legendary monitor profile`; it replaces the model's own.
    #[arg(long, env = "LEGENDARY_MONITORING_PROFILE")]
    pub monitoring_profile: Option<PathBuf>,
    /// Count nothing: no monitoring windows, no drift metrics.
    #[arg(long, env = "LEGENDARY_NO_MONITORING")]
    pub no_monitoring: bool,
    /// A challenger that scores a sampled copy of live rows after the champion has answered
    /// (`models:/NAME@challenger`, or any model URI): agreement, answer rates and its
    /// expected quality at `/monitoring` and on `/metrics`. Hot-reloaded like the champion.
    #[arg(long, env = "LEGENDARY_SHADOW_MODEL_URI")]
    pub shadow: Option<String>,
    /// The share of rows copied to the shadow challenger, 0 to 1.
    #[arg(long, env = "LEGENDARY_SHADOW_SAMPLE", default_value_t = 1.0)]
    pub shadow_sample: f64,
    /// The share of one core the shadow challenger's worker may use, 0.01 to 1; it only runs
    /// on a core no request wants (SCHED_IDLE on Linux), and rows it cannot keep up with are
    /// dropped and counted, never waited for.
    #[arg(long, env = "LEGENDARY_SHADOW_CPU", default_value_t = 0.5)]
    pub shadow_cpu: f64,
    /// Write a sample of the scored rows (the six stats, the answer, its probability, the
    /// model version, the time and the request id) in batches as CSV resources of a data
    /// package in this directory or object-store prefix (`s3://bucket/prefix/`, `gs://…`,
    /// `wasbs://…`, with MLflow's client variables). Fill in its `legendary` column and
    /// `legendary train --data` trains on the labelled rows.
    #[arg(long, env = "LEGENDARY_LOG_PAYLOADS", value_parser = parse_payload_target)]
    pub log_payloads: Option<String>,
    /// The share of scored rows the payload log keeps, 0 to 1.
    #[arg(long, env = "LEGENDARY_LOG_PAYLOADS_SAMPLE", default_value = "1", value_parser = parse_share)]
    pub log_payloads_sample: f64,
    /// Most bytes of rows the payload log holds while its sink writes (64KiB or more); rows
    /// past it are dropped and counted, never waited for.
    #[arg(long, env = "LEGENDARY_LOG_PAYLOADS_MAX_BYTES", default_value = "16MiB", value_parser = parse_queue_bytes)]
    pub log_payloads_max_bytes: usize,
    /// How often the payload log writes a batch (sooner when half its bound is waiting),
    /// 100ms to 1h.
    #[arg(long, env = "LEGENDARY_LOG_PAYLOADS_INTERVAL", default_value = "10s", value_parser = parse_flush_interval)]
    pub log_payloads_interval: Duration,
}

/// `--log-payloads`: a directory, or an object-store URI; anything else that looks like a URL
/// (`http://`, `file://`) is refused rather than taken for a directory of that name.
fn parse_payload_target(s: &str) -> Result<String, String> {
    let target = s.trim();
    if target.is_empty() {
        return Err("an empty path: give a directory or s3://bucket/prefix/".to_owned());
    }
    match legendary_mlflow::store::ObjectUri::parse(target) {
        Err(e) => Err(e.to_string()),
        Ok(Some(_)) => Ok(target.to_owned()),
        Ok(None) if target.contains("://") => Err(format!(
            "'{target}' is neither a directory nor an object-store URI (s3://, gs://, wasbs://, abfss://)"
        )),
        Ok(None) => Ok(target.to_owned()),
    }
}

/// A share from 0 to 1 (`--log-payloads-sample`).
fn parse_share(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or_else(|| format!("'{s}' is not a share from 0 to 1 (e.g. 0.1)"))
}

/// The smallest payload-log bound: a few hundred rows.
const MIN_QUEUE_BYTES: u64 = 64 * 1024;

/// `--log-payloads-max-bytes`: a size of at least [`MIN_QUEUE_BYTES`].
fn parse_queue_bytes(s: &str) -> Result<usize, String> {
    let bytes = parse_bytes(s)?;
    if bytes < MIN_QUEUE_BYTES {
        return Err(format!("'{s}' is under the smallest bound, 64KiB"));
    }
    usize::try_from(bytes).map_err(|_| format!("'{s}' is too large"))
}

/// `--log-payloads-interval`: from 100 ms to an hour.
fn parse_flush_interval(s: &str) -> Result<Duration, String> {
    let interval = parse_duration(s)?;
    if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&interval) {
        return Err(format!("'{s}' is not from 100ms to 1h"));
    }
    Ok(interval)
}

impl ServeArgs {
    /// The server config these flags and the environment describe.
    ///
    /// # Errors
    /// A bad address, model URI, timeout variable or tracking setting; a remote model
    /// without a tracking server.
    pub(crate) fn into_config(self, env: &Env) -> anyhow::Result<ServeConfig> {
        let model = ModelSource::choose(
            self.model_uri.as_deref(),
            self.model_name.as_deref(),
            self.model_stage.as_deref(),
        )?;
        let tracking = self.download.apply(env.tracking(None)?);
        if matches!(model, ModelSource::Remote(_)) && tracking.is_none() {
            anyhow::bail!(
                "serving '{model}' needs MLFLOW_TRACKING_URI (the MLflow server to fetch it from)"
            );
        }
        let max_connections = self
            .max_connections
            .unwrap_or_else(default_max_connections)
            .max(1);
        Ok(ServeConfig {
            listen: listen_addr(&self.host, self.port)?,
            grpc_listen: match self.grpc_port {
                GrpcPort::Off => None,
                GrpcPort::Port(port) => Some(listen_addr(&self.host, port)?),
            },
            model,
            tracking,
            reload_interval: self.reload_interval,
            limits: ServerLimits {
                max_body_bytes: self.max_body_bytes,
                timeout: env.request_timeout(self.timeout)?,
                scoring: Limits {
                    max_rows: self.max_rows,
                },
                header_timeout: self.header_timeout,
                max_large_requests: self.max_large_requests.max(1),
                max_small_requests: self.max_small_requests.max(1),
                body_timeout: self.body_timeout,
                max_connections,
                max_connections_per_peer: self
                    .max_connections_per_peer
                    .unwrap_or(max_connections / 2)
                    .max(1),
                ..ServerLimits::default()
            },
            drain_grace: self.drain_grace,
            startup_deadline: self.startup_deadline,
            wait_for_model: self.wait_for_model,
            data: self.data,
            sandbox: self.sandbox.sandbox()?,
            served_name: self.served_name.filter(|n| !n.trim().is_empty()),
            shadow: match &self.shadow {
                Some(uri) => {
                    anyhow::ensure!(
                        (0.0..=1.0).contains(&self.shadow_sample),
                        "--shadow-sample must be between 0 and 1, not {}",
                        self.shadow_sample
                    );
                    anyhow::ensure!(
                        (0.01..=1.0).contains(&self.shadow_cpu),
                        "--shadow-cpu must be between 0.01 and 1, not {}",
                        self.shadow_cpu
                    );
                    let model = ModelSource::choose(Some(uri), None, None)?;
                    if matches!(model, ModelSource::Remote(_)) && env.tracking(None)?.is_none() {
                        anyhow::bail!(
                            "the shadow '{model}' needs MLFLOW_TRACKING_URI (the MLflow server to fetch it from)"
                        );
                    }
                    Some(crate::config::ShadowConfig {
                        model,
                        sample: self.shadow_sample,
                        cpu: self.shadow_cpu,
                    })
                }
                None => None,
            },
            payload_log: match self.log_payloads {
                Some(target) => Some(crate::config::PayloadLogConfig {
                    stores: match legendary_mlflow::store::ObjectUri::parse(&target) {
                        Ok(Some(_)) => env.stores()?,
                        _ => legendary_mlflow::store::StoreConfig::default(),
                    },
                    target,
                    settings: crate::monitor::payload_log::PayloadLogSettings {
                        sample: self.log_payloads_sample,
                        max_bytes: self.log_payloads_max_bytes,
                        interval: self.log_payloads_interval,
                    },
                }),
                None => None,
            },
            monitoring: crate::http::MonitorSettings {
                enabled: !self.no_monitoring,
                window_rows: self.monitor_rows.max(1),
                window: self.monitor_window.max(Duration::from_secs(60)),
                profile: match &self.monitoring_profile {
                    Some(path) => Some(std::sync::Arc::new(read_profile(path)?)),
                    None => None,
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn train(args: &[&str]) -> anyhow::Result<TrainJob> {
        let cli = Cli::try_parse_from(["legendary", "train"].iter().chain(args))?;
        let Command::Train(args) = cli.command else {
            panic!("not train")
        };
        args.into_job(&Env::from_pairs(&[]))
    }

    #[test]
    fn train_defaults_are_the_documented_ones() {
        let job = train(&[]).unwrap();
        let config = job.train.get();
        let defaults = TrainConfig::default();
        assert_eq!(config.params, defaults.params);
        assert_eq!(config.cv_folds, defaults.cv_folds);
        assert_eq!(config.threshold, defaults.threshold);
        assert_eq!(config.calibration, defaults.calibration);
        let job = train(&["--calibration", "none"]).unwrap();
        assert_eq!(job.train.get().calibration, CalibrationMethod::Uncalibrated);
        assert!(job.tracking.is_none() && job.publish.is_none());
    }

    #[test]
    fn bad_flags_are_refused_with_the_reason() {
        let err = Cli::try_parse_from(["legendary", "train", "--generations", "0-3"]).unwrap_err();
        assert!(err.to_string().contains("'0'"), "{err}");
        let err = Cli::try_parse_from(["legendary", "train", "--threshold", "2"]).unwrap_err();
        assert!(err.to_string().contains("threshold"), "{err}");
        let err =
            Cli::try_parse_from(["legendary", "train", "--calibration", "platt"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("'centred-isotonic', 'isotonic' or 'none'"),
            "{err}"
        );
        let err = train(&["--n-trees", "0"]).unwrap_err();
        assert_eq!(err.to_string(), "--n-trees must be at least 1");
        let err = train(&["--register-as", "pokemon"]).unwrap_err();
        assert!(err.to_string().contains("tracking server"), "{err}");
        for stage in ["Archived", "none"] {
            let err = Cli::try_parse_from([
                "legendary",
                "train",
                "--register-as",
                "pokemon",
                "--stage",
                stage,
            ])
            .unwrap_err();
            assert!(
                err.to_string()
                    .contains("can be moved to Staging or Production, not"),
                "{err}"
            );
        }
        let job = train(&["--register-as", "pokemon", "--stage", "staging"]);
        assert!(job.unwrap_err().to_string().contains("tracking server"));
    }

    fn sweep(args: &[&str]) -> anyhow::Result<SweepJob> {
        let cli = Cli::try_parse_from(
            ["legendary", "sweep", "--grid", "g.toml"]
                .iter()
                .chain(args),
        )?;
        let Command::Sweep(args) = cli.command else {
            panic!("not sweep")
        };
        args.into_job(&Env::from_pairs(&[(
            "MLFLOW_TRACKING_URI",
            "http://mlflow:5000",
        )]))
    }

    #[test]
    fn a_sweep_step_is_one_of_all_one_configuration_or_the_collect_step() {
        assert_eq!(sweep(&[]).unwrap().step, SweepStep::All);
        assert_eq!(
            sweep(&["--only-index", "3"]).unwrap().step,
            SweepStep::Only(3)
        );
        let job = sweep(&[
            "--job-index",
            "24",
            "--sweep-id",
            "a-b.c_1",
            "--collect-poll",
            "1s",
        ])
        .unwrap();
        let SweepStep::JobIndex(24, collect) = job.step else {
            panic!("{:?}", job.step)
        };
        assert_eq!(collect.poll, Duration::from_secs(1));
        assert_eq!(collect.timeout, Duration::from_secs(50 * 60));
        assert_eq!(job.sweep_id.as_deref(), Some("a-b.c_1"));
        let err = sweep(&["--collect"]).unwrap_err();
        assert!(err.to_string().contains("--sweep-id"), "{err}");
        let err = sweep(&["--only-index", "1", "--collect", "--sweep-id", "x"]).unwrap_err();
        assert!(err.to_string().contains("cannot be used with"), "{err}");
        let err = sweep(&["--only-index", "1", "--register-as", "pokemon"]).unwrap_err();
        assert!(err.to_string().contains("--job-index"), "{err}");
        let err = sweep(&["--collect", "--sweep-id", "x' or '1'='1"]).unwrap_err();
        assert!(err.to_string().contains("--sweep-id must be"), "{err}");
    }

    #[test]
    fn an_unknown_gate_metric_is_refused_while_parsing() {
        let err = Cli::try_parse_from([
            "legendary",
            "train",
            "--register-as",
            "pokemon",
            "--promote",
            "--gate-metric",
            "rocauc",
        ])
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("rocauc") && text.contains("roc_auc"),
            "{text}"
        );
    }

    #[test]
    fn serve_reads_mlflows_demo_variables_into_one_config() {
        let cli = Cli::try_parse_from([
            "legendary",
            "serve",
            "--model-uri",
            "models:/pokemon/Production",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let error = args.clone().into_config(&Env::from_pairs(&[])).unwrap_err();
        assert!(error.to_string().contains("MLFLOW_TRACKING_URI"), "{error}");
        let env = Env::from_pairs(&[
            ("MLFLOW_TRACKING_URI", "http://mlflow:5000"),
            ("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "7"),
        ]);
        let config = args.into_config(&env).unwrap();
        assert_eq!(config.limits.timeout, Duration::from_secs(7));
        assert!(config.model.is_moving());
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    }

    fn serve(args: &[&str]) -> Result<ServeConfig, String> {
        let cli = Cli::try_parse_from(["legendary", "serve"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        args.into_config(&Env::from_pairs(&[]))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_payload_log_flags_have_their_defaults_and_bad_values_are_named() {
        assert!(serve(&[]).unwrap().payload_log.is_none());
        let config = serve(&["--log-payloads", "/tmp/payloads"]).unwrap();
        let log = config.payload_log.unwrap();
        assert_eq!(log.target, "/tmp/payloads");
        assert_eq!(
            log.settings,
            crate::monitor::payload_log::PayloadLogSettings::default()
        );
        let config = serve(&[
            "--log-payloads",
            "s3://bucket/payloads/",
            "--log-payloads-sample",
            "0.1",
            "--log-payloads-max-bytes",
            "1MiB",
            "--log-payloads-interval",
            "2s",
        ])
        .unwrap();
        let settings = config.payload_log.unwrap().settings;
        assert_eq!(
            (settings.sample, settings.max_bytes, settings.interval),
            (0.1, 1 << 20, Duration::from_secs(2))
        );
        for (flag, value, says) in [
            ("--log-payloads-sample", "1.5", "not a share from 0 to 1"),
            ("--log-payloads-sample", "NaN", "not a share from 0 to 1"),
            (
                "--log-payloads-max-bytes",
                "1KiB",
                "under the smallest bound",
            ),
            ("--log-payloads-max-bytes", "lots", "not a size"),
            ("--log-payloads-interval", "10ms", "not from 100ms to 1h"),
            (
                "--log-payloads",
                "https://example.com/x",
                "neither a directory",
            ),
            ("--log-payloads", " ", "an empty path"),
        ] {
            let args = match flag {
                "--log-payloads" => vec![flag, value],
                _ => vec!["--log-payloads", "/tmp/p", flag, value],
            };
            let error = serve(&args).unwrap_err();
            assert!(error.contains(says), "{flag} {value}: {error}");
        }
    }
}
