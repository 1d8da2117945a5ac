//! The payload log's counts (`--log-payloads`), read at scrape time: rows written, dropped by
//! reason, write errors, files, and the bytes queued against the bound.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::monitor::payload_log::PayloadLog;

/// The payload log, once `--log-payloads` sets it.
pub(crate) type PayloadSlot = std::sync::Arc<std::sync::OnceLock<std::sync::Arc<PayloadLog>>>;

/// Reads the payload log's counts at each scrape (nothing when there is no log).
#[derive(Debug)]
pub(crate) struct PayloadMetrics {
    pub(crate) log: PayloadSlot,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct NoLabels {}

#[allow(
    clippy::cast_precision_loss,
    reason = "counts of rows and bytes, exact below 2^53"
)]
impl Collector for PayloadMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(log) = self.log.get() else {
            return Ok(());
        };
        let report = log.report();
        let counters = [
            (
                "payload_log_rows",
                "Rows the payload log wrote",
                report.written_rows,
            ),
            (
                "payload_log_files",
                "Batches (CSV resources) the payload log wrote",
                report.files,
            ),
            (
                "payload_log_write_errors",
                "Writes the payload log's sink refused (batches and descriptor updates)",
                report.write_errors,
            ),
        ];
        for (name, help, value) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value as f64).encode(metric.encode_family(&NoLabels {})?)?;
        }
        let mut dropped = encoder.encode_descriptor(
            "payload_log_dropped",
            "Rows sampled for the payload log but not written, by reason (full, write_error, shutdown, inputs)",
            None,
            MetricType::Counter,
        )?;
        for (reason, value) in report.dropped_rows.by_reason() {
            ConstCounter::new(value as f64).encode(dropped.encode_family(&Reason { reason })?)?;
        }
        let gauges = [
            (
                "payload_log_bytes_queued",
                "Bytes of rows accepted by the payload log and not yet written",
                report.bytes_queued,
            ),
            (
                "payload_log_max_bytes",
                "The payload log queue's bound in bytes",
                report.max_bytes,
            ),
        ];
        for (name, help, value) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value as f64).encode(metric.encode_family(&NoLabels {})?)?;
        }
        Ok(())
    }
}
