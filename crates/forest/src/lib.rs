//! The forest we train and serve: a smartcore random forest in a versioned JSON envelope
//! ([`ForestModel`], `model.json`), its flat compiled copy ([`FlatForest`]) scored by
//! QuickScorer or a tree walk, the columns derived from the six stats ([`FeatureSet`]), and
//! the caps a model read from elsewhere is held to ([`ReadLimits`]).
//!
//! This crate is built optimised even in debug builds (see the workspace's `Cargo.toml`):
//! its SIMD kernel only costs what it should once inlined.
//!
//! - `envelope`: `model.json` to a [`ForestModel`] and back.
//! - `calibration`: the map from vote fraction to probability ([`Calibration`]).
//! - `forest`, `mirror`: the checked pass over smartcore's JSON and the flat forest.
//! - `features`: the derived columns.
//! - `fit`: fitting smartcore's forest (here so that it is optimised in debug builds too).
//! - `limits`: [`ReadLimits`].
//! - `stats`, `rng`: the six stats' names, and the one seeded generator.
#![forbid(unsafe_code)]

mod calibration;
mod envelope;
mod features;
mod fit;
mod forest;
mod limits;
mod mirror;
mod rng;
mod stats;

pub use calibration::{
    Calibration, CalibrationError, MAX_KNOTS, fit_centred_isotonic, fit_isotonic,
};
pub use envelope::{FORMAT, Forest, ForestModel, ForestParams, ModelError, SMARTCORE_VERSION};
pub use features::{DERIVED, FeatureSet, MAX_WIDTH, REGULARITY};
pub use fit::fit_forest;
pub use forest::{BLOCK_ROWS, FlatForest, ForestError, ROW_STRIDE};
pub use limits::ReadLimits;
pub use rng::SplitMix64;
pub use stats::{FEATURES, Stats, features_then};
