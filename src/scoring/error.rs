//! The scoring error: an HTTP status plus the MLflow error fields (`error_code`,
//! `error_class`, `sqlstate`) and a message, rendered as MLflow's one-line JSON error body.

use std::fmt;

/// Which MLflow error family a failure belongs to (docs/mlflow-protocol.md 6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Bad JSON, wrong envelope, a value that is not a number, CSV parse failure.
    BadRequest,
    /// Missing, duplicated or unnamed columns; empty record lists.
    Schema,
}

/// Why a request could not be turned into a [`super::Batch`].
///
/// Every error is the client's fault: the status is always 400, 413 or 415.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringError {
    status: u16,
    kind: Kind,
    message: String,
}

impl ScoringError {
    /// 400 `BAD_REQUEST` / `INVALID_PARAMETER_VALUE` / `KAM00`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            kind: Kind::BadRequest,
            message: message.into(),
        }
    }

    /// 400 `INVALID_PARAMETER_VALUE` / `SCHEMA_ENFORCEMENT_FAILED` / `KAM01`.
    pub(crate) fn schema(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            kind: Kind::Schema,
            message: message.into(),
        }
    }

    /// 413: more rows than [`super::Limits::max_rows`].
    pub(crate) fn too_many_rows(max_rows: usize) -> Self {
        Self {
            status: 413,
            kind: Kind::BadRequest,
            message: format!(
                "Invalid input. The request has more than {max_rows} rows, the most this server scores in one request. Split it into smaller requests."
            ),
        }
    }

    /// 415: the Content-Type header is not one this server reads.
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self {
            status: 415,
            kind: Kind::BadRequest,
            message: message.into(),
        }
    }

    /// The HTTP status to answer with: 400, 413 or 415.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// MLflow's `error_code`: `BAD_REQUEST` or `INVALID_PARAMETER_VALUE`.
    pub fn error_code(&self) -> &'static str {
        match self.kind {
            Kind::BadRequest => "BAD_REQUEST",
            Kind::Schema => "INVALID_PARAMETER_VALUE",
        }
    }

    /// MLflow's `error_class`: `INVALID_PARAMETER_VALUE` or `SCHEMA_ENFORCEMENT_FAILED`.
    pub fn error_class(&self) -> &'static str {
        match self.kind {
            Kind::BadRequest => "INVALID_PARAMETER_VALUE",
            Kind::Schema => "SCHEMA_ENFORCEMENT_FAILED",
        }
    }

    /// MLflow's `sqlstate`: `KAM00` or `KAM01`.
    pub fn sqlstate(&self) -> &'static str {
        match self.kind {
            Kind::BadRequest => "KAM00",
            Kind::Schema => "KAM01",
        }
    }

    /// A human-readable explanation that names the offending column and row where there is one.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The one-line JSON error body, with the key order and `", "` / `": "` separators of
    /// MLflow's `json.dumps`: `{"error_code": …, "message": …, "sqlstate": …, "error_class": …}`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message.len() + 128);
        out.extend_from_slice(b"{\"error_code\": \"");
        out.extend_from_slice(self.error_code().as_bytes());
        out.extend_from_slice(b"\", \"message\": ");
        // Serializing a `&str` cannot fail, and writing to a Vec cannot fail either.
        if serde_json::to_writer(&mut out, &self.message).is_err() {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(b", \"sqlstate\": \"");
        out.extend_from_slice(self.sqlstate().as_bytes());
        out.extend_from_slice(b"\", \"error_class\": \"");
        out.extend_from_slice(self.error_class().as_bytes());
        out.extend_from_slice(b"\"}");
        out
    }
}

impl fmt::Display for ScoringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.error_code(), self.message)
    }
}

impl std::error::Error for ScoringError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_request_body_has_mlflow_fields_in_mlflow_order() {
        let body = ScoringError::bad_request("say \"hi\"").to_json();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error_code": "BAD_REQUEST", "message": "say \"hi\"", "sqlstate": "KAM00", "error_class": "INVALID_PARAMETER_VALUE"}"#
        );
    }

    #[test]
    fn schema_error_uses_the_schema_enforcement_class() {
        let error = ScoringError::schema("missing");
        assert_eq!(error.status(), 400);
        assert_eq!(error.error_code(), "INVALID_PARAMETER_VALUE");
        assert_eq!(error.error_class(), "SCHEMA_ENFORCEMENT_FAILED");
        assert_eq!(error.sqlstate(), "KAM01");
    }

    #[test]
    fn size_and_media_type_errors_keep_their_status() {
        assert_eq!(ScoringError::too_many_rows(3).status(), 413);
        assert_eq!(ScoringError::unsupported_media_type("x").status(), 415);
    }
}
