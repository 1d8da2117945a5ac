//! The bundled model (`models/pokemon`) and data set (`data/pokemon`), compiled into the
//! binary, so `legendary serve` and `legendary predict` work from any directory and after
//! `cargo install`. They are written to a temporary directory and read back through the same
//! validating readers as any model or data package, so nothing trusts them more than a file.

use std::path::Path;

/// A file of a bundled directory: its name and its bytes.
type File = (&'static str, &'static [u8]);

/// The bundled model directory (the files `serve` reads; the plots are left out).
const MODEL: &[File] = &[
    ("MLmodel", include_bytes!("../models/pokemon/MLmodel")),
    ("model.json", include_bytes!("../models/pokemon/model.json")),
    (
        "input_example.json",
        include_bytes!("../models/pokemon/input_example.json"),
    ),
    (
        "serving_input_example.json",
        include_bytes!("../models/pokemon/serving_input_example.json"),
    ),
    (
        "metrics.json",
        include_bytes!("../models/pokemon/metrics.json"),
    ),
    (
        "feature_importance.json",
        include_bytes!("../models/pokemon/feature_importance.json"),
    ),
    (
        "monitoring_profile.json",
        include_bytes!("../models/pokemon/monitoring_profile.json"),
    ),
];

/// The bundled data package.
const DATA: &[File] = &[
    (
        "datapackage.json",
        include_bytes!("../data/pokemon/datapackage.json"),
    ),
    (
        "pokemon.schema.json",
        include_bytes!("../data/pokemon/pokemon.schema.json"),
    ),
    (
        "generation-1.csv",
        include_bytes!("../data/pokemon/generation-1.csv"),
    ),
    (
        "generation-2.csv",
        include_bytes!("../data/pokemon/generation-2.csv"),
    ),
    (
        "generation-3.csv",
        include_bytes!("../data/pokemon/generation-3.csv"),
    ),
    (
        "generation-4.csv",
        include_bytes!("../data/pokemon/generation-4.csv"),
    ),
    (
        "generation-5.csv",
        include_bytes!("../data/pokemon/generation-5.csv"),
    ),
    (
        "generation-6.csv",
        include_bytes!("../data/pokemon/generation-6.csv"),
    ),
    (
        "generation-7.csv",
        include_bytes!("../data/pokemon/generation-7.csv"),
    ),
    (
        "generation-8.csv",
        include_bytes!("../data/pokemon/generation-8.csv"),
    ),
    (
        "generation-9.csv",
        include_bytes!("../data/pokemon/generation-9.csv"),
    ),
];

/// Writes the bundled model directory into `dir`.
///
/// # Errors
/// I/O failures.
pub(crate) fn write_model(dir: &Path) -> std::io::Result<()> {
    write(MODEL, dir)
}

/// Writes the bundled data package into `dir`.
///
/// # Errors
/// I/O failures.
pub(crate) fn write_data(dir: &Path) -> std::io::Result<()> {
    write(DATA, dir)
}

fn write(files: &[File], dir: &Path) -> std::io::Result<()> {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_files_are_the_repositorys() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (dir, files) in [("models/pokemon", MODEL), ("data/pokemon", DATA)] {
            for (name, bytes) in files {
                assert_eq!(std::fs::read(root.join(dir).join(name)).unwrap(), *bytes);
            }
        }
        // Every file the data package names is bundled.
        let package: serde_json::Value = serde_json::from_slice(DATA[0].1).unwrap();
        for resource in package["resources"].as_array().unwrap() {
            let path = resource["path"].as_str().unwrap();
            assert!(
                DATA.iter().any(|(n, _)| *n == path),
                "{path} is not bundled"
            );
        }
    }
}
