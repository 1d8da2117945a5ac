//! The gate's checks and its verdict: every number the decision rests on, each check passed
//! or failed, as a table a person reads and a record MLflow keeps.
//!
//! The challenger is promoted only when every check passes:
//! - **gain**: the paired bootstrap interval of its gain over the champion (in the gate
//!   metric's own direction) lies above the minimum improvement, so a lucky split cannot
//!   promote a model that is only as good; when the challenger was trained on other data
//!   (the catalogue moved), above minus the new-data tolerance: the champion has not seen the
//!   new rows, so a challenger that is not worse replaces it;
//! - **floors**: each floored metric of the challenger, on all its held-out rows, is at
//!   least (lower-is-better metrics: at most) its floor;
//! - **slices**: on each generation of the paired rows, and so on the newest one on its own,
//!   the slice's own paired interval of the gain does not lie wholly below minus the allowed
//!   regression, so a model better on average but clearly worse on the generation that just
//!   arrived is refused, and a slice that a few rows move by chance does not refuse a better
//!   one.

use std::fmt;

use super::bootstrap::{Interval, gain_interval};
use super::pairing::Paired;
use crate::train::{MetricName, Metrics};

/// How strict the gate is, beyond the metric and the margin.
#[derive(Debug, Clone, PartialEq)]
pub struct GateRules {
    /// The two-sided confidence of the gain's interval (0.95: its lower end is the gain the
    /// challenger shows with 97.5 % confidence).
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Absolute floors on the challenger's metrics.
    pub floors: Vec<(MetricName, f64)>,
    /// The metric compared on each generation.
    pub slice_metric: MetricName,
    /// The most the challenger may be worse on one generation.
    pub max_slice_regression: f64,
    /// Generations with fewer paired rows are shown but not checked.
    pub min_slice_rows: usize,
    /// When the challenger was trained on other data than the champion (the catalogue moved:
    /// a new generation, newly labelled rows), the lower end of its gain's interval need only
    /// be above minus this: the champion has not seen the new data, so a challenger that is
    /// not worse replaces it (non-inferiority), while on the same data it must be better.
    pub new_data_tolerance: f64,
}

impl Default for GateRules {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            resamples: 2000,
            floors: Vec::new(),
            slice_metric: MetricName::Brier,
            max_slice_regression: 0.02,
            min_slice_rows: 10,
            new_data_tolerance: 0.02,
        }
    }
}

/// What a check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CheckKind {
    /// The challenger against the champion on every paired row (or against its run's score).
    Gain,
    /// The challenger against an absolute floor.
    Floor,
    /// The challenger against the champion on one generation's rows.
    Slice,
}

impl CheckKind {
    /// The word in the table, the tags and `decision.json`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Gain => "gain",
            Self::Floor => "floor",
            Self::Slice => "slice",
        }
    }
}

impl std::fmt::Display for CheckKind {
    /// Pads as a `str` does, for the table's columns.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One line of the verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Check {
    /// What was checked.
    pub kind: CheckKind,
    /// Which rows or which metric, in words.
    pub scope: String,
    /// The generation of a slice check (its MLflow step).
    pub generation: Option<u8>,
    /// The metric.
    pub metric: MetricName,
    /// The challenger's value.
    pub challenger: f64,
    /// The champion's value, for comparisons.
    pub champion: Option<f64>,
    /// Challenger over champion in the metric's own direction (positive: better).
    pub gain: Option<f64>,
    /// The gain's bootstrap interval.
    pub interval: Option<Interval>,
    /// The rule, in words.
    pub rule: String,
    /// Whether it passed.
    pub passed: bool,
}

/// Everything the gate decided on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Verdict {
    /// Promoted: every check passed.
    pub promoted: bool,
    /// The champion's version, when there is one.
    pub champion: Option<String>,
    /// How the champion's answers were obtained.
    pub champion_source: String,
    /// Rows both models were judged on.
    pub rows: usize,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// The checks that failed, as `kind scope` (for tags and messages).
    pub(crate) fn failed(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{} {} ({})", c.kind, c.scope, c.metric))
            .collect()
    }

    /// The gain check, when the champion was compared.
    pub(crate) fn gain(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.kind == CheckKind::Gain)
    }
}

/// What the gate judges.
pub(crate) enum Evidence<'a> {
    /// No champion: the floors alone decide.
    NoChampion,
    /// Both models' answers on the same rows.
    Paired {
        /// The champion's version.
        version: &'a str,
        /// The rows and answers.
        paired: &'a Paired,
        /// The challenger was trained on other data than the champion.
        new_data: bool,
    },
    /// No row could be paired fairly: the champion's score from its own run (a refitted
    /// champion without a logged hold-out), compared point to point.
    Score {
        /// The champion's version.
        version: &'a str,
        /// Its logged score of the gate metric.
        score: f64,
        /// Where the score comes from.
        source: &'a str,
    },
}

