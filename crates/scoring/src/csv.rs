//! CSV request bodies (`text/csv`, docs/mlflow-protocol.md 6.6): a header line, then one row per line.
//! Columns are matched by header name in any order; unknown columns are skipped unread.

use std::cell::RefCell;

use super::json::number_from_text;
use super::{Limits, ScoringError};
use crate::batch::{Batch, Builder};

/// MLflow's prefix for every CSV parse failure.
const PREFIX: &str = "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error:";

thread_local! {
    /// Building a csv-core reader compiles its state machine, which costs about 100 µs, far
    /// more than parsing a small request; so each thread keeps one and resets it.
    static READER: RefCell<csv_core::Reader> = RefCell::new(csv_core::Reader::new());
}

/// Parses a CSV body into a batch in the model's feature order.
pub(crate) fn parse(
    body: &[u8],
    features: &[String],
    limits: &Limits,
) -> Result<Batch, ScoringError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut layout: Option<Vec<Option<usize>>> = None;
    let mut rows = Builder::new(features.len(), limits.max_rows, 0);
    for_each_record(body, |record| {
        let Some(layout) = &layout else {
            let found = header_layout(record, features)?;
            rows.reserve_rows(body.len() / (3 * found.len() + 1));
            layout = Some(found);
            return Ok(());
        };
        if record.len() != layout.len() {
            return Err(ScoringError::bad_request(format!(
                "{PREFIX} 'Expected {} fields in line {}, saw {}'",
                layout.len(),
                rows.n_rows() + 2,
                record.len()
            )));
        }
        let row = rows.push_row()?;
        for (field, col) in record.fields().zip(layout) {
            if let Some(col) = *col {
                let value =
                    read_field(field).ok_or_else(|| bad_field(features, row, col, field))?;
                rows.set(col, value);
            }
        }
        Ok(())
    })?;
    if layout.is_none() {
        return Err(ScoringError::bad_request(format!(
            "{PREFIX} 'No columns to parse from file'"
        )));
    }
    // A header naming every column and no rows is an empty frame: no predictions, as
    // `mlflow models serve` answers on legendary's own model (and as an empty
    // `dataframe_split` is answered).
    Ok(rows.finish())
}

/// One CSV record: unescaped field bytes back to back, and where each field ends.
struct Record<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl Record<'_> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

/// Calls `each` on every record of `input` (blank lines are skipped), stopping at its first error.
fn for_each_record(
    mut input: &[u8],
    mut each: impl FnMut(&Record<'_>) -> Result<(), ScoringError>,
) -> Result<(), ScoringError> {
    use csv_core::ReadRecordResult;
    READER.with_borrow_mut(|reader| {
        reader.reset();
        let mut bytes = vec![0; 256];
        let mut ends = vec![0; 16];
        let (mut n_bytes, mut n_ends) = (0, 0);
        loop {
            let (result, read, wrote, ended) =
                reader.read_record(input, &mut bytes[n_bytes..], &mut ends[n_ends..]);
            input = &input[read..];
            n_bytes += wrote;
            n_ends += ended;
            match result {
                // All of the body was given at once, so the next call (on an empty slice) is EOF.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => bytes.resize(bytes.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    each(&Record {
                        bytes: &bytes[..n_bytes],
                        ends: &ends[..n_ends],
                    })?;
                    (n_bytes, n_ends) = (0, 0);
                }
                ReadRecordResult::End => return Ok(()),
            }
        }
    })
}

/// The model position of each header column; every feature exactly once.
fn header_layout(
    header: &Record<'_>,
    features: &[String],
) -> Result<Vec<Option<usize>>, ScoringError> {
    let mut seen = vec![false; features.len()];
    let mut layout = Vec::with_capacity(header.len());
    for name in header.fields() {
        let col = features
            .iter()
            .position(|feature| feature.as_bytes() == name);
        if let Some(col) = col
            && std::mem::replace(&mut seen[col], true)
        {
            return Err(ScoringError::schema(format!(
                "Failed to enforce schema of data. Error: column '{}' appears more than once.",
                features[col]
            )));
        }
        layout.push(col);
    }
    let missing: Vec<String> = features
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| !**seen)
        .map(|(name, _)| format!("'{name}'"))
        .collect();
    if missing.is_empty() {
        Ok(layout)
    } else {
        Err(ScoringError::schema(format!(
            "Failed to enforce schema of data. Error: Model is missing inputs [{}].",
            missing.join(", ")
        )))
    }
}

