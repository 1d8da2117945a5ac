//! The request span: method, route template and request id on every log line of a request;
//! and the access line written when the response head is sent.

use std::borrow::Cow;
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
    let method = shortened(request.method().as_str(), MAX_SHOWN_METHOD);
    tracing::info_span!("request", %method, route, request_id)
}

/// Longest request id taken from a client (a UUID is 36 characters; W3C trace ids 55).
const MAX_REQUEST_ID: usize = 128;

/// A client's request id that may be echoed and logged: at most [`MAX_REQUEST_ID`] letters,
/// digits and `-_.:/+=`.
pub(super) fn usable_request_id(id: &axum::http::HeaderValue) -> bool {
    usable_id(id.as_bytes())
}

/// As [`usable_request_id`], for an id from elsewhere (gRPC metadata, an OIP request's `id`).
pub(super) fn usable_id(id: &[u8]) -> bool {
    id.len() <= MAX_REQUEST_ID
        && !id.is_empty()
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
}

/// Longest method name copied into logs and error messages: the standard ones have at most 7
/// letters, and a client may send tens of kilobytes of one.
pub(super) const MAX_SHOWN_METHOD: usize = 32;

/// `text` cut to `max` characters, with `…` when cut: for what a client sent (a method, a
/// path) that is quoted back or logged, so its size is ours to bound.
pub(super) fn shortened(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
        None => Cow::Borrowed(text),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_and_marked() {
        assert_eq!(shortened("GET", MAX_SHOWN_METHOD), "GET");
        assert_eq!(shortened(&"X".repeat(70_000), 4), "XXXX…");
        assert_eq!(shortened("/pokémon", 5), "/poké…");
        assert_eq!(shortened("ABCD", 4), "ABCD");
    }
}
