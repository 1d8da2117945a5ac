//! One logged row as a CSV line, in the columns of the log's table schema: the six stats
//! under the data package's own names, what the model answered, when and to which request,
//! then `generation` and `legendary`, left empty for a person to fill in.

use std::io::Write as _;

use crate::train::csv_field;

/// The columns of every file of the log, in order.
pub const COLUMNS: [&str; 13] = legendary_forest::features_then(&[
    "prediction",
    "probability",
    "model_version",
    "time",
    "request_id",
    "generation",
    "legendary",
]);

/// The header line of a file.
pub(super) fn header() -> String {
    let mut line = COLUMNS.join(",");
    line.push('\n');
    line
}

/// What one request's rows share.
pub(super) struct Context<'a> {
    pub(super) model_version: &'a str,
    /// RFC 3339, UTC.
    pub(super) time: &'a str,
    pub(super) request_id: &'a str,
}

/// Appends one row: `stats` in the six stats' order, the answer and its probability. A
/// probability that is not finite (a model without one) is left empty.
pub(super) fn row(
    out: &mut Vec<u8>,
    stats: &[f64; 6],
    prediction: bool,
    probability: f64,
    at: &Context<'_>,
) {
    for stat in stats {
        // `{}` writes whole values without a fraction (80, not 80.0), as the data package does.
        let _ = write!(out, "{stat},");
    }
    let _ = write!(out, "{prediction},");
    if probability.is_finite() {
        let _ = write!(out, "{probability}");
    }
    let _ = writeln!(
        out,
        ",{},{},{},,",
        csv_field(at.model_version),
        csv_field(at.time),
        csv_field(at.request_id)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_has_every_column_and_quotes_what_needs_it() {
        let at = Context {
            model_version: "7",
            time: "2026-01-02T03:04:05.678Z",
            request_id: "a,\"b\"",
        };
        let mut out = Vec::new();
        row(
            &mut out,
            &[106.0, 110.0, 90.0, 154.0, 90.0, 130.0],
            true,
            0.75,
            &at,
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "106,110,90,154,90,130,true,0.75,7,2026-01-02T03:04:05.678Z,\"a,\"\"b\"\"\",,\n"
        );
        let file = header() + &text;
        let mut reader = csv::Reader::from_reader(file.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(record.len(), COLUMNS.len());
        assert_eq!(&record[10], "a,\"b\"");
        assert_eq!(&record[12], "");
    }
}
