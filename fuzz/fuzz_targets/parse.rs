//! Fuzzes `scoring::parse`: the first input byte picks a Content-Type, the rest is the body.
//! It must never panic, and must only refuse with 400, 413 or 415.
#![no_main]

use legendary::http::ApiError;
use legendary_scoring::{Limits, parse};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/json"),
    Some("text/csv"),
    None,
    Some("application/json; format=pandas-split"),
    Some("text/csv; charset=utf-8"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let features: Vec<String> = legendary_forest::FEATURES.map(str::to_owned).to_vec();
    let limits = Limits { max_rows: 64 };
    match parse(content_type, body, &features, &limits) {
        Ok(parsed) => assert!(parsed.batch.values().iter().all(|v| v.is_finite())),
        Err(error) => {
            let status = ApiError::from(error).wire().status.as_u16();
            assert!(matches!(status, 400 | 413 | 415));
        }
    }
});
