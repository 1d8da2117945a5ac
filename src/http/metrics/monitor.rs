//! The live model's monitoring, read at scrape time (docs/monitoring.md): the counts since it
//! was loaded, its reference, and the drift and expected quality of its two windows. Nothing
//! is copied into the registry when a row is scored; a hot reload shows on the next scrape,
//! with the new version's label and counts from zero.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::live::LiveModel;
use crate::monitor::{MONITORED, Monitor};

/// The shadow challenger, once `--shadow` sets it.
pub(crate) type ShadowSlot =
    std::sync::Arc<std::sync::OnceLock<std::sync::Arc<crate::monitor::Shadow>>>;

/// Reads the live model's monitor, and the shadow's counts, at each scrape.
#[derive(Debug)]
pub(crate) struct MonitorMetrics {
    pub(crate) model: LiveModel,
    pub(crate) shadow: ShadowSlot,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Version {
    version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FeatureBin {
    feature: String,
    bin: String,
    version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Bin {
    bin: String,
    version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FeatureWindow {
    feature: String,
    window: String,
    version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Window {
    window: String,
    version: String,
}

/// Writes one metric family of `kind`, one sample per `(labels, value)`.
fn family<L: EncodeLabelSet + std::fmt::Debug>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (L, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        let sample = metric.encode_family(&labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(value).encode(sample)?,
            _ => ConstGauge::new(value).encode(sample)?,
        }
    }
    Ok(())
}

impl Collector for MonitorMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        if let Some(shadow) = self.shadow.get() {
            encode_shadow(shadow, &mut encoder)?;
        }
        let served = self.model.load_full();
        let Some(monitor) = served.as_ref().and_then(|s| s.monitor.as_ref()) else {
            return Ok(());
        };
        encode(monitor, &mut encoder)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Challenger {
    version: String,
}

#[allow(
    clippy::cast_precision_loss,
    reason = "counts of rows, exact below 2^53"
)]
fn encode_shadow(
    shadow: &crate::monitor::Shadow,
    encoder: &mut DescriptorEncoder<'_>,
) -> Result<(), std::fmt::Error> {
    let report = shadow.report();
    let labels = || Challenger {
        version: report.version.clone().unwrap_or_default(),
    };
    let counters = [
        (
            "shadow_offered_rows",
            "Rows sampled for the shadow challenger",
            report.offered_rows,
        ),
        (
            "shadow_scored_rows",
            "Rows the shadow challenger scored",
            report.scored_rows,
        ),
        (
            "shadow_dropped_rows",
            "Rows dropped before the shadow challenger scored them (its queue full, or not loaded)",
            report.dropped_rows,
        ),
    ];
    for (name, help, value) in counters {
        family(
            encoder,
            name,
            help,
            MetricType::Counter,
            [(labels(), value as f64)],
        )?;
    }
    let gauges = [
        (
            "shadow_agreement_ratio",
            "The share of scored rows on which the challenger and the champion agree",
            report.agreement,
        ),
        (
            "shadow_positive_ratio",
            "The challenger's share of legendary answers",
            report.challenger_positive_rate,
        ),
        (
            "shadow_champion_positive_ratio",
            "The champion's share of legendary answers on the rows the challenger scored",
            report.champion_positive_rate,
        ),
        (
            "shadow_expected_f1",
            "The challenger's expected F1 over its rows window (CBPE)",
            report
                .monitor
                .as_ref()
                .and_then(|m| m.windows.first())
                .and_then(|w| w.expected.f1),
        ),
    ];
    for (name, help, value) in gauges {
        family(
            encoder,
            name,
            help,
            MetricType::Gauge,
            value.map(|v| (labels(), v)),
        )?;
    }
    Ok(())
}

#[allow(
    clippy::cast_precision_loss,
    reason = "counts of rows, exact below 2^53"
)]
fn encode(monitor: &Monitor, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
    let version = || monitor.version().to_owned();
    let profile = monitor.profile();
    let (features, prediction, rows, positives) = monitor.totals();
    let feature_bins = |values: &dyn Fn(usize, usize) -> f64| {
        let mut out = Vec::new();
        for (f, feature) in profile.features.iter().enumerate() {
            for bin in 0..feature.reference.len() {
                let labels = FeatureBin {
                    feature: feature.name.clone(),
                    bin: bin.to_string(),
                    version: version(),
                };
                out.push((labels, values(f, bin)));
            }
        }
        out
    };
    family(
        encoder,
        "feature_bin",
        "Scored rows by monitored feature and reference bin (decile bins fixed at training)",
        MetricType::Counter,
        feature_bins(&|f, bin| features[f][bin] as f64),
    )?;
    family(
        encoder,
        "feature_reference_ratio",
        "The training rows' share in each reference bin, by monitored feature",
        MetricType::Gauge,
        feature_bins(&|f, bin| profile.features[f].reference[bin]),
    )?;
    let bins = |values: &dyn Fn(usize) -> f64| {
        (0..prediction.len())
            .map(|bin| {
                let labels = Bin {
                    bin: bin.to_string(),
                    version: version(),
                };
                (labels, values(bin))
            })
            .collect::<Vec<_>>()
    };
    family(
        encoder,
        "prediction_bin",
        "Scored rows by probability bin ([0, 0.1), ..., [0.9, 1])",
        MetricType::Counter,
        bins(&|bin| prediction[bin] as f64),
    )?;
    family(
        encoder,
        "prediction_reference_ratio",
        "The reference probabilities' share in each bin",
        MetricType::Gauge,
        bins(&|bin| profile.prediction.reference[bin]),
    )?;
    let one = |value: f64| [(Version { version: version() }, value)];
    family(
        encoder,
        "monitored_rows",
        "Rows counted by the monitor (every scoring route)",
        MetricType::Counter,
        one(rows as f64),
    )?;
    family(
        encoder,
        "prediction_positive",
        "Monitored rows answered legendary",
        MetricType::Counter,
        one(positives as f64),
    )?;
    let p = &profile.prediction;
    family(
        encoder,
        "training_positive_ratio",
        "The share of legendary answers on the reference rows",
        MetricType::Gauge,
        one(p.positive_rate),
    )?;
    family(
        encoder,
        "training_positive_ratio_lower",
        "The low end of the range that share may take without alarm",
        MetricType::Gauge,
        one(p.positive_rate_range[0]),
    )?;
    family(
        encoder,
        "training_positive_ratio_upper",
        "The high end of the range that share may take without alarm",
        MetricType::Gauge,
        one(p.positive_rate_range[1]),
    )?;

    let report = monitor.report();
    let per_feature = |pick: &dyn Fn(&crate::monitor::Drift) -> Option<f64>| {
        let mut out = Vec::new();
        for w in &report.windows {
            for (name, drift) in MONITORED.iter().zip(&w.features) {
                if let Some(value) = pick(drift) {
                    let labels = FeatureWindow {
                        feature: (*name).to_owned(),
                        window: w.window.to_owned(),
                        version: version(),
                    };
                    out.push((labels, value));
                }
            }
        }
        out
    };
    family(
        encoder,
        "drift_psi",
        "Population stability index of each feature in the server's windows against the reference",
        MetricType::Gauge,
        per_feature(&|d| d.psi),
    )?;
    family(
        encoder,
        "drift_js",
        "Jensen-Shannon distance of each feature in the server's windows against the reference",
        MetricType::Gauge,
        per_feature(&|d| d.js),
    )?;
    let per_window = |pick: &dyn Fn(&crate::monitor::WindowReport) -> Option<f64>| {
        report
            .windows
            .iter()
            .filter_map(|w| {
                pick(w).map(|v| {
                    let labels = Window {
                        window: w.window.to_owned(),
                        version: version(),
                    };
                    (labels, v)
                })
            })
            .collect::<Vec<_>>()
    };
    family(
        encoder,
        "prediction_drift_psi",
        "Population stability index of the probabilities in the server's windows",
        MetricType::Gauge,
        per_window(&|w| w.prediction.psi),
    )?;
    family(
        encoder,
        "prediction_positive_ratio",
        "The share of legendary answers in the server's windows",
        MetricType::Gauge,
        per_window(&|w| w.positive_rate),
    )?;
    family(
        encoder,
        "expected_precision",
        "Expected precision in the server's windows, from calibrated probabilities (no labels)",
        MetricType::Gauge,
        per_window(&|w| w.expected.precision),
    )?;
    family(
        encoder,
        "expected_recall",
        "Expected recall in the server's windows, from calibrated probabilities (no labels)",
        MetricType::Gauge,
        per_window(&|w| w.expected.recall),
    )?;
    family(
        encoder,
        "expected_f1",
        "Expected F1 in the server's windows, from calibrated probabilities (no labels)",
        MetricType::Gauge,
        per_window(&|w| w.expected.f1),
    )?;
    family(
        encoder,
        "monitor_window_rows",
        "Rows in each of the server's windows",
        MetricType::Gauge,
        per_window(&|w| Some(w.rows as f64)),
    )
}
