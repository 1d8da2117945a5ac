//! MLflow over REST: one client for the tracking server and the model registry, model-URI
//! parsing and resolution, and artifact upload/download through the server's artifact proxy.
//!
//! - [`config`]: `TrackingConfig` from `MLFLOW_TRACKING_*` variables (secrets redacted).
//! - [`client`]: `MlflowClient`, retries, error decoding.
//! - [`tracking`]: experiments, runs, params/metrics/tags, datasets.
//! - [`artifact`]: upload a directory, list and download an artifact tree.
//! - [`registry`]: registered models, versions, stages, aliases.
//! - [`server`]: the server's version and whether it has MLflow 3 logged models.
//! - [`logged_model`]: logging a model as MLflow 3 logged model, or MLflow 2 run artifact.
//! - [`uri`] and [`resolve`]: `models:/…`, `runs:/…` → files on disk.
//! - [`wire`]: serde mirrors of MLflow's JSON.
//! - [`transfer`]: the one bounded download (bytes, idle time, deadline, `.part` files).
//! - [`store`]: object stores (`s3://`, `gs://`, Azure) for artifacts the server does not proxy.
//! - [`redact`]: the one scrubber of secrets from text that came from elsewhere.
#![forbid(unsafe_code)]

pub mod artifact;
pub mod client;
pub mod config;
pub mod error;
pub mod logged_model;
pub mod redact;
pub mod registry;
pub mod resolve;
pub mod retry;
pub mod server;
pub mod store;
pub mod tracking;
pub mod transfer;
pub mod uri;
pub mod wire;

pub use client::MlflowClient;
pub use config::TrackingConfig;
pub use error::MlflowError;
pub use resolve::{Resolved, download, download_until, resolve};
pub use uri::{ModelUri, Stage};
