//! The Open Inference Protocol (KServe's v2 protocol, also spoken by Triton and MLServer) in
//! JSON: an `infer` request into a [`Batch`] in the model's feature order, and the answer.
//! A pure function of bytes, like the MLflow protocol beside it.
//!
//! A request gives the rows in one of two ways:
//! - one tensor of shape `[N, F]` (any name), its columns in the model's feature order;
//! - one tensor per feature, named as the feature, each of shape `[N]` or `[N, 1]`.
//!
//! Numbers of any numeric datatype are read as f64 (`FP16` too, written as JSON numbers);
//! `BOOL` and `BYTES` inputs are refused. The answer has two outputs, `predict` (`BOOL`) and
//! `predict_proba` (`FP64`, the probability the decision is taken on), or those the request
//! names in `outputs`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use crate::batch::Batch;
use crate::{Limits, ScoringError};

/// Datatypes whose values are numbers.
const NUMERIC: [&str; 11] = [
    "FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32",
    "UINT64",
];

/// The outputs a model answers: the decision and its probability.
pub const OUTPUTS: [&str; 2] = ["predict", "predict_proba"];

/// A parsed `infer` request.
#[derive(Debug, Clone, PartialEq)]
pub struct InferRequest {
    /// The request's `id`, echoed in the answer.
    pub id: Option<String>,
    /// The rows, in the model's feature order.
    pub batch: Batch,
    /// Which of [`OUTPUTS`] to answer, in that order.
    pub outputs: [bool; 2],
}

/// The request as sent; `parameters` (of the request, an input or an output) and other
/// fields are ignored.
#[derive(Deserialize)]
struct RawRequest {
    #[serde(default)]
    id: Option<String>,
    inputs: Vec<Tensor>,
    #[serde(default)]
    outputs: Option<Vec<RawOutput>>,
}

/// One input tensor, whatever the transport (JSON's `data`, gRPC's typed contents or raw
/// bytes), its values read as f64.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Tensor {
    /// A feature's name, or any name for one `[N, F]` tensor.
    pub name: String,
    /// The dimensions as sent (checked against the values by [`rows`]).
    pub shape: Vec<i64>,
    /// The protocol's datatype name (`FP64`, `INT32`, …).
    pub datatype: String,
    /// The values, flattened row-major.
    #[serde(rename = "data", deserialize_with = "flat_numbers")]
    pub values: Vec<f64>,
}

#[derive(Deserialize)]
struct RawOutput {
    name: String,
}

/// Most values one request may carry, whatever its shape says: the row limit times the
/// columns, so the whole request is bounded while it is read, before its shape is checked.
pub fn max_values(limits: &Limits, n_cols: usize) -> usize {
    limits.max_rows.saturating_mul(n_cols.max(1))
}

thread_local! {
    /// How many more values the request being parsed on this thread may hold. serde's derive
    /// gives `flat_numbers` no context, so [`parse_infer`] sets the budget here for the one call.
    static BUDGET: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A tensor's `data`: flat, as clients send it, or nested as the protocol also allows.
fn flat_numbers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    let mut out = Vec::new();
    FlatSeed(&mut out).deserialize(deserializer)?;
    Ok(out)
}

/// Appends the numbers of a (nested) JSON list to the vector, within [`BUDGET`].
struct FlatSeed<'a>(&'a mut Vec<f64>);

impl FlatSeed<'_> {
    fn push<E: de::Error>(self, v: f64) -> Result<(), E> {
        let left = BUDGET.get();
        if left == 0 {
            return Err(E::custom(TOO_MANY));
        }
        BUDGET.set(left - 1);
        self.0.push(v);
        Ok(())
    }
}

/// The error [`FlatSeed`] stops with, told apart from other parse errors by its text.
const TOO_MANY: &str = "more values than the row limit allows";

impl<'de> DeserializeSeed<'de> for FlatSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FlatSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(FlatSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.push(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        #[allow(
            clippy::cast_precision_loss,
            reason = "as JSON numbers are read everywhere"
        )]
        self.push(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        #[allow(
            clippy::cast_precision_loss,
            reason = "as JSON numbers are read everywhere"
        )]
        self.push(v as f64)
    }
}

