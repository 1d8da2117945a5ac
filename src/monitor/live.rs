//! The counts a served model keeps as it scores: totals since it was loaded (Prometheus
//! counters, summed across replicas by the recording rules), and two sliding windows in the
//! server (the last `--monitor-rows` rows, the last `--monitor-window`) read at scrape time
//! and by `GET /monitoring`.
//!
//! Recording a batch bins its rows on the request's own thread, with no lock (ten compares a
//! feature), then takes the windows' lock once to append the batch: a few microseconds for
//! a 1,000-row request, nothing that grows with the traffic. Reading (a scrape) walks the
//! windows under the same lock: at most `--monitor-rows` rows and 60 time buckets.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::drift::{Confusion, Expected, expected_of, js_distance, psi};
use super::profile::{MAX_BINS, MONITORED, PROBABILITY_BINS, Profile, probability_bin};

/// A population stability index at or over this is drift (the customary reading).
pub const PSI_ALERT: f64 = 0.2;
/// A Jensen–Shannon distance at or over this is drift.
pub const JS_ALERT: f64 = 0.1;

/// Fewer rows than this give no verdict: on ten bins, noise alone puts the PSI of `n` rows
/// near `9 / n` (0.09 at 100 rows, 0.018 at 500).
pub const MIN_VERDICT_ROWS: u64 = 500;

/// The largest whole value binned by table lookup (a total of six stats stays under it).
const TABLE_MAX: u16 = 2048;

/// Entries of one feature's lookup table: every whole value from 0 to [`TABLE_MAX`].
const TABLE_LEN: usize = TABLE_MAX as usize + 1;

/// Per monitored value, the bin of every whole value from 0 to [`TABLE_MAX`]: stats are small
/// integers, so most values are binned by one lookup instead of up to nine comparisons. One
/// fixed block (14 KB), so that a row's seven lookups are at constant offsets from one base.
struct Tables(Box<[[u8; TABLE_LEN]; MONITORED.len()]>);

impl Tables {
    fn of(profile: &Profile) -> Self {
        let mut tables = Box::new([[0; TABLE_LEN]; MONITORED.len()]);
        for (table, feature) in tables.iter_mut().zip(&profile.features) {
            for (v, bin) in (0..=TABLE_MAX).zip(table.iter_mut()) {
                *bin = u8::try_from(feature.bin(f64::from(v))).unwrap_or(u8::MAX);
            }
        }
        Self(tables)
    }

    /// The bin of `v`, the `k`-th monitored value: by table for a whole value in its range,
    /// else by comparing with the feature's edges (the same answer, tested below). At most
    /// ten bins: fits a byte.
    ///
    /// Whole is tested by casting and comparing back, not with `f64::fract`: without SSE4.1
    /// that is a call into libm per value, which was a quarter of the monitor's cost per row.
    #[inline]
    fn bin(&self, profile: &Profile, k: usize, v: f64) -> u8 {
        // In range first: the cast then needs no saturation (two fewer instructions a value).
        if (0.0..=f64::from(TABLE_MAX)).contains(&v) {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "v is in 0..=TABLE_MAX; a value that does not survive the round trip is not whole"
            )]
            let whole = v as u16;
            if f64::from(whole) == v
                && let Some(&bin) = self.0.get(k).and_then(|t| t.get(usize::from(whole)))
            {
                return bin;
            }
        }
        by_edges(profile, k, v)
    }
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tables")
    }
}

/// [`Tables::bin`] of a value off the tables (a fraction, a negative or a huge number): rare,
/// so kept out of the row loop.
#[cold]
#[inline(never)]
fn by_edges(profile: &Profile, k: usize, v: f64) -> u8 {
    profile
        .features
        .get(k)
        .map_or(u8::MAX, |f| u8::try_from(f.bin(v)).unwrap_or(u8::MAX))
}

/// Buckets of the time window.
const BUCKETS: u32 = 60;