/// A number, or pandas' boolean spellings as 1/0. Empty and non-numeric fields are `None`.
fn read_field(field: &[u8]) -> Option<f64> {
    let field = field.trim_ascii();
    match field {
        b"True" | b"TRUE" | b"true" => Some(1.0),
        b"False" | b"FALSE" | b"false" => Some(0.0),
        _ => number_from_text(std::str::from_utf8(field).ok()?),
    }
}

fn bad_field(features: &[String], row: usize, col: usize, field: &[u8]) -> ScoringError {
    let name = &features[col];
    let text = String::from_utf8_lossy(field);
    let problem = if text.trim().is_empty() {
        "the value is empty".to_owned()
    } else {
        let shown: String = text.chars().take(40).collect();
        format!("'{shown}' is not a finite number")
    };
    ScoringError::bad_request(format!("{PREFIX} column {name} in row {row}: {problem}."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScoringErrorKind;

    fn features() -> Vec<String> {
        ["a", "b"].map(str::to_owned).to_vec()
    }

    fn csv(body: &str) -> Result<Batch, ScoringError> {
        parse(body.as_bytes(), &features(), &Limits::default())
    }

    #[test]
    fn header_names_choose_the_columns_in_any_order() {
        let batch = csv("b,x,a\n2,junk,1\r\n4,,3").unwrap();
        assert_eq!(batch.values(), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn quoted_numbers_floats_and_booleans_are_read() {
        let batch = csv(",a,b\n0,\"80\",True\n1,80.5,False\n").unwrap();
        assert_eq!(batch.values(), &[80.0, 1.0, 80.5, 0.0]);
    }

    #[test]
    fn empty_and_non_numeric_cells_are_400_naming_column_and_row() {
        let error = csv("a,b\n1,2\n,2\n").unwrap_err();
        assert_eq!(error.kind(), ScoringErrorKind::Invalid);
        assert!(
            error.message().contains("column a in row 1"),
            "{}",
            error.message()
        );
        assert_eq!(
            csv("a,b\nabc,2\n").unwrap_err().kind(),
            ScoringErrorKind::Invalid
        );
        assert_eq!(
            csv("a,b\nNaN,2\n").unwrap_err().kind(),
            ScoringErrorKind::Invalid
        );
    }

    #[test]
    fn missing_and_duplicate_columns_are_schema_errors() {
        assert_eq!(csv("a\n1\n").unwrap_err().kind(), ScoringErrorKind::Schema);
        assert_eq!(
            csv("a,b,a\n1,2,3\n").unwrap_err().kind(),
            ScoringErrorKind::Schema
        );
    }

    #[test]
    fn empty_body_and_ragged_rows_are_400_a_header_alone_no_rows() {
        assert_eq!(csv("").unwrap_err().kind(), ScoringErrorKind::Invalid);
        assert_eq!(csv("a,b\n").unwrap().n_rows(), 0);
        assert_eq!(csv("a\n").unwrap_err().kind(), ScoringErrorKind::Schema);
        assert_eq!(
            csv("a,b\n1,2,3\n").unwrap_err().kind(),
            ScoringErrorKind::Invalid
        );
    }

    #[test]
    fn a_byte_order_mark_and_blank_lines_are_skipped() {
        let batch = csv("\u{feff}a,b\n\n1,2\n\n").unwrap();
        assert_eq!(batch.values(), &[1.0, 2.0]);
    }

    #[test]
    fn quoted_fields_may_hold_commas_quotes_and_newlines() {
        let batch = csv("\"x,\"\"y\"\"\n\",a,b\n\"q,\n\",1,2\n").unwrap();
        assert_eq!(batch.values(), &[1.0, 2.0]);
    }

    #[test]
    fn too_many_rows_is_413() {
        let limits = Limits { max_rows: 1 };
        let error = parse(b"a,b\n1,2\n3,4\n", &features(), &limits).unwrap_err();
        assert_eq!(error.kind(), ScoringErrorKind::TooManyRows);
    }
}
