//! JSON as MLflow's Python writes it: `json.dumps`' default separators (`", "` between items,
//! `": "` after keys) on serde_json's compact output. The scoring answers, the error bodies and
//! the signatures in `MLmodel` are compared byte for byte with MLflow's by clients and tests,
//! so they all go through this one formatter.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// serde_json's compact formatter with Python's separators.
#[derive(Clone, Copy, Debug, Default)]
pub struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Writes `value` as Python's `json.dumps` would into `out`.
///
/// # Errors
/// What serde_json refuses (a map with non-string keys); never for the plain structs,
/// strings, numbers and lists this project writes.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, PythonFormatter);
    value.serialize(&mut serializer)
}

/// `value` as Python's `json.dumps` would write it.
///
/// # Errors
/// As [`write`].
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    write(&mut out, value)?;
    // serde_json writes only UTF-8.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_pythons_and_nothing_else_changes() {
        #[derive(Serialize)]
        struct Column<'a> {
            r#type: &'a str,
            name: &'a str,
            n: Vec<Option<f64>>,
        }
        let columns = [
            Column {
                r#type: "long",
                name: "hp",
                n: vec![],
            },
            Column {
                r#type: "double",
                name: "a, \"b\": c",
                n: vec![Some(1.0), Some(2.5), None],
            },
        ];
        assert_eq!(
            to_string(&columns).unwrap_or_default(),
            r#"[{"type": "long", "name": "hp", "n": []}, {"type": "double", "name": "a, \"b\": c", "n": [1.0, 2.5, null]}]"#
        );
        assert_eq!(to_string(&[0_u8; 0]).unwrap_or_default(), "[]");
    }
}
