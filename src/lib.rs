//! `legendary`: train, track and serve the legendary-Pokémon random forest with MLflow,
//! without Python.
//!
//! Layout:
//! - [`dataset`]: the data package, generation selection, stratified splits and folds.
//! - [`mlflow`]: the MLflow REST client (tracking, registry, artifacts) and model-URI resolution.
#![forbid(unsafe_code)]

pub mod dataset;
pub mod mlflow;
