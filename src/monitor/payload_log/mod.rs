//! The payload log (`serve --log-payloads DIR|s3://…`): a sampled share of the rows every
//! scoring route answers, with what the model said, when, and to which request, written in
//! batches as CSV resources of a data package that `legendary data search` lists and
//! `legendary train --data` reads once a person has filled in the `legendary` column.
//!
//! A request only samples its rows, encodes them and tries to push them into a queue bounded
//! in bytes ([`queue`]): rows that do not fit are dropped and counted, never waited for, and
//! nothing is encoded past the room left. One writer thread takes a batch every
//! `--log-payloads-interval`, or as soon as half the bound is waiting, and writes it through
//! a [`Sink`]; a sink that stalls only stalls that thread, while the bound (which counts the
//! batch being written too) keeps the memory flat and the drops are counted.
//!
//! - `queue`: the byte-bounded queue between the requests and the writer.
//! - `encode`: a row as a CSV line, in the log's columns.
//! - `sink`: a local directory or an object-store prefix.
//! - `package`: the table schema and the `datapackage.json` that lists the batches.

mod encode;
mod package;
mod queue;
mod sink;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

pub use encode::COLUMNS;
pub use package::{DESCRIPTOR, SCHEMA};
pub use sink::{DirSink, Sink, SinkError, open};

use super::sample::Sampler;
use queue::{Batch, Chunk, Queue};

/// How the log samples and batches (`--log-payloads-sample`, `--log-payloads-max-bytes`,
/// `--log-payloads-interval`).
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadLogSettings {
    /// The share of scored rows logged, 0 to 1.
    pub sample: f64,
    /// Most bytes of encoded rows held at once (waiting, or being written).
    pub max_bytes: usize,
    /// Longest a row waits for its batch to be written.
    pub interval: Duration,
}

impl Default for PayloadLogSettings {
    /// The documented defaults of `legendary serve`.
    fn default() -> Self {
        Self {
            sample: 1.0,
            max_bytes: DEFAULT_MAX_BYTES,
            interval: Duration::from_secs(10),
        }
    }
}

/// `--log-payloads-max-bytes`' default: 16 MiB, about 150,000 rows.
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Fewer bytes than any row takes: the queue counts as full.
const MIN_ROW_BYTES: usize = 48;

/// Why rows were not logged (the `reason` label of `legendary_payload_log_dropped_total`).
#[derive(Debug, Default)]
struct Dropped {
    /// The queue was full (the sink is slower than the traffic, or stalled).
    full: AtomicU64,
    /// The sink refused their batch.
    write_error: AtomicU64,
    /// They came after shutdown began.
    shutdown: AtomicU64,
    /// The model does not take the six stats, so they have no row in the log's columns.
    inputs: AtomicU64,
}

/// Counts since the server started.
#[derive(Debug, Default)]
struct Counts {
    offered: AtomicU64,
    written: AtomicU64,
    files: AtomicU64,
    write_errors: AtomicU64,
    dropped: Dropped,
}

/// What the requests and the writer share.
struct Shared {
    queue: Queue,
    counts: Counts,
    location: String,
    interval: Duration,
}

/// The payload log of one server.
pub struct PayloadLog {
    shared: Arc<Shared>,
    sampler: Sampler,
    /// Told when the writer has written its last batch.
    finished: Mutex<Option<Receiver<()>>>,
}

impl std::fmt::Debug for PayloadLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadLog")
            .field("location", &self.shared.location)
            .field("sample", &self.sampler.share())
            .finish_non_exhaustive()
    }
}

/// The rows of one answered request, as the scoring routes have them.
pub(crate) struct Answered<'a> {
    /// The model's registry version, or empty.
    pub(crate) model_version: &'a str,
    /// The request's `x-request-id`, or empty.
    pub(crate) request_id: &'a str,
    pub(crate) probabilities: &'a [f64],
    pub(crate) decisions: &'a [bool],
}

impl PayloadLog {
    /// A log writing into `sink` as `settings` say; its writer thread runs until
    /// [`PayloadLog::close`] or until the log is dropped.
    ///
    /// # Errors
    /// The writer thread cannot be started.
    pub fn start(sink: Box<dyn Sink>, settings: &PayloadLogSettings) -> std::io::Result<Arc<Self>> {
        let shared = Arc::new(Shared {
            queue: Queue::new(settings.max_bytes.max(1)),
            counts: Counts::default(),
            location: sink.location(),
            interval: settings.interval.max(Duration::from_millis(1)),
        });
        let (done, finished) = std::sync::mpsc::channel();
        let writer = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("payload-log".to_owned())
            .spawn(move || write_loop(&writer, sink, &done))?;
        tracing::info!(location = %shared.location, sample = settings.sample, max_bytes = settings.max_bytes, "logging payloads");
        Ok(Arc::new(Self {
            shared,
            sampler: Sampler::new(settings.sample),
            finished: Mutex::new(Some(finished)),
        }))
    }

