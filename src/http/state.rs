//! What every handler shares: the live model behind an atomic pointer (swapped by hot reload,
//! never locked on the request path), readiness, limits, the Pokédex and the metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::ApiError;
use super::metrics::{LiveModel, Metrics};
use super::permits::Permits;
use crate::acquire::Served;
use crate::dataset::Dataset;
use crate::dataset::catalogue::Entry;
use crate::monitor::payload_log::{Answered, PayloadLog};
use legendary_scoring::Limits;

/// Request-path limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLimits {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub timeout: Duration,
    /// Parser limits (rows per request).
    pub scoring: Limits,
    /// Batches at least this large are scored off the async workers, in parallel.
    pub parallel_rows: usize,
    /// Longest a client may take to send a request head; also how long a keep-alive
    /// connection may wait for its next request.
    pub header_timeout: Duration,
    /// Most connections open at once (kept below the file-descriptor limit).
    pub max_connections: usize,
    /// Most connections open at once from one peer (IP address), so that one client cannot
    /// hold every slot.
    pub max_connections_per_peer: usize,
    /// Most large requests (64 KiB and more) read and scored at once; also the most
    /// explanations computed at once.
    pub max_large_requests: usize,
    /// Most small request bodies (under 64 KiB) read at once.
    pub max_small_requests: usize,
    /// Longest a request body may take to arrive once its read has begun; a stalled upload
    /// then gives its permit back (408).
    pub body_timeout: Duration,
}

impl Default for ServerLimits {
    /// The documented defaults of `legendary serve`.
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(60),
            scoring: Limits {
                max_rows: 1_000_000,
            },
            parallel_rows: 8192,
            header_timeout: Duration::from_secs(65),
            max_connections: 960,
            max_connections_per_peer: 480,
            max_large_requests: 2,
            max_small_requests: 256,
            body_timeout: Duration::from_secs(15),
        }
    }
}

/// How a served model is monitored (`--monitor-rows`, `--monitor-window`, `--no-monitoring`,
/// `--monitoring-profile`).
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// Off: no counts, no `/monitoring` windows.
    pub enabled: bool,
    /// Rows in the rows window.
    pub window_rows: usize,
    /// Time in the time window.
    pub window: Duration,
    /// The reference for a model that has none of its own (or to use instead of its own).
    pub profile: Option<Arc<crate::monitor::Profile>>,
}

impl Default for MonitorSettings {
    /// The documented defaults of `legendary serve`.
    fn default() -> Self {
        Self {
            enabled: true,
            window_rows: 1000,
            window: Duration::from_secs(3600),
            profile: None,
        }
    }
}

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Shared with the metrics, which read it at scrape time.
    model: LiveModel,
    draining: AtomicBool,
    limits: ServerLimits,
    pokedex: Option<Dataset>,
    /// The data catalogue of the same package (`GET /datasets`), set once at start-up.
    catalogue: std::sync::OnceLock<Vec<Entry>>,
    /// `--served-name`, set once at start-up.
    served_name: std::sync::OnceLock<String>,
    /// How models are monitored, set once at start-up (else the defaults).
    monitoring: std::sync::OnceLock<MonitorSettings>,
    /// The shadow challenger (`--shadow`), set once at start-up; shared with the metrics.
    shadow: Arc<std::sync::OnceLock<Arc<crate::monitor::Shadow>>>,
    /// The payload log (`--log-payloads`), set once at start-up; shared with the metrics.
    payload_log: Arc<std::sync::OnceLock<Arc<PayloadLog>>>,
    metrics: Metrics,
    permits: Permits,
    /// Why there is no model yet, while `--wait-for-model` waits.
    waiting: std::sync::Mutex<Option<String>>,
}