/// The gate's verdict on `challenger` (its metrics on all its held-out rows) against
/// `evidence`, comparing `metric` with margin `min_improvement` under `rules`.
pub(crate) fn judge(
    metric: MetricName,
    min_improvement: f64,
    rules: &GateRules,
    challenger: &Metrics,
    evidence: &Evidence<'_>,
) -> Verdict {
    let mut checks = Vec::new();
    let (champion, champion_source, rows) = match evidence {
        Evidence::NoChampion => (None, String::new(), challenger.rows as usize),
        Evidence::Paired {
            version,
            paired,
            new_data,
        } => {
            let (bar, why) = if *new_data {
                (-rules.new_data_tolerance, " (new data: not worse)")
            } else {
                (min_improvement, "")
            };
            checks.push(gain_check(metric, bar, why, rules, paired));
            checks.extend(slice_checks(rules, paired));
            (
                Some((*version).to_owned()),
                paired.champion_source(),
                paired.labels.len(),
            )
        }
        Evidence::Score {
            version,
            score,
            source,
        } => {
            let value = challenger.get(metric);
            let gain = metric.improvement(*score, value);
            checks.push(Check {
                kind: CheckKind::Gain,
                scope: "its run's logged score (no row could be paired)".to_owned(),
                generation: None,
                metric,
                challenger: value,
                champion: Some(*score),
                gain: Some(gain),
                interval: None,
                rule: format!("gain ≥ {min_improvement}"),
                passed: gain >= min_improvement,
            });
            (
                Some((*version).to_owned()),
                (*source).to_owned(),
                challenger.rows as usize,
            )
        }
    };
    checks.extend(rules.floors.iter().map(|&(m, floor)| {
        let value = challenger.get(m);
        let (passed, rule) = if m.higher_is_better() {
            (value >= floor, format!("≥ {floor}"))
        } else {
            (value <= floor, format!("≤ {floor}"))
        };
        Check {
            kind: CheckKind::Floor,
            scope: format!("all {} held-out rows", challenger.rows),
            generation: None,
            metric: m,
            challenger: value,
            champion: None,
            gain: None,
            interval: None,
            rule,
            passed,
        }
    }));
    Verdict {
        promoted: checks.iter().all(|c| c.passed),
        champion,
        champion_source,
        rows,
        checks,
    }
}

fn metrics_of(labels: &[bool], a: &super::pairing::Answers) -> Metrics {
    Metrics::of_decisions(labels, &a.proba, &a.decided)
}

/// The gain check: the lower end of the gain's interval above `bar` (`why` says which bar).
fn gain_check(
    metric: MetricName,
    bar: f64,
    why: &str,
    rules: &GateRules,
    paired: &Paired,
) -> Check {
    let champion = metrics_of(&paired.labels, &paired.champion).get(metric);
    let challenger = metrics_of(&paired.labels, &paired.challenger).get(metric);
    let interval = gain_interval(
        &paired.labels,
        &paired.champion,
        &paired.challenger,
        metric,
        rules.resamples,
        rules.confidence,
    );
    Check {
        kind: CheckKind::Gain,
        scope: format!("{} paired rows", paired.labels.len()),
        generation: None,
        metric,
        challenger,
        champion: Some(champion),
        gain: Some(metric.improvement(champion, challenger)),
        interval,
        rule: format!(
            "{:.0} % interval above {bar}{why}",
            rules.confidence * 100.0
        ),
        passed: interval.is_some_and(|i| i.low > bar),
    }
}

