//! The state every JSON visitor shares: the model's feature names, the row builder, and a
//! slot for the typed error that aborted parsing (serde errors are strings; ours are not).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::cell::Cell;
use crate::ScoringError;
use crate::batch::Builder;

/// Shared parse state, passed down the visitors by `&mut`.
pub(super) struct Ctx<'f> {
    pub(super) features: &'f [String],
    pub(super) rows: Builder,
    pub(super) max_rows: usize,
    failure: Option<ScoringError>,
}

impl<'f> Ctx<'f> {
    pub(super) fn new(features: &'f [String], max_rows: usize) -> Self {
        Self {
            features,
            rows: Builder::new(features.len(), max_rows, 0),
            max_rows,
            failure: None,
        }
    }

    /// Stores `error` and returns a serde error that unwinds the parse.
    pub(super) fn fail<E: de::Error>(&mut self, error: ScoringError) -> E {
        self.failure = Some(error);
        E::custom("scoring failure")
    }

    /// The typed error that stopped parsing, or a 400 built from serde's own error.
    pub(super) fn take_failure(&mut self, error: &serde_json::Error) -> ScoringError {
        self.failure.take().unwrap_or_else(|| {
            ScoringError::bad_request(format!(
                "Invalid input. Ensure that input is a valid JSON formatted string. Error: {error}"
            ))
        })
    }

    /// Starts a row, turning the row limit into a serde error.
    pub(super) fn push_row<E: de::Error>(&mut self) -> Result<usize, E> {
        self.rows.push_row().map_err(|error| self.fail(error))
    }

    /// Writes `cell` into feature `col` of the current row `row`, or fails naming both.
    pub(super) fn put<E: de::Error>(
        &mut self,
        row: usize,
        col: usize,
        cell: Cell,
    ) -> Result<(), E> {
        match cell {
            Cell::Num(value) => {
                self.rows.set(col, value);
                Ok(())
            }
            _ => Err(self.bad_cell(row, col, &cell)),
        }
    }

    /// A 400 naming the column and row of a cell that is not a number.
    pub(super) fn bad_cell<E: de::Error>(&mut self, row: usize, col: usize, cell: &Cell) -> E {
        let problem = cell.problem().unwrap_or_default();
        let name = &self.features[col];
        self.fail(ScoringError::bad_request(format!(
            "Invalid input. Data is not compatible with model signature. Failed to convert column {name} in row {row} to a number: {problem}."
        )))
    }

    /// Checks the last row for a missing feature and fails naming it.
    pub(super) fn check_last_row<E: de::Error>(&mut self) -> Result<(), E> {
        match self.rows.missing_in_last_row() {
            None => Ok(()),
            Some(col) => {
                let row = self.rows.n_rows() - 1;
                let name = &self.features[col];
                Err(self.fail(ScoringError::bad_request(format!(
                    "Invalid input. Data is not compatible with model signature. Column {name} has no value in row {row}."
                ))))
            }
        }
    }
}

/// MLflow's "missing inputs" schema error, listing `missing` like a Python list.
pub(super) fn missing_inputs(missing: &[&str], note: &str) -> ScoringError {
    let list: Vec<String> = missing.iter().map(|name| format!("'{name}'")).collect();
    ScoringError::schema(format!(
        "Failed to enforce schema of data. Error: Model is missing inputs [{}].{note}",
        list.join(", ")
    ))
}

/// Reads an object key or column name as the model position it names, without allocating.
/// Non-string names (numbers, …) never match a feature.
pub(super) struct NameSeed<'a>(pub(super) &'a [String]);

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NameSeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|feature| feature == name))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}
