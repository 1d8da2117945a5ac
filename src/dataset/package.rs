//! Reading the data package: `datapackage.json`, its table schema, and one CSV per generation.
//!
//! Every cell is checked against the schema before it is used, and a bad file is reported
//! as `path:line: what is wrong`, so a broken data set never trains a model silently.
//!
//! A resource without a `generation` (the batches of `serve --log-payloads`) holds rows of
//! any generation, each naming its own in its `generation` column (a missing value: unknown,
//! kept whatever the selection, as a single CSV without the column is). A schema that lists
//! `""` among its `missingValues` lets `legendary` be missing: such a row is not labelled
//! yet, and is skipped (the count is logged); a package with no labelled row is refused.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::Generations;

/// Why the data package could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `datapackage.json` or the schema is not what the loader expects.
    #[error("{path}: {message}")]
    Package {
        /// The descriptor file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A row of a CSV file breaks the schema.
    #[error("{path}:{line}: {message}")]
    Row {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number in the file (the header is line 1).
        line: u64,
        /// What is wrong with the row.
        message: String,
    },
    /// The selection holds no rows, or only one class.
    #[error("{0}")]
    Empty(String),
}

/// One Pokémon (species or stat-distinct forme) of the data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Pokemon {
    /// National Pokédex number.
    pub number: u32,
    /// Name, unique in the data set.
    pub name: String,
    /// The six base stats, in [`super::FEATURES`] order.
    pub stats: [f64; 6],
    /// Generation (1-9).
    pub generation: u8,
    /// The label.
    pub legendary: bool,
    /// `ordinary`, `sub-legendary`, `restricted-legendary` or `mythical`.
    pub category: String,
}

/// The rows of the selected generations, with what is needed to log them as an MLflow dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The rows, in file order (generation by generation).
    pub rows: Vec<Pokemon>,
    /// The selected generations.
    pub generations: Generations,
    /// The data package directory the rows came from.
    pub root: PathBuf,
    /// Where the data package came from, as the MLflow dataset input records it: `root`, or
    /// the object-store URI it was fetched from (see [`super::fetch`]).
    pub source: String,
    /// sha256 over the selected files' bytes, in generation order (hex).
    pub sha256: String,
}

impl Dataset {
    /// Number of legendary rows.
    pub(crate) fn legendary_count(&self) -> usize {
        self.rows.iter().filter(|p| p.legendary).count()
    }

    /// The labels, one per row.
    pub fn labels(&self) -> Vec<bool> {
        self.rows.iter().map(|p| p.legendary).collect()
    }
}

#[derive(Deserialize)]
struct Descriptor {
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    path: String,
    /// `None`: rows of any generation, each naming its own.
    generation: Option<u8>,
    hash: Option<String>,
    rows: Option<usize>,
    schema: String,
}

#[derive(Deserialize)]
struct Schema {
    fields: Vec<Field>,
    /// Cells that mean "no value" (Table Schema's `missingValues`; none unless given).
    #[serde(rename = "missingValues", default)]
    missing_values: Vec<String>,
}

#[derive(Deserialize)]
struct Field {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "trueValues", default)]
    true_values: Vec<String>,
    #[serde(rename = "falseValues", default)]
    false_values: Vec<String>,
    #[serde(default)]
    constraints: Option<Constraints>,
}

#[derive(Deserialize)]
struct Constraints {
    #[serde(rename = "enum", default)]
    allowed: Vec<String>,
}

/// Columns the loader needs; the schema may hold more.
const REQUIRED: [&str; 8] = legendary_forest::features_then(&["generation", "legendary"]);

/// Columns the loader reads when the schema has them: else a row's number is its place in the
/// data set, its name `#number`, its category what its label says.
const OPTIONAL: [&str; 4] = ["number", "name", "category", "total"];

