//! Monitoring from inside the server: what the model sees (each feature's distribution) and
//! what it says (the probabilities, the share of "legendary"), compared with what it saw and
//! said in training.
//!
//! - `profile`: the reference a model carries (`monitoring_profile.json`): per feature, decile
//!   bin edges fixed at training and the training rows' share in each bin; the histogram of
//!   out-of-fold probabilities; the rate of "legendary" answers and its range across folds.
//! - `drift`: the population stability index and the Jensen–Shannon distance of a window
//!   against the reference, and confidence-based performance estimation (expected precision,
//!   recall and F1 from calibrated probabilities, without labels).
//! - `live`: the counts a served model keeps as it scores (totals for Prometheus, and two
//!   sliding windows: the last rows and the last minutes), read at scrape time and by
//!   `GET /monitoring`.
//! - `shadow`: a challenger scoring a sampled copy of live rows after the champion answered,
//!   on a budgeted worker thread.
//! - `payload_log`: a sampled copy of the answered rows, written in batches as a data package
//!   to label and train on (`--log-payloads`), through a queue bounded in bytes.
//! - `sample`: which rows a sampling share keeps (the shadow's and the payload log's).

mod drift;
mod live;
pub mod payload_log;
mod profile;
mod sample;
mod shadow;

pub use drift::{Expected, expected_quality, js_distance, psi};
pub use live::{
    Drift, JS_ALERT, MIN_VERDICT_ROWS, Monitor, MonitorReport, PSI_ALERT, Reference, Thresholds,
    WindowReport,
};
pub use profile::{
    Answers, FeatureProfile, MONITORED, PROBABILITY_BINS, PROFILE_FILE, PredictionProfile, Profile,
    monitored_values, probability_bin,
};
pub use shadow::{MAX_QUEUED_ROWS, Shadow, ShadowReport};
