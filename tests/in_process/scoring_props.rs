//! Property tests for `scoring::parse`: it never panics, only ever refuses with 400, 413 or
//! 415, and reads generated frames back exactly in every format.
// Helpers outside #[test] functions may panic on a broken fixture, like the tests do.
use legendary::http::ApiError;
use legendary_forest::FEATURES;
use legendary_scoring::{Limits, ScoringError, parse};
use proptest::prelude::*;

fn features() -> Vec<String> {
    FEATURES.map(str::to_owned).to_vec()
}

/// Valid request bodies from the corpus, with their content types, to mutate.
fn seeds() -> Vec<(Option<String>, Vec<u8>)> {
    include_str!("../fixtures/scoring-corpus.jsonl")
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|case| case["path"] == "/invocations" && case["method"] == "POST")
        .map(|case| {
            let content_type = case["headers"]["Content-Type"].as_str().map(str::to_owned);
            (
                content_type,
                case["body"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec(),
            )
        })
        .collect()
}

/// The outcome is a well-formed batch or a client error. A batch may have no rows: a body
/// that names every column and holds none (an empty `dataframe_split`, a CSV header alone)
/// is answered `[]`, as `mlflow models serve` answers it.
fn check(content_type: Option<&str>, body: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    match parse(content_type, body, &features(), limits) {
        Ok(parsed) => {
            let batch = parsed.batch;
            prop_assert!(batch.n_rows() <= limits.max_rows);
            prop_assert_eq!(batch.n_cols(), FEATURES.len());
            prop_assert_eq!(batch.values().len(), batch.n_rows() * batch.n_cols());
            prop_assert!(batch.values().iter().all(|v| v.is_finite()));
        }
        Err(error) => check_error(&error)?,
    }
    Ok(())
}

fn check_error(error: &ScoringError) -> Result<(), TestCaseError> {
    let error = ApiError::from(error.clone());
    prop_assert!(
        matches!(error.wire().status.as_u16(), 400 | 413 | 415),
        "{}",
        error
    );
    prop_assert!(serde_json::from_slice::<serde_json::Value>(&error.body()).is_ok());
    Ok(())
}

fn content_types() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("text/csv".to_owned())),
        Just(Some("application/json; format=pandas-split".to_owned())),
        Just(Some("text/csv; charset=UTF-8".to_owned())),
        any::<String>().prop_map(Some),
        "[a-z/; =\\-]{0,40}".prop_map(Some),
    ]
}

/// One edit to a byte string.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let tokens = prop::sample::select(vec![
        b"null".to_vec(),
        b"[".to_vec(),
        b"]".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b",".to_vec(),
        b"\"".to_vec(),
        b"\"hp\"".to_vec(),
        b"1e999".to_vec(),
        b"-0".to_vec(),
        b"\n".to_vec(),
        b"\xff".to_vec(),
    ]);
    let one = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        (any::<usize>(), 0usize..20).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), tokens).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        any::<usize>().prop_map(Mutation::Truncate),
    ];
    prop::collection::vec(one, 1..4)
}

fn apply(body: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match mutation {
        Mutation::Flip(i, byte) if !body.is_empty() => {
            let i = i % body.len();
            body[i] = *byte;
        }
        Mutation::Flip(..) => {}
        Mutation::Delete(i, len) => {
            let start = at(*i, body.len());
            let end = (start + len).min(body.len());
            body.drain(start..end);
        }
        Mutation::Insert(i, bytes) => {
            let start = at(*i, body.len());
            body.splice(start..start, bytes.iter().copied());
        }
        Mutation::Truncate(i) => body.truncate(at(*i, body.len())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_and_content_types_never_panic(
        content_type in content_types(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        check(content_type.as_deref(), &body, &Limits::default())?;
    }

    #[test]
    fn arbitrary_text_never_panics(content_type in content_types(), body in "\\PC{0,200}") {
        check(content_type.as_deref(), body.as_bytes(), &Limits { max_rows: 3 })?;
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        seed in prop::sample::select(seeds()),
        edits in mutations(),
        max_rows in 1usize..8,
    ) {
        let (content_type, mut body) = seed;
        for edit in &edits {
            apply(&mut body, edit);
        }
        check(content_type.as_deref(), &body, &Limits { max_rows })?;
    }

    #[test]
    fn generated_frames_read_back_exactly_in_every_format(
        rows in prop::collection::vec(prop::collection::vec(-2_000_000i32..2_000_000, 6), 1..20),
    ) {
        // Halves are exact in decimal and in binary, so no parser rounding can hide a bug.
        let rows: Vec<Vec<f64>> = rows.iter().map(|row| row.iter().map(|&v| f64::from(v) / 2.0).collect()).collect();
        let expected: Vec<f64> = rows.iter().flatten().copied().collect();
        for (content_type, body) in encodings(&rows) {
            let parsed = parse(Some(content_type), body.as_bytes(), &features(), &Limits::default());
            let parsed = parsed.map_err(|e| TestCaseError::fail(format!("{content_type} {body}: {e}")))?;
            prop_assert_eq!(parsed.batch.values(), &expected[..], "{}", body);
        }
    }
}

/// The same frame as split (columns reversed), records, columnar inputs and CSV.
fn encodings(rows: &[Vec<f64>]) -> Vec<(&'static str, String)> {
    let join = |items: Vec<String>| items.join(",");
    let reversed: Vec<&str> = FEATURES.iter().rev().copied().collect();
    let split_rows = join(
        rows.iter()
            .map(|row| format!("[{}]", join(row.iter().rev().map(f64::to_string).collect())))
            .collect(),
    );
    let split = format!(
        r#"{{"dataframe_split": {{"data": [{split_rows}], "columns": {}}}}}"#,
        serde_json::to_string(&reversed).unwrap_or_default()
    );
    let record = |row: &Vec<f64>| {
        format!(
            "{{{}}}",
            join(
                FEATURES
                    .iter()
                    .zip(row)
                    .map(|(name, v)| format!("\"{name}\": {v}"))
                    .collect()
            )
        )
    };
    let records = format!(
        r#"{{"dataframe_records": [{}]}}"#,
        join(rows.iter().map(record).collect())
    );
    let columns = join(
        FEATURES
            .iter()
            .enumerate()
            .map(|(c, name)| {
                format!(
                    "\"{name}\": [{}]",
                    join(rows.iter().map(|row| row[c].to_string()).collect())
                )
            })
            .collect(),
    );
    let columnar = format!(r#"{{"inputs": {{{columns}}}}}"#);
    let csv = format!(
        "{}\r\n{}",
        FEATURES.join(","),
        rows.iter()
            .map(|row| join(row.iter().map(f64::to_string).collect()))
            .collect::<Vec<_>>()
            .join("\r\n")
    );
    vec![
        ("application/json", split),
        ("application/json", records),
        ("application/json", columnar),
        ("text/csv", csv),
    ]
}