impl AppState {
    /// State with no model yet (`/ping` answers 503 until [`AppState::set_model`]).
    /// `pokedex` is the data set the web page searches, when it could be read.
    pub fn new(limits: ServerLimits, pokedex: Option<Dataset>) -> Self {
        let permits = Permits::new(&limits);
        let model = LiveModel::default();
        let shadow = Arc::new(std::sync::OnceLock::new());
        let payload_log = Arc::new(std::sync::OnceLock::new());
        Self {
            inner: Arc::new(Inner {
                metrics: Metrics::new(
                    Arc::clone(&model),
                    Arc::clone(&shadow),
                    Arc::clone(&payload_log),
                ),
                shadow,
                payload_log,
                model,
                draining: AtomicBool::new(false),
                limits,
                pokedex,
                catalogue: std::sync::OnceLock::new(),
                served_name: std::sync::OnceLock::new(),
                monitoring: std::sync::OnceLock::new(),
                permits,
                waiting: std::sync::Mutex::new(None),
            }),
        }
    }

    /// The live model, if any. Requests hold this `Arc` for their whole life, so a swap
    /// never changes the model under a request in flight.
    pub fn model(&self) -> Option<Arc<Served>> {
        self.inner.model.load_full()
    }

    /// The live model, or the 503 every model route answers while none is loaded.
    pub(crate) fn live_model(&self) -> Result<Arc<Served>, ApiError> {
        self.model().ok_or_else(|| self.no_model())
    }

    /// Records why no model is loaded yet (shown by `/ping` and the other model routes).
    pub(crate) fn set_waiting(&self, reason: String) {
        *self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
    }

    /// The 503 while no model is loaded, with the reason when one is known.
    pub(crate) fn no_model(&self) -> ApiError {
        let waiting = self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        ApiError::Unavailable(match waiting {
            Some(reason) => format!("No model is loaded yet: {reason}."),
            None => "No model is loaded yet; retry when /ping answers 200.".to_owned(),
        })
    }

    /// Atomically replaces the live model, with a fresh monitor when it is monitored: its
    /// windows start empty, and its counters carry its own version label.
    pub fn set_model(&self, mut served: Served) {
        self.attach_monitor(&mut served, true);
        self.inner.model.store(Some(Arc::new(served)));
    }

    /// Gives `served` a fresh monitor when monitoring is on and it has a profile (the
    /// champion may take `--monitoring-profile`'s instead; a challenger keeps its own).
    fn attach_monitor(&self, served: &mut Served, champion: bool) {
        let settings = self.monitoring();
        let given = settings.profile.clone().filter(|_| champion);
        let profile = given.or_else(|| served.profile.clone());
        served.monitor = profile.filter(|_| settings.enabled).and_then(|profile| {
            crate::monitor::Monitor::new(
                profile,
                served.resolved.version.clone().unwrap_or_default(),
                served.model.input_features(),
                settings.window_rows,
                settings.window,
            )
        });
    }

    /// Sets the shadow challenger (the first call wins).
    pub fn set_shadow(&self, shadow: Arc<crate::monitor::Shadow>) {
        let _ = self.inner.shadow.set(shadow);
    }

    /// The shadow challenger, when `--shadow` is set.
    pub fn shadow(&self) -> Option<&Arc<crate::monitor::Shadow>> {
        self.inner.shadow.get()
    }

    /// Swaps in a (new version of the) challenger, with its own monitor.
    pub fn set_shadow_model(&self, mut served: Served) {
        if let Some(shadow) = self.shadow() {
            self.attach_monitor(&mut served, false);
            shadow.set_model(served);
        }
    }

    /// Sets the payload log (the first call wins).
    pub fn set_payload_log(&self, log: Arc<PayloadLog>) {
        let _ = self.inner.payload_log.set(log);
    }

    /// The payload log, when `--log-payloads` is set.
    pub fn payload_log(&self) -> Option<&Arc<PayloadLog>> {
        self.inner.payload_log.get()
    }

    /// True when anything looks at scored rows: the model's monitor, the shadow or the
    /// payload log (else a route need not compute what only they read).
    pub(crate) fn watches(&self, served: &Served) -> bool {
        served.monitor.is_some() || self.shadow().is_some() || self.payload_log().is_some()
    }