/// Parses an `infer` request body for a model of `features`.
///
/// # Errors
/// 400 for a body that is not such a request or does not fit the model (the message says
/// which input and why); 413 for more rows than `limits.max_rows`.
pub fn parse_infer(
    body: &[u8],
    features: &[String],
    limits: &Limits,
) -> Result<InferRequest, ScoringError> {
    let n_cols = features.len();
    BUDGET.set(max_values(limits, n_cols));
    let raw: RawRequest = serde_json::from_slice(body).map_err(|e| {
        if e.to_string().starts_with(TOO_MANY) {
            ScoringError::too_many_rows(limits.max_rows)
        } else {
            ScoringError::bad_request(format!("The body is not an inference request: {e}."))
        }
    })?;
    let outputs = requested_outputs(raw.outputs.iter().flatten().map(|o| o.name.as_str()))?;
    Ok(InferRequest {
        id: raw.id,
        batch: rows(raw.inputs, features, limits)?,
        outputs,
    })
}

/// The rows the input tensors give a model of `features`, in its feature order.
///
/// # Errors
/// 400 for tensors that do not fit the model (the message says which input and why); 413
/// for more rows than `limits.max_rows`.
pub fn rows(
    inputs: Vec<Tensor>,
    features: &[String],
    limits: &Limits,
) -> Result<Batch, ScoringError> {
    let n_cols = features.len();
    for input in &inputs {
        check_tensor(input)?;
    }
    let values = match <[Tensor; 1]>::try_from(inputs) {
        Ok([one]) if one.shape.len() == 2 && !features.contains(&one.name) => matrix(one, n_cols)?,
        Ok(one) => columns(&one, features)?,
        Err(inputs) if !inputs.is_empty() => columns(&inputs, features)?,
        Err(_) => return Err(ScoringError::bad_request("The request has no inputs.")),
    };
    let n_rows = values.len() / n_cols.max(1);
    if n_rows > limits.max_rows {
        return Err(ScoringError::too_many_rows(limits.max_rows));
    }
    if let Some(at) = values.iter().position(|v| !v.is_finite()) {
        return Err(ScoringError::bad_request(format!(
            "Value {at} of the rows is not a finite number."
        )));
    }
    Ok(Batch::from_row_major(n_cols, values))
}

/// A numeric tensor whose data has as many values as its shape says.
fn check_tensor(input: &Tensor) -> Result<(), ScoringError> {
    if !NUMERIC.contains(&input.datatype.as_str()) {
        return Err(ScoringError::bad_request(format!(
            "Input '{}' has datatype {}: the model takes numbers ({}).",
            input.name,
            input.datatype,
            NUMERIC.join(", ")
        )));
    }
    let mut expected: usize = 1;
    for &dim in &input.shape {
        let dim = usize::try_from(dim).map_err(|_| {
            ScoringError::bad_request(format!(
                "Input '{}' has shape {:?}: dimensions cannot be negative.",
                input.name, input.shape
            ))
        })?;
        expected = expected.saturating_mul(dim);
    }
    if expected != input.values.len() {
        return Err(ScoringError::bad_request(format!(
            "Input '{}' has shape {:?}, which holds {expected} values, but its data has {}.",
            input.name,
            input.shape,
            input.values.len()
        )));
    }
    Ok(())
}

/// One `[N, F]` tensor, already row-major in the model's order.
fn matrix(input: Tensor, n_cols: usize) -> Result<Vec<f64>, ScoringError> {
    if usize::try_from(input.shape[1]) != Ok(n_cols) {
        return Err(ScoringError::bad_request(format!(
            "Input '{}' has shape {:?}: a single input must be [N, {n_cols}], one column per feature in the model's order.",
            input.name, input.shape
        )));
    }
    Ok(input.values)
}

