//! One error type for every HTTP answer that is not a success, rendered as MLflow-shaped JSON
//! (`error_code`, `message`, `error_class`, `sqlstate`). 5xx details are logged, never returned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::scoring::ScoringError;

/// An error answer.
#[derive(Debug)]
pub enum ApiError {
    /// The request could not be scored (400, 413, 415).
    Scoring(ScoringError),
    /// No model is loaded yet, or the server is draining.
    Unavailable(String),
    /// The request body is larger than the limit.
    TooLarge(usize),
    /// The request took longer than the timeout.
    Timeout(std::time::Duration),
    /// No such route.
    NotFound(String),
    /// The route exists with other methods.
    MethodNotAllowed(String),
    /// A bad query or form field (demo API).
    BadField(String),
    /// Something broke inside; the detail goes to the log only.
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            Self::Scoring(e) => (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.error_code(),
                e.error_class(),
                e.message().to_owned(),
            ),
            Self::Unavailable(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "TEMPORARILY_UNAVAILABLE",
                "TEMPORARILY_UNAVAILABLE",
                m.clone(),
            ),
            Self::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "REQUEST_LIMIT_EXCEEDED",
                "REQUEST_LIMIT_EXCEEDED",
                format!(
                    "The request body is larger than the limit of {limit} bytes (--max-body-bytes)."
                ),
            ),
            Self::Timeout(d) => (
                StatusCode::GATEWAY_TIMEOUT,
                "DEADLINE_EXCEEDED",
                "DEADLINE_EXCEEDED",
                format!(
                    "Request processing time exceeded the limit of {} (--timeout).",
                    humantime::format_duration(*d)
                ),
            ),
            Self::NotFound(m) => (
                StatusCode::NOT_FOUND,
                "ENDPOINT_NOT_FOUND",
                "RESOURCE_NOT_FOUND",
                m.clone(),
            ),
            Self::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "BAD_REQUEST",
                "INVALID_PARAMETER_VALUE",
                m.clone(),
            ),
            Self::BadField(m) => (
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "INVALID_PARAMETER_VALUE",
                m.clone(),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "INTERNAL_ERROR",
                "Internal error; see the server log.".to_owned(),
            ),
        }
    }
}

/// The JSON body of an error, as MLflow writes it.
pub fn error_body(
    error_code: &str,
    error_class: &str,
    message: &str,
    status: StatusCode,
) -> Vec<u8> {
    let sqlstate = if status.is_server_error() {
        "XXM00"
    } else if error_class == "SCHEMA_ENFORCEMENT_FAILED" {
        "KAM01"
    } else {
        "KAM00"
    };
    serde_json::to_vec(&serde_json::json!({
        "error_code": error_code,
        "message": message,
        "sqlstate": sqlstate,
        "error_class": error_class,
    }))
    .unwrap_or_default()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let (status, code, class, message) = self.parts();
        let body = match &self {
            Self::Scoring(e) => e.to_json(),
            _ => error_body(code, class, &message, status),
        };
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}
