//! What each subcommand does, on top of the library: the one place that turns a parsed
//! command line into configs, configs into work, and work into an exit code.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::acquire::Fetcher;
use crate::cli::{Cli, Command};
use crate::config::{
    DataAction, DataJob, Env, PredictJob, RetrainJob, SweepJob, SweepStep, TrainJob,
};
use crate::track::{EXIT_NOT_PROMOTED, PublishConfig, Published, RunContext, Session};
use crate::train::ValidConfig;
use legendary_mlflow::wire::KeyValue;

/// How long `predict` may take to fetch its model.
const DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Parses the process's command line, runs it and returns the exit code.
pub fn main() -> ExitCode {
    dispatch(crate::cli::parse())
}

/// Runs a parsed command line and returns the process exit code.
fn dispatch(cli: Cli) -> ExitCode {
    // The model compiler writes its answer on stdout and logs nothing.
    if let Command::Model(args) = &cli.command {
        let crate::cli::ModelAction::Compile(compile) = &args.action;
        return crate::sandbox::child::run(&compile.dir, &compile.limits());
    }
    crate::telemetry::init(cli.log_format);
    let env = Env::process();
    let result = match cli.command {
        Command::Serve(args) => args
            .into_config(&env)
            .and_then(crate::server::serve)
            .map(|()| ExitCode::SUCCESS),
        Command::Train(args) => args.into_job(&env).and_then(|job| train(&job, Vec::new())),
        Command::Retrain(args) => args.into_job(&env).and_then(|job| retrain(&job)),
        Command::Sweep(args) => args.into_job(&env).and_then(|job| {
            crate::sweep::session::sweep(&job)
                .map(|published| exit_code(published.as_ref(), job.publish.as_ref()))
        }),
        Command::Predict(args) => args.into_job(&env).and_then(|job| predict(&job)),
        Command::Data(args) => args.into_job(&env).and_then(|job| data(&job)),
        Command::Monitor(args) => {
            let crate::cli::MonitorAction::Profile(profile) = args.action;
            profile.into_job(&env).and_then(|job| monitor_profile(&job))
        }
        // Answered above, before logging starts.
        Command::Model(_) => Ok(ExitCode::FAILURE),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what was published; a refusal by the gate exits with the configured code
/// ([`EXIT_NOT_PROMOTED`] unless told otherwise).
fn exit_code(published: Option<&Published>, config: Option<&PublishConfig>) -> ExitCode {
    match published {
        Some(p) => {
            print!("{p}");
            if p.accepted() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(config.map_or(EXIT_NOT_PROMOTED, |c| c.not_promoted_exit_code))
            }
        }
        None => ExitCode::SUCCESS,
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Trains, writes the model directory, and with a tracking server logs it all into a run that
/// was started before the fit: its duration is the training's, and a training that fails
/// leaves a FAILED run saying why.
fn train(job: &TrainJob, tags: Vec<KeyValue>) -> anyhow::Result<ExitCode> {
    let (config, _fetched) = local_data(job)?;
    train_local(job, &config, tags)
}

/// [`train`] with the data already local (`config`: `job`'s, its data downloaded if remote).
fn train_local(
    job: &TrainJob,
    config: &ValidConfig,
    tags: Vec<KeyValue>,
) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let started = match &job.tracking {
        Some(target) => Some(runtime.block_on(async {
            let session =
                Session::open(&target.tracking, &target.experiment, target.user.as_deref()).await?;
            // A bucket that cannot be reached is named now, before a run exists to be failed.
            let client = session.client();
            let root = client
                .get_experiment(session.experiment_id())
                .await?
                .artifact_location;
            client.check_artifact_root(&root).await?;
            let ctx = RunContext {
                run_name: target.run_name.clone(),
                tags,
                ..RunContext::default()
            };
            let run = session.start_run(&ctx).await?;
            anyhow::Ok((session, run))
        })?),
        None => None,
    };
    let trained = crate::train::train(config)
        .context("training failed")
        .and_then(|mut outcome| {
            // The run records where the data really lives, not the temporary copy.
            outcome.record_source(&job.train.get().data);
            outcome
                .write(&job.output)
                .with_context(|| format!("writing the model to {}", job.output.display()))?;
            Ok(outcome)
        });
    let Some((session, run)) = started else {
        let outcome = trained?;
        print!("{}", crate::report::summary(&outcome));
        println!("model written to {}", job.output.display());
        return Ok(ExitCode::SUCCESS);
    };
    let outcome = match trained {
        Ok(outcome) => outcome,
        Err(e) => {
            let reason = format!("{e:#}");
            let _ = runtime.block_on(session.fail_run(&run, &reason));
            return Err(e);
        }
    };
    print!("{}", crate::report::summary(&outcome));
    println!("model written to {}", job.output.display());
    let published = runtime.block_on(async {
        let run = session.finish_training(run, &outcome, &job.output).await?;
        println!(
            "logged run {} in experiment '{}'",
            run.run_id,
            session.experiment()
        );
        match &job.publish {
            Some(config) => session
                .publish(
                    config,
                    &run,
                    outcome.evaluated_model(),
                    &outcome.held_out(),
                    Some(&outcome.description()),
                )
                .await
                .map(Some),
            None => anyhow::Ok(None),
        }
    })?;
    Ok(exit_code(published.as_ref(), job.publish.as_ref()))
}

/// `legendary retrain`: gathers the signals, decides (see [`crate::retrain`]), says why, and
/// when it retrains runs `train` with the reasons as run tags.
fn retrain(job: &RetrainJob) -> anyhow::Result<ExitCode> {
    let (Some(target), Some(publish)) = (&job.train.tracking, &job.train.publish) else {
        anyhow::bail!("retrain needs a tracking server and --register-as");
    };
    let crate::track::Placement::Gate(gate) = &publish.placement else {
        anyhow::bail!("retrain always gates its model");
    };
    // Fetched once: the digest is read from it, and the training (if any) trains on it.
    let (config, _fetched) = local_data(&job.train)?;
    let data = crate::dataset::load(&config.get().data, &config.get().generations)
        .context("reading the catalogue's data")?
        .sha256;
    // A bad grid is named before anything is asked of the registry.
    let grid = match &job.grid {
        Some(path) => Some((
            path.as_path(),
            crate::retrain::grid(path, config.get(), &job.train.train.get().data)?,
        )),
        None => None,
    };
    let plan = runtime()?.block_on(async {
        let session =
            Session::open(&target.tracking, &target.experiment, target.user.as_deref()).await?;
        let signals = crate::retrain::gather(
            session.client(),
            session.experiment_id(),
            gate,
            data,
            &job.watch,
        )
        .await?;
        anyhow::Ok(crate::retrain::decide(&signals, &job.watch))
    })?;
    if !plan.retrain {
        tracing::info!(reasons = %plan.why(), "not retraining");
        println!("not retraining: {}", plan.why());
        return Ok(ExitCode::SUCCESS);
    }
    tracing::info!(reasons = %plan.why(), "retraining");
    println!("retraining: {}", plan.why());
    let tags = vec![
        KeyValue::new(crate::retrain::RETRAIN_TAG, "true"),
        KeyValue::new(crate::retrain::REASON_TAG, truncate_tag(&plan.why())),
    ];
    match &grid {
        None => train_local(&job.train, &config, tags),
        Some((path, grid)) => retrain_sweep(job, path, grid, tags),
    }
}

/// The sweep of `retrain --grid` (`grid`, expanded by [`crate::retrain::grid`]), in one
/// process, the best configuration gated and promoted; `tags` (why it retrained) go on the
/// sweep's parent run, which the cool-down finds.
fn retrain_sweep(
    job: &RetrainJob,
    path: &std::path::Path,
    grid: &crate::sweep::Grid,
    tags: Vec<KeyValue>,
) -> anyhow::Result<ExitCode> {
    let sweep = SweepJob {
        grid: path.to_path_buf(),
        parallel: job.parallel,
        step: SweepStep::All,
        sweep_id: None,
        output: job.train.output.clone(),
        tracking: job.train.tracking.clone(),
        publish: job.train.publish.clone(),
    };
    let published = crate::sweep::session::run(&sweep, grid, tags)?;
    Ok(exit_code(published.as_ref(), sweep.publish.as_ref()))
}

/// MLflow keeps at most 8000 characters of a tag value.
fn truncate_tag(text: &str) -> String {
    text.chars().take(8000).collect()
}

/// The training config with its data local: as given, or downloaded from the object store or
/// the URL `--data` names into a temporary directory (kept alive by the second value).
fn local_data(job: &TrainJob) -> anyhow::Result<(ValidConfig, Option<tempfile::TempDir>)> {
    let uri = job.train.get().data.display().to_string();
    let dir = tempfile::tempdir().context("creating a directory for the data")?;
    if !runtime()?.block_on(crate::dataset::fetch(&uri, &job.stores, dir.path()))? {
        return Ok((job.train.clone(), None));
    }
    let mut config = job.train.get().clone();
    config.data = dir.path().to_path_buf();
    Ok((config.validate()?, Some(dir)))
}

/// `legendary data search|show`: the catalogue of the package, fetched first when remote.
fn data(job: &DataJob) -> anyhow::Result<ExitCode> {
    use crate::dataset::catalogue;
    let fetched = tempfile::tempdir().context("creating a directory for the data package")?;
    let remote = runtime()?.block_on(crate::dataset::fetch(
        &job.data,
        &job.stores,
        fetched.path(),
    ))?;
    let dir = if remote {
        fetched.path().to_path_buf()
    } else {
        std::path::PathBuf::from(&job.data)
    };
    let entries = catalogue::read(&dir, &job.data)?;
    let out = match &job.action {
        DataAction::Search(query) => {
            let found: Vec<&catalogue::Entry> =
                entries.iter().filter(|e| query.matches(e)).collect();
            if job.json {
                serde_json::to_string_pretty(&found)? + "\n"
            } else {
                catalogue::table(&found)
            }
        }
        DataAction::Show(name) => {
            let Some(entry) = entries.iter().find(|e| e.name == *name) else {
                let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
                anyhow::bail!(
                    "no data set `{name}` in {} (there are: {})",
                    job.data,
                    names.join(", ")
                );
            };
            if job.json {
                serde_json::to_string_pretty(entry)? + "\n"
            } else {
                catalogue::show(entry)
            }
        }
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Builds a model's monitoring profile from reference rows, with the model's own answers on
/// them (in-sample when they are its training rows: `train`'s out-of-fold ones are better).
fn monitor_profile(job: &crate::config::ProfileJob) -> anyhow::Result<ExitCode> {
    let served = load_model(&job.model, job.tracking.as_ref(), &job.sandbox)?;
    anyhow::ensure!(
        served.model.takes_demo_stats(),
        "the model does not take the six stats (it takes {:?}): they cannot be monitored",
        served.model.input_features()
    );
    let dataset = crate::dataset::load(&job.data, &job.generations)
        .with_context(|| format!("reading {}", job.data.display()))?;
    let rows: Vec<[f64; 6]> = dataset.rows.iter().map(|p| p.stats).collect();
    let probabilities = served.model.proba_rows(&rows);
    let decisions = served.model.decide_all(&probabilities);
    let profile = crate::monitor::Profile::build(
        format!(
            "{} rows of {} (generations {})",
            rows.len(),
            dataset.source,
            job.generations
        ),
        &rows,
        &crate::monitor::Answers {
            source: format!(
                "the model's own probabilities on those rows ({})",
                job.model
            ),
            probabilities: &probabilities,
            decisions: &decisions,
            fold_rates: Vec::new(),
        },
    );
    write_output(job.output.as_deref(), &profile.to_json())?;
    Ok(ExitCode::SUCCESS)
}

/// Fetches and compiles (in the sandbox) the model of a one-shot command (`predict`,
/// `monitor profile`) within [`DOWNLOAD_TIMEOUT`].
fn load_model(
    source: &crate::acquire::ModelSource,
    tracking: Option<&legendary_mlflow::TrackingConfig>,
    sandbox: &crate::sandbox::Sandbox,
) -> anyhow::Result<crate::acquire::Served> {
    let fetcher = Fetcher::new(source.clone(), tracking, sandbox.clone())?;
    runtime()?
        .block_on(fetcher.load(tokio::time::Instant::now() + DOWNLOAD_TIMEOUT))
        .with_context(|| format!("loading the model {source}"))
}

/// Writes a command's result to `path`, or to standard output without one.
fn write_output(path: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(bytes)?;
        }
    }
    Ok(())
}

fn predict(job: &PredictJob) -> anyhow::Result<ExitCode> {
    let served = load_model(&job.model, job.tracking.as_ref(), &job.sandbox)?;
    let input =
        std::fs::read(&job.input).with_context(|| format!("reading {}", job.input.display()))?;
    let out = crate::predict::score_csv(&served.model, &input)
        .with_context(|| format!("scoring {}", job.input.display()))?;
    write_output(job.output.as_deref(), &out)?;
    Ok(ExitCode::SUCCESS)
}
