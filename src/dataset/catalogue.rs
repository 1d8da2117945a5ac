//! The data catalogue: what a data package holds, one entry a resource (name, title, location,
//! owner, size, rows, legendary rows, generation, creation date, digest), read from its
//! `datapackage.json`, and a search over them by text, generation and owner.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::package::DataError;

/// One resource of a data package. Named `DataSet` in the OpenAPI document: schema names
/// share one namespace there, and the Pokédex already has an `Entry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = DataSet)]
pub struct Entry {
    /// The resource's name, unique in the package.
    pub name: String,
    /// Its title (the name when the descriptor gives none).
    pub title: String,
    /// Where the file is: the package's location joined with the resource path.
    pub location: String,
    /// Who owns it (`owner` in the descriptor, else the package's).
    pub owner: String,
    /// The file's size in bytes.
    pub bytes: Option<u64>,
    /// Rows.
    pub rows: Option<u64>,
    /// Legendary rows.
    pub legendary_rows: Option<u64>,
    /// Pokémon generation.
    pub generation: Option<u8>,
    /// Creation date (`created`, ISO 8601).
    pub created: Option<String>,
    /// The file's digest as the descriptor gives it (`sha256:…`).
    pub digest: Option<String>,
    /// The format (`csv`).
    pub format: Option<String>,
}

/// What to look for; every given part must match.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Case-insensitive text in the name, title, owner or format.
    pub text: Option<String>,
    /// This generation only.
    pub generation: Option<u8>,
    /// This owner only (case-insensitive).
    pub owner: Option<String>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    created: Option<String>,
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    name: String,
    #[serde(default)]
    title: Option<String>,
    path: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    bytes: Option<u64>,
    #[serde(default)]
    rows: Option<u64>,
    #[serde(default)]
    legendary_rows: Option<u64>,
    #[serde(default)]
    generation: Option<u8>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// The entries of the package whose `datapackage.json` is in `dir`, located under `location`
/// (the directory, URI or URL the package was named by).
///
/// # Errors
/// An unreadable or malformed descriptor.
pub fn read(dir: &Path, location: &str) -> Result<Vec<Entry>, DataError> {
    let bundled = super::bundled_default(dir)?;
    let dir = bundled.as_ref().map_or(dir, |b| b.path());
    let path = dir.join("datapackage.json");
    let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    let descriptor: Descriptor =
        serde_json::from_slice(&bytes).map_err(|error| DataError::Package {
            path: path.clone(),
            message: format!("not a valid descriptor: {error}"),
        })?;
    let base = location
        .trim_end_matches("datapackage.json")
        .trim_end_matches('/');
    Ok(descriptor
        .resources
        .into_iter()
        .map(|resource| Entry {
            title: resource.title.unwrap_or_else(|| resource.name.clone()),
            location: format!("{base}/{}", resource.path),
            owner: resource
                .owner
                .or_else(|| descriptor.owner.clone())
                .unwrap_or_default(),
            created: resource.created.or_else(|| descriptor.created.clone()),
            name: resource.name,
            bytes: resource.bytes,
            rows: resource.rows,
            legendary_rows: resource.legendary_rows,
            generation: resource.generation,
            digest: resource.hash,
            format: resource.format,
        })
        .collect())
}

impl Query {
    /// True when `entry` matches every part of the query.
    pub fn matches(&self, entry: &Entry) -> bool {
        let text = self.text.as_deref().map(str::to_lowercase);
        let text_ok = text.is_none_or(|text| {
            [
                Some(entry.name.as_str()),
                Some(entry.title.as_str()),
                Some(entry.owner.as_str()),
                entry.format.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|field| field.to_lowercase().contains(&text))
        });
        let generation_ok = self.generation.is_none_or(|g| entry.generation == Some(g));
        let owner_ok = self
            .owner
            .as_deref()
            .is_none_or(|owner| entry.owner.eq_ignore_ascii_case(owner));
        text_ok && generation_ok && owner_ok
    }
}

