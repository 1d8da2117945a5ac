//! The one error type of every HTTP answer that is not a success, and the one writer of its
//! body: MLflow's JSON error (`error_code`, `message`, `sqlstate`, `error_class`, in that order,
//! with `json.dumps`' `", "` and `": "` separators), so that a client parsing MLflow's errors
//! parses every error of this server, whichever route sent it. The status, code, class and
//! sqlstate of each error are chosen here and nowhere else. 5xx details are logged, never sent.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use legendary_scoring::python_json;

use legendary_scoring::{ScoringError, ScoringErrorKind};

/// An error answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be scored (400, 413, 415 by its kind).
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    /// No model is loaded yet, or the server is draining.
    #[error("{0}")]
    Unavailable(String),
    /// The request body is larger than the limit, in bytes.
    #[error("The request body is larger than the limit of {0} bytes (--max-body-bytes).")]
    TooLarge(usize),
    /// The request body did not arrive within the body timeout (a stalled or dripping upload).
    #[error("The request body did not arrive within {} (--body-timeout).", humantime::format_duration(*.0))]
    BodyTimeout(Duration),
    /// The request took longer than the timeout.
    #[error("Request processing time exceeded the limit of {} (--timeout).", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// No such route.
    #[error("{0}")]
    NotFound(String),
    /// The route exists with other methods.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A bad query, form field or body outside the scoring protocol (the demo API).
    #[error("{0}")]
    BadRequest(String),
    /// Something broke inside; the cause goes to the log only.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The body of every error, for the OpenAPI document (written by [`ApiError::body`]).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// MLflow's code, e.g. `BAD_REQUEST`, `INVALID_PARAMETER_VALUE`, `TEMPORARILY_UNAVAILABLE`.
    pub error_code: String,
    /// What went wrong, for a person; 400s name the field at fault.
    pub message: String,
    /// `KAM00`, `KAM01` or `XXM00`.
    pub sqlstate: String,
    /// MLflow's error class.
    pub error_class: String,
}

/// Where an error sits in MLflow's vocabulary: the fields of its JSON body and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    /// The HTTP status.
    pub status: StatusCode,
    /// MLflow's `error_code`.
    pub error_code: &'static str,
    /// MLflow's `error_class`.
    pub error_class: &'static str,
}

impl WireError {
    const fn new(status: StatusCode, error_code: &'static str, error_class: &'static str) -> Self {
        Self {
            status,
            error_code,
            error_class,
        }
    }

    /// MLflow's `sqlstate`: `XXM00` for server errors, `KAM01` for schema errors, else `KAM00`.
    pub fn sqlstate(&self) -> &'static str {
        if self.status.is_server_error() {
            "XXM00"
        } else if self.error_class == "SCHEMA_ENFORCEMENT_FAILED" {
            "KAM01"
        } else {
            "KAM00"
        }
    }
}

const INVALID: &str = "INVALID_PARAMETER_VALUE";