/// Loads the selected generations of the data package in `root`.
///
/// # Errors
/// Any unreadable file, schema violation, hash or row-count mismatch, or an empty selection.
pub(crate) fn load_package(root: &Path, generations: &Generations) -> Result<Dataset, DataError> {
    let descriptor_path = root.join("datapackage.json");
    let descriptor: Descriptor = read_json(&descriptor_path)?;
    let mut rows = Vec::new();
    let mut unlabelled = 0;
    let mut hasher = Sha256::new();
    let mut found = Vec::new();
    for resource in &descriptor.resources {
        if let Some(generation) = resource.generation {
            if !generations.contains(generation) {
                continue;
            }
            found.push(generation);
        }
        let schema: Schema = read_json(&root.join(&resource.schema))?;
        check_schema(&root.join(&resource.schema), &schema)?;
        let path = root.join(&resource.path);
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let file = parse_csv(&path, &bytes, &schema, resource.generation, rows.len())?;
        check_resource(&path, &bytes, resource, file.rows.len() + file.unlabelled)?;
        hasher.update(&bytes);
        unlabelled += file.unlabelled;
        rows.extend(
            file.rows
                .into_iter()
                .filter(|p| p.generation == 0 || generations.contains(p.generation)),
        );
    }
    // A package of per-generation files must have every selected one; rows that name their
    // own generation are only filtered.
    let mixed = descriptor.resources.iter().any(|r| r.generation.is_none());
    let missing: Vec<String> = generations
        .iter()
        .filter(|g| !mixed && !generations.is_all() && !found.contains(g))
        .map(|g| g.to_string())
        .collect();
    if unlabelled > 0 {
        tracing::warn!(root = %root.display(), unlabelled, labelled = rows.len(), "rows whose `legendary` is not filled in are skipped");
    }
    if rows.is_empty() && unlabelled > 0 {
        return Err(DataError::Empty(format!(
            "{}: none of its {unlabelled} rows is labelled yet: fill in the `legendary` column (true or false) of the rows to train on",
            root.display()
        )));
    }
    if !missing.is_empty() {
        return Err(DataError::Package {
            path: descriptor_path,
            message: format!("no resource for generation(s) {}", missing.join(", ")),
        });
    }
    // What was selected, as the generations the rows really have: a run logs them, and the
    // gate reads them back to know which generations a champion never trained on.
    let mut held: Vec<u8> = rows
        .iter()
        .map(|p| p.generation)
        .filter(|&g| g > 0)
        .collect();
    held.sort_unstable();
    held.dedup();
    let dataset = Dataset {
        generations: if generations.is_all() && !held.is_empty() {
            Generations::exactly(held)
        } else {
            generations.clone()
        },
        rows,
        root: root.to_path_buf(),
        source: root.display().to_string(),
        sha256: hex(&hasher.finalize()),
    };
    let positives = dataset.legendary_count();
    if positives == 0 || positives == dataset.rows.len() {
        return Err(DataError::Empty(format!(
            "generations {generations} hold {} rows of which {positives} legendary: both classes are needed",
            dataset.rows.len()
        )));
    }
    Ok(dataset)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| DataError::Package {
        path: path.to_path_buf(),
        message: format!("not a valid descriptor: {e}"),
    })
}

fn check_schema(path: &Path, schema: &Schema) -> Result<(), DataError> {
    for name in REQUIRED {
        if !schema.fields.iter().any(|f| f.name == name) {
            return Err(DataError::Package {
                path: path.to_path_buf(),
                message: format!("the schema has no field '{name}'"),
            });
        }
    }
    Ok(())
}

fn check_resource(
    path: &Path,
    bytes: &[u8],
    resource: &Resource,
    rows: usize,
) -> Result<(), DataError> {
    if let Some(expected) = resource.rows
        && expected != rows
    {
        return Err(DataError::Package {
            path: path.to_path_buf(),
            message: format!("datapackage.json says {expected} rows, the file has {rows}"),
        });
    }
    if let Some(expected) = &resource.hash {
        let actual = format!("sha256:{}", hex(&Sha256::digest(bytes)));
        if *expected != actual {
            return Err(DataError::Package {
                path: path.to_path_buf(),
                message: format!(
                    "the file's hash is {actual} but datapackage.json says {expected}; update the descriptor if the change is intended"
                ),
            });
        }
    }
    Ok(())
}