/// The entries as an aligned text table, one line an entry under a header.
pub fn table(entries: &[&Entry]) -> String {
    let number = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let rows: Vec<[String; 9]> = entries
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.generation
                    .map_or_else(|| "-".to_owned(), |g| g.to_string()),
                number(e.rows),
                number(e.legendary_rows),
                number(e.bytes),
                e.owner.clone(),
                e.created.clone().unwrap_or_else(|| "-".to_owned()),
                e.location.clone(),
                e.digest.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "GEN",
        "ROWS",
        "LEGENDARY",
        "BYTES",
        "OWNER",
        "CREATED",
        "LOCATION",
        "DIGEST",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(text, "{cell:<width$}  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// One entry, a field a line (`legendary data show`).
pub fn show(entry: &Entry) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    let fields = [
        ("name", entry.name.clone()),
        ("title", entry.title.clone()),
        ("location", entry.location.clone()),
        ("owner", entry.owner.clone()),
        ("size", opt(entry.bytes.map(|b| format!("{b} bytes")))),
        ("rows", opt(entry.rows.map(|r| r.to_string()))),
        (
            "legendary rows",
            opt(entry.legendary_rows.map(|r| r.to_string())),
        ),
        ("generation", opt(entry.generation.map(|g| g.to_string()))),
        ("created", opt(entry.created.clone())),
        ("digest", opt(entry.digest.clone())),
    ];
    fields
        .iter()
        .map(|(key, value)| format!("{key:<15}{value}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Vec<Entry> {
        read(Path::new("data/pokemon"), "data/pokemon").unwrap()
    }

    #[test]
    fn every_resource_of_the_bundled_package_has_its_metadata() {
        let entries = bundled();
        assert_eq!(entries.len(), 9);
        let seven = &entries[6];
        assert_eq!(seven.name, "pokemon-generation-7");
        assert_eq!(seven.location, "data/pokemon/generation-7.csv");
        assert_eq!(seven.generation, Some(7));
        assert_eq!(seven.owner, "legendary");
        assert!(seven.rows.is_some() && seven.bytes.is_some() && seven.created.is_some());
        assert!(
            seven
                .digest
                .as_deref()
                .is_some_and(|d| d.starts_with("sha256:"))
        );
    }

    #[test]
    fn search_matches_text_generation_and_owner_together() {
        let entries = bundled();
        let find = |query: Query| -> Vec<String> {
            entries
                .iter()
                .filter(|e| query.matches(e))
                .map(|e| e.name.clone())
                .collect()
        };
        assert_eq!(
            find(Query {
                generation: Some(7),
                ..Query::default()
            }),
            ["pokemon-generation-7"]
        );
        assert_eq!(
            find(Query {
                text: Some("GENERATION-9".to_owned()),
                ..Query::default()
            }),
            ["pokemon-generation-9"]
        );
        assert_eq!(
            find(Query {
                owner: Some("LEGENDARY".to_owned()),
                ..Query::default()
            })
            .len(),
            9
        );
        assert!(
            find(Query {
                owner: Some("nobody".to_owned()),
                generation: Some(7),
                ..Query::default()
            })
            .is_empty()
        );
    }

    #[test]
    fn the_table_and_the_card_show_size_rows_and_owner() {
        let entries = bundled();
        let seven: Vec<&Entry> = entries.iter().filter(|e| e.generation == Some(7)).collect();
        let text = table(&seven);
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("NAME"));
        let row = lines.next().unwrap();
        assert!(row.starts_with("pokemon-generation-7"), "{row}");
        assert!(row.contains("legendary"), "{row}");
        assert!(row.contains(&seven[0].rows.unwrap().to_string()), "{row}");
        let card = show(seven[0]);
        assert!(
            card.contains("location       data/pokemon/generation-7.csv"),
            "{card}"
        );
        let remote = read(Path::new("data/pokemon"), "s3://b/pokemon/datapackage.json").unwrap();
        assert_eq!(remote[0].location, "s3://b/pokemon/generation-1.csv");
    }
}
