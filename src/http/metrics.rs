//! Prometheus metrics (`GET /metrics`, text format 0.0.4): a small registry of atomics.
//!
//! The request path touches only atomics: per-route cells are found through a copy-on-write
//! map behind an atomic pointer (a mutex is taken only the first time a route is seen), and
//! every counter and histogram bucket is a relaxed `AtomicU64`. Model info is not stored at
//! all: a scrape reads it from the live model, so a hot reload shows up without bookkeeping.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use axum::body::{Body, HttpBody as _};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;

use super::state::AppState;
use crate::acquire::Served;
use crate::sandbox::Cause;

/// Rows scored by a response, set by `/invocations` for the metrics layer and the access log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoredRows(pub(crate) usize);

/// The route label of requests that matched no route (never the raw path: cardinality).
pub(crate) const UNMATCHED: &str = "unmatched";

/// Latency buckets, 50 µs to 10 s: (upper bound in nanoseconds, `le` label in seconds).
const LATENCY_BUCKETS: &[(u64, &str)] = &[
    (50_000, "0.00005"),
    (100_000, "0.0001"),
    (250_000, "0.00025"),
    (500_000, "0.0005"),
    (1_000_000, "0.001"),
    (2_500_000, "0.0025"),
    (5_000_000, "0.005"),
    (10_000_000, "0.01"),
    (25_000_000, "0.025"),
    (50_000_000, "0.05"),
    (100_000_000, "0.1"),
    (250_000_000, "0.25"),
    (500_000_000, "0.5"),
    (1_000_000_000, "1"),
    (2_500_000_000, "2.5"),
    (5_000_000_000, "5"),
    (10_000_000_000, "10"),
];

/// Payload size buckets, 64 B to 64 MiB (the default `--max-body-bytes`), by fours.
const SIZE_BUCKETS: &[(u64, &str)] = &[
    (64, "64"),
    (256, "256"),
    (1024, "1024"),
    (4096, "4096"),
    (16_384, "16384"),
    (65_536, "65536"),
    (262_144, "262144"),
    (1_048_576, "1048576"),
    (4_194_304, "4194304"),
    (16_777_216, "16777216"),
    (67_108_864, "67108864"),
];

/// Status codes `http` accepts: 100 to 999.
const STATUS_SLOTS: usize = 900;

/// A histogram of integer observations (nanoseconds or bytes), exposed divided by `unit`.
struct Histogram {
    buckets: &'static [(u64, &'static str)],
    /// Non-cumulative counts: one per bucket, then the overflow (`+Inf` only).
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
    unit: f64,
}

impl Histogram {
    fn new(buckets: &'static [(u64, &'static str)], unit: f64) -> Self {
        Self {
            buckets,
            counts: (0..=buckets.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            unit,
        }
    }

    fn observe(&self, value: u64) {
        let slot = self.buckets.partition_point(|&(bound, _)| bound < value);
        if let Some(count) = self.counts.get(slot) {
            count.fetch_add(1, Relaxed);
        }
        self.sum.fetch_add(value, Relaxed);
    }

    /// Writes the histogram's samples with `labels` (already escaped, e.g.
    /// `method="GET",route="/ping"`).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Relaxed);
            let le = self.buckets.get(i).map_or("+Inf", |&(_, le)| le);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum.load(Relaxed) as f64 / self.unit;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// The histograms of a route.
#[derive(Clone, Copy)]
enum Part {
    Latency,
    RequestBytes,
    ResponseBytes,
}

/// Everything counted per route template.
struct RouteMetrics {
    /// Requests by status code, at index `status - 100`.
    statuses: Box<[AtomicU64]>,
    latency: Histogram,
    request_bytes: Histogram,
    response_bytes: Histogram,
}

impl RouteMetrics {
    fn new() -> Self {
        Self {
            statuses: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            latency: Histogram::new(LATENCY_BUCKETS, 1e9),
            request_bytes: Histogram::new(SIZE_BUCKETS, 1.0),
            response_bytes: Histogram::new(SIZE_BUCKETS, 1.0),
        }
    }

    fn histogram(&self, part: Part) -> &Histogram {
        match part {
            Part::Latency => &self.latency,
            Part::RequestBytes => &self.request_bytes,
            Part::ResponseBytes => &self.response_bytes,
        }
    }

    fn count_status(&self, status: StatusCode) {
        let slot = usize::from(status.as_u16()).saturating_sub(100);
        if let Some(count) = self.statuses.get(slot) {
            count.fetch_add(1, Relaxed);
        }
    }
}

/// The request methods counted apart; any other is counted as `OTHER` (bounded cardinality).
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "OTHER",
];

