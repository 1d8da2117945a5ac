//! `legendary`: train, track and serve the legendary-Pokémon random forest with MLflow,
//! without Python.
//!
//! This crate is the top layer of the workspace (see `docs/design.md`, "Crates"): below it,
//! `legendary-mlflow` (the MLflow client, object stores, the bounded transfer),
//! `legendary-sklearn` (the scikit-learn readers), `legendary-forest` (our forest and its
//! walks) and `legendary-scoring` (the scoring protocol). Its modules:
//! - `run`, `cli` - the commands: the command-line parser, and the one place flags become configs.
//! - [`config`] - every setting, typed, read once from flags and the environment.
//! - [`server`] - `legendary serve`: the one `app()`, scoring routes, probes, hot reload, shutdown.
//! - `web` - the web page, the Pokédex search and the demo `/pokemon-type` API.
//! - [`http`] - what both share: state, the one error type, extractors, metrics.
//! - `sweep` - grids of training configurations, run in parallel and ranked.
//! - `track` - logging training runs to MLflow; registration, stages, aliases, the gate.
//! - [`acquire`] - from a model URI to a validated, servable model (serve, reload, predict, gate).
//! - [`sandbox`] - untrusted model files parsed in a confined child process, never in the server.
//! - [`train`], `report` - fitting, evaluation, importances, plots; terminal summaries.
//! - [`explain`] - exact Shapley values of the legendary probability over the six stats.
//! - [`plot`] - the run's pictures (ROC curve, importances, confusion matrix, SHAP summary).
//! - `predict` - batch scoring of CSV files.
//! - [`cancel`] - cooperative cancellation of work a dropped request handed off.
//! - [`model`] - a model of either kind, and the MLflow model directory around it.
//! - [`dataset`] - the data package, generation selection, stratified splits and folds.
//! - `embedded` - the bundled model and data set, compiled in.
//! - `telemetry` - logging.
#![forbid(unsafe_code)]

pub mod acquire;
pub mod cancel;
mod cli;
pub mod config;
pub mod dataset;
mod embedded;
pub mod explain;
pub mod http;
pub mod model;
pub mod monitor;
pub mod plot;
mod predict;
mod report;
mod retrain;
mod run;
pub mod sandbox;
pub mod server;
mod sweep;
mod telemetry;
mod track;
pub mod train;
mod web;

pub use run::main;
pub use track::EXIT_NOT_PROMOTED;
