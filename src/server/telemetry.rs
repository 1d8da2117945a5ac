//! The request span: method, route template and request id on every log line of a request.

use axum::extract::MatchedPath;
use axum::http::Request;
use tracing::Span;

/// Root span for one request, keyed by the route template so its fields stay low-cardinality.
pub(super) fn request_span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), route, request_id)
}
