//! The Pokémon data package: read `datapackage.json`, check every row of the selected
//! generations against the schema, and split the rows for training and evaluation. A package
//! may also live on an object store (`s3://…`, `gs://…`, Azure) or behind an `http(s)://` URL:
//! [`fetch`] brings it here first. A single CSV in the demo's shape is read too ([`load_csv`]).

pub mod catalogue;
mod fetch;
mod generations;
mod package;
mod split;
mod table;

use std::path::{Path, PathBuf};

pub use fetch::{fetch, source_json, source_type};
pub use generations::Generations;
pub use package::{DataError, Dataset, Pokemon};
pub use split::{Holdout, Split};
pub(crate) use split::{grouped_kfold, identical_groups, kfold, stratified_split};
pub use table::load_csv;

/// The default `--data` (and a grid's): relative to the working directory, as in the
/// repository and the image (`/app`).
pub const DEFAULT_PACKAGE: &str = "data/pokemon";

/// The source a dataset read from the binary's embedded copy of [`DEFAULT_PACKAGE`] records
/// (no such directory exists where it ran): MLflow logs it as data made by code, not as a
/// local path (see [`source_type`]).
pub const EMBEDDED_SOURCE: &str = "the data package embedded in legendary (data/pokemon)";

/// Loads the selected generations from `path`: a data package directory (`datapackage.json`),
/// a single CSV file, or a directory holding one CSV and no descriptor (what [`fetch`] makes
/// of a single object or URL). The default [`DEFAULT_PACKAGE`], where the working directory
/// has none (after `cargo install`, from `/`), is the package compiled into the binary: the
/// same files, so the same digest; its source says it is that copy ([`EMBEDDED_SOURCE`]).
///
/// # Errors
/// As [`load_csv`] or the package loader: unreadable files, schema violations, hash or
/// row-count mismatches, an empty selection.
pub fn load(path: &Path, generations: &Generations) -> Result<Dataset, DataError> {
    if let Some(bundled) = bundled_default(path)? {
        let mut dataset = package::load_package(bundled.path(), generations)?;
        dataset.root = path.to_path_buf();
        dataset.source = EMBEDDED_SOURCE.to_owned();
        return Ok(dataset);
    }
    match lone_csv(path) {
        Some(csv) => load_csv(&csv, generations),
        None => package::load_package(path, generations),
    }
}

/// The bundled data package, written to a temporary directory, when `path` is
/// [`DEFAULT_PACKAGE`] and the working directory has none; every reader of a package (training,
/// the catalogue) goes through it, so all of them find the same data from any directory.
///
/// # Errors
/// I/O failures writing the files.
pub(crate) fn bundled_default(path: &Path) -> Result<Option<tempfile::TempDir>, DataError> {
    if path != Path::new(DEFAULT_PACKAGE) || path.exists() {
        return Ok(None);
    }
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = tempfile::tempdir().map_err(io)?;
    crate::embedded::write_data(dir.path()).map_err(io)?;
    Ok(Some(dir))
}

/// The CSV to read when `path` is one, or a directory with one CSV and no `datapackage.json`.
fn lone_csv(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    if path.join("datapackage.json").exists() {
        return None;
    }
    let mut csvs = std::fs::read_dir(path).ok()?.filter_map(|entry| {
        let path = entry.ok()?.path();
        path.extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"))
            .then_some(path)
    });
    let first = csvs.next()?;
    csvs.next().is_none().then_some(first)
}