/// Counts of rows by bin: per monitored feature, and of the probabilities. Fixed arrays (a
/// feature has at most ten bins; the unused ones stay zero), so a batch's counts cost no
/// allocation on the request path.
#[derive(Debug, Clone, Default)]
struct Counts {
    features: [[u64; MAX_BINS]; MONITORED.len()],
    prediction: [u64; PROBABILITY_BINS],
    rows: u64,
    positives: u64,
    confusion: Confusion,
}

impl Counts {
    fn empty() -> Self {
        Self::default()
    }

    fn add(&mut self, row: &Row) {
        for (counts, &bin) in self.features.iter_mut().zip(&row.bins) {
            counts[usize::from(bin)] += 1;
        }
        self.prediction[usize::from(row.prediction)] += 1;
        self.rows += 1;
        self.positives += u64::from(row.decided);
        self.confusion.add(row.p, row.decided);
    }

    fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.features.iter_mut().zip(&other.features) {
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m += t);
        }
        self.prediction
            .iter_mut()
            .zip(&other.prediction)
            .for_each(|(m, t)| *m += t);
        self.rows += other.rows;
        self.positives += other.positives;
        self.confusion.merge(&other.confusion);
    }
}

/// One scored row, binned.
#[derive(Debug, Clone, Copy)]
struct Row {
    bins: [u8; MONITORED.len()],
    prediction: u8,
    p: f64,
    decided: bool,
}

/// The totals since the model was loaded, counted without a lock.
#[derive(Debug)]
struct Totals {
    features: Vec<Vec<AtomicU64>>,
    prediction: Vec<AtomicU64>,
    rows: AtomicU64,
    positives: AtomicU64,
}

#[derive(Debug)]
struct Windows {
    /// The last rows, oldest first.
    rows: VecDeque<Row>,
    /// Per time bucket (its index since the epoch), oldest first.
    buckets: VecDeque<(u64, Counts)>,
}

/// What one served model has seen and said, against its profile.
#[derive(Debug)]
pub struct Monitor {
    profile: Arc<Profile>,
    version: String,
    /// Where each of the six stats is among the model's inputs.
    positions: [usize; 6],
    /// The bins of whole values, by lookup.
    tables: Tables,
    totals: Totals,
    windows: Mutex<Windows>,
    window_rows: usize,
    bucket: Duration,
}

impl Monitor {
    /// A monitor of a model of `input_features` (which must include the six stats) against
    /// `profile`, keeping the last `window_rows` rows and the last `window` of time.
    /// `None` for a model of other inputs.
    pub fn new(
        profile: Arc<Profile>,
        version: String,
        input_features: &[String],
        window_rows: usize,
        window: Duration,
    ) -> Option<Self> {
        let mut positions = [0; 6];
        for (slot, name) in positions.iter_mut().zip(&MONITORED) {
            *slot = input_features.iter().position(|f| f == name)?;
        }
        let totals = Totals {
            features: profile
                .features
                .iter()
                .map(|f| f.reference.iter().map(|_| AtomicU64::new(0)).collect())
                .collect(),
            prediction: (0..PROBABILITY_BINS).map(|_| AtomicU64::new(0)).collect(),
            rows: AtomicU64::new(0),
            positives: AtomicU64::new(0),
        };
        let tables = Tables::of(&profile);
        Some(Self {
            tables,
            totals,
            windows: Mutex::new(Windows {
                rows: VecDeque::with_capacity(window_rows.min(1 << 16)),
                buckets: VecDeque::with_capacity(BUCKETS as usize + 1),
            }),
            window_rows,
            bucket: (window / BUCKETS).max(Duration::from_secs(1)),
            profile,
            version,
            positions,
        })
    }

    /// The profile it compares with.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The model version it counts for (empty for a local model).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Counts a scored batch: `values` row-major in the model's input order, one probability
    /// and one decision per row.
    pub fn record(&self, values: &[f64], probabilities: &[f64], decisions: &[bool]) {
        self.record_at(values, probabilities, decisions, SystemTime::now());
    }