/// The cells of one route template, one set per method, each made the first time it is used.
#[derive(Default)]
struct RouteCells {
    by_method: [std::sync::OnceLock<RouteMetrics>; METHODS.len()],
}

impl RouteCells {
    fn method(&self, method: &axum::http::Method) -> &RouteMetrics {
        let i = METHODS
            .iter()
            .position(|m| *m == method.as_str())
            .unwrap_or(METHODS.len() - 1);
        self.by_method[i].get_or_init(RouteMetrics::new)
    }

    /// The methods seen, with their cells.
    fn seen(&self) -> impl Iterator<Item = (&'static str, &RouteMetrics)> {
        METHODS
            .iter()
            .zip(&self.by_method)
            .filter_map(|(m, cell)| cell.get().map(|c| (*m, c)))
    }
}

type RouteMap = BTreeMap<Box<str>, Arc<RouteCells>>;

/// The server's metrics; one per [`AppState`], reached with [`AppState::metrics`].
pub struct Metrics {
    routes: ArcSwap<RouteMap>,
    /// Serialises only the insertion of a route seen for the first time.
    adding: Mutex<()>,
    in_flight: AtomicI64,
    rows_scored: AtomicU64,
    reloads_succeeded: AtomicU64,
    reloads_failed: AtomicU64,
    /// Connections by what became of them, in [`ConnectionResult::ALL`] order.
    connections: [AtomicU64; ConnectionResult::ALL.len()],
    /// Reload polls that failed before a new version could be judged, in [`POLL_FAILURES`] order.
    poll_failures: [AtomicU64; POLL_FAILURES.len()],
    /// The last reload poll that did something other than find the same version.
    last_reload: Mutex<Option<ReloadAttempt>>,
    /// Models the sandbox did not compile, in [`Cause::ALL`] order.
    compile_failures: [AtomicU64; Cause::ALL.len()],
}

/// Why a reload poll failed: the registry did not resolve the URI, the download failed, or the
/// poll ran out of time.
pub(crate) const POLL_FAILURES: [&str; 3] = ["registry", "download", "timeout"];

/// The last hot-reload attempt, as `/version` shows it.
///
/// `/version` answers anyone, and what a registry says can echo the request's credentials:
/// so this holds only what is decided here (the cause's class, the status, a fixed
/// description), never remote text. The registry's own words go to the logs, scrubbed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReloadAttempt {
    /// When it ran (RFC 3339).
    pub at: String,
    /// Unix time of `at`.
    #[serde(skip)]
    pub at_unix: f64,
    /// `swapped` (the new version serves), `refused` (it did not validate; the old one keeps
    /// serving) or `failed` (registry, download or time-out; the old one keeps serving).
    pub outcome: &'static str,
    /// Why it failed (`registry`, `download`, `timeout`) or was refused (`invalid`); null
    /// when swapped.
    pub cause: Option<&'static str>,
    /// The HTTP status of the failing answer of the registry or its artifact proxy, when one
    /// came back.
    pub status: Option<u16>,
    /// The version the registry named, when it answered.
    pub version: Option<String>,
    /// A short description of `cause`, written by this server (the details are in its logs).
    pub error: Option<&'static str>,
}

/// What the accept loop did with a connection (the `result` label of
/// `legendary_http_connections_total`): typed, so a call site cannot count a label that is
/// never rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionResult {
    /// Accepted and served.
    Accepted,
    /// Closed while idle (no request in flight), the oldest idle one, to make room under
    /// `--max-connections`.
    Evicted,
    /// Closed while idle to keep its peer within `--max-connections-per-peer`.
    PeerEvicted,
    /// Closed at once: every slot held a request in flight.
    Refused,
    /// Closed at once: every connection of its peer held a request in flight.
    PeerRefused,
    /// `accept` itself failed (out of descriptors, reset before accept).
    AcceptError,
}

