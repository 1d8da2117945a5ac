//! What each subcommand does, on top of the library: the one place that turns a parsed
//! command line into work and an exit code.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command, PredictArgs, SweepArgs, TrackingArgs, TrainArgs};
use crate::mlflow::{MlflowClient, Stage, TrackingConfig};
use crate::track::{self, Decision, GateConfig, RunContext};
use crate::train::{self, Outcome};

/// Exit code of `train`/`sweep --promote` when the gate refused the new model: not an error,
/// but scripts need to tell it apart from a promotion.
pub const EXIT_NOT_PROMOTED: u8 = 3;

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    crate::telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => crate::server::run(args),
        Command::Train(args) => run_train(&args),
        Command::Sweep(args) => run_sweep(&args),
        Command::Predict(args) => run_predict(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The MLflow client the tracking flags ask for, if any.
fn client(args: &TrackingArgs) -> anyhow::Result<Option<MlflowClient>> {
    let uri = args.tracking_uri.clone();
    let config = TrackingConfig::from_lookup(|key| {
        if key == "MLFLOW_TRACKING_URI" {
            uri.clone()
        } else {
            std::env::var(key).ok()
        }
    })?;
    if config.is_none() && (args.register_as.is_some() || args.promote) {
        anyhow::bail!(
            "--register-as and --promote need a tracking server: set --tracking-uri or MLFLOW_TRACKING_URI"
        );
    }
    config
        .map(|c| MlflowClient::new(&c))
        .transpose()
        .map_err(Into::into)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run_train(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let client = client(&args.tracking)?;
    let config = args.config();
    let outcome = train::train(&config).context("training failed")?;
    outcome
        .write(&args.output)
        .with_context(|| format!("writing the model to {}", args.output.display()))?;
    print!("{}", crate::report::summary(&outcome));
    println!("model written to {}", args.output.display());
    let Some(client) = client else {
        return Ok(ExitCode::SUCCESS);
    };
    runtime()?.block_on(async {
        let experiment_id = client
            .get_or_create_experiment(&args.tracking.experiment)
            .await?;
        let ctx = RunContext {
            experiment_id,
            run_name: args.tracking.run_name.clone(),
            ..RunContext::default()
        };
        let run = track::log_training(&client, &ctx, &outcome, &args.output).await?;
        println!(
            "logged run {} in experiment '{}'",
            run.run_id, args.tracking.experiment
        );
        publish(&client, &args.tracking, &run, &outcome).await
    })
}

/// Registers, then places the version as asked (or through the gate with `--promote`).
pub(crate) async fn publish(
    client: &MlflowClient,
    args: &TrackingArgs,
    run: &track::LoggedRun,
    outcome: &Outcome,
) -> anyhow::Result<ExitCode> {
    let Some(name) = &args.register_as else {
        return Ok(ExitCode::SUCCESS);
    };
    let version = track::register(client, name, run).await?;
    println!("registered {name} version {}", version.version);
    if !args.promote {
        track::place(
            client,
            name,
            &version.version,
            args.stage,
            args.alias.as_deref(),
        )
        .await?;
        if let Some(stage) = args.stage {
            println!(
                "{name} version {} is now in stage {}",
                version.version,
                stage.as_str()
            );
        }
        if let Some(alias) = &args.alias {
            println!("{name}@{alias} now points to version {}", version.version);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let gate = GateConfig {
        name: name.clone(),
        alias: args.alias.clone().unwrap_or_else(|| "champion".to_owned()),
        stage: args.stage.unwrap_or(Stage::Production),
        metric: args.gate_metric.clone(),
        min_improvement: args.min_improvement,
    };
    let rows: Vec<[f64; 6]> = outcome
        .split
        .test
        .iter()
        .map(|&i| outcome.dataset.rows[i].stats)
        .collect();
    let labels: Vec<bool> = outcome
        .split
        .test
        .iter()
        .map(|&i| outcome.dataset.rows[i].legendary)
        .collect();
    let decision = track::promote(client, &gate, &version, &outcome.model, &rows, &labels).await?;
    Ok(report_decision(&gate, &version.version, &decision))
}

fn report_decision(gate: &GateConfig, version: &str, decision: &Decision) -> ExitCode {
    match decision {
        Decision::Promoted {
            champion,
            challenger,
        } => {
            let before = champion.as_ref().map_or_else(
                || "there was no champion".to_owned(),
                |(v, s)| format!("champion version {v} scored {s:.4}"),
            );
            println!(
                "promoted: version {version} scored {} {challenger:.4} on {} held-out rows; {before}. {}@{} and stage {} now point to it.",
                gate.metric,
                gate.name,
                gate.name,
                gate.alias,
                gate.stage.as_str()
            );
            ExitCode::SUCCESS
        }
        Decision::Refused {
            champion: (v, s),
            challenger,
        } => {
            println!(
                "not promoted: version {version} scored {} {challenger:.4}, champion version {v} scored {s:.4}; the challenger must win by at least {}. The champion keeps serving.",
                gate.metric, gate.min_improvement
            );
            ExitCode::from(EXIT_NOT_PROMOTED)
        }
    }
}

fn run_sweep(args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let grid = crate::sweep::load(&args.grid)?;
    let indices: Vec<usize> = match args.only_index {
        Some(i) if i >= grid.configs.len() => {
            anyhow::bail!(
                "--only-index {i}: the grid has {} configurations (0-{})",
                grid.configs.len(),
                grid.configs.len() - 1
            )
        }
        Some(i) => vec![i],
        None => (0..grid.configs.len()).collect(),
    };
    let client = client(&args.tracking)?;
    let parallel = args
        .parallel
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    crate::sweep::session::run(&grid, &indices, parallel, client.as_ref(), args)
}

fn run_predict(args: &PredictArgs) -> anyhow::Result<ExitCode> {
    // The same resolution as `serve`: a local directory, or any MLflow URI via MLFLOW_TRACKING_URI.
    let source = crate::server::ModelSource::from_args(Some(&args.model_uri), None, None)?;
    let served = runtime()?
        .block_on(async {
            let client = crate::server::client_for(&source)?;
            crate::server::load(&source, client.as_ref()).await
        })
        .with_context(|| format!("loading the model {}", args.model_uri))?;
    let input =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let out = crate::predict::score_csv(&served.model, &input)
        .with_context(|| format!("scoring {}", args.input.display()))?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &out).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
