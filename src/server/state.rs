//! Shared server state: the live model behind an atomic pointer (swapped by hot reload,
//! never locked on the request path), readiness, and limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use serde::Serialize;

use super::metrics::Metrics;
use crate::model::{Model, ModelDir};
use crate::scoring::Limits;

/// Where the live model came from, for `/version`, the model card and `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModelMeta {
    /// The model URI the server was started with.
    pub uri: String,
    /// Registered model name, when served from the registry.
    pub name: Option<String>,
    /// Registered version, when served from the registry.
    pub version: Option<String>,
    /// Registry stage of that version (`Production`, ...), when known.
    pub stage: Option<String>,
    /// Aliases of that version (`champion`, ...).
    pub aliases: Vec<String>,
    /// The MLflow run that trained it.
    pub run_id: Option<String>,
    /// `model_uuid` from MLmodel.
    pub model_uuid: String,
    /// When the model was trained (`utc_time_created` from MLmodel).
    pub trained_at: String,
    /// When this server loaded it (RFC 3339).
    pub loaded_at: String,
    /// Identity of the resolved registry files, to notice when a stage or alias moves.
    #[serde(skip)]
    pub fingerprint: String,
    /// Unix time of `loaded_at`, seconds.
    #[serde(skip)]
    pub loaded_at_unix: f64,
}

/// A model ready to serve, with everything needed to describe it.
#[derive(Debug)]
pub struct Served {
    /// The model.
    pub model: Model,
    /// Where it came from.
    pub meta: ModelMeta,
    /// `metrics.json` of the model directory.
    pub metrics: Option<serde_json::Value>,
    /// `feature_importance.json` of the model directory.
    pub importance: Option<serde_json::Value>,
}

impl Served {
    /// Wraps a loaded model directory with its provenance.
    pub fn new(dir: ModelDir, mut meta: ModelMeta) -> Self {
        let now = std::time::SystemTime::now();
        meta.loaded_at = humantime::format_rfc3339_seconds(now).to_string();
        meta.loaded_at_unix = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        meta.model_uuid = dir.info.model_uuid.clone();
        meta.trained_at = dir.info.utc_time_created.clone();
        if meta.run_id.is_none() {
            meta.run_id = dir.info.run_id.clone();
        }
        Self {
            model: dir.model,
            meta,
            metrics: dir.info.metrics,
            importance: dir.info.feature_importance,
        }
    }
}

/// Request-path limits.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub timeout: Duration,
    /// Parser limits (rows per request).
    pub scoring: Limits,
    /// Batches at least this large are scored off the async workers, in parallel.
    pub parallel_rows: usize,
}

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    model: ArcSwapOption<Served>,
    draining: AtomicBool,
    limits: ServerLimits,
    pokedex: Option<crate::dataset::Dataset>,
    metrics: Metrics,
}

impl AppState {
    /// State with no model yet (`/ping` answers 503 until [`AppState::set_model`]).
    /// `pokedex` is the data set the web page searches, when it could be read.
    pub fn new(limits: ServerLimits, pokedex: Option<crate::dataset::Dataset>) -> Self {
        Self {
            inner: Arc::new(Inner {
                model: ArcSwapOption::empty(),
                draining: AtomicBool::new(false),
                limits,
                pokedex,
                metrics: Metrics::default(),
            }),
        }
    }

    /// The live model, if any. Requests hold this `Arc` for their whole life, so a swap
    /// never changes the model under a request in flight.
    pub fn model(&self) -> Option<Arc<Served>> {
        self.inner.model.load_full()
    }

    /// Atomically replaces the live model.
    pub fn set_model(&self, served: Served) {
        self.inner.model.store(Some(Arc::new(served)));
    }

    /// Marks the server as draining: `/ping` turns 503 so load balancers stop sending.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// True once shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Counts a hot-reload attempt that swapped a new version in (`ok`) or was refused
    /// (`legendary_model_reloads_total` on `/metrics`).
    pub fn record_reload(&self, ok: bool) {
        self.inner.metrics.record_reload(ok);
    }

    /// Hot reloads so far: (succeeded, refused).
    pub fn reloads(&self) -> (u64, u64) {
        self.inner.metrics.reloads()
    }

    /// The limits.
    pub fn limits(&self) -> &ServerLimits {
        &self.inner.limits
    }

    /// The Prometheus metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The bundled data set, for the web page's search.
    pub fn pokedex(&self) -> Option<&crate::dataset::Dataset> {
        self.inner.pokedex.as_ref()
    }
}
