//! The scoring error: which MLflow error family a refused request belongs to, and a message
//! that names the offending column and row. How it goes on the wire (status, `error_code`,
//! `error_class`, `sqlstate`) is the HTTP layer's business (`crate::http::ApiError`).

use std::fmt;

/// Why a request was refused, in MLflow's terms (docs/mlflow-protocol.md 6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoringErrorKind {
    /// Bad JSON, wrong envelope, a value that is not a number, CSV parse failure.
    Invalid,
    /// Missing, duplicated or unnamed columns; empty record lists.
    Schema,
    /// More rows than [`super::Limits::max_rows`].
    TooManyRows,
    /// A Content-Type this server does not read.
    UnsupportedMediaType,
}

/// Why a request could not be turned into a [`super::Batch`]. Every one is the client's fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringError {
    kind: ScoringErrorKind,
    message: String,
}

impl ScoringError {
    fn new(kind: ScoringErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Malformed input: MLflow's `BAD_REQUEST` / `INVALID_PARAMETER_VALUE`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ScoringErrorKind::Invalid, message)
    }

    /// Input that does not fit the model's columns: MLflow's `SCHEMA_ENFORCEMENT_FAILED`.
    pub fn schema(message: impl Into<String>) -> Self {
        Self::new(ScoringErrorKind::Schema, message)
    }

    /// More rows than [`super::Limits::max_rows`].
    pub fn too_many_rows(max_rows: usize) -> Self {
        Self::new(
            ScoringErrorKind::TooManyRows,
            format!(
                "Invalid input. The request has more than {max_rows} rows, the most this server scores in one request. Split it into smaller requests."
            ),
        )
    }

    /// The Content-Type header is not one this server reads.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(ScoringErrorKind::UnsupportedMediaType, message)
    }

    /// Which family of refusal this is.
    pub fn kind(&self) -> ScoringErrorKind {
        self.kind
    }

    /// A human-readable explanation that names the offending column and row where there is one.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ScoringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ScoringError {}
