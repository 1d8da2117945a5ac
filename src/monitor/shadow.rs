//! A shadow challenger: a second model (`--shadow models:/NAME@challenger`) that scores a
//! sampled copy of live rows after the champion has answered, so its answers on production
//! traffic are known before it is promoted, without a client ever waiting for it.
//!
//! The request path only copies the sampled rows and offers them to a bounded queue (at most
//! `MAX_QUEUED_ROWS` rows): when the queue is full the rows are dropped and counted, never
//! waited for. One worker thread scores the queue on the challenger and sleeps in proportion
//! to its work, so it uses at most `--shadow-cpu` of one core. What it finds: how often the
//! two models agree, each one's share of "legendary" on the same rows, and, through the
//! challenger's own monitor, its drift and expected quality.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use serde::Serialize;

use super::live::MonitorReport;
use super::sample::Sampler;
use crate::acquire::Served;

/// Most rows waiting for the challenger: 100,000 rows of six stats is 4.8 MB.
pub const MAX_QUEUED_ROWS: usize = 100_000;

/// A batch copied for the challenger, with the champion's decisions on it.
struct Job {
    values: Vec<f64>,
    features: Arc<[String]>,
    decisions: Vec<bool>,
}

/// Counts since the shadow started (they survive the challenger's hot reloads).
#[derive(Debug, Default)]
struct Counts {
    offered: AtomicU64,
    scored: AtomicU64,
    agreed: AtomicU64,
    challenger_positive: AtomicU64,
    champion_positive: AtomicU64,
    dropped: AtomicU64,
    incompatible: AtomicU64,
}

/// The challenger and its worker's inbox.
pub struct Shadow {
    challenger: ArcSwapOption<Served>,
    /// Picks the sampled rows.
    sample: Sampler,
    sender: Mutex<Option<SyncSender<Job>>>,
    queued_rows: AtomicUsize,
    counts: Counts,
    uri: String,
}

impl std::fmt::Debug for Shadow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow")
            .field("uri", &self.uri)
            .field("sample", &self.sample.share())
            .finish_non_exhaustive()
    }
}

