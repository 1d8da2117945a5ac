//! A single CSV in the shape of the original demo's `pokemon-cleaned.csv`: the six base stats,
//! `legendary`, and optional `generation`, `name` and `number` columns. Header names are
//! matched case-insensitively and without punctuation, so the demo's spellings (`Sp. Atk`,
//! `sp_atk`, `Sp_Def`, `#`) are accepted.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::package::{DataError, Dataset, Pokemon, hex};
use legendary_forest::FEATURES;

use super::Generations;

/// The accepted spellings of each column, after [`key`].
const ALIASES: [(&str, &[&str]); 10] = [
    ("hp", &["hp"]),
    ("attack", &["attack", "atk"]),
    ("defense", &["defense", "defence", "def"]),
    (
        "special_attack",
        &["specialattack", "spatk", "spattack", "spa"],
    ),
    (
        "special_defense",
        &["specialdefense", "spdef", "spdefense", "spd"],
    ),
    ("speed", &["speed", "spe"]),
    ("legendary", &["legendary", "islegendary"]),
    ("generation", &["generation", "gen"]),
    ("name", &["name"]),
    ("number", &["number", "#", "no", "pokedexnumber"]),
];

/// A header name reduced to lower-case letters and digits (`#` kept alone).
fn key(header: &str) -> String {
    let trimmed = header.trim();
    if trimmed == "#" {
        return "#".to_owned();
    }
    trimmed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Which column holds each field (`None`: absent).
fn columns(path: &Path, header: &csv::StringRecord) -> Result<[Option<usize>; 10], DataError> {
    let keys: Vec<String> = header.iter().map(key).collect();
    let mut found = [None; 10];
    for (slot, (_, spellings)) in found.iter_mut().zip(ALIASES.iter()) {
        *slot = keys.iter().position(|k| spellings.contains(&k.as_str()));
    }
    for (slot, (field, _)) in found.iter().zip(ALIASES.iter()).take(7) {
        if slot.is_none() {
            return Err(DataError::Row {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "no `{field}` column (the header is [{}]; the six stats and `legendary` are needed)",
                    header.iter().collect::<Vec<_>>().join(",")
                ),
            });
        }
    }
    Ok(found)
}

