//! Where artifact bytes live when the tracking server does not proxy them: `s3://` (AWS and
//! S3-compatible servers such as MinIO and Garage), `gs://` and Azure Blob
//! (`wasbs://`/`abfss://`), on the `object_store` crate (its signing, retries and
//! multipart uploads), configured by the variables MLflow's own client reads.
//!
//! - [`uri`]: which URIs name a store, and the bucket/container and prefix in them.
//! - [`config`]: `StoreConfig` from `MLFLOW_S3_*`, `AWS_*`, `GOOGLE_*`, `AZURE_*` (redacted).
//! - `open`: a client of the named store; missing credentials refused before any request.
//! - [`transfer`]: upload a directory; download a tree through the one bounded transfer.
//! - [`path`]: the checks every name passes between a remote tree and the file system.
//! - [`error`]: `StoreError`, naming the URI and the variable to set, never a secret.

pub mod config;
pub mod error;
mod open;
pub mod path;
pub mod transfer;
pub mod uri;

pub use config::{Secret, StoreConfig};
pub use error::StoreError;
pub use transfer::Store;
pub use uri::{Backend, ObjectUri};