    /// Counts scored rows given as the six stats in [`MONITORED`] order (the demo API's),
    /// whatever the order of the model's inputs.
    pub fn record_stats(&self, rows: &[[f64; 6]], probabilities: &[f64], decisions: &[bool]) {
        let mut values = vec![0.0; rows.len() * 6];
        for (out, row) in values.chunks_exact_mut(6).zip(rows) {
            for (&at, &v) in self.positions.iter().zip(row) {
                if let Some(slot) = out.get_mut(at) {
                    *slot = v;
                }
            }
        }
        if self.positions.iter().all(|&at| at < 6) {
            self.record(&values, probabilities, decisions);
        }
    }

    fn record_at(
        &self,
        values: &[f64],
        probabilities: &[f64],
        decisions: &[bool],
        now: SystemTime,
    ) {
        let n_cols = values.len() / probabilities.len().max(1);
        if probabilities.is_empty() || n_cols == 0 {
            return;
        }
        if probabilities.iter().any(|p| !p.is_finite()) {
            // Rows without a probability (a model of other inputs answers NaN) are not
            // counted: the rest are, as a batch of their own. Rare, so copied.
            let mut kept = (Vec::new(), Vec::new(), Vec::new());
            for ((row, &p), &d) in values
                .chunks_exact(n_cols)
                .zip(probabilities)
                .zip(decisions)
            {
                if p.is_finite() {
                    kept.0.extend_from_slice(row);
                    kept.1.push(p);
                    kept.2.push(d);
                }
            }
            if !kept.1.is_empty() {
                self.record_at(&kept.0, &kept.1, &kept.2, now);
            }
            return;
        }
        let mut batch = Counts::empty();
        // Only the newest rows stay in the rows window.
        let keep_from = probabilities.len().saturating_sub(self.window_rows);
        let mut kept = Vec::with_capacity(probabilities.len() - keep_from);
        for (i, ((raw, &p), &decided)) in values
            .chunks_exact(n_cols)
            .zip(probabilities)
            .zip(decisions)
            .enumerate()
        {
            // The row is built first and binned in place: binning into a local array and
            // copying it in made the copy's wide load wait on seven byte stores (a
            // store-forwarding stall that was a sixth of the monitor's time).
            let mut row = Row {
                bins: [0; MONITORED.len()],
                prediction: u8::try_from(probability_bin(p)).unwrap_or(u8::MAX),
                p,
                decided,
            };
            // The six stats, then their total (the seventh monitored value), as the profile
            // reads them.
            let stats: [f64; 6] =
                std::array::from_fn(|k| raw.get(self.positions[k]).copied().unwrap_or(f64::NAN));
            for (k, (bin, v)) in row
                .bins
                .iter_mut()
                .zip(super::profile::monitored_values(&stats))
                .enumerate()
            {
                *bin = self.tables.bin(&self.profile, k, v);
            }
            batch.add(&row);
            if i >= keep_from {
                kept.push(row);
            }
        }
        for (totals, counts) in self.totals.features.iter().zip(&batch.features) {
            for (t, &c) in totals.iter().zip(counts) {
                if c > 0 {
                    t.fetch_add(c, Relaxed);
                }
            }
        }
        for (t, &c) in self.totals.prediction.iter().zip(&batch.prediction) {
            if c > 0 {
                t.fetch_add(c, Relaxed);
            }
        }
        self.totals.rows.fetch_add(batch.rows, Relaxed);
        self.totals.positives.fetch_add(batch.positives, Relaxed);

        let bucket = self.bucket_of(now);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let w = &mut *windows;
        let overflow = (w.rows.len() + kept.len()).saturating_sub(self.window_rows);
        w.rows.drain(..overflow.min(w.rows.len()));
        w.rows.extend(kept);
        match w.buckets.back_mut() {
            Some((at, counts)) if *at == bucket => counts.merge(&batch),
            _ => w.buckets.push_back((bucket, batch)),
        }
        Self::expire(&mut w.buckets, bucket);
    }

    fn bucket_of(&self, at: SystemTime) -> u64 {
        let since = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        since.as_secs() / self.bucket.as_secs().max(1)
    }

    /// Drops the buckets that left the window ending with bucket `now`.
    fn expire(buckets: &mut VecDeque<(u64, Counts)>, now: u64) {
        let oldest = now.saturating_sub(u64::from(BUCKETS) - 1);
        while buckets.front().is_some_and(|(at, _)| *at < oldest) {
            buckets.pop_front();
        }
    }