impl ConnectionResult {
    /// Every result, in the order `/metrics` shows them.
    pub(crate) const ALL: [Self; 6] = [
        Self::Accepted,
        Self::Evicted,
        Self::PeerEvicted,
        Self::Refused,
        Self::PeerRefused,
        Self::AcceptError,
    ];

    /// The label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Evicted => "evicted",
            Self::PeerEvicted => "peer_evicted",
            Self::Refused => "refused",
            Self::PeerRefused => "peer_refused",
            Self::AcceptError => "accept_error",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            routes: ArcSwap::from_pointee(RouteMap::new()),
            adding: Mutex::new(()),
            in_flight: AtomicI64::new(0),
            rows_scored: AtomicU64::new(0),
            reloads_succeeded: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            connections: std::array::from_fn(|_| AtomicU64::new(0)),
            poll_failures: std::array::from_fn(|_| AtomicU64::new(0)),
            last_reload: Mutex::new(None),
            compile_failures: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("routes", &self.routes.load().len())
            .field("in_flight", &self.in_flight.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Counts a connection by what the accept loop did with it.
    pub(crate) fn record_connection(&self, result: ConnectionResult) {
        if let Some(i) = ConnectionResult::ALL.iter().position(|r| *r == result) {
            self.connections[i].fetch_add(1, Relaxed);
        }
    }

    /// Counts one model reload attempt (hot reload): `ok` is whether the new model is live.
    pub fn record_reload(&self, ok: bool) {
        let counter = if ok {
            &self.reloads_succeeded
        } else {
            &self.reloads_failed
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Records a reload poll that got somewhere: swapped, refused, or failed with its cause
    /// (one of [`POLL_FAILURES`]); swaps and refusals also count in [`Metrics::record_reload`].
    pub(crate) fn record_reload_attempt(&self, attempt: ReloadAttempt) {
        match attempt.outcome {
            "swapped" => self.record_reload(true),
            "refused" => self.record_reload(false),
            _ => {}
        }
        let failure = (attempt.outcome == "failed")
            .then_some(attempt.cause)
            .flatten();
        if let Some(i) = failure.and_then(|c| POLL_FAILURES.iter().position(|p| *p == c)) {
            self.poll_failures[i].fetch_add(1, Relaxed);
        }
        *self
            .last_reload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(attempt);
    }

    /// Counts a model the sandbox did not compile, at start-up or on a reload.
    pub fn record_compile_failure(&self, cause: Cause) {
        if let Some(i) = Cause::ALL.iter().position(|c| *c == cause) {
            self.compile_failures[i].fetch_add(1, Relaxed);
        }
    }

    /// The last reload attempt, if there was one.
    pub fn last_reload(&self) -> Option<ReloadAttempt> {
        self.last_reload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Hot reloads so far: (succeeded, failed).
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloads_succeeded.load(Relaxed),
            self.reloads_failed.load(Relaxed),
        )
    }

    /// Requests being answered now (the gauge), for the shutdown log.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Relaxed)
    }

    /// The cells of one route template, created the first time it is seen.
    fn route(&self, template: &str) -> Arc<RouteCells> {
        if let Some(cells) = self.routes.load().get(template) {
            return Arc::clone(cells);
        }
        let _adding = self
            .adding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.routes.load_full();
        if let Some(cells) = current.get(template) {
            return Arc::clone(cells);
        }
        let cells = Arc::new(RouteCells::default());
        let mut next = RouteMap::clone(&current);
        next.insert(template.into(), Arc::clone(&cells));
        self.routes.store(Arc::new(next));
        cells
    }

    /// The Prometheus text exposition of every metric, with `model` the live model if any.
    pub(crate) fn render(&self, model: Option<&Served>) -> String {
        let routes = self.routes.load_full();
        let mut out = String::with_capacity(4096 + routes.len() * 4096);
        self.render_http(&mut out, &routes);
        let _ = write!(
            out,
            "# HELP legendary_rows_scored_total Rows scored by successful /invocations requests.\n\
             # TYPE legendary_rows_scored_total counter\n\
             legendary_rows_scored_total {}\n\
             # HELP legendary_model_reloads_total Hot reloads of the model, by result.\n\
             # TYPE legendary_model_reloads_total counter\n\
             legendary_model_reloads_total{{result=\"succeeded\"}} {}\n\
             legendary_model_reloads_total{{result=\"failed\"}} {}\n\
             # HELP legendary_http_connections_total Connections by what the accept loop did with them.\n\
             # TYPE legendary_http_connections_total counter\n",
            self.rows_scored.load(Relaxed),
            self.reloads_succeeded.load(Relaxed),
            self.reloads_failed.load(Relaxed),
        );
        for (result, count) in ConnectionResult::ALL.iter().zip(&self.connections) {
            let _ = writeln!(
                out,
                "legendary_http_connections_total{{result=\"{}\"}} {}",
                result.label(),
                count.load(Relaxed)
            );
        }
        out.push_str(
            "# HELP legendary_model_reload_poll_failures_total Reload polls that failed before a new version could be judged, by cause.\n\
             # TYPE legendary_model_reload_poll_failures_total counter\n",
        );
        for (cause, count) in POLL_FAILURES.iter().zip(&self.poll_failures) {
            let _ = writeln!(
                out,
                "legendary_model_reload_poll_failures_total{{cause=\"{cause}\"}} {}",
                count.load(Relaxed)
            );
        }
        out.push_str(
            "# HELP legendary_model_compile_failures_total Models the sandboxed compiler did not turn into a served model, by cause (oom, cpu, deadline, invalid, crash).\n\
             # TYPE legendary_model_compile_failures_total counter\n",
        );
        for (cause, count) in Cause::ALL.iter().zip(&self.compile_failures) {
            let _ = writeln!(
                out,
                "legendary_model_compile_failures_total{{cause=\"{}\"}} {}",
                cause.as_str(),
                count.load(Relaxed)
            );
        }
        out.push_str(
            "# HELP legendary_model_last_reload_timestamp_seconds Unix time of the last reload attempt that found something new or failed, by outcome.\n\
             # TYPE legendary_model_last_reload_timestamp_seconds gauge\n",
        );
        if let Some(last) = self.last_reload() {
            let _ = writeln!(
                out,
                "legendary_model_last_reload_timestamp_seconds{{outcome=\"{}\"}} {}",
                last.outcome, last.at_unix
            );
        }
        render_model(&mut out, model);
        super::process::render(&mut out);
        let _ = write!(
            out,
            "# HELP legendary_build_info The running binary (always 1).\n\
             # TYPE legendary_build_info gauge\n\
             legendary_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        );
        out
    }

    fn render_http(&self, out: &mut String, routes: &RouteMap) {
        out.push_str(
            "# HELP legendary_http_requests_total HTTP requests answered, by method, route template and status code.\n\
             # TYPE legendary_http_requests_total counter\n",
        );
        for (route, cells) in routes {
            let route = escape(route);
            for (method, metrics) in cells.seen() {
                for (slot, count) in metrics.statuses.iter().enumerate() {
                    let count = count.load(Relaxed);
                    if count > 0 {
                        let code = slot + 100;
                        let _ = writeln!(
                            out,
                            "legendary_http_requests_total{{method=\"{method}\",route=\"{route}\",code=\"{code}\"}} {count}"
                        );
                    }
                }
            }
        }
        let histograms = [
            (
                "legendary_http_request_duration_seconds",
                "Time from request head to response head, by method and route template.",
                Part::Latency,
            ),
            (
                "legendary_http_request_size_bytes",
                "Request body sizes, by method and route template.",
                Part::RequestBytes,
            ),
            (
                "legendary_http_response_size_bytes",
                "Response body sizes, by method and route template.",
                Part::ResponseBytes,
            ),
        ];
        for (name, help, part) in histograms {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} histogram\n");
            for (route, cells) in routes {
                let route = escape(route);
                for (method, metrics) in cells.seen() {
                    let labels = format!("method=\"{method}\",route=\"{route}\"");
                    metrics.histogram(part).render(out, name, &labels);
                }
            }
        }
        let _ = write!(
            out,
            "# HELP legendary_http_requests_in_flight HTTP requests being answered now.\n\
             # TYPE legendary_http_requests_in_flight gauge\n\
             legendary_http_requests_in_flight {}\n",
            self.in_flight.load(Relaxed)
        );
    }
}

fn render_model(out: &mut String, model: Option<&Served>) {
    out.push_str(
        "# HELP legendary_model_info The live model (always 1; absent while none is loaded).\n\
         # TYPE legendary_model_info gauge\n",
    );
    if let Some(m) = model {
        let sklearn = m.info.sklearn.as_ref();
        let _ = writeln!(
            out,
            "legendary_model_info{{name=\"{}\",version=\"{}\",stage=\"{}\",aliases=\"{}\",uri=\"{}\",model_uuid=\"{}\",flavor=\"{}\",estimator=\"{}\",sklearn_version=\"{}\",serialization_format=\"{}\"}} 1",
            escape(m.resolved.name.as_deref().unwrap_or("")),
            escape(m.resolved.version.as_deref().unwrap_or("")),
            escape(m.resolved.stage.as_deref().unwrap_or("")),
            escape(&m.resolved.aliases.join(",")),
            escape(&m.uri),
            escape(&m.info.model_uuid),
            escape(&m.info.flavor),
            escape(sklearn.map_or("RandomForestClassifier", |s| s.estimator.as_str())),
            escape(
                sklearn
                    .and_then(|s| s.sklearn_version.as_deref())
                    .unwrap_or("")
            ),
            escape(sklearn.map_or("", |s| s.serialization_format.as_str())),
        );
    }
    out.push_str(
        "# HELP legendary_model_loaded_timestamp_seconds Unix time the live model was loaded.\n\
         # TYPE legendary_model_loaded_timestamp_seconds gauge\n",
    );
    if let Some(m) = model {
        let _ = writeln!(
            out,
            "legendary_model_loaded_timestamp_seconds {}",
            m.loaded_at_unix()
        );
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return value.into();
    }
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
        .into()
}

/// Prometheus metrics of the server and the live model.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "scoring",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
pub(crate) async fn metrics_handler(State(state): State<AppState>) -> Response {
    let model = state.model();
    let body = state.metrics().render(model.as_deref());
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Decrements the in-flight gauge however the request ends (answer, panic, dropped client).
struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Middleware: counts the request by route template and status, times it, sizes both
/// bodies and adds the rows it scored.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let metrics = state.metrics();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    let route_cells = metrics.route(route);
    let cells = route_cells.method(request.method());
    metrics.in_flight.fetch_add(1, Relaxed);
    let _in_flight = InFlight(&metrics.in_flight);
    let started = Instant::now();

    // A body of known length (Content-Length) is sized up front; a chunked one is counted
    // as the handler reads it.
    let streamed = match request.body().size_hint().exact() {
        Some(len) => {
            cells.request_bytes.observe(len);
            None
        }
        None => Some(Arc::new(AtomicU64::new(0))),
    };
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

    let elapsed = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    cells.latency.observe(elapsed);
    cells.count_status(response.status());
    if let Some(counter) = streamed {
        cells.request_bytes.observe(counter.load(Relaxed));
    }
    if let Some(len) = response.body().size_hint().exact() {
        cells.response_bytes.observe(len);
    }
    if let Some(ScoredRows(rows)) = response.extensions().get::<ScoredRows>() {
        metrics.rows_scored.fetch_add(*rows as u64, Relaxed);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        let h = Histogram::new(SIZE_BUCKETS, 1.0);
        for v in [0, 64, 65, 100_000_000] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "route=\"/r\"");
        assert!(
            out.contains("x_bucket{route=\"/r\",le=\"64\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/r\",le=\"256\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/r\",le=\"67108864\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/r\",le=\"+Inf\"} 4\n"),
            "{out}"
        );
        assert!(out.contains("x_count{route=\"/r\"} 4\n"), "{out}");
        assert!(out.contains("x_sum{route=\"/r\"} 100000129\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn a_route_is_created_once_and_shared() {
        let m = Metrics::default();
        let a = m.route("/x");
        let b = m.route("/x");
        assert!(Arc::ptr_eq(&a, &b));
        m.route("/y");
        assert_eq!(m.routes.load().len(), 2);
    }

    #[test]
    fn bounds_are_ascending_and_labels_match() {
        for buckets in [LATENCY_BUCKETS, SIZE_BUCKETS] {
            assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0));
        }
        for &(ns, le) in LATENCY_BUCKETS {
            let secs: f64 = le.parse().unwrap();
            assert!((secs * 1e9 - ns as f64).abs() < 1e-3, "{le}");
        }
        for &(bytes, le) in SIZE_BUCKETS {
            assert_eq!(le, bytes.to_string());
        }
    }
}
