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
    inputs: Vec<RawInput>,
    #[serde(default)]
    outputs: Option<Vec<RawOutput>>,
}

#[derive(Deserialize)]
struct RawInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    data: Numbers,
}

#[derive(Deserialize)]
struct RawOutput {
    name: String,
}

/// A tensor's `data`, flattened row-major: flat, as clients send it, or nested as the
/// protocol also allows.
struct Numbers(Vec<f64>);

/// Most values one request may carry, whatever its shape says: the row limit times the
/// columns, so the whole request is bounded while it is read, before its shape is checked.
fn max_values(limits: &Limits, n_cols: usize) -> usize {
    limits.max_rows.saturating_mul(n_cols.max(1))
}

thread_local! {
    /// How many more values the request being parsed on this thread may hold. serde's derive
    /// gives `Numbers` no context, so [`parse_infer`] sets the budget here for the one call.
    static BUDGET: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<'de> Deserialize<'de> for Numbers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        FlatSeed(&mut out).deserialize(deserializer)?;
        Ok(Self(out))
    }
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
    let outputs = requested_outputs(raw.outputs.as_deref())?;
    for input in &raw.inputs {
        check_tensor(input)?;
    }
    let values = match raw.inputs.as_slice() {
        [one] if one.shape.len() == 2 && !features.contains(&one.name) => matrix(one, n_cols)?,
        inputs if !inputs.is_empty() => columns(inputs, features)?,
        _ => return Err(ScoringError::bad_request("The request has no inputs.")),
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
    Ok(InferRequest {
        id: raw.id,
        batch: Batch::from_row_major(n_cols, values),
        outputs,
    })
}

/// A numeric tensor whose data has as many values as its shape says.
fn check_tensor(input: &RawInput) -> Result<(), ScoringError> {
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
    if expected != input.data.0.len() {
        return Err(ScoringError::bad_request(format!(
            "Input '{}' has shape {:?}, which holds {expected} values, but its data has {}.",
            input.name,
            input.shape,
            input.data.0.len()
        )));
    }
    Ok(())
}

/// One `[N, F]` tensor, already row-major in the model's order.
fn matrix(input: &RawInput, n_cols: usize) -> Result<Vec<f64>, ScoringError> {
    if usize::try_from(input.shape[1]) != Ok(n_cols) {
        return Err(ScoringError::bad_request(format!(
            "Input '{}' has shape {:?}: a single input must be [N, {n_cols}], one column per feature in the model's order.",
            input.name, input.shape
        )));
    }
    Ok(input.data.0.clone())
}

/// One `[N]` or `[N, 1]` tensor per feature, interleaved into rows.
fn columns(inputs: &[RawInput], features: &[String]) -> Result<Vec<f64>, ScoringError> {
    let mut by_feature: Vec<Option<&RawInput>> = vec![None; features.len()];
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
        .map(|input| input.data.0.as_slice())
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

/// The outputs a request names (all of them when it names none).
fn requested_outputs(outputs: Option<&[RawOutput]>) -> Result<[bool; 2], ScoringError> {
    let Some(outputs) = outputs.filter(|o| !o.is_empty()) else {
        return Ok([true; 2]);
    };
    let mut wanted = [false; 2];
    for output in outputs {
        let Some(at) = OUTPUTS.iter().position(|o| *o == output.name) else {
            return Err(ScoringError::bad_request(format!(
                "Output '{}' does not exist: the model answers {}.",
                output.name,
                OUTPUTS.join(" and ")
            )));
        };
        wanted[at] = true;
    }
    Ok(wanted)
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