/// One `[N]` or `[N, 1]` tensor per feature, interleaved into rows.
fn columns(inputs: &[Tensor], features: &[String]) -> Result<Vec<f64>, ScoringError> {
    let mut by_feature: Vec<Option<&Tensor>> = vec![None; features.len()];
    for input in inputs {
        let Some(col) = features.iter().position(|f| *f == input.name) else {
            return Err(ScoringError::bad_request(format!(
                "Input '{}' is not a feature of the model; send one input per feature ({}), or one [N, {}] input.",
                input.name,
                features.join(", "),
                features.len()
            )));
        };
        if by_feature[col].replace(input).is_some() {
            return Err(ScoringError::bad_request(format!(
                "Input '{}' appears twice.",
                input.name
            )));
        }
        let column_shape = matches!(input.shape.as_slice(), [_] | [_, 1]);
        if !column_shape {
            return Err(ScoringError::bad_request(format!(
                "Input '{}' has shape {:?}: a feature's input must be [N] or [N, 1].",
                input.name, input.shape
            )));
        }
    }
    let missing: Vec<&str> = features
        .iter()
        .zip(&by_feature)
        .filter(|(_, input)| input.is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ScoringError::bad_request(format!(
            "The request has no input for {}: send one input per feature, or one [N, {}] input.",
            missing.join(", "),
            features.len()
        )));
    }
    let columns: Vec<&[f64]> = by_feature
        .iter()
        .flatten()
        .map(|input| input.values.as_slice())
        .collect();
    let n_rows = columns.first().map_or(0, |c| c.len());
    if let Some((col, c)) = columns.iter().enumerate().find(|(_, c)| c.len() != n_rows) {
        return Err(ScoringError::bad_request(format!(
            "Inputs hold different numbers of rows: {} has {n_rows}, {} has {}.",
            features[0],
            features[col],
            c.len()
        )));
    }
    let mut values = Vec::with_capacity(n_rows * columns.len());
    for row in 0..n_rows {
        values.extend(columns.iter().map(|c| c[row]));
    }
    Ok(values)
}

/// Which of [`OUTPUTS`] a request names (all of them when it names none).
///
/// # Errors
/// 400 for a name that is not an output of the model.
pub fn requested_outputs<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<[bool; 2], ScoringError> {
    let mut wanted = [false; 2];
    for name in names {
        let Some(at) = OUTPUTS.iter().position(|o| *o == name) else {
            return Err(ScoringError::bad_request(format!(
                "Output '{name}' does not exist: the model answers {}.",
                OUTPUTS.join(" and ")
            )));
        };
        wanted[at] = true;
    }
    Ok(if wanted == [false; 2] {
        [true; 2]
    } else {
        wanted
    })
}