impl Shadow {
    /// A shadow of the model at `uri` (none yet: see [`Shadow::set_model`]) that takes a
    /// `sample` share of the rows and spends at most `cpu` of one core; its worker thread runs
    /// until the shadow is dropped.
    pub fn start(uri: String, sample: f64, cpu: f64) -> Arc<Self> {
        // Jobs are bounded by rows below; the channel's own bound only caps their count.
        let (sender, receiver) = std::sync::mpsc::sync_channel(1024);
        let shadow = Arc::new(Self {
            challenger: ArcSwapOption::empty(),
            sample: Sampler::new(sample),
            sender: Mutex::new(Some(sender)),
            queued_rows: AtomicUsize::new(0),
            counts: Counts::default(),
            uri,
        });
        let worker = Arc::downgrade(&shadow);
        let spawned = std::thread::Builder::new()
            .name("shadow".to_owned())
            .spawn(move || work(&worker, &receiver, cpu.clamp(0.01, 1.0)));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the shadow's worker could not start; nothing will be shadowed");
            shadow.stop();
        }
        shadow
    }

    /// Stops taking rows (the worker ends once the queue is empty).
    pub fn stop(&self) {
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// The URI the challenger is loaded from.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The challenger now, if loaded.
    pub fn model(&self) -> Option<Arc<Served>> {
        self.challenger.load_full()
    }

    /// Swaps in a (new version of the) challenger.
    pub fn set_model(&self, served: Served) {
        self.challenger.store(Some(Arc::new(served)));
    }

    /// Offers the rows the champion just answered (`values` row-major in its input order
    /// `features`, its `decisions`): a sampled copy is queued for the challenger, or dropped
    /// and counted when the queue is full. Never blocks.
    pub fn offer(&self, values: &[f64], features: &Arc<[String]>, decisions: &[bool]) {
        let n_cols = features.len();
        if n_cols == 0 || decisions.is_empty() || self.sample.share() <= 0.0 {
            return;
        }
        // A full queue drops the rows before anything is copied.
        if self.queued_rows.load(Relaxed) >= MAX_QUEUED_ROWS {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss,
                reason = "an estimate of the sampled rows, for the count"
            )]
            let rows = (decisions.len() as f64 * self.sample.share()).round() as u64;
            self.counts.offered.fetch_add(rows, Relaxed);
            self.counts.dropped.fetch_add(rows, Relaxed);
            return;
        }
        let (values, decisions) = self.sampled(values, n_cols, decisions);
        let rows = decisions.len();
        if rows == 0 {
            return;
        }
        self.counts.offered.fetch_add(rows as u64, Relaxed);
        let queued = self.queued_rows.fetch_add(rows, Relaxed);
        if queued + rows > MAX_QUEUED_ROWS {
            self.queued_rows.fetch_sub(rows, Relaxed);
            self.counts.dropped.fetch_add(rows as u64, Relaxed);
            return;
        }
        let job = Job {
            values,
            features: Arc::clone(features),
            decisions,
        };
        let sent = match &*self.sender.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(sender) => sender.try_send(job),
            None => Err(TrySendError::Disconnected(job)),
        };
        if sent.is_err() {
            self.queued_rows.fetch_sub(rows, Relaxed);
            self.counts.dropped.fetch_add(rows as u64, Relaxed);
        }
    }

    /// The rows of the sample: all of them at 1, else each with probability `sample`.
    fn sampled(&self, values: &[f64], n_cols: usize, decisions: &[bool]) -> (Vec<f64>, Vec<bool>) {
        if self.sample.share() >= 1.0 {
            return (values.to_vec(), decisions.to_vec());
        }
        let mut out = (Vec::new(), Vec::new());
        let picks = self.sample.picks(decisions.len());
        for ((row, &d), kept) in values.chunks_exact(n_cols).zip(decisions).zip(picks) {
            if kept {
                out.0.extend_from_slice(row);
                out.1.push(d);
            }
        }
        out
    }

    /// What the challenger did so far.
    pub fn report(&self) -> ShadowReport {
        let c = &self.counts;
        let challenger = self.model();
        let scored = c.scored.load(Relaxed);
        #[allow(clippy::cast_precision_loss, reason = "counts of rows")]
        let share = |n: u64| (scored > 0).then(|| n as f64 / scored as f64);
        ShadowReport {
            uri: self.uri.clone(),
            version: challenger.as_ref().and_then(|s| s.resolved.version.clone()),
            loaded: challenger.is_some(),
            sample: self.sample.share(),
            offered_rows: c.offered.load(Relaxed),
            scored_rows: scored,
            dropped_rows: c.dropped.load(Relaxed),
            incompatible_rows: c.incompatible.load(Relaxed),
            queued_rows: self.queued_rows.load(Relaxed),
            agreement: share(c.agreed.load(Relaxed)),
            challenger_positive_rate: share(c.challenger_positive.load(Relaxed)),
            champion_positive_rate: share(c.champion_positive.load(Relaxed)),
            monitor: challenger
                .as_ref()
                .and_then(|s| s.monitor.as_ref())
                .map(super::Monitor::report),
        }
    }

    /// Scores one job on the challenger.
    fn score(&self, job: &Job) {
        let c = &self.counts;
        let rows = job.decisions.len() as u64;
        let Some(challenger) = self.model() else {
            c.dropped.fetch_add(rows, Relaxed);
            return;
        };
        if challenger.model.input_features() != &job.features[..] {
            c.incompatible.fetch_add(rows, Relaxed);
            return;
        }
        let probabilities = challenger.model.proba_batch(&job.values);
        let decisions = challenger.model.decide_all(&probabilities);
        if let Some(monitor) = &challenger.monitor {
            monitor.record(&job.values, &probabilities, &decisions);
        }
        let agreed = decisions
            .iter()
            .zip(&job.decisions)
            .filter(|(a, b)| a == b)
            .count();
        c.scored.fetch_add(rows, Relaxed);
        c.agreed.fetch_add(agreed as u64, Relaxed);
        c.challenger_positive
            .fetch_add(decisions.iter().filter(|&&d| d).count() as u64, Relaxed);
        c.champion_positive
            .fetch_add(job.decisions.iter().filter(|&&d| d).count() as u64, Relaxed);
    }
}

