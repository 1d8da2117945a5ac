//! numpy's `.npy` format, as skops writes each array: a magic string, a header that is a
//! Python dict literal (`{'descr': '<f8', 'fortran_order': False, 'shape': (129, 1, 2), }`),
//! then the items. The header is parsed here (a few dozen lines; the npy crates either pull
//! in much more or do not read record dtypes), and the declared size is checked against the
//! bytes present before anything is kept. [`write_f64`] writes the same format, version 1.0,
//! as `numpy.save` does, for the SHAP artifacts of a training run.

use std::rc::Rc;

use super::SklearnError;
use super::value::{Array, ArrayData, Dtype};

fn bad(message: impl std::fmt::Display) -> SklearnError {
    SklearnError::Malformed(format!("npy: {message}"))
}

/// A Python literal, as far as npy headers use them.
#[derive(Debug, PartialEq)]
enum Lit {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    Seq(Vec<Lit>),
    Dict(Vec<(String, Lit)>),
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.at).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), SklearnError> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(bad(format!("expected '{}' at {}", char::from(c), self.at)))
        }
    }

    fn value(&mut self) -> Result<Lit, SklearnError> {
        self.depth += 1;
        if self.depth > 8 {
            return Err(bad("header nests too deep"));
        }
        let v = match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                self.at += 1;
                let start = self.at;
                while self.s.get(self.at).is_some_and(|&c| c != q && c != b'\\') {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.at.min(self.s.len())])
                    .map_err(|_| bad("header is not UTF-8"))?
                    .to_owned();
                self.expect(q)?;
                Lit::Str(text)
            }
            Some(open @ (b'(' | b'[')) => {
                self.at += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                while self.peek() != Some(close) {
                    items.push(self.value()?);
                    if self.peek() == Some(b',') {
                        self.at += 1;
                    } else {
                        break;
                    }
                }
                self.expect(close)?;
                Lit::Seq(items)
            }
            Some(b'{') => {
                self.at += 1;
                let mut items = Vec::new();
                while self.peek() != Some(b'}') {
                    let Lit::Str(key) = self.value()? else {
                        return Err(bad("a header key is not a string"));
                    };
                    self.expect(b':')?;
                    items.push((key, self.value()?));
                    if self.peek() == Some(b',') {
                        self.at += 1;
                    } else {
                        break;
                    }
                }
                self.expect(b'}')?;
                Lit::Dict(items)
            }
            _ => {
                let start = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-')
                {
                    self.at += 1;
                }
                match &self.s[start..self.at] {
                    b"True" => Lit::Bool(true),
                    b"False" => Lit::Bool(false),
                    b"None" => Lit::None,
                    word => Lit::Int(
                        std::str::from_utf8(word)
                            .ok()
                            .and_then(|w| w.parse().ok())
                            .ok_or_else(|| bad(format!("unexpected token at {start}")))?,
                    ),
                }
            }
        };
        self.depth -= 1;
        Ok(v)
    }
}

/// A record dtype from npy's list form: `[('left_child', '<i8'), …, ('', '|V7')]`; the unnamed
/// entries are padding.
fn record(fields: &[Lit]) -> Result<Dtype, SklearnError> {
    let mut dtype = Dtype::parse("V0")?;
    if fields.len() > 64 {
        return Err(bad("records of more than 64 fields are not supported"));
    }
    for field in fields {
        let Lit::Seq(spec) = field else {
            return Err(bad("a record field is not a tuple"));
        };
        let [Lit::Str(name), Lit::Str(typestr)] = spec.as_slice() else {
            return Err(bad("record fields with sub-arrays are not supported"));
        };
        let field = Dtype::parse(typestr)?;
        let size = field.size;
        if !name.is_empty() {
            dtype.fields.push((name.clone(), field, dtype.size));
        }
        dtype.size = dtype
            .size
            .checked_add(size)
            .filter(|&s| s <= 4096)
            .ok_or_else(|| bad("record is too large"))?;
    }
    Ok(dtype)
}

