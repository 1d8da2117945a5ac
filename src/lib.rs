//! `legendary`: train, track and serve the legendary-Pokémon random forest with MLflow,
//! without Python.
//!
//! Layout:
//! - [`cli`] - the command line (clap), every flag also an environment variable.
//! - `run`: what each subcommand does.
//! - [`dataset`] - the data package, generation selection, stratified splits and folds.
//! - [`mlflow`] - the MLflow REST client (tracking, registry, artifacts) and model-URI resolution.
//! - [`model`] - the smartcore forest in a versioned envelope, and the MLflow model directory.
//! - [`track`] - logging training runs to MLflow, registration, stages, aliases, the promotion gate.
//! - [`train`] - fitting, evaluation, cross-validation, importances, plots.
//! - [`scoring`] - MLflow's scoring protocol: request bytes to a typed batch, predictions to JSON.
//! - [`server`] - the HTTP server: routes, errors, live model, readiness, shutdown.
//! - [`sweep`] - grids of training configurations, run in parallel and ranked.
//! - [`predict`] - batch scoring of CSV files.
//! - [`report`] - terminal summaries.
//! - [`telemetry`] - logging.
//! - [`web`] - the web page, the demo `/pokemon-type` API, and the OpenAPI document.
#![forbid(unsafe_code)]

pub mod cli;
pub mod dataset;
pub mod mlflow;
pub mod model;
pub mod predict;
pub mod report;
pub mod run;
pub mod scoring;
pub mod server;
pub mod sweep;
pub mod telemetry;
pub mod track;
pub mod train;
pub mod web;

pub use run::run;
