//! Prometheus metrics (`GET /metrics`, text format 0.0.4), on the `prometheus-client` crate.
//!
//! Every label is a type ([`labels`]): a counter is reached through a label set of enums, so
//! a misspelt or unexposed label value does not compile. The request path takes no lock but
//! `prometheus-client`'s own (a read lock to find a series, a short mutex per histogram
//! observation); what changes without an event, the live model and the last reload, is read at
//! scrape time ([`live`]).

mod labels;
mod live;
mod monitor;
mod payload;
mod reload;
mod track;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::process::Process;
use super::state::AppState;
use crate::sandbox::Cause;
use labels::{
    BuildLabels, Code, CompileFailureLabels, ConnectionLabels, PollFailureLabels, ReloadLabels,
    StatusLabels,
};

pub(crate) use labels::{ConnectionResult, UNMATCHED};
pub use labels::{PollFailure, ReloadResult, RouteLabels};
pub(crate) use live::LiveModel;
pub use reload::{ReloadAttempt, Verdict};
pub use track::InFlight;
pub(crate) use track::{ScoredRows, track};

/// Latency buckets in seconds, 50 µs to 10 s.
const LATENCY_BUCKETS: [f64; 17] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// Payload size buckets in bytes, 64 B to 64 MiB (the default `--max-body-bytes`), by fours.
const SIZE_BUCKETS: [f64; 11] = [
    64.0,
    256.0,
    1024.0,
    4096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn size_histogram() -> Histogram {
    Histogram::new(SIZE_BUCKETS)
}

/// Creates the counters of `every` label set, so that they are exposed before their first
/// event and `rate()` has a zero to start from.
fn at_zero<S: Clone + std::hash::Hash + Eq>(
    family: &Family<S, Counter>,
    every: impl IntoIterator<Item = S>,
) {
    for labels in every {
        let _created = family.get_or_create(&labels);
    }
}

/// A family of histograms by route, all with the same buckets.
type RouteHistograms = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// What became of one request, as the metrics layer saw it.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The response's status.
    pub status: StatusCode,
    /// From the request head reaching the router to the response head.
    pub elapsed: Duration,
    /// The request body's size: its `Content-Length`, or what the handler read of it.
    pub request_bytes: u64,
    /// The response body's size, when known before it is sent.
    pub response_bytes: Option<u64>,
    /// Rows scored, for `/invocations`.
    pub rows: Option<u64>,
}

/// The server's metrics; one per [`AppState`], reached with [`AppState::metrics`].
pub struct Metrics {
    registry: Registry,
    requests: Family<StatusLabels, Counter>,
    latency: RouteHistograms,
    request_bytes: RouteHistograms,
    response_bytes: RouteHistograms,
    in_flight: Gauge,
    rows_scored: Counter,
    reloads: Family<ReloadLabels, Counter>,
    connections: Family<ConnectionLabels, Counter>,
    poll_failures: Family<PollFailureLabels, Counter>,
    compile_failures: Family<CompileFailureLabels, Counter>,
    /// The last reload poll that did something other than find the same version.
    last_reload: live::LastReload,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("in_flight", &self.in_flight.get())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of a server whose live model is in `model`.
    pub(crate) fn new(
        model: LiveModel,
        shadow: monitor::ShadowSlot,
        payload_log: payload::PayloadSlot,
    ) -> Self {
        let metrics = Self {
            registry: Registry::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            request_bytes: Family::new_with_constructor(size_histogram),
            response_bytes: Family::new_with_constructor(size_histogram),
            in_flight: Gauge::default(),
            rows_scored: Counter::default(),
            reloads: Family::default(),
            connections: Family::default(),
            poll_failures: Family::default(),
            compile_failures: Family::default(),
            last_reload: Arc::new(Mutex::new(None)),
        };
        // The fixed vocabularies are exposed at zero from the start.
        at_zero(
            &metrics.reloads,
            ReloadResult::ALL.map(|result| ReloadLabels { result }),
        );
        at_zero(
            &metrics.connections,
            ConnectionResult::ALL.map(|result| ConnectionLabels { result }),
        );
        at_zero(
            &metrics.poll_failures,
            PollFailure::ALL.map(|cause| PollFailureLabels { cause }),
        );
        at_zero(
            &metrics.compile_failures,
            Cause::ALL.map(|cause| CompileFailureLabels { cause }),
        );
        metrics.register(model, shadow, payload_log)
    }

