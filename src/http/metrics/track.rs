//! The metrics middleware: counts each request by method, route template and status, times
//! it, sizes both bodies and adds the rows it scored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use axum::body::{Body, HttpBody as _};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt as _;

use super::labels::RouteLabels;
use super::{Answered, Metrics};
use crate::http::AppState;

/// Rows scored by a response, set by `/invocations` for the metrics layer and the access log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoredRows(pub(crate) usize);

/// Middleware: records every request the router answers with [`Metrics::record_request`].
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let metrics = state.metrics();
    let labels = RouteLabels::new(request.method(), request.extensions().get::<MatchedPath>());
    let _in_flight = metrics.enter();
    let started = Instant::now();

    // A body of known length (Content-Length) is sized up front; a chunked one is counted
    // as the handler reads it.
    let known = request.body().size_hint().exact();
    let streamed = known.is_none().then(|| Arc::new(AtomicU64::new(0)));
    let request = match &streamed {
        Some(counter) => {
            let counter = Arc::clone(counter);
            request.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        counter.fetch_add(data.len() as u64, Relaxed);
                    }
                    frame
                }))
            })
        }
        None => request,
    };

    let response = next.run(request).await;

    let answered = Answered {
        status: response.status(),
        elapsed: started.elapsed(),
        request_bytes: known.unwrap_or_else(|| streamed.map_or(0, |c| c.load(Relaxed))),
        response_bytes: response.body().size_hint().exact(),
        rows: response
            .extensions()
            .get::<ScoredRows>()
            .map(|ScoredRows(rows)| *rows as u64),
    };
    metrics.record_request(&labels, &answered);
    response
}

/// Keeps the in-flight gauge up for as long as it lives, however the request ends (answer,
/// panic, dropped client).
pub struct InFlight<'a>(&'a Metrics);

impl<'a> InFlight<'a> {
    pub(super) fn new(metrics: &'a Metrics) -> Self {
        metrics.in_flight.inc();
        Self(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}
