//! The quality gate: a challenger is promoted only if it beats the champion on rows neither
//! was fitted on, by more than noise can explain, with no metric under its floor and no
//! generation much worse.
//!
//! - `pairing`: the rows both models are judged on and each one's answers there;
//! - `bootstrap`: the paired bootstrap interval of the challenger's gain;
//! - `verdict`: the checks (gain, floors, slices) and the table a person reads;
//! - `promote`: the errand (find the champion, judge, record, place).

mod bootstrap;
#[cfg(test)]
mod forest_tests;
mod pairing;
mod promote;
mod verdict;

pub(crate) use promote::{GATE_DIR, promote};
pub(crate) use verdict::GateRules;
pub(crate) use verdict::Verdict;
#[cfg(test)]
pub(crate) use verdict::{Check, CheckKind};

use crate::train::MetricName;
use legendary_mlflow::Stage;

/// How the gate decides.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// Registered model name.
    pub name: String,
    /// The alias that marks the champion (moved on promotion).
    pub alias: String,
    /// The stage that marks the champion (the challenger moves there, the old one is archived).
    pub stage: Stage,
    /// Metric compared, in its own direction (log loss: lower is better).
    pub metric: MetricName,
    /// The lower end of the gain's interval must be above this.
    pub min_improvement: f64,
    /// The interval's confidence, the floors and the slices.
    pub rules: GateRules,
}