    /// The totals since the model was loaded: per feature and bin, per probability bin,
    /// rows, rows answered "legendary".
    pub(crate) fn totals(&self) -> (Vec<Vec<u64>>, Vec<u64>, u64, u64) {
        let load = |v: &[AtomicU64]| v.iter().map(|c| c.load(Relaxed)).collect::<Vec<_>>();
        (
            self.totals.features.iter().map(|f| load(f)).collect(),
            load(&self.totals.prediction),
            self.totals.rows.load(Relaxed),
            self.totals.positives.load(Relaxed),
        )
    }

    /// Both windows against the profile, now.
    pub fn report(&self) -> MonitorReport {
        self.report_at(SystemTime::now())
    }

    fn report_at(&self, now: SystemTime) -> MonitorReport {
        let (rows_window, time_window) = {
            let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
            Self::expire(&mut windows.buckets, self.bucket_of(now));
            let mut by_rows = Counts::empty();
            windows.rows.iter().for_each(|r| by_rows.add(r));
            let mut by_time = Counts::empty();
            windows.buckets.iter().for_each(|(_, c)| by_time.merge(c));
            (by_rows, by_time)
        };
        let window_time = self.bucket * BUCKETS;
        let (_, _, rows, positives) = self.totals();
        let p = &self.profile.prediction;
        MonitorReport {
            version: self.version.clone(),
            reference: Reference {
                source: self.profile.source.clone(),
                rows: self.profile.rows,
                prediction_source: p.source.clone(),
                positive_rate: p.positive_rate,
                positive_rate_range: p.positive_rate_range,
            },
            rows_total: rows,
            positives_total: positives,
            windows: vec![
                self.window_report(
                    "rows",
                    format!("the last {} rows", self.window_rows),
                    &rows_window,
                ),
                self.window_report(
                    "time",
                    format!("the last {}", humantime::format_duration(window_time)),
                    &time_window,
                ),
            ],
            thresholds: Thresholds {
                psi: PSI_ALERT,
                js: JS_ALERT,
                min_rows: MIN_VERDICT_ROWS,
            },
        }
    }

    fn window_report(&self, window: &'static str, span: String, counts: &Counts) -> WindowReport {
        let enough = counts.rows >= MIN_VERDICT_ROWS;
        let drift = |name: &str, counts: &[u64], reference: &[f64]| {
            let psi = psi(counts, reference);
            let js = js_distance(counts, reference);
            Drift {
                name: name.to_owned(),
                psi,
                js,
                drifted: enough
                    && (psi.is_some_and(|v| v >= PSI_ALERT) || js.is_some_and(|v| v >= JS_ALERT)),
                counts: counts.to_vec(),
                reference: reference.to_vec(),
            }
        };
        let features = self
            .profile
            .features
            .iter()
            .zip(&counts.features)
            .map(|(f, c)| drift(&f.name, &c[..f.reference.len()], &f.reference))
            .collect();
        #[allow(clippy::cast_precision_loss, reason = "counts of rows")]
        let positive_rate = (counts.rows > 0).then(|| counts.positives as f64 / counts.rows as f64);
        let [lo, hi] = self.profile.prediction.positive_rate_range;
        WindowReport {
            window,
            span,
            rows: counts.rows,
            features,
            prediction: drift(
                "probability",
                &counts.prediction,
                &self.profile.prediction.reference,
            ),
            positive_rate,
            positive_rate_outside_range: enough && positive_rate.is_some_and(|r| r < lo || r > hi),
            expected: expected_of(&counts.confusion),
        }
    }
}

/// `GET /monitoring`: the served model's reference and both windows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonitorReport {
    /// The served model version counted (empty for a local model).
    pub version: String,
    /// What the windows are compared with.
    pub reference: Reference,
    /// Rows counted since the model was loaded.
    pub rows_total: u64,
    /// Of them, answered "legendary".
    pub positives_total: u64,
    /// The last rows, and the last minutes.
    pub windows: Vec<WindowReport>,
    /// Where drift starts.
    pub thresholds: Thresholds,
}