    /// What every scoring route does once the champion has answered rows (`values` row-major
    /// in its input order) to the request `request_id` (its `x-request-id`, or empty): count
    /// them in its monitor, offer a sample to the shadow, and one to the payload log.
    pub(crate) fn scored(
        &self,
        served: &Served,
        values: &[f64],
        probabilities: &[f64],
        decisions: &[bool],
        request_id: &str,
    ) {
        if let Some(monitor) = &served.monitor {
            monitor.record(values, probabilities, decisions);
        }
        if let Some(shadow) = self.shadow() {
            shadow.offer(values, served.model.shared_input_features(), decisions);
        }
        if let Some(log) = self.payload_log() {
            let answered = answered(served, probabilities, decisions, request_id);
            log.offer_values(values, served.model.input_features(), &answered);
        }
    }

    /// As [`AppState::scored`], the decisions taken on the probabilities here.
    pub(crate) fn scored_probabilities(
        &self,
        served: &Served,
        values: &[f64],
        probabilities: &[f64],
        request_id: &str,
    ) {
        if !self.watches(served) {
            return;
        }
        let decisions = served.model.decide_all(probabilities);
        self.scored(served, values, probabilities, &decisions, request_id);
    }

    /// As [`AppState::scored`], for rows of the six stats in their usual order (the demo API).
    pub(crate) fn scored_stats(
        &self,
        served: &Served,
        rows: &[[f64; 6]],
        probabilities: &[f64],
        decisions: &[bool],
        request_id: &str,
    ) {
        if let Some(monitor) = &served.monitor {
            monitor.record_stats(rows, probabilities, decisions);
        }
        if let Some(shadow) = self.shadow()
            && served.model.input_features() == legendary_forest::FEATURES
        {
            shadow.offer(
                rows.as_flattened(),
                served.model.shared_input_features(),
                decisions,
            );
        }
        if let Some(log) = self.payload_log() {
            log.offer_stats(
                rows,
                &answered(served, probabilities, decisions, request_id),
            );
        }
    }

    /// Sets how models are monitored (the first call wins; before the first model is set).
    pub fn set_monitoring(&self, settings: MonitorSettings) {
        let _ = self.inner.monitoring.set(settings);
    }

    /// How models are monitored.
    pub(crate) fn monitoring(&self) -> &MonitorSettings {
        self.inner.monitoring.get_or_init(MonitorSettings::default)
    }

    /// Marks the server as draining: `/ping` turns 503 so load balancers stop sending.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// True once shutdown has begun.
    pub(crate) fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// The permits bodies are read and explanations computed under.
    pub(crate) fn permits(&self) -> &Permits {
        &self.inner.permits
    }

    /// The limits.
    pub(crate) fn limits(&self) -> &ServerLimits {
        &self.inner.limits
    }

    /// The Prometheus metrics (hot-reload counters included).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The bundled data set, for the web page's search.
    pub(crate) fn pokedex(&self) -> Option<&Dataset> {
        self.inner.pokedex.as_ref()
    }

    /// Sets the data catalogue `GET /datasets` searches (the first call wins).
    pub fn set_catalogue(&self, entries: Vec<Entry>) {
        let _ = self.inner.catalogue.set(entries);
    }

    /// Names the model in the Open Inference Protocol whatever its source (`--served-name`).
    pub fn set_served_name(&self, name: String) {
        let _ = self.inner.served_name.set(name);
    }

    /// `--served-name`, when given.
    pub(crate) fn served_name(&self) -> Option<&str> {
        self.inner.served_name.get().map(String::as_str)
    }

    /// The data catalogue; empty until [`AppState::set_catalogue`].
    pub(crate) fn catalogue(&self) -> &[Entry] {
        self.inner.catalogue.get().map_or(&[], Vec::as_slice)
    }
}

/// What the payload log records of one answered request besides its rows.
fn answered<'a>(
    served: &'a Served,
    probabilities: &'a [f64],
    decisions: &'a [bool],
    request_id: &'a str,
) -> Answered<'a> {
    Answered {
        model_version: served.resolved.version.as_deref().unwrap_or(""),
        request_id,
        probabilities,
        decisions,
    }
}

/// The request id of a request's headers: `x-request-id`, which the HTTP server sets on every
/// request (taken from the client when usable, else made); empty when there is none.
pub(crate) fn request_id(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or("")
}
