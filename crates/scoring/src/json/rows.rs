//! Rows of a JSON data frame: a list of rows (`dataframe_split.data`) or of records
//! (`dataframe_records`, `instances`, `inputs`, the bare 1.x list), each written straight
//! into the row builder.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::cell::Cell;
use super::ctx::{Ctx, NameSeed};
use crate::ScoringError;

/// What a row written as a JSON array means.
#[derive(Clone, Copy)]
pub(super) enum ListRows<'l> {
    /// Position `j` is model feature `layout[j]` (`None`: a column the model does not read).
    Columns(&'l [Option<usize>]),
    /// Array rows are not allowed here; this builds the error.
    Refuse(fn(&[String]) -> ScoringError),
}

/// One row: an array (read through [`ListRows`]) or an object (read by key).
struct RowSeed<'c, 'f, 'l> {
    ctx: &'c mut Ctx<'f>,
    lists: ListRows<'l>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row: an array of values or an object of column values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let layout = match self.lists {
            ListRows::Columns(layout) => layout,
            ListRows::Refuse(error) => return Err(self.ctx.fail(error(self.ctx.features))),
        };
        let row = self.ctx.push_row()?;
        let mut len = 0;
        loop {
            let more = match layout.get(len) {
                Some(Some(col)) => match seq.next_element::<Cell>()? {
                    Some(cell) => self.ctx.put(row, *col, cell).map(|()| true)?,
                    None => false,
                },
                Some(None) => seq.next_element::<IgnoredAny>()?.is_some(),
                None => {
                    if seq.next_element::<IgnoredAny>()?.is_some() {
                        len += 1;
                    }
                    false
                }
            };
            if !more {
                break;
            }
            len += 1;
        }
        if len != layout.len() {
            let count = if len > layout.len() {
                format!("more than {}", layout.len())
            } else {
                format!("only {len}")
            };
            let message = format!(
                "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: row {row} has {count} values but there are {} columns.",
                layout.len()
            );
            return Err(self.ctx.fail(ScoringError::bad_request(message)));
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let row = self.ctx.push_row()?;
        let features = self.ctx.features;
        while let Some(col) = map.next_key_seed(NameSeed(features))? {
            match col {
                Some(col) => {
                    let cell = map.next_value::<Cell>()?;
                    self.ctx.put(row, col, cell)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A list of rows where every row must have every feature (`dataframe_split.data`).
pub(super) struct RowsSeed<'c, 'f, 'l> {
    pub(super) ctx: &'c mut Ctx<'f>,
    pub(super) lists: ListRows<'l>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(RowSeed {
                ctx: &mut *self.ctx,
                lists: self.lists,
            })?
            .is_some()
        {
            self.ctx.check_last_row()?;
        }
        Ok(())
    }
}

/// A list of records (objects). A key missing from some rows is reported after the whole list
/// is read, so that a column missing from *every* row can be reported as a schema error, as
/// MLflow does.
pub(super) struct RecordsSeed<'c, 'f> {
    pub(super) ctx: &'c mut Ctx<'f>,
    /// Builds the error for an array where a record belongs.
    pub(super) refuse_lists: fn(&[String]) -> ScoringError,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_> {
    /// The first (row, feature) with no value, if any.
    type Value = Option<(usize, usize)>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, '_> {
    type Value = Option<(usize, usize)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let lists = ListRows::Refuse(self.refuse_lists);
        let mut first_missing = None;
        while seq
            .next_element_seed(RowSeed {
                ctx: &mut *self.ctx,
                lists,
            })?
            .is_some()
        {
            if first_missing.is_none() {
                first_missing = self
                    .ctx
                    .rows
                    .missing_in_last_row()
                    .map(|col| (self.ctx.rows.n_rows() - 1, col));
            }
        }
        Ok(first_missing)
    }
}
