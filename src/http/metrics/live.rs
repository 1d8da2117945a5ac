//! The metrics read at scrape time rather than counted: the live model (`legendary_model_info`,
//! `legendary_model_loaded_timestamp_seconds`) and the last reload attempt
//! (`legendary_model_last_reload_timestamp_seconds`). Nothing is copied into the registry when
//! they change, so a hot reload shows on the next scrape without bookkeeping.

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwapOption;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::labels::OutcomeLabels;
use super::reload::ReloadAttempt;
use crate::acquire::Served;

/// The live model's slot, shared by [`crate::http::AppState`] (which swaps it) and `/metrics`.
pub(crate) type LiveModel = Arc<ArcSwapOption<Served>>;

/// The last reload attempt, shared by `/version` and `/metrics`.
pub(crate) type LastReload = Arc<Mutex<Option<ReloadAttempt>>>;

/// Reads the live model and the last reload attempt at each scrape.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) model: LiveModel,
    pub(crate) last_reload: LastReload,
}

/// The labels of `legendary_model_info`. Unlike every other label these are open: they are
/// what the registry and the model directory say (a name, a version, a URI), one set at a
/// time, so their cardinality is one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ModelInfo {
    name: Option<String>,
    version: Option<String>,
    stage: Option<String>,
    /// Comma-joined.
    aliases: String,
    uri: String,
    model_uuid: String,
    flavor: String,
    estimator: String,
    sklearn_version: Option<String>,
    serialization_format: Option<String>,
}

impl ModelInfo {
    fn of(served: &Served) -> Self {
        let sklearn = served.info.sklearn.as_ref();
        Self {
            name: served.resolved.name.clone(),
            version: served.resolved.version.clone(),
            stage: served.resolved.stage.clone(),
            aliases: served.resolved.aliases.join(","),
            uri: served.uri.clone(),
            model_uuid: served.info.model_uuid.clone(),
            flavor: served.info.flavor.clone(),
            estimator: sklearn.map_or_else(
                || "RandomForestClassifier".to_owned(),
                |s| s.estimator.clone(),
            ),
            sklearn_version: sklearn.and_then(|s| s.sklearn_version.clone()),
            serialization_format: sklearn.map(|s| s.serialization_format.clone()),
        }
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let model = self.model.load_full();
        // `Info` adds the `_info` suffix (and is a gauge in the Prometheus text format).
        let mut info = encoder.encode_descriptor(
            "model",
            "The live model (always 1; absent while none is loaded).",
            None,
            MetricType::Info,
        )?;
        if let Some(served) = &model {
            info.encode_info(&ModelInfo::of(served))?;
        }
        let loaded = encoder.encode_descriptor(
            "model_loaded_timestamp_seconds",
            "Unix time the live model was loaded.",
            None,
            MetricType::Gauge,
        )?;
        if let Some(served) = &model {
            ConstGauge::new(served.loaded_at_unix()).encode(loaded)?;
        }
        let last = self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut reloaded = encoder.encode_descriptor(
            "model_last_reload_timestamp_seconds",
            "Unix time of the last reload attempt that found something new or failed, by outcome.",
            None,
            MetricType::Gauge,
        )?;
        if let Some(last) = last {
            let labels = OutcomeLabels {
                outcome: last.verdict().outcome(),
            };
            ConstGauge::new(last.at_unix()).encode(reloaded.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