/// The reference profile, in short.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reference {
    /// Where its rows came from.
    pub source: String,
    /// How many.
    pub rows: usize,
    /// Where its probabilities came from.
    pub prediction_source: String,
    /// The share of "legendary" answers on them.
    pub positive_rate: f64,
    /// The range that share may take without alarm.
    pub positive_rate_range: [f64; 2],
}

/// The drift thresholds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Thresholds {
    /// A population stability index at or over this is drift.
    pub psi: f64,
    /// A Jensen–Shannon distance at or over this is drift.
    pub js: f64,
    /// Windows of fewer rows give no verdict.
    pub min_rows: u64,
}

/// One window against the profile.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WindowReport {
    /// `rows` or `time`.
    pub window: &'static str,
    /// What it spans, in words.
    pub span: String,
    /// Rows in it.
    pub rows: u64,
    /// Per monitored feature.
    pub features: Vec<Drift>,
    /// The probabilities' histogram.
    pub prediction: Drift,
    /// The share answered "legendary"; `None` for no rows.
    pub positive_rate: Option<f64>,
    /// That share is outside the reference's range, in a window of at least 500 rows.
    pub positive_rate_outside_range: bool,
    /// Expected precision, recall and F1 from the probabilities (no labels needed).
    pub expected: Expected,
}