    /// Logs a sample of rows given row-major in the model's input order `features`. A model
    /// that does not take the six stats has no row in the log's columns: its rows are
    /// counted as dropped (`inputs`).
    pub(crate) fn offer_values(
        &self,
        values: &[f64],
        features: &[String],
        answered: &Answered<'_>,
    ) {
        let n_cols = features.len();
        let mut at = [0usize; 6];
        for (slot, name) in at.iter_mut().zip(legendary_forest::FEATURES) {
            match features.iter().position(|f| f == name) {
                Some(i) => *slot = i,
                None => {
                    let rows = self.sampler.picks(answered.decisions.len()).filter(|&k| k);
                    let n = rows.count() as u64;
                    self.shared.counts.offered.fetch_add(n, Relaxed);
                    self.shared.counts.dropped.inputs.fetch_add(n, Relaxed);
                    return;
                }
            }
        }
        if n_cols == 0 || values.len() != n_cols * answered.decisions.len() {
            return;
        }
        self.offer_rows(
            |i| std::array::from_fn(|k| values[i * n_cols + at[k]]),
            answered,
        );
    }

    /// Logs a sample of rows of the six stats in their usual order (the demo API).
    pub(crate) fn offer_stats(&self, rows: &[[f64; 6]], answered: &Answered<'_>) {
        if rows.len() == answered.decisions.len() {
            self.offer_rows(|i| rows[i], answered);
        }
    }

    /// Samples, encodes within the room left, and tries to queue; never blocks.
    fn offer_rows(&self, row: impl Fn(usize) -> [f64; 6], answered: &Answered<'_>) {
        let n = answered.decisions.len().min(answered.probabilities.len());
        if n == 0 || self.sampler.share() <= 0.0 {
            return;
        }
        let picked: Vec<usize> = self
            .sampler
            .picks(n)
            .enumerate()
            .filter_map(|(i, kept)| kept.then_some(i))
            .collect();
        if picked.is_empty() {
            return;
        }
        let counts = &self.shared.counts;
        counts.offered.fetch_add(picked.len() as u64, Relaxed);
        let queue = &self.shared.queue;
        if queue.is_closed() {
            counts
                .dropped
                .shutdown
                .fetch_add(picked.len() as u64, Relaxed);
            return;
        }
        let room = queue.available();
        if room < MIN_ROW_BYTES {
            // Full: nothing is encoded.
            counts.dropped.full.fetch_add(picked.len() as u64, Relaxed);
            return;
        }
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let context = encode::Context {
            model_version: answered.model_version,
            time: &time,
            request_id: answered.request_id,
        };
        // About what a row takes; the buffer never grows past the room left.
        let per_row = 96 + answered.model_version.len() + 2 * answered.request_id.len();
        let mut bytes = Vec::with_capacity(room.min(per_row.saturating_mul(picked.len())));
        let mut rows = 0;
        for &i in &picked {
            let before = bytes.len();
            encode::row(
                &mut bytes,
                &row(i),
                answered.decisions[i],
                answered.probabilities[i],
                &context,
            );
            if bytes.len() > room {
                bytes.truncate(before);
                break;
            }
            rows += 1;
        }
        let mut not_queued = (picked.len() - rows) as u64;
        if rows > 0 {
            bytes.shrink_to_fit();
            if queue.try_push(Chunk { bytes, rows }).is_err() {
                not_queued += rows as u64;
            }
        }
        counts.dropped.full.fetch_add(not_queued, Relaxed);
    }

    /// Stops taking rows and waits at most `within` for the writer to write what is queued;
    /// false when it did not finish in time (what is left is lost with the process).
    pub fn close(&self, within: Duration) -> bool {
        self.shared.queue.close();
        let finished = self
            .finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let flushed = finished.is_none_or(|f| f.recv_timeout(within).is_ok());
        let report = self.report();
        match flushed {
            true => {
                tracing::info!(location = %report.location, written_rows = report.written_rows, "payload log flushed")
            }
            false => {
                tracing::warn!(location = %report.location, bytes_queued = report.bytes_queued, "the payload log could not be flushed in time; the rows still queued are lost")
            }
        }
        flushed
    }

    /// What the log did so far.
    pub fn report(&self) -> PayloadLogReport {
        let c = &self.shared.counts;
        let q = &self.shared.queue;
        PayloadLogReport {
            location: self.shared.location.clone(),
            sample: self.sampler.share(),
            max_bytes: q.max_bytes(),
            bytes_queued: q.counted(),
            peak_bytes_queued: q.peak(),
            offered_rows: c.offered.load(Relaxed),
            written_rows: c.written.load(Relaxed),
            files: c.files.load(Relaxed),
            write_errors: c.write_errors.load(Relaxed),
            dropped_rows: DroppedRows {
                full: c.dropped.full.load(Relaxed),
                write_error: c.dropped.write_error.load(Relaxed),
                shutdown: c.dropped.shutdown.load(Relaxed),
                inputs: c.dropped.inputs.load(Relaxed),
            },
        }
    }
}

