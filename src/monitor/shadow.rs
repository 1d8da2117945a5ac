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
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use serde::Serialize;

use super::live::MonitorReport;
use super::sample::Sampler;
use crate::acquire::Served;

/// Most rows waiting for the challenger: 100,000 rows of six stats is 4.8 MB.
pub const MAX_QUEUED_ROWS: usize = 100_000;

/// Most jobs (offered batches) waiting for the challenger.
const MAX_QUEUED_JOBS: usize = 1024;

/// How long the worker sleeps when its queue is empty: the most a sampled row waits before
/// the challenger starts on it, and the idle worker's wake-ups (100 a second, nothing else).
const POLL: Duration = Duration::from_millis(10);

/// The most rows queued jobs are joined into before they are scored together.
const MAX_JOINED_ROWS: usize = 10_000;

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
    /// Jobs in the queue: it holds at most [`MAX_QUEUED_JOBS`], however few rows each has.
    queued_jobs: AtomicUsize,
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
        // `offer` counts rows and jobs and refuses before copying; the channel's bound is the
        // same number of jobs, a backstop.
        let (sender, receiver) = std::sync::mpsc::sync_channel(MAX_QUEUED_JOBS);
        let shadow = Arc::new(Self {
            challenger: ArcSwapOption::empty(),
            sample: Sampler::new(sample),
            sender: Mutex::new(Some(sender)),
            queued_rows: AtomicUsize::new(0),
            queued_jobs: AtomicUsize::new(0),
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
        // (Under one-row traffic the jobs run out first: without their own count every
        // offer was copied, refused by the channel, then freed.)
        if self.queued_rows.load(Relaxed) >= MAX_QUEUED_ROWS
            || self.queued_jobs.load(Relaxed) >= MAX_QUEUED_JOBS
        {
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
        // Counted before it is sent, so that the worker never takes away what was not added.
        self.queued_jobs.fetch_add(1, Relaxed);
        let sent = match &*self.sender.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(sender) => sender.try_send(job),
            None => Err(TrySendError::Disconnected(job)),
        };
        if sent.is_err() {
            self.queued_jobs.fetch_sub(1, Relaxed);
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

/// The worker: scores jobs as they come, sleeping in proportion to its work so that its busy
/// time is at most `cpu` of the wall time; ends when the shadow is gone.
fn work(shadow: &std::sync::Weak<Shadow>, jobs: &Receiver<Job>, cpu: f64) {
    yield_to_requests();
    // The rest the budget still asks for: paid in one sleep once it reaches `POLL` (or when
    // the queue is empty), not in a sleep per job, which at one row a job was a system call
    // for every two microseconds of work.
    let mut owed = Duration::ZERO;
    // A job taken off the queue that could not join the last one (other inputs).
    let mut pending: Option<Job> = None;
    loop {
        // Polled, not waited for: a worker blocked in `recv` is woken by every offer (a
        // futex call on the request's own thread, per request at one row a request); a
        // sleeping one costs the requests nothing, and wakes at most every `POLL`.
        let mut job = match pending.take().map_or_else(|| jobs.try_recv(), Ok) {
            Ok(job) => job,
            Err(TryRecvError::Empty) => {
                std::thread::sleep(POLL.max(owed));
                owed = Duration::ZERO;
                continue;
            }
            Err(TryRecvError::Disconnected) => return,
        };
        let mut jobs_taken = 1;
        // What else is queued joins it while it has the same inputs: one scoring of a few
        // hundred rows costs far less than as many scorings of one (the queue fills with
        // one-row jobs between two polls under one-row traffic).
        while job.decisions.len() < MAX_JOINED_ROWS {
            match jobs.try_recv() {
                Ok(next) if next.features == job.features => {
                    jobs_taken += 1;
                    job.values.extend_from_slice(&next.values);
                    job.decisions.extend_from_slice(&next.decisions);
                }
                Ok(next) => {
                    // Still counted as queued until it is taken.
                    pending = Some(next);
                    break;
                }
                Err(_) => break,
            }
        }
        let Some(shadow) = shadow.upgrade() else {
            return;
        };
        shadow.queued_rows.fetch_sub(job.decisions.len(), Relaxed);
        shadow.queued_jobs.fetch_sub(jobs_taken, Relaxed);
        let started = Instant::now();
        shadow.score(&job);
        drop(shadow);
        owed += started.elapsed().mul_f64(1.0 / cpu - 1.0);
        if owed >= POLL {
            std::thread::sleep(owed.min(Duration::from_secs(5)));
            owed = Duration::ZERO;
        }
    }
}

/// Puts the calling thread below every request: `SCHED_IDLE` on Linux, where it runs only on
/// a core no other thread wants and a waking request thread always preempts it. Nice 19 is
/// not enough: measured side by side under 1,000-row load (Intel Xeon, 2 cores), a nice-19
/// shadow moved the champion's p99 by up to +17 %, an idle one by at most +0.2 %. Where the
/// policy cannot be set, nice 19 is the fallback; both are best effort.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle).is_ok() {
            return;
        }
    }
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
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

    /// The scheduling policy (`stat` field 41) of every thread of this process named
    /// `shadow`.
    #[cfg(target_os = "linux")]
    fn shadow_threads_policies() -> Vec<u32> {
        let tasks = std::fs::read_dir("/proc/self/task").unwrap_or_else(|e| panic!("{e}"));
        tasks
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "shadow")
            })
            .filter_map(|t| {
                let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
                // Fields after the command's closing parenthesis start at field 3.
                stat.rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .nth(41 - 3)?
                    .parse()
                    .ok()
            })
            .collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_worker_runs_only_when_a_core_is_idle() {
        const SCHED_IDLE: u32 = 5;
        let _shadow = Shadow::start("models/pokemon".into(), 1.0, 1.0);
        let started = Instant::now();
        let mut policies = shadow_threads_policies();
        // The worker sets its policy as it starts.
        while policies.iter().any(|&p| p != SCHED_IDLE) || policies.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "policies {policies:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
            policies = shadow_threads_policies();
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
    fn one_row_offers_faster_than_the_worker_polls_are_all_scored() {
        let shadow = Shadow::start("models/pokemon".into(), 1.0, 1.0);
        let champion = served();
        let features = champion.model.shared_input_features();
        // Offered a row at a time, faster than the worker polls: several wait in the queue
        // at each poll and are taken together (what this observes is that none is lost).
        let mut expected_positive = 0;
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                (0..6)
                    .map(|k| f64::from(30 + (i * 7 + k * 13) % 130))
                    .collect()
            })
            .collect();
        shadow.set_model(served());
        for row in &rows {
            let decisions = champion.model.predict_batch(row);
            expected_positive += decisions.iter().filter(|&&d| d).count();
            shadow.offer(row, features, &decisions);
        }
        let report = wait_for(&shadow, 300);
        assert_eq!((report.scored_rows, report.dropped_rows), (300, 0));
        assert_eq!(report.agreement, Some(1.0));
        #[allow(clippy::cast_precision_loss, reason = "a count of rows")]
        let rate = expected_positive as f64 / 300.0;
        assert_eq!(report.champion_positive_rate, Some(rate));
        assert_eq!(report.queued_rows, 0);
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
