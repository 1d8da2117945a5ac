//! What each subcommand does, on top of the library: the one place that turns a parsed
//! command line into work and an exit code.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command, PredictArgs, TrainArgs};
use crate::train;

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    crate::telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => crate::server::run(args),
        Command::Train(args) => run_train(&args),
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

fn run_train(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let config = args.config();
    let outcome = train::train(&config).context("training failed")?;
    outcome
        .write(&args.output)
        .with_context(|| format!("writing the model to {}", args.output.display()))?;
    print!("{}", crate::report::summary(&outcome));
    println!("model written to {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}

fn run_predict(args: &PredictArgs) -> anyhow::Result<ExitCode> {
    let dir = crate::model::read_dir(std::path::Path::new(&args.model_uri))
        .with_context(|| format!("loading the model {}", args.model_uri))?;
    let input =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let out = crate::predict::score_csv(&dir.model, &input)
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
