//! End to end against a REAL `mlflow server` 3.17.2 (from `.venv`, made by
//! `scripts/mlflow-venv.sh`): the MLflow client on its own, then the whole loop through the
//! `legendary` binary (train, register, promote, serve from the registry, the gate, sweeps,
//! hot reload under load); then artifacts on a real S3 server (Garage), proxied or not.
//! Ignored by plain `cargo test`; `scripts/test.sh` runs them.
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
    mod s3;
    mod sweep;
    mod train_serve;
}
