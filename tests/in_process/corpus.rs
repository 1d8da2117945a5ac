//! Replays the observed MLflow 3.17 scoring corpus (`tests/fixtures/scoring-corpus.jsonl`)
//! through `scoring::parse`: same outcome as MLflow (row count, or status + error_code +
//! error_class), except for the deliberate differences listed in [`DIFFERENCES`].
// Helpers outside #[test] functions may panic on a broken fixture, like the tests do.
use legendary::http::ApiError;
use legendary_forest::FEATURES;
use legendary_scoring::{Dialect, Limits, parse};
use serde::Deserialize;

/// One observed request/response pair.
#[derive(Deserialize)]
struct Case {
    case: String,
    method: String,
    path: String,
    headers: serde_json::Map<String, serde_json::Value>,
    body: String,
    status: u16,
    response_content_type: Option<String>,
    response_body: Option<String>,
}

/// What we answer where we deliberately differ from MLflow.
enum Ours {
    /// Accepted, with this many rows, in this dialect.
    Accept(usize, Dialect),
    /// Refused with this status (the JSON body's code/class are ours, not MLflow's).
    Refuse(u16),
}

/// Deliberate differences from MLflow, one per corpus case, with the reason.
const DIFFERENCES: &[(&str, Ours, &str)] = &[
    // The MLflow 1.x request: accepted and answered as a bare list, so old clients keep working.
    (
        "a_v1_pandas_split_format_param",
        Ours::Accept(5, Dialect::Legacy1),
        "1.x format= parameter accepted",
    ),
    (
        "b_v1_body_plain_json",
        Ours::Accept(5, Dialect::Legacy1),
        "1.x bare split body accepted",
    ),
    (
        "n2_bare_list_of_records",
        Ours::Accept(5, Dialect::Legacy1),
        "1.x bare records body accepted",
    ),
    // CSV floats are read like JSON floats instead of failing pandas' int64 dtype.
    (
        "g6_csv_float_value",
        Ours::Accept(1, Dialect::Mlflow2),
        "floats accepted in CSV",
    ),
    // A numeric string is parsed as f64, so "80.0" is 80 (MLflow's int() refuses it).
    (
        "k18_string_float_value",
        Ours::Accept(5, Dialect::Mlflow2),
        "decimal numeric strings accepted",
    ),
    // Same status as MLflow, but 99.9 stays 99.9 (MLflow truncates to 99); the prediction
    // differs for k25, which is the server tests' business.
    (
        "k24_truncation_demo_int_99",
        Ours::Accept(1, Dialect::Mlflow2),
        "no truncation (same status)",
    ),
    (
        "k25_truncation_demo_float_99_9",
        Ours::Accept(1, Dialect::Mlflow2),
        "no truncation",
    ),
    (
        "k26_truncation_demo_int_100",
        Ours::Accept(1, Dialect::Mlflow2),
        "no truncation (same status)",
    ),
    // Parquet is refused as an unsupported media type rather than failing to parse.
    (
        "p5_parquet_garbage",
        Ours::Refuse(415),
        "parquet not supported: 415",
    ),
    // The corpus's model declared no params, so MLflow ignored them; legendary's signature
    // declares `predict_method`, and `mlflow models serve` on legendary's own model answers
    // 400 "Parameters must be a dictionary" (docs/mlflow-protocol.md 6.4).
    (
        "s3_params_not_a_dict",
        Ours::Refuse(400),
        "params are read: they must be a dictionary",
    ),
    // The corpus's scikit-learn model refused an empty frame; `mlflow models serve` on
    // legendary's own model answers it with no predictions, as an empty dataframe_split.
    (
        "g11_csv_header_only",
        Ours::Accept(0, Dialect::Mlflow2),
        "a header naming every column and no rows: no predictions",
    ),
];

fn cases() -> Vec<Case> {
    include_str!("../fixtures/scoring-corpus.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a corpus line is a JSON object"))
        .collect()
}

fn content_type(case: &Case) -> Option<&str> {
    case.headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, value)| value.as_str())
}

/// `/invocations` POSTs, without the r1/r2 cases whose 50 MB bodies are not stored.
fn is_replayable(case: &Case) -> bool {
    case.method == "POST" && case.path == "/invocations" && !case.case.starts_with('r')
}

