//! `legendary`: train, track and serve the legendary-Pokémon random forest with MLflow,
//! without Python.
//!
//! Layout:
//! - [`dataset`]: the data package, generation selection, stratified splits and folds.
//! - [`scoring`]: the MLflow scoring protocol: parse `/invocations` bodies, render answers.
#![forbid(unsafe_code)]

pub mod dataset;
pub mod scoring;
