//! The request span: method, route template and request id on every log line of a request;
//! and the access line written when the response head is sent.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tower_http::trace::OnResponse;
use tracing::Span;

use crate::http::{ScoredRows, UNMATCHED};

/// Root span for one request, keyed by the route template so its fields stay low-cardinality.
/// Headers other than `x-request-id` (so never `Authorization`) and bodies are not recorded.
pub(super) fn request_span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), route, request_id)
}

/// One `info` line per answered request: status, latency and rows scored (method, route and
/// request id come from the span).
#[derive(Debug, Clone, Copy)]
pub(super) struct AccessLog;

impl<B> OnResponse<B> for AccessLog {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        let rows = response.extensions().get::<ScoredRows>().map(|r| r.0);
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = latency.as_micros() as f64 / 1e3,
            rows,
            "answered"
        );
    }
}