fn features() -> Vec<String> {
    FEATURES.map(str::to_owned).to_vec()
}

#[test]
fn every_invocations_case_matches_mlflow_or_a_listed_difference() {
    let cases = cases();
    let features = features();
    let mut replayed = 0;
    for case in cases.iter().filter(|case| is_replayable(case)) {
        replayed += 1;
        let result = parse(
            content_type(case),
            case.body.as_bytes(),
            &features,
            &Limits::default(),
        );
        let name = &case.case;
        match DIFFERENCES.iter().find(|(listed, _, _)| listed == name) {
            Some((_, Ours::Accept(rows, dialect), _)) => {
                let parsed = result.unwrap_or_else(|e| panic!("{name}: refused: {e}"));
                assert_eq!(
                    (parsed.batch.n_rows(), parsed.dialect),
                    (*rows, *dialect),
                    "{name}"
                );
            }
            Some((_, Ours::Refuse(status), _)) => {
                let error = result.err().unwrap_or_else(|| panic!("{name}: accepted"));
                assert_eq!(ApiError::from(error).wire().status, *status, "{name}");
            }
            None if (200..300).contains(&case.status) => {
                let parsed = result.unwrap_or_else(|e| panic!("{name}: refused: {e}"));
                assert_eq!(parsed.batch.n_rows(), predictions(case), "{name}");
                assert_eq!(parsed.batch.n_cols(), FEATURES.len(), "{name}");
                assert_eq!(parsed.dialect, Dialect::Mlflow2, "{name}");
            }
            None => {
                let error =
                    ApiError::from(result.err().unwrap_or_else(|| panic!("{name}: accepted")));
                let wire = error.wire();
                assert_eq!(wire.status, case.status, "{name}: {error}");
                if let Some((code, class)) = mlflow_error(case) {
                    assert_eq!(
                        (wire.error_code, wire.error_class),
                        (code.as_str(), class.as_str()),
                        "{name}: {error}"
                    );
                }
            }
        }
    }
    assert!(replayed >= 70, "only {replayed} cases replayed");
}

#[test]
fn every_refusal_renders_as_a_one_line_mlflow_json_error() {
    let features = features();
    for case in cases().iter().filter(|case| is_replayable(case)) {
        let Err(error) = parse(
            content_type(case),
            case.body.as_bytes(),
            &features,
            &Limits::default(),
        ) else {
            continue;
        };
        let error = ApiError::from(error);
        let body = error.body();
        assert!(!body.contains(&b'\n'), "{}", case.case);
        let json: serde_json::Value =
            serde_json::from_slice(&body).expect("the error body is JSON");
        assert_eq!(json["error_code"], error.wire().error_code, "{}", case.case);
        assert_eq!(
            json["error_class"],
            error.wire().error_class,
            "{}",
            case.case
        );
        assert!(
            json["sqlstate"].is_string() && json["message"].is_string(),
            "{}",
            case.case
        );
    }
}

#[test]
fn every_listed_difference_names_a_corpus_case() {
    let cases = cases();
    for (name, _, reason) in DIFFERENCES {
        assert!(
            cases.iter().any(|case| case.case == *name),
            "{name} ({reason}) is not in the corpus"
        );
    }
}

/// The number of predictions in an MLflow 2xx answer.
fn predictions(case: &Case) -> usize {
    let body: serde_json::Value =
        serde_json::from_str(case.response_body.as_deref().unwrap_or_default())
            .expect("a 2xx body is JSON");
    body["predictions"].as_array().map_or(0, Vec::len)
}

/// MLflow's error_code and error_class when it answered with a JSON error body.
fn mlflow_error(case: &Case) -> Option<(String, String)> {
    if case.response_content_type.as_deref() != Some("application/json") {
        return None; // 415s are text/plain in MLflow; ours are JSON (a deliberate difference).
    }
    let body: serde_json::Value = serde_json::from_str(case.response_body.as_deref()?).ok()?;
    Some((
        body["error_code"].as_str()?.to_owned(),
        body["error_class"].as_str()?.to_owned(),
    ))
}