    /// Names every metric: the registry holds clones (handles to the same cells).
    fn register(
        mut self,
        model: LiveModel,
        shadow: monitor::ShadowSlot,
        payload_log: payload::PayloadSlot,
    ) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Process));
        let ours = registry.sub_registry_with_prefix("legendary");
        // `register` adds the full stop to the help text, and a counter's `_total`.
        ours.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            self.requests.clone(),
        );
        ours.register(
            "http_request_duration_seconds",
            "Time from request head to response head, by method and route template",
            self.latency.clone(),
        );
        ours.register(
            "http_request_size_bytes",
            "Request body sizes, by method and route template",
            self.request_bytes.clone(),
        );
        ours.register(
            "http_response_size_bytes",
            "Response body sizes, by method and route template",
            self.response_bytes.clone(),
        );
        ours.register(
            "http_requests_in_flight",
            "HTTP requests being answered now",
            self.in_flight.clone(),
        );
        ours.register(
            "rows_scored",
            "Rows scored by successful /invocations requests",
            self.rows_scored.clone(),
        );
        ours.register(
            "model_reloads",
            "Hot reloads of the model, by result",
            self.reloads.clone(),
        );
        ours.register(
            "http_connections",
            "Connections by what the accept loop did with them",
            self.connections.clone(),
        );
        ours.register(
            "model_reload_poll_failures",
            "Reload polls that failed before a new version could be judged, by cause",
            self.poll_failures.clone(),
        );
        ours.register(
            "model_compile_failures",
            "Models the sandboxed compiler did not turn into a served model, by cause (oom, cpu, deadline, invalid, crash)",
            self.compile_failures.clone(),
        );
        ours.register_collector(Box::new(monitor::MonitorMetrics {
            model: Arc::clone(&model),
            shadow,
        }));
        ours.register_collector(Box::new(payload::PayloadMetrics { log: payload_log }));
        ours.register_collector(Box::new(live::Live {
            model,
            last_reload: Arc::clone(&self.last_reload),
        }));
        // `Info` adds the `_info` suffix.
        ours.register(
            "build",
            "The running binary (always 1)",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        self.registry = registry;
        self
    }

    /// Counts the request in flight until the guard is dropped.
    pub fn enter(&self) -> InFlight<'_> {
        InFlight::new(self)
    }

    /// Records one answered request: by method, route template and status, its latency, the
    /// sizes of both bodies and the rows it scored. The metrics layer calls it for every
    /// request; it is public for the request-path benchmark.
    pub fn record_request(&self, labels: &RouteLabels, answered: &Answered) {
        let status = StatusLabels {
            request: labels.clone(),
            code: Code(answered.status),
        };
        self.requests.get_or_create(&status).inc();
        self.latency
            .get_or_create(labels)
            .observe(answered.elapsed.as_secs_f64());
        self.request_bytes
            .get_or_create(labels)
            .observe(answered.request_bytes as f64);
        if let Some(bytes) = answered.response_bytes {
            self.response_bytes
                .get_or_create(labels)
                .observe(bytes as f64);
        }
        if let Some(rows) = answered.rows {
            self.rows_scored.inc_by(rows);
        }
    }

    /// Counts a connection by what the accept loop did with it.
    pub(crate) fn record_connection(&self, result: ConnectionResult) {
        self.connections
            .get_or_create(&ConnectionLabels { result })
            .inc();
    }

    /// Counts a new model version swapped in or refused. The result is a type, so a label
    /// value that `/metrics` does not expose cannot be counted:
    ///
    /// ```compile_fail,E0308
    /// let state = legendary::http::AppState::new(Default::default(), None);
    /// state.metrics().record_reload("suceeded");
    /// ```
    pub fn record_reload(&self, result: ReloadResult) {
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }

    /// Records a reload poll that got somewhere: swapped, refused, or failed with its cause;
    /// swaps and refusals also count in [`Metrics::record_reload`].
    pub(crate) fn record_reload_attempt(&self, attempt: ReloadAttempt) {
        let verdict = attempt.verdict();
        if let Some(result) = verdict.result() {
            self.record_reload(result);
        }
        if let Verdict::Failed(cause) = verdict {
            self.poll_failures
                .get_or_create(&PollFailureLabels { cause })
                .inc();
        }
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(attempt);
    }

    /// Counts a model the sandbox did not compile, at start-up or on a reload.
    pub fn record_compile_failure(&self, cause: Cause) {
        self.compile_failures
            .get_or_create(&CompileFailureLabels { cause })
            .inc();
    }

    /// The last reload attempt, if there was one.
    pub fn last_reload(&self) -> Option<ReloadAttempt> {
        self.last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Hot reloads so far: (succeeded, failed).
    pub fn reloads(&self) -> (u64, u64) {
        let count = |result| self.reloads.get_or_create(&ReloadLabels { result }).get();
        (count(ReloadResult::Succeeded), count(ReloadResult::Failed))
    }

    /// Requests being answered now (the gauge), for the shutdown log.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Prometheus metrics of the server and the live model.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "scoring",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String))
)]
pub(crate) async fn metrics_handler(State(state): State<AppState>) -> Response {
    match state.metrics().render() {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
            );
            response
        }
        Err(e) => super::ApiError::Internal(Box::new(e)).into_response(),
    }
}

#[cfg(test)]
mod tests;