/// The rows of one file: the labelled ones, and how many are not labelled yet.
struct FileRows {
    rows: Vec<Pokemon>,
    unlabelled: usize,
}

/// Reads one resource's CSV (of `generation`, or of any when `None`); rows without a
/// `number` column are numbered on from `before`, the rows read before it.
fn parse_csv(
    path: &Path,
    bytes: &[u8],
    schema: &Schema,
    generation: Option<u8>,
    before: usize,
) -> Result<FileRows, DataError> {
    let row_error = |line: u64, message: String| DataError::Row {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| row_error(1, format!("unreadable header: {e}")))?
        .clone();
    let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    let got: Vec<&str> = header.iter().collect();
    if got != names {
        return Err(row_error(
            1,
            format!(
                "header is [{}], the schema expects [{}]",
                got.join(","),
                names.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    let mut unlabelled = 0;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            row_error(line, format!("unreadable row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != schema.fields.len() {
            return Err(row_error(
                line,
                format!(
                    "{} fields, the schema has {}",
                    record.len(),
                    schema.fields.len()
                ),
            ));
        }
        let cells = check_cells(schema, &record).map_err(|m| row_error(line, m))?;
        let index = before + rows.len() + unlabelled;
        match to_pokemon(&cells, generation, index).map_err(|m| row_error(line, m))? {
            Some(pokemon) => rows.push(pokemon),
            None => unlabelled += 1,
        }
    }
    Ok(FileRows { rows, unlabelled })
}

/// Checks each cell against its field and returns the row keyed by field name; a missing
/// value (one of the schema's `missingValues`) is left out of it.
fn check_cells<'r>(
    schema: &Schema,
    record: &'r csv::StringRecord,
) -> Result<BTreeMap<&'r str, &'r str>, String>
where
{
    let mut cells = BTreeMap::new();
    for (field, (value, name)) in schema.fields.iter().zip(
        record
            .iter()
            .zip(schema.fields.iter().map(|f| f.name.as_str())),
    ) {
        if schema.missing_values.iter().any(|m| m == value) {
            continue;
        }
        match field.kind.as_str() {
            "integer" => {
                value
                    .parse::<i64>()
                    .map_err(|_| format!("{name}: '{value}' is not an integer"))?;
            }
            "boolean"
                if !field
                    .true_values
                    .iter()
                    .chain(&field.false_values)
                    .any(|v| v == value) =>
            {
                return Err(format!(
                    "{name}: '{value}' is not one of {:?}",
                    [&field.true_values[..], &field.false_values[..]].concat()
                ));
            }
            _ => {}
        }
        if let Some(c) = &field.constraints
            && !c.allowed.is_empty()
            && !c.allowed.iter().any(|a| a == value)
        {
            return Err(format!("{name}: '{value}' is not one of {:?}", c.allowed));
        }
        // Field names come from the schema, which outlives the record only by borrow; the
        // loader only needs the names it knows, so key by the static list below.
        if let Some(known) = REQUIRED.iter().chain(&OPTIONAL).find(|k| **k == name) {
            cells.insert(*known, value);
        }
    }
    let trues = schema
        .fields
        .iter()
        .find(|f| f.name == "legendary")
        .map(|f| f.true_values.clone())
        .unwrap_or_default();
    if let Some(v) = cells.get("legendary") {
        cells.insert(
            "legendary",
            if trues.iter().any(|t| t == v) {
                "true"
            } else {
                "false"
            },
        );
    }
    Ok(cells)
}

/// The Pokémon of a checked row (of the resource's `generation`, or of its own when `None`;
/// the `index`-th of the data set); `None` when its label is missing.
fn to_pokemon(
    cells: &BTreeMap<&str, &str>,
    generation: Option<u8>,
    index: usize,
) -> Result<Option<Pokemon>, String> {
    let int = |name: &str| -> Result<i64, String> {
        cells
            .get(name)
            .ok_or_else(|| format!("missing field {name}"))?
            .parse::<i64>()
            .map_err(|_| format!("{name} is not an integer"))
    };
    let mut stats = [0.0; 6];
    for (slot, name) in stats.iter_mut().zip(legendary_forest::FEATURES) {
        let value = int(name)?;
        if !(1..=255).contains(&value) {
            return Err(format!(
                "{name}: {value} is outside the base-stat range 1-255"
            ));
        }
        *slot = value as f64;
    }
    if cells.contains_key("total") {
        let total = int("total")?;
        let sum: f64 = stats.iter().sum();
        if (total as f64 - sum).abs() > f64::EPSILON {
            return Err(format!(
                "total is {total} but the six stats add up to {sum}"
            ));
        }
    }
    let generation = match generation {
        Some(generation) => {
            let row_generation = int("generation")?;
            if row_generation != i64::from(generation) {
                return Err(format!(
                    "generation is {row_generation} in the file of generation {generation}"
                ));
            }
            generation
        }
        None if cells.contains_key("generation") => u8::try_from(int("generation")?)
            .ok()
            .filter(|g| (1..=9).contains(g))
            .ok_or_else(|| "generation is not 1-9".to_owned())?,
        None => 0,
    };
    let Some(&label) = cells.get("legendary") else {
        return Ok(None);
    };
    let legendary = label == "true";
    let number = match cells.get("number") {
        Some(_) => u32::try_from(int("number")?).map_err(|_| "number is negative".to_owned())?,
        None => u32::try_from(index + 1).unwrap_or(u32::MAX),
    };
    let name = match cells.get("name") {
        Some(&"") => return Err("name is empty".to_owned()),
        Some(name) => (*name).to_owned(),
        None => format!("#{number}"),
    };
    let category = match cells.get("category") {
        Some(category) => (*category).to_owned(),
        None => if legendary { "legendary" } else { "ordinary" }.to_owned(),
    };
    Ok(Some(Pokemon {
        number,
        name,
        stats,
        generation,
        legendary,
        category,
    }))
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/pokemon")
    }

    #[test]
    fn the_bundled_package_loads_every_generation() {
        let d = load_package(&bundled(), &Generations::all()).unwrap();
        assert_eq!(d.rows.len(), 1232);
        assert_eq!(d.legendary_count(), 170);
        assert!(d.rows.iter().any(|p| p.name == "Mewtwo" && p.legendary));
    }

    #[test]
    fn a_selection_loads_only_its_generations() {
        let d = load_package(&bundled(), &"1,9".parse().unwrap()).unwrap();
        assert_eq!(d.rows.len(), 202 + 128);
        assert!(
            d.rows
                .iter()
                .all(|p| p.generation == 1 || p.generation == 9)
        );
    }

    fn broken_copy(edit: impl Fn(String) -> String) -> (tempfile::TempDir, DataError) {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(bundled()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        let file = dir.path().join("generation-1.csv");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, edit(text)).unwrap();
        let err = load_package(dir.path(), &"1".parse().unwrap()).unwrap_err();
        (dir, err)
    }

    #[test]
    fn a_bad_cell_is_reported_with_file_and_line() {
        let (_dir, err) = broken_copy(|t| {
            t.replacen(
                "Ivysaur,Grass,Poison,405,60",
                "Ivysaur,Grass,Poison,405,6x",
                1,
            )
        });
        let msg = err.to_string();
        assert!(
            msg.contains("generation-1.csv:3: hp: '6x' is not an integer"),
            "{msg}"
        );
    }

    #[test]
    fn a_wrong_total_and_a_bad_label_are_reported() {
        let (_d, err) =
            broken_copy(|t| t.replacen("Ivysaur,Grass,Poison,405", "Ivysaur,Grass,Poison,406", 1));
        assert!(err.to_string().contains(":3: total is 406"), "{err}");
        let (_d, err) = broken_copy(|t| t.replacen(",1,False,ordinary", ",1,maybe,ordinary", 1));
        assert!(err.to_string().contains(":2: legendary: 'maybe'"), "{err}");
    }

    #[test]
    fn an_edited_file_fails_its_hash_check() {
        let (_d, err) = broken_copy(|t| t.replacen("Ivysaur", "Ivysaurus", 1));
        assert!(err.to_string().contains("hash"), "{err}");
    }
}
