//! One JSON cell, read straight into an f64 with MLflow's coercions (numbers, numeric strings,
//! booleans as 1/0) and no allocation unless the cell is rejected.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A cell as read from the request: a finite number, or why it is not one.
#[derive(Debug, PartialEq)]
pub(super) enum Cell {
    /// A usable value.
    Num(f64),
    /// `null`.
    Null,
    /// An array or object where a number belongs.
    Nested,
    /// A string that is not a finite number (kept, shortened, for the error message).
    Text(String),
}

impl Cell {
    /// Why this cell is not a number, for an error message; `None` for a number.
    pub(super) fn problem(&self) -> Option<String> {
        match self {
            Self::Num(_) => None,
            Self::Null => Some("null is not a number".to_owned()),
            Self::Nested => Some("a nested array or object is not a number".to_owned()),
            Self::Text(text) => Some(format!("the string '{text}' is not a finite number")),
        }
    }
}

/// Reads a number from a string: MLflow accepts `"80"`; we also accept `"80.5"` and `" 80 "`.
pub(crate) fn number_from_text(text: &str) -> Option<f64> {
    let value: f64 = text.trim().parse().ok()?;
    // `f64::from_str` also accepts "NaN", "inf" and "infinity".
    value.is_finite().then_some(value)
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CellVisitor)
    }
}

/// The visitor behind `Cell`, reused by visitors that accept a cell among other shapes.
pub(super) struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Cell, E> {
        Ok(Cell::Num(if value { 1.0 } else { 0.0 }))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Cell, E> {
        Ok(Cell::Num(value as f64))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Cell, E> {
        Ok(Cell::Num(value as f64))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Cell, E> {
        Ok(if value.is_finite() {
            Cell::Num(value)
        } else {
            Cell::Text(value.to_string())
        })
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Cell, E> {
        Ok(number_from_text(text).map_or_else(|| Cell::Text(shorten(text)), Cell::Num))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Cell::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Cell::Nested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(json: &str) -> Cell {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn numbers_in_every_json_spelling_are_read_exactly() {
        assert_eq!(cell("80"), Cell::Num(80.0));
        assert_eq!(cell("-3"), Cell::Num(-3.0));
        assert_eq!(cell("99.9"), Cell::Num(99.9));
        assert_eq!(cell("8e1"), Cell::Num(80.0));
        assert_eq!(cell("99999999999"), Cell::Num(99_999_999_999.0));
    }

    #[test]
    fn booleans_and_numeric_strings_are_coerced() {
        assert_eq!(cell("true"), Cell::Num(1.0));
        assert_eq!(cell("false"), Cell::Num(0.0));
        assert_eq!(cell("\"80\""), Cell::Num(80.0));
        assert_eq!(cell("\"80.5\""), Cell::Num(80.5));
    }

    #[test]
    fn null_nested_and_non_numeric_cells_are_problems() {
        assert!(cell("null").problem().is_some());
        assert!(cell("[1, 2]").problem().is_some());
        assert!(cell("{\"a\": 1}").problem().is_some());
        assert!(cell("\"abc\"").problem().is_some());
        assert!(cell("\"NaN\"").problem().is_some());
        assert!(cell("\"inf\"").problem().is_some());
    }
}
