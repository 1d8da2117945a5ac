//! The Pokémon data package: read `datapackage.json`, check every row of the selected
//! generations against the schema, and split the rows for training and evaluation. A package
//! may also live on an object store (`s3://…`, `gs://…`, Azure): [`fetch`] brings it here first.

mod fetch;
mod generations;
mod package;
mod split;

pub use fetch::{fetch, source_type};
pub use generations::Generations;
pub use package::{DataError, Dataset, Pokemon, load};
pub use split::{Split, SplitMix64};
pub(crate) use split::{kfold, stratified_split};

/// The six base stats the model reads, in the order the data package stores them.
pub const FEATURES: [&str; 6] = [
    "hp",
    "attack",
    "defense",
    "special_attack",
    "special_defense",
    "speed",
];