/// Reads one `.npy` file.
///
/// # Errors
/// [`SklearnError::Malformed`] for a bad header, an object dtype, or items that do not match
/// the declared shape.
pub(crate) fn read(bytes: &[u8]) -> Result<Array, SklearnError> {
    let rest = bytes
        .strip_prefix(b"\x93NUMPY")
        .ok_or_else(|| bad("not an npy file"))?;
    let (&major, rest) = rest.split_first().ok_or_else(|| bad("truncated"))?;
    let rest = rest.get(1..).ok_or_else(|| bad("truncated"))?;
    let (len, rest) = match major {
        1 => rest
            .split_at_checked(2)
            .map(|(l, r)| (usize::from(u16::from_le_bytes([l[0], l[1]])), r)),
        2 | 3 => rest
            .split_at_checked(4)
            .map(|(l, r)| (u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize, r)),
        _ => return Err(bad(format!("version {major} is not supported"))),
    }
    .ok_or_else(|| bad("truncated"))?;
    let (header, data) = rest
        .split_at_checked(len)
        .ok_or_else(|| bad("truncated header"))?;
    let mut parser = Parser {
        s: header,
        at: 0,
        depth: 0,
    };
    let Lit::Dict(entries) = parser.value()? else {
        return Err(bad("header is not a dict"));
    };
    let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let dtype = match get("descr") {
        Some(Lit::Str(typestr)) => Dtype::parse(typestr)?,
        Some(Lit::Seq(fields)) => record(fields)?,
        _ => return Err(bad("header has no descr")),
    };
    if dtype.kind == b'O' {
        return Err(bad("object arrays are not read from npy files"));
    }
    let fortran = matches!(get("fortran_order"), Some(Lit::Bool(true)));
    let Some(Lit::Seq(dims)) = get("shape") else {
        return Err(bad("header has no shape"));
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Lit::Int(n) => usize::try_from(*n).map_err(|_| bad("negative dimension")),
            _ => Err(bad("a dimension is not an integer")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let array = Array {
        dtype,
        shape,
        fortran,
        data: ArrayData::Raw(Rc::from(data)),
    };
    // The declared size must be exactly the bytes present: a header that declares a huge
    // array over a few bytes is refused here, having cost nothing.
    array.check()?;
    Ok(array)
}

/// The magic string every `.npy` file starts with.
const MAGIC: &[u8] = b"\x93NUMPY";

/// A C-order little-endian float64 array of `shape` (`&[]`: a scalar) as an `.npy` v1.0 file,
/// byte for byte what `numpy.save` writes: the header padded with spaces and ended by a
/// newline so that the data starts at a multiple of 64 bytes.
///
/// # Panics
/// If `values.len()` is not the product of `shape` (a caller's bug).
pub fn write_f64(shape: &[usize], values: &[f64]) -> Vec<u8> {
    assert_eq!(shape.iter().product::<usize>(), values.len(), "npy shape");
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.extend(std::iter::repeat_n(
        ' ',
        unpadded.next_multiple_of(64) - unpadded,
    ));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + 8 * values.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // At most a few hundred bytes: a header of a handful of dimensions.
    out.extend_from_slice(
        &u16::try_from(header.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_arrays_read_back_and_start_their_data_at_64_bytes() {
        let values: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.25 - 1.0).collect();
        for shape in [&[2usize, 6][..], &[12], &[]] {
            let n = shape.iter().product::<usize>();
            let bytes = write_f64(shape, &values[..n]);
            let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
            assert_eq!((10 + header_len) % 64, 0);
            assert_eq!(bytes[9 + header_len], b'\n');
            let array = read(&bytes).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(array.shape, shape);
            assert!(!array.fortran);
            let ArrayData::Raw(data) = &array.data else {
                panic!("not raw data");
            };
            let back: Vec<f64> = data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert_eq!(back, values[..n]);
        }
        // numpy's own header for a (2, 6) float64 array.
        let header = &write_f64(&[2, 6], &values)[10..];
        assert!(header.starts_with(b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 6), }"));
    }

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn reads_plain_and_record_arrays_and_refuses_lying_headers() {
        let a = read(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
            &[0; 16],
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.shape, [2]);
        let r = read(&npy(
            "{'descr': [('a', '<i8'), ('b', '|u1'), ('', '|V7')], 'fortran_order': False, 'shape': (1,), }",
            &[0; 16],
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.dtype.size, 16);
        assert_eq!(r.dtype.field("b").map(|(_, o)| o), Some(8));
        let huge = read(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
            &[0; 16],
        ));
        assert!(huge.is_err());
        let short = read(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }",
            &[0; 16],
        ));
        assert!(matches!(short, Err(SklearnError::Malformed(m)) if m.contains("does not hold")));
    }
}
