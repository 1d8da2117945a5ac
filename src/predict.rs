//! Batch scoring of a CSV file, like `mlflow models predict`: every input column is kept and
//! `prediction` and `probability` are appended.

use crate::model::Model;

/// Why a CSV could not be scored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PredictError {
    /// The CSV is malformed.
    #[error("line {line}: {message}")]
    Csv {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// Scores `input` (CSV with a header naming at least the model's input columns).
///
/// # Errors
/// A missing column, a row with a non-numeric or non-finite stat, or malformed CSV, with its line.
pub(crate) fn score_csv(model: &Model, input: &[u8]) -> Result<Vec<u8>, PredictError> {
    let err = |line: u64, message: String| PredictError::Csv { line, message };
    if !model.takes_demo_stats() {
        return Err(err(
            0,
            format!(
                "the model does not answer 'legendary or not' from the six stats (it takes {:?}); serve it and use /invocations",
                model.input_features()
            ),
        ));
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let header = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let positions: Vec<usize> = model
        .input_features()
        .iter()
        .map(|f| {
            header
                .iter()
                .position(|h| h == f)
                .ok_or_else(|| err(1, format!("no column '{f}' in the header")))
        })
        .collect::<Result<_, _>>()?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut out_header: Vec<&str> = header.iter().collect();
    out_header.extend(["prediction", "probability"]);
    writer
        .write_record(&out_header)
        .map_err(|e| err(1, e.to_string()))?;
    let mut records = Vec::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let mut row = [0.0; 6];
        for ((slot, &p), name) in row.iter_mut().zip(&positions).zip(model.input_features()) {
            let cell = record.get(p).unwrap_or("").trim();
            *slot = cell
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(line, format!("{name}: '{cell}' is not a finite number")))?;
        }
        rows.push(row);
        records.push(record);
    }
    for (record, p) in records.iter().zip(model.proba_rows(&rows)) {
        let line = record.position().map_or(0, |p| p.line());
        let mut fields: Vec<String> = record.iter().map(str::to_owned).collect();
        fields.push(model.decide(p).to_string());
        fields.push(format!("{p}"));
        writer
            .write_record(&fields)
            .map_err(|e| err(line, e.to_string()))?;
    }
    writer.into_inner().map_err(|e| err(0, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probability_column_is_the_calibrated_probability_and_decides() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pokemon");
        let bundled = crate::model::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .model;
        let model = crate::model::calibrated(&bundled, r#"{"x":[0.1,0.6],"y":[0.0,0.95]}"#);
        let csv = "name,hp,attack,defense,special_attack,special_defense,speed\n\
                   Mewtwo,106,110,90,154,90,130\nBulbasaur,45,49,49,65,65,45\n\
                   Dragonite,91,134,95,100,100,80\n";
        let out = String::from_utf8(score_csv(&model, csv.as_bytes()).unwrap_or_default())
            .unwrap_or_default();
        let rows = [
            [106.0, 110.0, 90.0, 154.0, 90.0, 130.0],
            [45.0, 49.0, 49.0, 65.0, 65.0, 45.0],
            [91.0, 134.0, 95.0, 100.0, 100.0, 80.0],
        ];
        for (line, row) in out.lines().skip(1).zip(rows) {
            let cells: Vec<&str> = line.split(',').collect();
            let p: f64 = cells[8].parse().unwrap_or(f64::NAN);
            assert_eq!(p.to_bits(), model.proba_row(&row).to_bits(), "{line}");
            assert_ne!(p, bundled.proba_row(&row), "{line}");
            assert_eq!(cells[7], model.decide(p).to_string(), "{line}");
        }
    }
}