impl ApiError {
    /// Status, `error_code` and `error_class`, as MLflow's scoring server answers the same
    /// failure (docs/mlflow-protocol.md 6.7).
    pub fn wire(&self) -> WireError {
        match self {
            Self::Scoring(e) => match e.kind() {
                ScoringErrorKind::Invalid => {
                    WireError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", INVALID)
                }
                ScoringErrorKind::Schema => WireError::new(
                    StatusCode::BAD_REQUEST,
                    INVALID,
                    "SCHEMA_ENFORCEMENT_FAILED",
                ),
                ScoringErrorKind::TooManyRows => {
                    WireError::new(StatusCode::PAYLOAD_TOO_LARGE, "BAD_REQUEST", INVALID)
                }
                ScoringErrorKind::UnsupportedMediaType => {
                    WireError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_REQUEST", INVALID)
                }
            },
            Self::Unavailable(_) => WireError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TEMPORARILY_UNAVAILABLE",
                "TEMPORARILY_UNAVAILABLE",
            ),
            Self::TooLarge(_) => WireError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "REQUEST_LIMIT_EXCEEDED",
                "REQUEST_LIMIT_EXCEEDED",
            ),
            Self::BodyTimeout(_) => WireError::new(
                StatusCode::REQUEST_TIMEOUT,
                "DEADLINE_EXCEEDED",
                "DEADLINE_EXCEEDED",
            ),
            Self::Timeout(_) => WireError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "DEADLINE_EXCEEDED",
                "DEADLINE_EXCEEDED",
            ),
            Self::NotFound(_) => WireError::new(
                StatusCode::NOT_FOUND,
                "ENDPOINT_NOT_FOUND",
                "RESOURCE_NOT_FOUND",
            ),
            Self::MethodNotAllowed(_) => {
                WireError::new(StatusCode::METHOD_NOT_ALLOWED, "BAD_REQUEST", INVALID)
            }
            Self::BadRequest(_) => WireError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", INVALID),
            Self::Internal(_) => WireError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "INTERNAL_ERROR",
            ),
        }
    }

    /// The message sent to the client (never an internal cause).
    pub fn message(&self) -> String {
        match self {
            Self::Scoring(e) => e.message().to_owned(),
            Self::Internal(_) => "Internal error; see the server log.".to_owned(),
            other => other.to_string(),
        }
    }

    /// The JSON body, byte for byte as MLflow's `json.dumps` writes it.
    pub fn body(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            error_code: &'a str,
            message: &'a str,
            sqlstate: &'a str,
            error_class: &'a str,
        }
        let wire = self.wire();
        let message = self.message();
        let body = Body {
            error_code: wire.error_code,
            message: &message,
            sqlstate: wire.sqlstate(),
            error_class: wire.error_class,
        };
        let mut out = Vec::with_capacity(message.len() + 128);
        // A struct of strings always serialises.
        let _ = python_json::write(&mut out, &body);
        out
    }

    /// Logs an internal error's cause, which no answer carries. Every protocol's answer
    /// (MLflow's JSON, the OIP's `{"error"}`, a gRPC status) calls it once per error.
    pub(crate) fn log_if_internal(&self) {
        if let Self::Internal(cause) = self {
            tracing::error!(error = %chain(cause.as_ref()), "internal error");
        }
    }

    /// An internal error from any cause.
    pub(crate) fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(cause))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log_if_internal();
        let mut response = (self.wire().status, self.body()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Self::TooLarge(_) | Self::BodyTimeout(_) = self {
            // The rest of the body was not read (beyond a bounded drain): the connection
            // cannot carry another request, and saying so lets pooled clients drop it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// An error and its causes, `outer: inner: …`, for the log.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_mlflow_fields_in_mlflow_order_and_spacing() {
        let body = ApiError::BadRequest("say \"hi\"".to_owned()).body();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error_code": "BAD_REQUEST", "message": "say \"hi\"", "sqlstate": "KAM00", "error_class": "INVALID_PARAMETER_VALUE"}"#
        );
    }

    #[test]
    fn scoring_kinds_choose_status_code_class_and_sqlstate() {
        let wire = |e: ScoringError| {
            let api = ApiError::from(e);
            let w = api.wire();
            (w.status.as_u16(), w.error_code, w.error_class, w.sqlstate())
        };
        assert_eq!(
            wire(ScoringError::schema("missing")),
            (400, INVALID, "SCHEMA_ENFORCEMENT_FAILED", "KAM01")
        );
        assert_eq!(
            wire(ScoringError::bad_request("bad")),
            (400, "BAD_REQUEST", INVALID, "KAM00")
        );
        assert_eq!(wire(ScoringError::too_many_rows(3)).0, 413);
        assert_eq!(wire(ScoringError::unsupported_media_type("x")).0, 415);
    }

    #[test]
    fn internal_errors_never_send_their_cause() {
        let error = ApiError::internal(std::io::Error::other("disk SECRET"));
        let body = String::from_utf8(error.body()).unwrap();
        assert!(!body.contains("SECRET"), "{body}");
        assert_eq!(error.wire().sqlstate(), "XXM00");
        assert!(std::error::Error::source(&error).is_some());
    }
}