/// The values of one input sent as raw bytes (gRPC's `raw_input_contents`): flattened
/// row-major, little-endian, as many as `datatype`'s width divides the bytes into.
///
/// # Errors
/// 400 for a datatype that is not a number, or bytes that are not a whole number of values;
/// 413 for more values than `max` (checked before anything is decoded).
pub fn decode_raw(
    name: &str,
    datatype: &str,
    bytes: &[u8],
    max: usize,
    max_rows: usize,
) -> Result<Vec<f64>, ScoringError> {
    let width = match datatype {
        "INT8" | "UINT8" => 1,
        "FP16" | "INT16" | "UINT16" => 2,
        "FP32" | "INT32" | "UINT32" => 4,
        "FP64" | "INT64" | "UINT64" => 8,
        _ => {
            return Err(ScoringError::bad_request(format!(
                "Input '{name}' has datatype {datatype}: the model takes numbers ({}).",
                NUMERIC.join(", ")
            )));
        }
    };
    if !bytes.len().is_multiple_of(width) {
        return Err(ScoringError::bad_request(format!(
            "Input '{name}' has {} raw bytes, not a whole number of {width}-byte {datatype} values.",
            bytes.len()
        )));
    }
    if bytes.len() / width > max {
        return Err(ScoringError::too_many_rows(max_rows));
    }
    let chunks = bytes.chunks_exact(width);
    #[allow(
        clippy::cast_precision_loss,
        reason = "64-bit integers are read as JSON numbers are"
    )]
    let values = match datatype {
        "INT8" => chunks
            .map(|b| f64::from(i8::from_le_bytes([b[0]])))
            .collect(),
        "UINT8" => chunks.map(|b| f64::from(b[0])).collect(),
        "FP16" => chunks
            .map(|b| f16_to_f64(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        "INT16" => chunks
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
            .collect(),
        "UINT16" => chunks
            .map(|b| f64::from(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        "FP32" => chunks
            .map(|b| f64::from(f32::from_le_bytes(word(b))))
            .collect(),
        "INT32" => chunks
            .map(|b| f64::from(i32::from_le_bytes(word(b))))
            .collect(),
        "UINT32" => chunks
            .map(|b| f64::from(u32::from_le_bytes(word(b))))
            .collect(),
        "FP64" => chunks.map(|b| f64::from_le_bytes(dword(b))).collect(),
        "INT64" => chunks
            .map(|b| i64::from_le_bytes(dword(b)) as f64)
            .collect(),
        _ => chunks
            .map(|b| u64::from_le_bytes(dword(b)) as f64)
            .collect(),
    };
    Ok(values)
}

/// The first 4 bytes of a chunk of at least 4 (zeros past its end: never, by construction).
fn word(b: &[u8]) -> [u8; 4] {
    let mut out = [0; 4];
    out.iter_mut().zip(b).for_each(|(o, b)| *o = *b);
    out
}

/// The first 8 bytes of a chunk of at least 8.
fn dword(b: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.iter_mut().zip(b).for_each(|(o, b)| *o = *b);
    out
}

/// An IEEE 754 half-precision value (sign, 5 exponent bits, 10 fraction bits), exactly.
fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * fraction * 2f64.powi(-24),
        0x1f if fraction == 0.0 => sign * f64::INFINITY,
        0x1f => f64::NAN,
        _ => sign * (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

/// The answer to an `infer` request: `model_name`, `model_version` when known, the request's
/// `id` when it had one, and the outputs it asked for, each of shape `[N]`.
pub fn render_infer(
    model_name: &str,
    model_version: Option<&str>,
    request: &InferRequest,
    decisions: &[bool],
    probabilities: &[f64],
) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        model_name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        model_version: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        outputs: Vec<Output<'a>>,
    }
    #[derive(serde::Serialize)]
    struct Output<'a> {
        name: &'static str,
        datatype: &'static str,
        shape: [usize; 1],
        data: Data<'a>,
    }
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    enum Data<'a> {
        Bool(&'a [bool]),
        Float(&'a [f64]),
    }
    let all = [
        ("BOOL", decisions.len(), Data::Bool(decisions)),
        ("FP64", probabilities.len(), Data::Float(probabilities)),
    ];
    let outputs: Vec<Output<'_>> = all
        .into_iter()
        .zip(OUTPUTS)
        .zip(request.outputs)
        .filter(|(_, wanted)| *wanted)
        .map(|(((datatype, n, data), name), _)| Output {
            name,
            datatype,
            shape: [n],
            data,
        })
        .collect();
    let answer = Answer {
        model_name,
        model_version,
        id: request.id.as_deref(),
        outputs,
    };
    // Strings, booleans and finite floats always serialise.
    serde_json::to_vec(&answer).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScoringErrorKind;

    fn features() -> Vec<String> {
        ["hp", "attack"].map(str::to_owned).to_vec()
    }

    fn parse(body: &str) -> Result<InferRequest, ScoringError> {
        parse_infer(body.as_bytes(), &features(), &Limits::default())
    }

    fn refused(body: &str) -> String {
        match parse(body) {
            Ok(r) => panic!("{body} was accepted: {r:?}"),
            Err(e) => e.message().to_owned(),
        }
    }

    #[test]
    fn one_matrix_or_one_column_per_feature_give_the_same_rows() {
        let matrix = parse(
            r#"{"id": "r1", "inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#,
        )
        .unwrap();
        assert_eq!(matrix.batch.values(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(matrix.id.as_deref(), Some("r1"));
        assert_eq!(matrix.outputs, [true, true]);
        let nested = parse(
            r#"{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "INT64", "data": [[1, 2], [3, 4]]}]}"#,
        )
        .unwrap();
        assert_eq!(nested.batch, matrix.batch);
        let columns = parse(
            r#"{"inputs": [{"name": "attack", "shape": [2], "datatype": "INT32", "data": [2, 4]},
                           {"name": "hp", "shape": [2, 1], "datatype": "FP64", "data": [1, 3]}],
                "outputs": [{"name": "predict_proba"}]}"#,
        )
        .unwrap();
        assert_eq!(columns.batch, matrix.batch);
        assert_eq!(columns.outputs, [false, true]);
    }

    #[test]
    fn what_does_not_fit_is_refused_with_the_input_at_fault() {
        let cases = [
            (r#"{"inputs": []}"#, "no inputs"),
            (
                r#"{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}"#,
                "must be [N, 2]",
            ),
            (
                r#"{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3]}]}"#,
                "holds 4 values, but its data has 3",
            ),
            (
                r#"{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "BYTES", "data": [1, 2]}]}"#,
                "datatype BYTES",
            ),
            (
                r#"{"inputs": [{"name": "hp", "shape": [1], "datatype": "FP64", "data": [1]}]}"#,
                "no input for attack",
            ),
            (
                r#"{"inputs": [{"name": "hp", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "speed", "shape": [1], "datatype": "FP64", "data": [1]}]}"#,
                "'speed' is not a feature",
            ),
            (
                r#"{"inputs": [{"name": "hp", "shape": [2], "datatype": "FP64", "data": [1, 2]}, {"name": "attack", "shape": [1], "datatype": "FP64", "data": [1]}]}"#,
                "different numbers of rows",
            ),
            (
                r#"{"inputs": [{"name": "x", "shape": [-1, 2], "datatype": "FP64", "data": [1, 2]}]}"#,
                "cannot be negative",
            ),
            (
                r#"{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}], "outputs": [{"name": "logits"}]}"#,
                "Output 'logits' does not exist",
            ),
            (r#"{"inputs": 3}"#, "not an inference request"),
            (
                r#"{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, "b"]}]}"#,
                "not an inference request",
            ),
        ];
        for (body, expected) in cases {
            let message = refused(body);
            assert!(message.contains(expected), "{body}: {message}");
        }
    }

    #[test]
    fn more_values_than_the_row_limit_allows_is_413_while_they_are_read() {
        let limits = Limits { max_rows: 1 };
        let body = r#"{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}"#;
        let error = parse_infer(body.as_bytes(), &features(), &limits).unwrap_err();
        assert_eq!(error.kind(), ScoringErrorKind::TooManyRows);
    }

    #[test]
    fn raw_bytes_are_read_little_endian_in_every_numeric_datatype() {
        let decode = |datatype: &str, bytes: &[u8]| decode_raw("x", datatype, bytes, 100, 10);
        assert_eq!(decode("FP64", &1.5f64.to_le_bytes()).unwrap(), [1.5]);
        assert_eq!(decode("FP32", &(-2.25f32).to_le_bytes()).unwrap(), [-2.25]);
        assert_eq!(decode("INT8", &[0xff, 7]).unwrap(), [-1.0, 7.0]);
        assert_eq!(decode("UINT8", &[0xff]).unwrap(), [255.0]);
        assert_eq!(decode("INT16", &(-300i16).to_le_bytes()).unwrap(), [-300.0]);
        assert_eq!(
            decode("UINT16", &60_000u16.to_le_bytes()).unwrap(),
            [60_000.0]
        );
        assert_eq!(decode("INT32", &(-5i32).to_le_bytes()).unwrap(), [-5.0]);
        assert_eq!(
            decode("UINT32", &4_000_000_000u32.to_le_bytes()).unwrap(),
            [4e9]
        );
        assert_eq!(decode("INT64", &(-7i64).to_le_bytes()).unwrap(), [-7.0]);
        assert_eq!(decode("UINT64", &9u64.to_le_bytes()).unwrap(), [9.0]);
        // 1.0, -2.0, 65504 (the largest half), the smallest subnormal, +infinity.
        let halves = [0x3c00u16, 0xc000, 0x7bff, 0x0001, 0x7c00];
        let bytes: Vec<u8> = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
        assert_eq!(
            decode("FP16", &bytes).unwrap(),
            [1.0, -2.0, 65504.0, 2f64.powi(-24), f64::INFINITY]
        );
        assert!(decode("FP16", &0x7e00u16.to_le_bytes()).unwrap()[0].is_nan());
    }

    #[test]
    fn raw_bytes_that_do_not_fit_are_refused_before_they_are_decoded() {
        let error = decode_raw("hp", "FP64", &[0; 12], 100, 10).unwrap_err();
        assert!(
            error.message().contains("12 raw bytes"),
            "{}",
            error.message()
        );
        let error = decode_raw("hp", "BOOL", &[1], 100, 10).unwrap_err();
        assert!(
            error.message().contains("datatype BOOL"),
            "{}",
            error.message()
        );
        let error = decode_raw("hp", "FP32", &[0; 12], 2, 10).unwrap_err();
        assert_eq!(error.kind(), ScoringErrorKind::TooManyRows);
    }

    #[test]
    fn the_answer_echoes_the_id_and_gives_the_outputs_asked_for() {
        let request = parse(
            r#"{"id": "a", "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}"#,
        )
        .unwrap();
        let body = render_infer("pokemon", Some("3"), &request, &[true], &[0.75]);
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            answer,
            serde_json::json!({"model_name": "pokemon", "model_version": "3", "id": "a", "outputs": [
                {"name": "predict", "datatype": "BOOL", "shape": [1], "data": [true]},
                {"name": "predict_proba", "datatype": "FP64", "shape": [1], "data": [0.75]}]})
        );
    }
}
