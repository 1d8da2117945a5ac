//! The MLflow scoring protocol (`POST /invocations`): turn a request's Content-Type and body
//! into a [`Batch`] in the model's feature order, and predictions into the answer body.
//! A pure function of bytes: no HTTP types.
//!
//! Deliberate differences from MLflow 3.x's scoring server:
//! - The 1.x request (`application/json; format=pandas-split|pandas-records`, or a bare
//!   `{"columns","index","data"}` / bare list-of-records body) is accepted and answered with
//!   the 1.x bare list ([`Dialect::Legacy1`]); MLflow answers 415/400.
//! - Numbers are read as f64 and never truncated (MLflow casts 99.9 to 99 for a `long`
//!   signature, which changes predictions); numeric strings may have decimals (`"80.5"`).
//! - CSV accepts floats as JSON does (pandas' int64 dtype refuses them with 400).
//! - Parquet is refused with 415 "parquet is not supported" (MLflow parses it).
//! - A missing Content-Type is read as JSON (MLflow answers 500).
//! - Content-type errors have JSON error bodies (MLflow sends text/plain), status 415 kept.
//! - More than [`Limits::max_rows`] rows is a 413 (MLflow has no limit).
#![forbid(unsafe_code)]

mod batch;
mod content_type;
mod csv;
mod error;
mod json;
pub mod oip;
pub mod python_json;
mod response;

pub use batch::Batch;
pub use error::{ScoringError, ScoringErrorKind};
pub use response::{render, render_probabilities, render_values};

use content_type::Format;

/// How the client asked, which decides the answer's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// MLflow 2.x/3.x: the answer is `{"predictions": [...]}`.
    Mlflow2,
    /// MLflow 1.x (`format=pandas-split|pandas-records`, or a bare split/records body): the
    /// answer is the bare list `[...]`.
    Legacy1,
}

/// What the client asked the model for: `params.predict_method` of a JSON body, as the
/// model's signature declares it (the pyfunc loader takes the same parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PredictMethod {
    /// The decision (the default).
    #[default]
    Predict,
    /// The probability the decision is taken on.
    PredictProba,
}

impl std::str::FromStr for PredictMethod {
    type Err = String;

    fn from_str(word: &str) -> Result<Self, String> {
        match word {
            "predict" => Ok(Self::Predict),
            "predict_proba" => Ok(Self::PredictProba),
            other => Err(format!(
                "Invalid input. params.predict_method must be 'predict' or 'predict_proba', not '{other}'."
            )),
        }
    }
}

/// A parsed request.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The rows to score.
    pub batch: Batch,
    /// The answer shape the client expects.
    pub dialect: Dialect,
    /// What to answer for each row.
    pub method: PredictMethod,
}

/// Bounds on what one request may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most rows one request may hold; more is a 413.
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_rows: 1_000_000,
        }
    }
}

/// Parses a `/invocations` request body into rows ordered as `features`.
///
/// `content_type` is the raw Content-Type header (`None` when absent, read as JSON).
///
/// # Errors
/// 415 for an unsupported Content-Type; 413 for more than `limits.max_rows` rows; 400 for
/// everything else (bad UTF-8 or JSON, wrong envelope, missing columns, non-numeric values,
/// empty input).
pub fn parse(
    content_type: Option<&str>,
    body: &[u8],
    features: &[String],
    limits: &Limits,
) -> Result<Parsed, ScoringError> {
    let format = content_type::classify(content_type)?;
    let text = std::str::from_utf8(body).map_err(|error| {
        ScoringError::bad_request(format!(
            "Invalid input. The body is not valid UTF-8: {error}."
        ))
    })?;
    match format {
        Format::Json { legacy } => json::parse(text, features, limits, legacy),
        Format::Csv => Ok(Parsed {
            batch: csv::parse(body, features, limits)?,
            dialect: Dialect::Mlflow2,
            method: PredictMethod::Predict,
        }),
    }
}
