//! `dataframe_split` (and the 1.x bare split body): `columns`, `data`, optional `index`, in
//! any key order. When `columns` comes first (the usual case) `data` is read straight into
//! the builder; otherwise `data` is kept as borrowed raw JSON and read once `columns` is known.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::ctx::{Ctx, NameSeed, missing_inputs};
use super::rows::{ListRows, RowsSeed};
use crate::ScoringError;

/// Reads a split-oriented frame into the builder.
pub(super) struct SplitSeed<'c, 'f> {
    pub(super) ctx: &'c mut Ctx<'f>,
    /// Size of the split object in bytes, to pre-size the builder.
    pub(super) bytes: usize,
}

impl<'de> DeserializeSeed<'de> for SplitSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SplitSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dataframe in 'split' orientation")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut layout: Option<Vec<Option<usize>>> = None;
        let mut data_read = false;
        let mut data_later: Option<&'de RawValue> = None;
        let mut index_len: Option<usize> = None;
        while let Some(key) = map.next_key::<SplitKey>()? {
            match key {
                SplitKey::Columns => {
                    let columns = map.next_value_seed(LayoutSeed(ctx.features))?;
                    layout = Some(check_layout(ctx.features, columns).map_err(|e| ctx.fail(e))?);
                }
                SplitKey::Data if data_read || data_later.is_some() => {
                    let error =
                        ScoringError::bad_request("Invalid input. The 'data' key appears twice.");
                    return Err(ctx.fail(error));
                }
                SplitKey::Data => match &layout {
                    Some(layout) => {
                        ctx.rows.reserve_rows(rows_hint(self.bytes, layout.len()));
                        map.next_value_seed(RowsSeed {
                            ctx: &mut *ctx,
                            lists: ListRows::Columns(layout),
                        })?;
                        data_read = true;
                    }
                    None => data_later = Some(map.next_value()?),
                },
                SplitKey::Index => index_len = Some(map.next_value_seed(CountSeed)?),
                SplitKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(raw) = data_later {
            let n_src = layout.as_ref().map_or(ctx.features.len(), Vec::len);
            ctx.rows.reserve_rows(rows_hint(raw.get().len(), n_src));
            let mut de = serde_json::Deserializer::from_str(raw.get());
            let seed = RowsSeed {
                ctx: &mut *ctx,
                lists: lists(layout.as_deref()),
            };
            seed.deserialize(&mut de).map_err(|e| {
                let error = ctx.take_failure(&e);
                ctx.fail::<A::Error>(error)
            })?;
            data_read = true;
        }
        finish(ctx, data_read, layout.is_some(), index_len).map_err(|e| ctx.fail(e))
    }
}

/// Rows in `bytes` of array rows of `n_src` short numbers (`[80,70,…],` is ~3.5 bytes a cell).
fn rows_hint(bytes: usize, n_src: usize) -> usize {
    bytes / (3 * n_src.max(1) + 2)
}

fn lists(layout: Option<&[Option<usize>]>) -> ListRows<'_> {
    layout.map_or(ListRows::Refuse(no_columns), ListRows::Columns)
}

/// Array rows without `columns` get pandas' positional names 0, 1, …, which the model lacks.
fn no_columns(features: &[String]) -> ScoringError {
    let all: Vec<&str> = features.iter().map(String::as_str).collect();
    missing_inputs(
        &all,
        " The rows are lists but the request names no 'columns'.",
    )
}

/// Every feature named exactly once.
fn check_layout(
    features: &[String],
    layout: Vec<Option<usize>>,
) -> Result<Vec<Option<usize>>, ScoringError> {
    let mut seen = vec![false; features.len()];
    for &col in layout.iter().flatten() {
        if std::mem::replace(&mut seen[col], true) {
            return Err(ScoringError::schema(format!(
                "Failed to enforce schema of data. Error: column '{}' appears more than once.",
                features[col]
            )));
        }
    }
    let missing: Vec<&str> = features
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| !**seen)
        .map(|(name, _)| name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(layout)
    } else {
        Err(missing_inputs(&missing, ""))
    }
}

/// `data` present and as long as `index`. An empty frame is an empty answer when its
/// `columns` name every input (as `mlflow models serve` answers `{"predictions": []}`);
/// without `columns`, every input is missing.
fn finish(
    ctx: &Ctx<'_>,
    data_read: bool,
    named_columns: bool,
    index_len: Option<usize>,
) -> Result<(), ScoringError> {
    if !data_read {
        return Err(ScoringError::bad_request(
            "Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields.",
        ));
    }
    let n_rows = ctx.rows.n_rows();
    if n_rows == 0 && !named_columns {
        let all: Vec<&str> = ctx.features.iter().map(String::as_str).collect();
        return Err(missing_inputs(
            &all,
            " The data frame has no rows and no 'columns'.",
        ));
    }
    match index_len {
        Some(len) if len != n_rows => Err(ScoringError::bad_request(format!(
            "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: 'index' has {len} entries but 'data' has {n_rows} rows."
        ))),
        _ => Ok(()),
    }
}

/// The keys of a split object.
enum SplitKey {
    Columns,
    Data,
    Index,
    Other,
}

impl<'de> de::Deserialize<'de> for SplitKey {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(SplitKeyVisitor)
    }
}

struct SplitKeyVisitor;

impl Visitor<'_> for SplitKeyVisitor {
    type Value = SplitKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<SplitKey, E> {
        Ok(match key {
            "columns" => SplitKey::Columns,
            "data" => SplitKey::Data,
            "index" => SplitKey::Index,
            _ => SplitKey::Other,
        })
    }
}

/// `columns` as the model position of each column.
struct LayoutSeed<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for LayoutSeed<'_> {
    type Value = Vec<Option<usize>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LayoutSeed<'_> {
    type Value = Vec<Option<usize>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of column names")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut layout = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(64));
        while let Some(col) = seq.next_element_seed(NameSeed(self.0))? {
            layout.push(col);
        }
        Ok(layout)
    }
}

/// The length of a list whose entries are not needed (`index`).
struct CountSeed;

impl<'de> DeserializeSeed<'de> for CountSeed {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for CountSeed {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut len = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            len += 1;
        }
        Ok(len)
    }
}