impl Drop for PayloadLog {
    /// The writer writes what is queued and ends.
    fn drop(&mut self) {
        self.shared.queue.close();
    }
}

/// What the payload log did, as `/metrics` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PayloadLogReport {
    /// Where the batches go.
    pub location: String,
    /// The share of scored rows logged.
    pub sample: f64,
    /// The queue's bound in bytes.
    pub max_bytes: usize,
    /// Bytes accepted and not yet written (the batch being written included).
    pub bytes_queued: usize,
    /// The most bytes ever queued at once.
    pub peak_bytes_queued: usize,
    /// Rows sampled for the log.
    pub offered_rows: u64,
    /// Rows written.
    pub written_rows: u64,
    /// Batches written (CSV resources).
    pub files: u64,
    /// Writes the sink refused (batches and descriptor updates).
    pub write_errors: u64,
    /// Rows sampled but not written, by reason.
    pub dropped_rows: DroppedRows,
}

/// Rows sampled but not written, by reason.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DroppedRows {
    /// The queue was full: the sink is slower than the traffic, or stalled.
    pub full: u64,
    /// The sink refused their batch.
    pub write_error: u64,
    /// They came after shutdown began.
    pub shutdown: u64,
    /// The served model does not take the six stats.
    pub inputs: u64,
}

impl DroppedRows {
    /// Each reason with its count, as the metric's `reason` label says it.
    pub fn by_reason(&self) -> [(&'static str, u64); 4] {
        [
            ("full", self.full),
            ("write_error", self.write_error),
            ("shutdown", self.shutdown),
            ("inputs", self.inputs),
        ]
    }
}

/// The descriptor as the writer knows it: the one found (read at the first write) and the
/// batches this server wrote.
struct Package {
    found: Option<(Value, Vec<Value>)>,
    written: Vec<Value>,
    schema_written: bool,
    /// Distinguishes this server's batches from another's written in the same millisecond.
    instance: String,
    batches: u64,
}

/// The writer: a batch when due, until the queue is closed and empty; then says so.
fn write_loop(shared: &Shared, mut sink: Box<dyn Sink>, done: &Sender<()>) {
    let mut package = Package {
        found: None,
        written: Vec::new(),
        schema_written: false,
        instance: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        batches: 0,
    };
    loop {
        let batch = shared.queue.take(shared.interval);
        let closed = batch.closed;
        let empty = batch.chunks.is_empty();
        write_batch(shared, sink.as_mut(), &mut package, batch);
        if closed && empty {
            break;
        }
    }
    let _ = done.send(());
}

/// Writes one batch as a new resource and lists it; a refused write drops its rows, counted
/// and logged (the object-store client has already retried).
fn write_batch(shared: &Shared, sink: &mut dyn Sink, package: &mut Package, batch: Batch) {
    let counted = batch.counted;
    let rows = batch.rows();
    if rows == 0 {
        shared.queue.release(counted);
        return;
    }
    let counts = &shared.counts;
    let failed = |what: &str, error: &SinkError| {
        counts.write_errors.fetch_add(1, Relaxed);
        tracing::warn!(location = %shared.location, error = %error, "the payload log could not write {what}");
    };
    if !package.schema_written {
        match sink.write(SCHEMA, vec![package::schema()]) {
            Ok(()) => package.schema_written = true,
            Err(e) => failed(SCHEMA, &e),
        }
    }
    let created = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    package.batches += 1;
    let name = format!(
        "payloads-{}-{}-{:06}",
        created.replace([':', '-'], ""),
        package.instance,
        package.batches
    );
    let mut parts = Vec::with_capacity(batch.chunks.len() + 1);
    parts.push(encode::header().into_bytes());
    parts.extend(batch.chunks.into_iter().map(|c| c.bytes));
    let size: usize = parts.iter().map(Vec::len).sum();
    let written = sink.write(&format!("{name}.csv"), parts);
    shared.queue.release(counted);
    if let Err(e) = written {
        failed(&format!("a batch of {rows} rows (dropped)"), &e);
        counts.dropped.write_error.fetch_add(rows as u64, Relaxed);
        return;
    }
    counts.written.fetch_add(rows as u64, Relaxed);
    counts.files.fetch_add(1, Relaxed);
    package
        .written
        .push(package::resource(&name, rows, size, &created));
    // The descriptor found is read once; until it could be, nothing is overwritten (the
    // batches written meanwhile are listed at the next write that can).
    if package.found.is_none() {
        let read = sink
            .read(DESCRIPTOR)
            .and_then(|bytes| package::existing(bytes.as_deref()).map_err(SinkError));
        match read {
            Ok(found) => package.found = Some(found),
            Err(e) => return failed(DESCRIPTOR, &e),
        }
    }
    if let Some((base, old)) = &package.found {
        let all: Vec<Value> = old.iter().chain(&package.written).cloned().collect();
        if let Err(e) = sink.write(DESCRIPTOR, vec![package::descriptor(base.clone(), &all)]) {
            failed(DESCRIPTOR, &e);
        }
    }
}