fn slice_checks(rules: &GateRules, paired: &Paired) -> Vec<Check> {
    let mut generations: Vec<u8> = paired.generations.clone();
    generations.sort_unstable();
    generations.dedup();
    let newest = generations.last().copied();
    generations
        .iter()
        .map(|&g| {
            let idx: Vec<usize> = (0..paired.labels.len())
                .filter(|&i| paired.generations[i] == g)
                .collect();
            let labels: Vec<bool> = idx.iter().map(|&i| paired.labels[i]).collect();
            let pick = |a: &super::pairing::Answers| super::pairing::Answers {
                proba: idx.iter().map(|&i| a.proba[i]).collect(),
                decided: idx.iter().map(|&i| a.decided[i]).collect(),
            };
            let m = rules.slice_metric;
            let (champion_answers, challenger_answers) =
                (pick(&paired.champion), pick(&paired.challenger));
            let champion = metrics_of(&labels, &champion_answers).get(m);
            let challenger = metrics_of(&labels, &challenger_answers).get(m);
            let gain = m.improvement(champion, challenger);
            let checked = idx.len() >= rules.min_slice_rows;
            let interval = checked
                .then(|| {
                    gain_interval(
                        &labels,
                        &champion_answers,
                        &challenger_answers,
                        m,
                        rules.resamples,
                        rules.confidence,
                    )
                })
                .flatten();
            let newest = if Some(g) == newest { " (newest)" } else { "" };
            Check {
                kind: CheckKind::Slice,
                scope: format!("generation {g}{newest}, {} rows", idx.len()),
                generation: Some(g),
                metric: m,
                challenger,
                champion: Some(champion),
                gain: Some(gain),
                interval,
                rule: if checked {
                    format!("interval not all below -{}", rules.max_slice_regression)
                } else {
                    format!("not checked (under {} rows)", rules.min_slice_rows)
                },
                // Refused only when the whole interval shows a regression larger than allowed:
                // a generation holds a few dozen rows (the newest, 17 stat lines with 2 legendaries in
                // the bundled data), a few of them move its score, and one unlucky slice must
                // not keep a better model out. A slice metric that is not a number (no row of
                // a class) is not a regression.
                passed: !checked
                    || gain.is_nan()
                    || interval.is_none_or(|i| i.high >= -rules.max_slice_regression),
            }
        })
        .collect()
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.4}"));
        writeln!(
            f,
            "  {:<6} {:<34} {:<8} {:>10} {:>10} {:>8} {:>20}  {:<32} result",
            "check", "rows", "metric", "challenger", "champion", "gain", "interval", "rule"
        )?;
        for c in &self.checks {
            let interval = c
                .interval
                .map_or_else(String::new, |i| format!("[{:.4}, {:.4}]", i.low, i.high));
            writeln!(
                f,
                "  {:<6} {:<34} {:<8} {:>10} {:>10} {:>8} {:>20}  {:<32} {}",
                c.kind,
                c.scope,
                c.metric.as_str(),
                format!("{:.4}", c.challenger),
                num(c.champion),
                num(c.gain),
                interval,
                c.rule,
                if c.passed { "pass" } else { "FAIL" }
            )?;
        }
        if !self.champion_source.is_empty() {
            writeln!(f, "  champion's answers: {}", self.champion_source)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::pairing::Answers;
    use super::*;

    /// 40 rows of generation 1 and 20 of generation 9, one in four legendary; the champion
    /// and challenger probabilities given per generation as (legendary, not).
    fn paired(champion: [(f64, f64); 2], challenger: [(f64, f64); 2]) -> Paired {
        let mut p = Paired::default();
        for (g, n) in [(1u8, 40), (9u8, 20)] {
            let s = usize::from(g == 9);
            for i in 0..n {
                let y = i % 4 == 0;
                let pick = |m: (f64, f64)| if y { m.0 } else { m.1 };
                // A little spread so ties do not decide ROC AUC.
                #[allow(clippy::cast_precision_loss, reason = "a test's spread")]
                let jitter = i as f64 * 1e-4;
                p.labels.push(y);
                p.generations.push(g);
                p.champion.proba.push(pick(champion[s]) + jitter);
                p.champion.decided.push(pick(champion[s]) > 0.5);
                p.challenger.proba.push(pick(challenger[s]) + jitter);
                p.challenger.decided.push(pick(challenger[s]) > 0.5);
            }
        }
        p.from_log = p.labels.len();
        p
    }

    fn metrics(labels: &[bool], a: &Answers) -> Metrics {
        Metrics::of_decisions(labels, &a.proba, &a.decided)
    }

    #[test]
    fn without_a_champion_only_the_floors_decide() {
        let m = metrics(&[true, false], &Answers::at_half(&[0.9, 0.1]));
        let rules = GateRules {
            floors: vec![(MetricName::RocAuc, 0.9), (MetricName::Brier, 0.001)],
            ..GateRules::default()
        };
        let v = judge(MetricName::RocAuc, 0.0, &rules, &m, &Evidence::NoChampion);
        assert!(!v.promoted);
        assert_eq!(v.failed(), vec!["floor all 2 held-out rows (brier)"]);
        let v = judge(
            MetricName::RocAuc,
            0.0,
            &GateRules::default(),
            &m,
            &Evidence::NoChampion,
        );
        assert!(v.promoted && v.checks.is_empty());
    }

    #[test]
    fn an_identical_challenger_is_refused_by_its_interval() {
        let p = paired([(0.8, 0.2), (0.6, 0.3)], [(0.8, 0.2), (0.6, 0.3)]);
        let m = metrics(&p.labels, &p.challenger);
        let v = judge(
            MetricName::Brier,
            0.0,
            &GateRules::default(),
            &m,
            &Evidence::Paired {
                version: "3",
                paired: &p,
                new_data: false,
            },
        );
        assert!(!v.promoted);
        assert_eq!(v.failed(), vec!["gain 60 paired rows (brier)"]);
        let table = v.to_string();
        assert!(table.contains("generation 9 (newest), 20 rows"), "{table}");
        assert!(table.contains("FAIL"), "{table}");
    }

    #[test]
    fn a_better_challenger_is_promoted_and_one_worse_on_the_newest_generation_is_not() {
        // Better everywhere: promoted.
        let p = paired([(0.7, 0.3), (0.6, 0.4)], [(0.9, 0.1), (0.8, 0.2)]);
        let m = metrics(&p.labels, &p.challenger);
        let evidence = Evidence::Paired {
            version: "3",
            paired: &p,
            new_data: false,
        };
        let v = judge(MetricName::Brier, 0.0, &GateRules::default(), &m, &evidence);
        assert!(v.promoted, "{v}");
        // Much better on generation 1, worse on generation 9: better on average, refused,
        // naming the slice.
        let p = paired([(0.6, 0.4), (0.8, 0.2)], [(0.99, 0.01), (0.6, 0.4)]);
        let m = metrics(&p.labels, &p.challenger);
        let evidence = Evidence::Paired {
            version: "3",
            paired: &p,
            new_data: false,
        };
        let v = judge(MetricName::Brier, 0.0, &GateRules::default(), &m, &evidence);
        let gain = v.gain().unwrap();
        assert!(gain.interval.unwrap().low > 0.0, "{v}");
        assert!(!v.promoted);
        assert_eq!(
            v.failed(),
            vec!["slice generation 9 (newest), 20 rows (brier)"]
        );
    }

    #[test]
    fn on_new_data_a_challenger_not_worse_is_promoted_and_a_worse_one_is_not() {
        // Equal answers: refused on the same data, promoted on new data.
        let p = paired([(0.8, 0.2), (0.6, 0.3)], [(0.8, 0.2), (0.6, 0.3)]);
        let m = metrics(&p.labels, &p.challenger);
        let judged = |new_data| {
            judge(
                MetricName::Brier,
                0.0,
                &GateRules::default(),
                &m,
                &Evidence::Paired {
                    version: "3",
                    paired: &p,
                    new_data,
                },
            )
        };
        assert!(!judged(false).promoted);
        let v = judged(true);
        assert!(v.promoted, "{v}");
        assert!(v.to_string().contains("(new data: not worse)"), "{v}");
        // Clearly worse everywhere: refused even on new data.
        let p = paired([(0.9, 0.1), (0.8, 0.2)], [(0.6, 0.4), (0.55, 0.45)]);
        let m = metrics(&p.labels, &p.challenger);
        let v = judge(
            MetricName::Brier,
            0.0,
            &GateRules::default(),
            &m,
            &Evidence::Paired {
                version: "3",
                paired: &p,
                new_data: true,
            },
        );
        assert!(!v.promoted, "{v}");
    }

    #[test]
    fn a_small_slice_is_shown_but_not_checked() {
        let p = paired([(0.6, 0.4), (0.8, 0.2)], [(0.99, 0.01), (0.6, 0.4)]);
        let m = metrics(&p.labels, &p.challenger);
        let rules = GateRules {
            min_slice_rows: 21,
            ..GateRules::default()
        };
        let evidence = Evidence::Paired {
            version: "3",
            paired: &p,
            new_data: false,
        };
        let v = judge(MetricName::Brier, 0.0, &rules, &m, &evidence);
        assert!(v.promoted, "{v}");
        assert!(v.to_string().contains("not checked (under 21 rows)"));
    }

    #[test]
    fn a_logged_score_is_compared_point_to_point() {
        let m = metrics(&[true, false], &Answers::at_half(&[0.9, 0.1]));
        let evidence = Evidence::Score {
            version: "2",
            score: 0.99,
            source: "its run",
        };
        let v = judge(
            MetricName::RocAuc,
            0.0,
            &GateRules::default(),
            &m,
            &evidence,
        );
        assert!(v.promoted, "{v}");
        let v = judge(
            MetricName::RocAuc,
            0.02,
            &GateRules::default(),
            &m,
            &evidence,
        );
        assert!(!v.promoted, "{v}");
    }
}