/// The worker: scores jobs as they come, sleeping after each so that its busy time is at most
/// `cpu` of the wall time; ends when the shadow is gone.
fn work(shadow: &std::sync::Weak<Shadow>, jobs: &Receiver<Job>, cpu: f64) {
    // The lowest priority for this thread (Linux: per thread), so that under load the
    // scheduler gives the requests' threads the cores first; best effort.
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
    while let Ok(job) = jobs.recv() {
        let Some(shadow) = shadow.upgrade() else {
            return;
        };
        shadow.queued_rows.fetch_sub(job.decisions.len(), Relaxed);
        let started = Instant::now();
        shadow.score(&job);
        drop(shadow);
        let busy = started.elapsed();
        std::thread::sleep(busy.mul_f64(1.0 / cpu - 1.0).min(Duration::from_secs(5)));
    }
}

/// `GET /monitoring`'s `shadow`: the challenger against the champion on the same rows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShadowReport {
    /// Where the challenger comes from.
    pub uri: String,
    /// Its registry version, once loaded.
    pub version: Option<String>,
    /// Whether it is loaded.
    pub loaded: bool,
    /// The share of rows copied to it.
    pub sample: f64,
    /// Rows sampled for it.
    pub offered_rows: u64,
    /// Rows it scored.
    pub scored_rows: u64,
    /// Rows dropped: the queue was full, or no challenger was loaded yet.
    pub dropped_rows: u64,
    /// Rows it could not score: it takes other inputs than the champion.
    pub incompatible_rows: u64,
    /// Rows waiting now.
    pub queued_rows: usize,
    /// The share of scored rows on which both models answered the same.
    pub agreement: Option<f64>,
    /// Its share of "legendary" answers.
    pub challenger_positive_rate: Option<f64>,
    /// The champion's share on the same rows.
    pub champion_positive_rate: Option<f64>,
    /// Its own monitor (drift, expected quality), when it has a profile.
    #[schema(value_type = Option<Object>)]
    pub monitor: Option<MonitorReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Served {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pokemon");
        let dir = crate::model::read_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        Served::new(dir, "models/pokemon", legendary_mlflow::Resolved::default())
    }

    fn wait_for(shadow: &Shadow, rows: u64) -> ShadowReport {
        let started = Instant::now();
        loop {
            let report = shadow.report();
            if report.scored_rows + report.dropped_rows >= rows
                || started.elapsed() > Duration::from_secs(20)
            {
                return report;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_same_model_in_the_shadow_agrees_on_every_sampled_row() {
        let shadow = Shadow::start("models/pokemon".into(), 1.0, 1.0);
        let champion = served();
        shadow.set_model(served());
        let features: Arc<[String]> = champion.model.input_features().into();
        let values: Vec<f64> = (0..600).map(|i| f64::from(40 + (i * 37) % 120)).collect();
        let decisions = champion.model.predict_batch(&values);
        shadow.offer(&values, &features, &decisions);
        let report = wait_for(&shadow, 100);
        assert_eq!((report.scored_rows, report.dropped_rows), (100, 0));
        assert_eq!(report.agreement, Some(1.0));
        assert_eq!(
            report.challenger_positive_rate,
            report.champion_positive_rate
        );
    }

    #[test]
    fn a_sample_takes_about_its_share_and_a_full_queue_drops_and_counts() {
        let shadow = Shadow::start("models/pokemon".into(), 0.25, 1.0);
        let features: Arc<[String]> = served().model.input_features().into();
        // No challenger loaded: offered rows are dropped, counted.
        let values = vec![80.0; 6 * 4000];
        shadow.offer(&values, &features, &[false; 4000]);
        let report = wait_for(&shadow, 1);
        assert!((800..1200).contains(&report.offered_rows), "{report:?}");
        assert_eq!(report.dropped_rows, report.offered_rows);
        // More than the queue holds at once: the excess is dropped at the door.
        let everything = Shadow::start("models/pokemon".into(), 1.0, 0.01);
        let rows = MAX_QUEUED_ROWS + 10;
        everything.offer(&vec![80.0; 6 * rows], &features, &vec![false; rows]);
        let report = everything.report();
        assert_eq!(report.dropped_rows, rows as u64);
        assert_eq!(report.queued_rows, 0);
    }
}
