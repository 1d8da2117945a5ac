//! One test per JSON format and per rejection, through the public [`crate::parse`].

use crate::{Dialect, Limits, Parsed, PredictMethod, ScoringError, ScoringErrorKind, parse};

fn features() -> Vec<String> {
    ["hp", "attack"].map(str::to_owned).to_vec()
}

fn json(body: &str) -> Result<Parsed, ScoringError> {
    parse(
        Some("application/json"),
        body.as_bytes(),
        &features(),
        &Limits::default(),
    )
}

fn values(body: &str) -> Vec<f64> {
    match json(body) {
        Ok(parsed) => parsed.batch.values().to_vec(),
        Err(error) => panic!("{body} was refused: {error}"),
    }
}

/// The kind of refusal of a refused body.
fn refusal(body: &str) -> ScoringErrorKind {
    match json(body) {
        Ok(parsed) => panic!("{body} was accepted: {:?}", parsed.batch),
        Err(error) => error.kind(),
    }
}

const BAD: ScoringErrorKind = ScoringErrorKind::Invalid;
const SCHEMA: ScoringErrorKind = ScoringErrorKind::Schema;

#[test]
fn dataframe_split_maps_columns_by_name_and_drops_extras() {
    let body = r#"{"dataframe_split": {"columns": ["x", "attack", "hp"], "index": [7, 8], "data": [[0, 2, 1], ["z", 4, 3]]}}"#;
    assert_eq!(values(body), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(json(body).unwrap().dialect, Dialect::Mlflow2);
}

#[test]
fn dataframe_split_reads_data_that_comes_before_columns() {
    let body = r#"{"dataframe_split": {"data": [[2, 1]], "columns": ["attack", "hp"]}}"#;
    assert_eq!(values(body), [1.0, 2.0]);
}

#[test]
fn dataframe_split_rows_may_be_objects() {
    let body =
        r#"{"dataframe_split": {"columns": ["hp", "attack"], "data": [{"attack": 2, "hp": 1}]}}"#;
    assert_eq!(values(body), [1.0, 2.0]);
}

#[test]
fn dataframe_records_match_keys_in_any_order() {
    assert_eq!(
        values(
            r#"{"dataframe_records": [{"attack": 2, "hp": 1, "x": "y"}, {"hp": 3, "attack": 4}]}"#
        ),
        [1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn instances_and_inputs_accept_records_and_columns() {
    assert_eq!(
        values(r#"{"instances": [{"hp": 1, "attack": 2}]}"#),
        [1.0, 2.0]
    );
    assert_eq!(
        values(r#"{"instances": {"hp": [1, 3], "attack": [2, 4], "x": [0]}}"#),
        [1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(
        values(r#"{"inputs": [{"hp": 1, "attack": 2}]}"#),
        [1.0, 2.0]
    );
    assert_eq!(
        values(r#"{"inputs": {"hp": [1], "attack": [2]}}"#),
        [1.0, 2.0]
    );
}

#[test]
fn inputs_and_instances_may_be_a_single_record() {
    // As `mlflow models serve` answers for a pyfunc model: one prediction.
    assert_eq!(
        values(r#"{"inputs": {"hp": 1, "attack": "2"}}"#),
        [1.0, 2.0]
    );
    assert_eq!(
        values(r#"{"instances": {"hp": 1, "attack": 2}}"#),
        [1.0, 2.0]
    );
    assert_eq!(refusal(r#"{"inputs": {"hp": 1, "attack": [2]}}"#), BAD);
}

#[test]
fn other_keys_are_ignored() {
    assert_eq!(
        values(r#"{"foo": 3, "inputs": [{"hp": 1, "attack": 2}], "bar": {"a": [1]}}"#),
        [1.0, 2.0]
    );
}

#[test]
fn params_choose_the_predict_method_before_or_after_the_data() {
    let method = |body: &str| {
        json(body)
            .map(|p| p.method)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let rows = r#""inputs": [{"hp": 1, "attack": 2}]"#;
    assert_eq!(method(&format!("{{{rows}}}")), PredictMethod::Predict);
    assert_eq!(
        method(&format!(
            r#"{{"params": {{"predict_method": "predict_proba"}}, {rows}}}"#
        )),
        PredictMethod::PredictProba
    );
    assert_eq!(
        method(&format!(
            r#"{{{rows}, "params": {{"predict_method": "predict"}}}}"#
        )),
        PredictMethod::Predict
    );
    // Other params are ignored, as MLflow ignores params the signature does not declare.
    assert_eq!(
        method(&format!(r#"{{{rows}, "params": {{"temperature": 0.1}}}}"#)),
        PredictMethod::Predict
    );
    let message = |body: String| match json(&body) {
        Ok(_) => panic!("{body} was accepted"),
        Err(e) => (e.kind(), e.to_string()),
    };
    let (kind, text) = message(format!(
        r#"{{{rows}, "params": {{"predict_method": "decision_function"}}}}"#
    ));
    assert_eq!(kind, BAD);
    assert!(
        text.contains("must be 'predict' or 'predict_proba', not 'decision_function'"),
        "{text}"
    );
    for params in ["3", "[]", r#""x""#] {
        let (kind, text) = message(format!(r#"{{"params": {params}, {rows}}}"#));
        assert_eq!(kind, BAD, "{params}");
        assert!(
            text.contains("Invalid input. 'params' must be a dictionary"),
            "{params}: {text}"
        );
    }
    let (_, text) = message(format!(r#"{{"params": {{"predict_method": 1}}, {rows}}}"#));
    assert!(
        text.contains("must be 'predict' or 'predict_proba', not 1"),
        "{text}"
    );
}

#[test]
fn numbers_are_not_truncated_and_strings_and_booleans_are_coerced() {
    assert_eq!(
        values(r#"{"inputs": [{"hp": 99.9, "attack": 8e1}]}"#),
        [99.9, 80.0]
    );
    assert_eq!(
        values(r#"{"inputs": [{"hp": "80.5", "attack": true}]}"#),
        [80.5, 1.0]
    );
    assert_eq!(
        values(r#"{"inputs": [{"hp": -1e300, "attack": false}]}"#),
        [-1e300, 0.0]
    );
}

#[test]
fn the_1x_bare_split_and_records_bodies_answer_in_the_legacy_dialect() {
    let split = json(r#"{"columns": ["attack", "hp"], "index": [0], "data": [[2, 1]]}"#).unwrap();
    assert_eq!(
        (split.batch.values(), split.dialect),
        (&[1.0, 2.0][..], Dialect::Legacy1)
    );
    let records = json(r#"[{"hp": 1, "attack": 2}]"#).unwrap();
    assert_eq!(
        (records.batch.values(), records.dialect),
        (&[1.0, 2.0][..], Dialect::Legacy1)
    );
}

#[test]
fn the_1x_content_type_answers_in_the_legacy_dialect() {
    let body = br#"{"dataframe_records": [{"hp": 1, "attack": 2}]}"#;
    let parsed = parse(
        Some("application/json; format=pandas-records"),
        body,
        &features(),
        &Limits::default(),
    );
    assert_eq!(parsed.unwrap().dialect, Dialect::Legacy1);
}

#[test]
fn zero_or_two_format_keys_and_non_objects_are_bad_requests() {
    assert_eq!(refusal("{}"), BAD);
    assert_eq!(refusal(r#"{"data": [[1, 2]]}"#), BAD);
    assert_eq!(
        refusal(r#"{"inputs": [{"hp": 1, "attack": 2}], "instances": [{"hp": 1, "attack": 2}]}"#),
        BAD
    );
    assert_eq!(refusal("[[1, 2]]"), BAD);
    assert_eq!(refusal("[]"), BAD);
    assert_eq!(refusal("\"hello\""), BAD);
    assert_eq!(refusal("5"), BAD);
}

#[test]
fn malformed_json_is_a_bad_request_with_serde_position() {
    let error = json(r#"{"inputs": [{"hp": 1,"#).unwrap_err();
    assert_eq!(error.kind(), BAD);
    assert!(
        error.message().contains("line 1 column"),
        "{}",
        error.message()
    );
    assert_eq!(refusal(""), BAD);
    assert_eq!(refusal(r#"{"inputs": [{"hp": NaN, "attack": 2}]}"#), BAD);
    assert_eq!(refusal(r#"{"inputs": [{"hp": 1, "attack": 2}]} x"#), BAD);
    assert_eq!(refusal(r#"{"inputs": [{"hp": 1e400, "attack": 2}]}"#), BAD);
}

#[test]
fn invalid_utf8_is_a_bad_request() {
    let error = parse(
        None,
        b"{\"inputs\": \"\xff\"}",
        &features(),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), BAD);
}

#[test]
fn missing_columns_are_schema_errors_naming_them() {
    let error = json(r#"{"dataframe_split": {"columns": ["hp"], "data": [[1]]}}"#).unwrap_err();
    assert_eq!(error.kind(), SCHEMA);
    assert!(
        error.message().contains("['attack']"),
        "{}",
        error.message()
    );
    assert_eq!(
        refusal(r#"{"dataframe_records": [{"hp": 1}, {"hp": 2}]}"#),
        SCHEMA
    );
    assert_eq!(refusal(r#"{"inputs": {"hp": [1]}}"#), SCHEMA);
    assert_eq!(
        refusal(r#"{"dataframe_split": {"data": [[1, 2]]}}"#),
        SCHEMA
    );
}

#[test]
fn a_key_missing_from_one_record_is_a_bad_request_naming_column_and_row() {
    let error = json(r#"{"dataframe_records": [{"hp": 1, "attack": 2}, {"hp": 3}]}"#).unwrap_err();
    assert_eq!(error.kind(), BAD);
    assert!(
        error.message().contains("attack") && error.message().contains("row 1"),
        "{}",
        error.message()
    );
}

#[test]
fn duplicate_columns_are_schema_errors() {
    assert_eq!(
        refusal(r#"{"dataframe_split": {"columns": ["hp", "attack", "hp"], "data": [[1, 2, 3]]}}"#),
        SCHEMA
    );
}

#[test]
fn positional_lists_are_schema_errors_outside_dataframe_split() {
    assert_eq!(refusal(r#"{"instances": [[1, 2]]}"#), SCHEMA);
    assert_eq!(refusal(r#"{"inputs": [[1, 2]]}"#), SCHEMA);
    assert_eq!(refusal(r#"{"dataframe_records": [[1, 2]]}"#), SCHEMA);
}

#[test]
fn bad_values_are_bad_requests_naming_column_and_row() {
    for cell in ["null", "\"abc\"", "\"NaN\"", "[1]", "{\"a\": 1}"] {
        let body = format!(
            r#"{{"dataframe_split": {{"columns": ["hp", "attack"], "data": [[1, 2], [3, {cell}]]}}}}"#
        );
        let error = json(&body).unwrap_err();
        assert_eq!(error.kind(), BAD, "{cell}");
        assert!(
            error.message().contains("column attack in row 1"),
            "{}",
            error.message()
        );
    }
    assert_eq!(
        refusal(r#"{"inputs": {"hp": [1, null], "attack": [2, 3]}}"#),
        BAD
    );
}

#[test]
fn ragged_rows_and_index_mismatch_are_bad_requests() {
    assert_eq!(
        refusal(r#"{"dataframe_split": {"columns": ["hp", "attack"], "data": [[1, 2], [3]]}}"#),
        BAD
    );
    assert_eq!(
        refusal(r#"{"dataframe_split": {"columns": ["hp", "attack"], "data": [[1, 2, 3]]}}"#),
        BAD
    );
    assert_eq!(
        refusal(
            r#"{"dataframe_split": {"columns": ["hp", "attack"], "index": [0, 1], "data": [[1, 2]]}}"#
        ),
        BAD
    );
    assert_eq!(refusal(r#"{"inputs": {"hp": [1, 2], "attack": [3]}}"#), BAD);
}

#[test]
fn wrong_shapes_for_a_format_key_are_bad_requests() {
    assert_eq!(refusal(r#"{"dataframe_split": "{\"columns\": []}"}"#), BAD);
    assert_eq!(
        refusal(r#"{"dataframe_split": {"columns": ["hp", "attack"]}}"#),
        BAD
    );
    assert_eq!(
        refusal(r#"{"dataframe_records": {"hp": 1, "attack": 2}}"#),
        BAD
    );
    assert_eq!(refusal(r#"{"inputs": 5}"#), BAD);
}

#[test]
fn empty_input_is_refused_as_mlflow_does_unless_a_split_names_every_column() {
    // `mlflow models serve` answers `{"predictions": []}` to this one.
    let empty = json(r#"{"dataframe_split": {"columns": ["attack", "hp"], "data": []}}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(empty.batch.n_rows(), 0);
    assert_eq!(
        refusal(r#"{"dataframe_split": {"columns": ["hp"], "data": []}}"#),
        SCHEMA
    );
    assert_eq!(refusal(r#"{"dataframe_split": {"data": []}}"#), SCHEMA);
    assert_eq!(refusal(r#"{"dataframe_records": []}"#), SCHEMA);
    assert_eq!(refusal(r#"{"instances": []}"#), SCHEMA);
    assert_eq!(refusal(r#"{"inputs": {"hp": [], "attack": []}}"#), BAD);
}

#[test]
fn more_rows_than_the_limit_is_413() {
    let limits = Limits { max_rows: 1 };
    for body in [
        r#"{"dataframe_split": {"columns": ["hp", "attack"], "data": [[1, 2], [3, 4]]}}"#,
        r#"{"dataframe_records": [{"hp": 1, "attack": 2}, {"hp": 1, "attack": 2}]}"#,
        r#"{"inputs": {"hp": [1, 2], "attack": [3, 4]}}"#,
    ] {
        let error = parse(None, body.as_bytes(), &features(), &limits).unwrap_err();
        assert_eq!(error.kind(), ScoringErrorKind::TooManyRows, "{body}");
    }
}

#[test]
fn two_format_keys_win_over_a_bad_value_in_the_first_as_in_mlflow() {
    let body = r#"{"inputs": [[1, 2]], "instances": [{"hp": 1, "attack": 2}]}"#;
    let error = json(body).unwrap_err();
    assert_eq!(error.kind(), BAD);
    assert!(
        error.message().contains("'instances', 'inputs'"),
        "{}",
        error.message()
    );
}

#[test]
fn a_syntax_error_after_a_bad_value_is_reported_as_bad_json() {
    let error = json(r#"{"inputs": [[1, 2]], "x": }"#).unwrap_err();
    assert!(
        error.message().contains("valid JSON"),
        "{}",
        error.message()
    );
}