/// Loads the rows of the selected generations from the CSV at `path`.
///
/// # Errors
/// An unreadable file, a missing column, a bad cell (`path:line: …`), a generation selection
/// on a file without a `generation` column, or a selection with fewer than two classes.
pub fn load_csv(path: &Path, generations: &Generations) -> Result<Dataset, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let row_error = |line: u64, message: String| DataError::Row {
        path: path.to_path_buf(),
        line,
        message,
    };
    let header = reader
        .headers()
        .map_err(|e| row_error(1, format!("unreadable header: {e}")))?
        .clone();
    let at = columns(path, &header)?;
    if at[7].is_none() && !generations.is_all() && generations.iter().ne(1..=9) {
        return Err(row_error(
            1,
            format!("no `generation` column, so --generations {generations} cannot select rows"),
        ));
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            row_error(line, format!("unreadable row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let pokemon = to_pokemon(&record, &at, index).map_err(|m| row_error(line, m))?;
        if pokemon.generation == 0 || generations.contains(pokemon.generation) {
            rows.push(pokemon);
        }
    }
    let dataset = Dataset {
        rows,
        generations: generations.clone(),
        root: path.to_path_buf(),
        source: path.display().to_string(),
        sha256: hex(&Sha256::digest(&bytes)),
    };
    let positives = dataset.legendary_count();
    if positives == 0 || positives == dataset.rows.len() {
        return Err(DataError::Empty(format!(
            "{}: generations {generations} hold {} rows of which {positives} legendary: both classes are needed",
            path.display(),
            dataset.rows.len()
        )));
    }
    Ok(dataset)
}

fn to_pokemon(
    record: &csv::StringRecord,
    at: &[Option<usize>; 10],
    index: usize,
) -> Result<Pokemon, String> {
    let cell = |slot: usize| at[slot].and_then(|i| record.get(i)).unwrap_or("");
    let mut stats = [0.0; 6];
    for (i, stat) in stats.iter_mut().enumerate() {
        let value = cell(i);
        *stat = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{}: '{value}' is not a non-negative number", FEATURES[i]))?;
    }
    let legendary = match cell(6).to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "t" => true,
        "false" | "0" | "no" | "f" => false,
        other => return Err(format!("legendary: '{other}' is not true or false")),
    };
    let generation = match at[7] {
        None => 0,
        Some(_) => cell(7)
            .parse::<u8>()
            .ok()
            .filter(|g| (1..=9).contains(g))
            .ok_or_else(|| format!("generation: '{}' is not 1-9", cell(7)))?,
    };
    let number = match at[9] {
        None => u32::try_from(index + 1).unwrap_or(u32::MAX),
        Some(_) => cell(9)
            .parse::<u32>()
            .map_err(|_| format!("number: '{}' is not a whole number", cell(9)))?,
    };
    let name = match cell(8) {
        "" => format!("#{number}"),
        name => name.to_owned(),
    };
    Ok(Pokemon {
        number,
        name,
        stats,
        generation,
        legendary,
        category: if legendary { "legendary" } else { "ordinary" }.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pokemon-cleaned.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const DEMO_SHAPE: &str = "\
#,Name,HP,Attack,Defense,Sp_Atk,Sp_Def,Speed,Generation,Legendary
1,Bulbasaur,45,49,49,65,65,45,1,False
150,Mewtwo,106,110,90,154,90,130,1,True
152,Chikorita,45,49,65,49,65,45,2,False
249,Lugia,106,90,130,90,154,110,2,True
";

    #[test]
    fn the_demos_spellings_are_read_case_insensitively() {
        let (_dir, path) = write(DEMO_SHAPE);
        let data = load_csv(&path, &Generations::all()).unwrap();
        assert_eq!(data.rows.len(), 4);
        let mewtwo = &data.rows[1];
        assert_eq!((mewtwo.number, mewtwo.name.as_str()), (150, "Mewtwo"));
        assert_eq!(mewtwo.stats, [106.0, 110.0, 90.0, 154.0, 90.0, 130.0]);
        assert!(mewtwo.legendary);
        assert_eq!(mewtwo.generation, 1);
        assert_eq!(data.legendary_count(), 2);
        assert_eq!(data.sha256.len(), 64);

        let gen2 = load_csv(&path, &"2".parse().unwrap()).unwrap();
        assert_eq!(gen2.rows.len(), 2);
    }

    #[test]
    fn optional_columns_may_be_missing_but_the_stats_and_the_label_may_not() {
        let (_dir, path) = write(
            "hp,attack,defense,special_attack,special_defense,speed,is_legendary\n\
             45,49,49,65,65,45,0\n106,110,90,154,90,130,1\n",
        );
        let data = load_csv(&path, &Generations::all()).unwrap();
        assert_eq!(data.rows[0].name, "#1");
        assert!(load_csv(&path, &"1".parse().unwrap()).is_err());

        let (_dir, path) = write("hp,attack,defense,speed,legendary\n1,2,3,4,True\n");
        let error = load_csv(&path, &Generations::all())
            .unwrap_err()
            .to_string();
        assert!(error.contains("special_attack"), "{error}");
    }

    #[test]
    fn a_bad_cell_is_named_with_its_line() {
        let (_dir, path) = write(&DEMO_SHAPE.replace("106,110", "-3,110"));
        let error = load_csv(&path, &Generations::all())
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with(":3: hp: '-3' is not a non-negative number"),
            "{error}"
        );
        let (_dir, path) = write(&DEMO_SHAPE.replace("True", "maybe"));
        let error = load_csv(&path, &Generations::all())
            .unwrap_err()
            .to_string();
        assert!(error.contains("legendary: 'maybe'"), "{error}");
    }
}