/// One distribution against its reference.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Drift {
    /// The feature (or `probability`).
    pub name: String,
    /// Population stability index; `None` for no rows.
    pub psi: Option<f64>,
    /// Jensen–Shannon distance; `None` for no rows.
    pub js: Option<f64>,
    /// Either is at or over its threshold, in a window of at least 500 rows.
    pub drifted: bool,
    /// Rows per bin.
    pub counts: Vec<u64>,
    /// The reference's share per bin.
    pub reference: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::profile::Answers;

    fn profile() -> Arc<Profile> {
        let rows: Vec<[f64; 6]> = (0..100)
            .map(|i| {
                let v = f64::from(i);
                [v, v, v, v, v, v]
            })
            .collect();
        let probabilities: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let decisions: Vec<bool> = probabilities.iter().map(|&p| p > 0.8).collect();
        Arc::new(Profile::build(
            "test".into(),
            &rows,
            &Answers {
                source: "test".into(),
                probabilities: &probabilities,
                decisions: &decisions,
                fold_rates: vec![0.1, 0.3],
            },
        ))
    }

    fn stats() -> Vec<String> {
        MONITORED[..6].iter().map(|s| (*s).to_owned()).collect()
    }

    /// A monitor of a model of `inputs` on [`profile`], keeping 10 rows and a minute.
    fn small(inputs: &[String]) -> Monitor {
        Monitor::new(
            profile(),
            String::new(),
            inputs,
            10,
            Duration::from_secs(60),
        )
        .unwrap()
    }

    #[test]
    fn rows_like_the_reference_do_not_drift_and_shifted_ones_do() {
        let monitor = Monitor::new(
            profile(),
            "3".into(),
            &stats(),
            500,
            Duration::from_secs(3600),
        )
        .unwrap();
        let like: Vec<f64> = (0..500).flat_map(|i| [f64::from(i % 100); 6]).collect();
        let p: Vec<f64> = (0..500).map(|i| f64::from(i % 100) / 100.0).collect();
        let d: Vec<bool> = p.iter().map(|&p| p > 0.8).collect();
        monitor.record(&like, &p, &d);
        let report = monitor.report();
        let rows = &report.windows[0];
        assert_eq!(rows.rows, 500);
        assert!(
            rows.features
                .iter()
                .all(|f| f.psi == Some(0.0) && !f.drifted)
        );
        assert_eq!(rows.positive_rate, Some(0.19));
        assert!(!rows.positive_rate_outside_range);
        // Rows 60 higher: the rows window keeps the newest 500, the time window all.
        let shifted: Vec<f64> = (0..500)
            .flat_map(|i| [f64::from(i % 100) + 60.0; 6])
            .collect();
        monitor.record(&shifted, &p, &d);
        let report = monitor.report();
        assert_eq!(
            (report.windows[0].rows, report.windows[1].rows),
            (500, 1000)
        );
        assert!(report.windows[0].features.iter().all(|f| f.drifted));
        assert_eq!(report.rows_total, 1000);
        let (features, prediction, rows, positives) = monitor.totals();
        assert_eq!(features[0].iter().sum::<u64>(), 1000);
        assert_eq!(
            (prediction.iter().sum::<u64>(), rows, positives),
            (1000, 1000, 190)
        );
        // A few rows far away give numbers, not a verdict.
        let few = Monitor::new(
            profile(),
            String::new(),
            &stats(),
            500,
            Duration::from_secs(60),
        )
        .unwrap();
        few.record(&[1e6; 6], &[0.5], &[false]);
        let report = few.report();
        assert!(report.windows[0].features[0].psi.unwrap() > 1.0);
        assert!(!report.windows[0].features[0].drifted);
    }

    #[test]
    fn a_table_lookup_bins_as_the_edges_do() {
        let profile = profile();
        let monitor = Monitor::new(
            Arc::clone(&profile),
            String::new(),
            &stats(),
            10,
            Duration::from_secs(60),
        )
        .unwrap();
        for (k, feature) in profile.features.iter().enumerate() {
            for v in (-10..3000).map(f64::from).chain([
                0.5,
                99.5,
                -0.0,
                -0.5,
                1e9,
                65_535.0,
                2048.5,
                f64::from(TABLE_MAX),
            ]) {
                assert_eq!(
                    usize::from(monitor.tables.bin(&profile, k, v)),
                    feature.bin(v),
                    "{v}"
                );
            }
        }
    }

    #[test]
    fn the_time_window_forgets_what_is_older_than_it() {
        let monitor = small(&stats());
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        monitor.record_at(&[1.0; 6], &[0.5], &[false], start);
        monitor.record_at(&[2.0; 6], &[0.9], &[true], start + Duration::from_secs(30));
        assert_eq!(
            monitor.report_at(start + Duration::from_secs(40)).windows[1].rows,
            2
        );
        assert_eq!(
            monitor.report_at(start + Duration::from_secs(75)).windows[1].rows,
            1
        );
        assert_eq!(
            monitor.report_at(start + Duration::from_secs(200)).windows[1].rows,
            0
        );
        // The rows window does not forget with time.
        assert_eq!(
            monitor.report_at(start + Duration::from_secs(200)).windows[0].rows,
            2
        );
    }

    #[test]
    fn a_model_without_the_six_stats_is_not_monitored_and_inputs_are_found_by_name() {
        let other = vec!["a".to_owned(), "b".to_owned()];
        assert!(
            Monitor::new(
                profile(),
                String::new(),
                &other,
                10,
                Duration::from_secs(60)
            )
            .is_none()
        );
        // Inputs in another order (a scikit-learn model's feature_names_in_).
        let mut reordered = stats();
        reordered.reverse();
        let monitor = small(&reordered);
        // speed .. hp = 99, 0, 0, 0, 0, 0: hp is 0 (bin 0), speed 99 (the last bin).
        monitor.record(&[99.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[0.1], &[false]);
        let (features, _, _, _) = monitor.totals();
        assert_eq!(features[0][0], 1);
        assert_eq!(*features[5].last().unwrap(), 1);
    }

    #[test]
    fn rows_without_a_probability_are_not_counted_and_the_others_are() {
        let monitor = small(&stats());
        let values: Vec<f64> = [0.0, 99.0, 50.0].iter().flat_map(|&v| [v; 6]).collect();
        monitor.record(&values, &[0.9, f64::NAN, 0.2], &[true, false, false]);
        let (features, prediction, rows, positives) = monitor.totals();
        assert_eq!((rows, positives), (2, 1));
        // hp 0 and hp 50 were counted, hp 99 (the NaN row) was not.
        assert_eq!(features[0][0], 1);
        assert_eq!(*features[0].last().unwrap(), 0);
        assert_eq!(prediction[9] + prediction[2], 2);
        let report = monitor.report();
        assert_eq!(report.windows[0].rows, 2);
    }
}
