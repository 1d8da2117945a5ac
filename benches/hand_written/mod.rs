//! The baseline of the `metrics/` bench: the request path of the hand-written registry that
//! `prometheus-client` replaced (relaxed atomics; per-route cells found through a copy-on-write
//! map behind an atomic pointer), kept so that the two can be measured alternately in one run.
//! Only what a request touches is here; its exposition is gone with it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;
use axum::http::{Method, StatusCode};

const LATENCY_BUCKETS_NS: [u64; 17] = [
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

const SIZE_BUCKETS: [u64; 11] = [
    64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
];

struct Histogram {
    buckets: &'static [u64],
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    fn new(buckets: &'static [u64]) -> Self {
        Self {
            buckets,
            counts: (0..=buckets.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: u64) {
        let slot = self.buckets.partition_point(|&bound| bound < value);
        if let Some(count) = self.counts.get(slot) {
            count.fetch_add(1, Relaxed);
        }
        self.sum.fetch_add(value, Relaxed);
    }
}

struct RouteMetrics {
    statuses: Box<[AtomicU64]>,
    latency: Histogram,
    request_bytes: Histogram,
    response_bytes: Histogram,
}

impl RouteMetrics {
    fn new() -> Self {
        Self {
            statuses: (0..900).map(|_| AtomicU64::new(0)).collect(),
            latency: Histogram::new(&LATENCY_BUCKETS_NS),
            request_bytes: Histogram::new(&SIZE_BUCKETS),
            response_bytes: Histogram::new(&SIZE_BUCKETS),
        }
    }
}

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "OTHER",
];

#[derive(Default)]
struct RouteCells {
    by_method: [OnceLock<RouteMetrics>; METHODS.len()],
}

impl RouteCells {
    fn method(&self, method: &Method) -> &RouteMetrics {
        let i = METHODS
            .iter()
            .position(|m| *m == method.as_str())
            .unwrap_or(METHODS.len() - 1);
        self.by_method[i].get_or_init(RouteMetrics::new)
    }
}

type RouteMap = BTreeMap<Box<str>, Arc<RouteCells>>;

/// The hand-written registry, as far as a request reaches into it.
#[derive(Default)]
pub(crate) struct HandWritten {
    routes: ArcSwap<RouteMap>,
    adding: Mutex<()>,
    in_flight: AtomicI64,
    rows_scored: AtomicU64,
}

impl HandWritten {
    fn route(&self, template: &str) -> Arc<RouteCells> {
        if let Some(cells) = self.routes.load().get(template) {
            return Arc::clone(cells);
        }
        let _adding = self.adding.lock().unwrap();
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

    /// Everything its middleware did for one request with a `Content-Length`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_request(
        &self,
        route: &str,
        method: &Method,
        status: StatusCode,
        elapsed_ns: u64,
        request_bytes: u64,
        response_bytes: u64,
        rows: u64,
    ) {
        let route_cells = self.route(route);
        let cells = route_cells.method(method);
        self.in_flight.fetch_add(1, Relaxed);
        cells.request_bytes.observe(request_bytes);
        cells.latency.observe(elapsed_ns);
        let slot = usize::from(status.as_u16()).saturating_sub(100);
        if let Some(count) = cells.statuses.get(slot) {
            count.fetch_add(1, Relaxed);
        }
        cells.response_bytes.observe(response_bytes);
        self.rows_scored.fetch_add(rows, Relaxed);
        self.in_flight.fetch_sub(1, Relaxed);
    }
}
