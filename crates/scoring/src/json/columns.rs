//! Column-oriented JSON (`instances` / `inputs` as `{"hp": [80, 64], ...}`), and the single
//! record `inputs: {"hp": 80, ...}`; read per column, then written row-major.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::cell::{Cell, CellVisitor};
use super::ctx::{Ctx, NameSeed, missing_inputs};
use crate::ScoringError;

/// One column's values, or a single value (a one-row record).
enum Column {
    List(Vec<f64>),
    Scalar(f64),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Self::List(values) => values.len(),
            Self::Scalar(_) => 1,
        }
    }

    fn get(&self, i: usize) -> f64 {
        match self {
            Self::List(values) => values[i],
            Self::Scalar(value) => *value,
        }
    }
}

/// Reads an object of columns and writes its rows; returns the number of rows.
pub(super) struct ColumnarSeed<'c, 'f> {
    pub(super) ctx: &'c mut Ctx<'f>,
}

impl<'de> DeserializeSeed<'de> for ColumnarSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ColumnarSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of columns")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let features = self.ctx.features;
        let mut columns: Vec<Option<Column>> = features.iter().map(|_| None).collect();
        while let Some(key) = map.next_key_seed(NameSeed(features))? {
            match key {
                Some(col) => {
                    columns[col] = Some(map.next_value_seed(ColumnSeed {
                        ctx: &mut *self.ctx,
                        col,
                    })?)
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let columns = match check_columns(features, columns) {
            Ok(columns) => columns,
            Err(error) => return Err(self.ctx.fail(error)),
        };
        let n_rows = columns.first().map_or(0, Column::len);
        self.ctx.rows.reserve_rows(n_rows);
        for i in 0..n_rows {
            self.ctx.push_row()?;
            for (col, column) in columns.iter().enumerate() {
                self.ctx.rows.set(col, column.get(i));
            }
        }
        Ok(())
    }
}

/// Every feature present, all lists (or all scalars where allowed), all of one length.
fn check_columns(
    features: &[String],
    columns: Vec<Option<Column>>,
) -> Result<Vec<Column>, ScoringError> {
    let missing: Vec<&str> = features
        .iter()
        .zip(&columns)
        .filter(|(_, column)| column.is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(missing_inputs(&missing, ""));
    }
    let columns: Vec<Column> = columns.into_iter().flatten().collect();
    let scalars = columns
        .iter()
        .filter(|column| matches!(column, Column::Scalar(_)))
        .count();
    // All plain values: one record, which `instances` and `inputs` both accept in MLflow.
    if scalars > 0 && scalars < columns.len() {
        return Err(ScoringError::bad_request(
            "Invalid input. A column-oriented object must map every column name to a list of values, or every one to a plain value (a single record).",
        ));
    }
    let n_rows = columns.first().map_or(0, Column::len);
    if let Some((col, column)) = columns
        .iter()
        .enumerate()
        .find(|(_, column)| column.len() != n_rows)
    {
        return Err(ScoringError::bad_request(format!(
            "Invalid input. All columns must have the same length: {} has {n_rows} values but {} has {}.",
            features[0],
            features[col],
            column.len()
        )));
    }
    Ok(columns)
}

/// One feature's column: a list of cells, or one scalar cell.
struct ColumnSeed<'c, 'f> {
    ctx: &'c mut Ctx<'f>,
    col: usize,
}

impl ColumnSeed<'_, '_> {
    fn scalar<E: de::Error>(self, cell: Cell) -> Result<Column, E> {
        match cell {
            Cell::Num(value) => Ok(Column::Scalar(value)),
            _ => Err(self.ctx.bad_cell(0, self.col, &cell)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ColumnSeed<'_, '_> {
    type Value = Column;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Column, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ColumnSeed<'_, '_> {
    type Value = Column;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Column, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.ctx.max_rows));
        while let Some(cell) = seq.next_element::<Cell>()? {
            if values.len() >= self.ctx.max_rows {
                return Err(self
                    .ctx
                    .fail(ScoringError::too_many_rows(self.ctx.max_rows)));
            }
            match cell {
                Cell::Num(value) => values.push(value),
                _ => return Err(self.ctx.bad_cell(values.len(), self.col, &cell)),
            }
        }
        Ok(Column::List(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Column, A::Error> {
        let cell = CellVisitor.visit_map(map)?;
        self.scalar(cell)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Column, E> {
        let cell = CellVisitor.visit_bool(value)?;
        self.scalar(cell)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Column, E> {
        let cell = CellVisitor.visit_i64(value)?;
        self.scalar(cell)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Column, E> {
        let cell = CellVisitor.visit_u64(value)?;
        self.scalar(cell)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Column, E> {
        let cell = CellVisitor.visit_f64(value)?;
        self.scalar(cell)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Column, E> {
        let cell = CellVisitor.visit_str(value)?;
        self.scalar(cell)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Column, E> {
        self.scalar(Cell::Null)
    }
}
