//! End to end against a REAL `mlflow server` 3.17.2 (from `.venv`, made by
//! `scripts/mlflow-venv.sh`): the MLflow client on its own, then the whole loop through the
//! `legendary` binary (train, register, promote, serve from the registry, the gate, sweeps,
//! hot reload under load); then artifacts on a real S3 server (Garage), proxied or not; and
//! MLflow's Spark client scoring a registered model (PySpark from the venv
//! `scripts/mlflow-venv.sh spark` makes). Ignored by plain `cargo test`; `scripts/test.sh` runs
//! them.
//!
//! # Which tests also run against MLflow 2.x
//!
//! `scripts/test.sh` runs this whole suite against MLflow 3 (`.venv`), then once more against
//! the newest MLflow 2.x (`.venv-mlflow2`) only the tests whose behaviour depends on the server
//! generation, chosen by name:
//!
//! - every test of `mlflow` (the REST client: tracking, artifacts, the registry, basic auth) and
//!   of `models` (logged models, which MLflow 3 and 2 store differently, and MLflow's own tools
//!   loading and serving them);
//! - every other test whose name says `registry`: it goes through the model registry (versions,
//!   stages, aliases and the errors for missing ones, which the two generations word
//!   differently).
//!
//! The rest (artifacts on S3, data sources, sweeps, explanations, hot reload under load, Spark)
//! make the same MLflow calls as those and test legendary's side of them. A new test that depends on the
//! server generation goes in `mlflow` or `models`, or says `registry` in its name. The filter
//! (`MLFLOW2_FILTER` in `scripts/test.sh`), to run by hand:
//!
//! ```sh
//! LEGENDARY_TEST_MLFLOW_VENV=.venv-mlflow2 cargo test --test end_to_end -- --include-ignored \
//!     end_to_end::mlflow:: end_to_end::models:: registry
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test crate: a failed step is a failed test"
)]

mod support;

mod end_to_end {
    mod data;
    mod explain;
    mod mlflow;
    mod models;
    mod monitoring;
    mod oip_clients;
    mod retrain;
    mod s3;
    mod spark;
    mod sweep;
    mod train_serve;
}
