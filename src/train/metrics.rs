//! Binary classification metrics from labels, probabilities and a decision threshold.

use serde::Serialize;

/// The evaluation of one model on one set of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Fraction of rows classified correctly.
    pub accuracy: f64,
    /// Of the rows called legendary, the fraction that are.
    pub precision: f64,
    /// Of the legendary rows, the fraction found.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Area under the ROC curve of the probability (ties count one half).
    pub roc_auc: f64,
    /// Mean cross-entropy of the probability, clipped to [1e-15, 1 - 1e-15] as scikit-learn does.
    pub log_loss: f64,
    /// Mean squared difference between the probability and the label (0 or 1).
    pub brier: f64,
    /// Expected calibration error: over [`ECE_BINS`] equal-width bins of the probability,
    /// the row-weighted mean of |mean probability - fraction legendary|.
    pub ece: f64,
    /// `[[tn, fp], [fn, tp]]`, rows are the truth, columns the prediction (scikit-learn's layout).
    pub confusion_matrix: [[u64; 2]; 2],
    /// Number of rows evaluated.
    pub rows: u64,
}

impl Metrics {
    /// Evaluates probabilities `proba` (what the model reports, calibrated if it is) against
    /// `labels`, calling legendary when `p > threshold`.
    pub(crate) fn compute(labels: &[bool], proba: &[f64], threshold: f64) -> Self {
        let decided: Vec<bool> = proba.iter().map(|&p| p > threshold).collect();
        Self::of_decisions(labels, proba, &decided)
    }

    /// Evaluates probabilities and the decisions taken on them (a model's own threshold
    /// rule, which can differ row by row between two models the gate pairs).
    pub(crate) fn of_decisions(labels: &[bool], proba: &[f64], decided: &[bool]) -> Self {
        let mut cm = [[0u64; 2]; 2];
        for (&y, &d) in labels.iter().zip(decided) {
            cm[usize::from(y)][usize::from(d)] += 1;
        }
        let [[tn, _], [_, tp]] = cm;
        let [precision, recall, f1] = precision_recall_f1(cm);
        Self {
            accuracy: ratio(tp + tn, labels.len() as u64),
            precision,
            recall,
            f1,
            roc_auc: roc_auc(labels, proba),
            log_loss: log_loss(labels, proba),
            brier: brier(labels, proba),
            ece: expected_calibration_error(labels, proba),
            confusion_matrix: cm,
            rows: labels.len() as u64,
        }
    }

    /// The value of one metric.
    pub fn get(&self, name: MetricName) -> f64 {
        match name {
            MetricName::Accuracy => self.accuracy,
            MetricName::Precision => self.precision,
            MetricName::Recall => self.recall,
            MetricName::F1 => self.f1,
            MetricName::RocAuc => self.roc_auc,
            MetricName::LogLoss => self.log_loss,
            MetricName::Brier => self.brier,
            MetricName::Ece => self.ece,
        }
    }

    /// Every scalar metric with its name, in [`MetricName::ALL`] order, for MLflow and tables.
    pub(crate) fn scalars(&self) -> impl Iterator<Item = (MetricName, f64)> + '_ {
        MetricName::ALL
            .into_iter()
            .map(|name| (name, self.get(name)))
    }
}

/// The scalar metrics by name: what the gate compares, what a sweep ranks by and what is
/// logged, so that a misspelt name is refused where it is typed, not after training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    /// Fraction of rows classified correctly.
    Accuracy,
    /// Of the rows called legendary, the fraction that are.
    Precision,
    /// Of the legendary rows, the fraction found.
    Recall,
    /// Harmonic mean of precision and recall.
    F1,
    /// Area under the ROC curve.
    RocAuc,
    /// Cross-entropy (lower is better).
    LogLoss,
    /// Brier score (lower is better).
    Brier,
    /// Expected calibration error (lower is better).
    Ece,
}

impl MetricName {
    /// Every metric, in the order tables and logs use.
    pub const ALL: [Self; 8] = [
        Self::Accuracy,
        Self::Precision,
        Self::Recall,
        Self::F1,
        Self::RocAuc,
        Self::LogLoss,
        Self::Brier,
        Self::Ece,
    ];

    /// The name MLflow and the flags use: `roc_auc`, `f1`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Precision => "precision",
            Self::Recall => "recall",
            Self::F1 => "f1",
            Self::RocAuc => "roc_auc",
            Self::LogLoss => "log_loss",
            Self::Brier => "brier",
            Self::Ece => "ece",
        }
    }

    /// Larger is better, except for the losses: log loss, Brier score and calibration error.
    pub(crate) fn higher_is_better(self) -> bool {
        !matches!(self, Self::LogLoss | Self::Brier | Self::Ece)
    }

    /// How much better `challenger` is than `champion` (positive: better), whatever the direction.
    pub fn improvement(self, champion: f64, challenger: f64) -> f64 {
        if self.higher_is_better() {
            challenger - champion
        } else {
            champion - challenger
        }
    }
}

impl std::fmt::Display for MetricName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MetricName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.as_str()).collect();
                format!("unknown metric '{s}': expected one of {}", names.join(", "))
            })
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Precision, recall and F1 of a confusion matrix `[[tn, fp], [fn, tp]]` (0 where undefined).
pub(crate) fn precision_recall_f1(cm: [[u64; 2]; 2]) -> [f64; 3] {
    let [[_, fp], [fn_, tp]] = cm;
    let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    [precision, recall, f1]
}

/// ROC AUC by the rank-sum (Mann-Whitney U) formula, averaging ranks over ties.
/// Returns NaN when only one class is present.
pub fn roc_auc(labels: &[bool], proba: &[f64]) -> f64 {
    let n_pos = labels.iter().filter(|&&y| y).count() as f64;
    let n_neg = labels.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..proba.len()).collect();
    order.sort_by(|&a, &b| proba[a].total_cmp(&proba[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && proba[order[j + 1]] == proba[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += order[i..=j].iter().filter(|&&k| labels[k]).count() as f64 * avg_rank;
        i = j + 1;
    }
    (rank_sum_pos - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// Mean binary cross-entropy with scikit-learn's clipping.
pub(crate) fn log_loss(labels: &[bool], proba: &[f64]) -> f64 {
    const EPS: f64 = 1e-15;
    let sum: f64 = labels
        .iter()
        .zip(proba)
        .map(|(&y, &p)| {
            let p = p.clamp(EPS, 1.0 - EPS);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    sum / labels.len().max(1) as f64
}

/// Mean squared error of the probability against the 0/1 label (scikit-learn's
/// `brier_score_loss`).
pub(crate) fn brier(labels: &[bool], proba: &[f64]) -> f64 {
    let sum: f64 = labels
        .iter()
        .zip(proba)
        .map(|(&y, &p)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    sum / labels.len().max(1) as f64
}

/// Bins of the expected calibration error and the reliability plot: [0, 0.1), [0.1, 0.2),
/// ... [0.9, 1.0], the last one closed.
pub const ECE_BINS: usize = 10;

/// One bin of probabilities: how many rows fell in it, their mean probability and the
/// fraction of them that are legendary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Bin {
    /// Rows whose probability is in the bin.
    pub rows: u64,
    /// Their mean probability.
    pub mean_proba: f64,
    /// The fraction of them that are legendary.
    pub positive_rate: f64,
}

/// The [`ECE_BINS`] equal-width bins of `proba` (a probability outside [0, 1] goes to the
/// nearest end bin), for the calibration error and the reliability plot: scikit-learn's
/// `calibration_curve(strategy="uniform")` bins.
pub(crate) fn reliability(labels: &[bool], proba: &[f64]) -> [Bin; ECE_BINS] {
    let mut sums = [(0_u64, 0.0, 0.0); ECE_BINS];
    let width = 1.0 / ECE_BINS as f64;
    for (&y, &p) in labels.iter().zip(proba) {
        // The inner edges at or below p, each `k * width` as NumPy's `linspace` computes it,
        // so a probability on an edge lands where scikit-learn's `calibration_curve` puts it.
        let bin = (1..ECE_BINS).filter(|&k| k as f64 * width <= p).count();
        let s = &mut sums[bin];
        s.0 += 1;
        s.1 += p;
        s.2 += f64::from(u8::from(y));
    }
    sums.map(|(rows, p, y)| match rows {
        0 => Bin::default(),
        n => Bin {
            rows: n,
            mean_proba: p / n as f64,
            positive_rate: y / n as f64,
        },
    })
}

/// Expected calibration error over [`ECE_BINS`] equal-width bins: the mean over rows of the
/// gap between their bin's mean probability and fraction legendary.
pub(crate) fn expected_calibration_error(labels: &[bool], proba: &[f64]) -> f64 {
    let total = labels.len().max(1) as f64;
    reliability(labels, proba)
        .iter()
        .map(|b| b.rows as f64 / total * (b.mean_proba - b.positive_rate).abs())
        .sum()
}

/// Points of the ROC curve (false positive rate, true positive rate), one per distinct score.
pub(crate) fn roc_curve(labels: &[bool], proba: &[f64]) -> Vec<(f64, f64)> {
    let n_pos = labels.iter().filter(|&&y| y).count().max(1) as f64;
    let n_neg = (labels.len() as f64 - labels.iter().filter(|&&y| y).count() as f64).max(1.0);
    let mut order: Vec<usize> = (0..proba.len()).collect();
    order.sort_by(|&a, &b| proba[b].total_cmp(&proba[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0
        } else {
            fp += 1.0
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&n| proba[n] != proba[i]);
        if last_of_tie {
            points.push((fp / n_neg, tp / n_pos));
        }
    }
    points
}

/// Mean and (population) standard deviation.
pub(crate) fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_ranking_has_auc_one_and_a_reversed_one_zero() {
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&y, &[0.1, 0.2, 0.8, 0.9]), 1.0);
        assert_eq!(roc_auc(&y, &[0.9, 0.8, 0.2, 0.1]), 0.0);
        assert_eq!(roc_auc(&y, &[0.5, 0.5, 0.5, 0.5]), 0.5);
    }

    #[test]
    fn auc_matches_a_hand_computed_example_with_ties() {
        // pairs (pos, neg): (0.4 vs 0.1)=1, (0.4 vs 0.4)=0.5, (0.35 vs 0.1)=1, (0.35 vs 0.4)=0 -> 2.5/4
        let y = [false, true, false, true];
        assert!((roc_auc(&y, &[0.1, 0.4, 0.4, 0.35]) - 0.625).abs() < 1e-12);
    }

    #[test]
    fn confusion_matrix_and_scores_agree() {
        let y = [true, true, false, false, true];
        let p = [0.9, 0.2, 0.7, 0.1, 0.6];
        let m = Metrics::compute(&y, &p, 0.5);
        assert_eq!(m.confusion_matrix, [[1, 1], [1, 2]]);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
    }

    #[test]
    fn log_loss_is_clipped_not_infinite() {
        let l = log_loss(&[true], &[0.0]);
        assert!(l.is_finite() && l > 30.0);
    }

    #[test]
    fn brier_and_calibration_error_match_hand_computed_values() {
        let y = [true, false, true, false, false];
        let p = [0.9, 0.2, 0.6, 0.05, 1.0];
        // (0.01 + 0.04 + 0.16 + 0.0025 + 1) / 5
        assert!((brier(&y, &p) - 1.2125 / 5.0).abs() < 1e-12);
        // Bins: [0, .1): {.05: 0} gap .05; [.2, .3): {.2: 0} gap .2; [.6, .7): {.6: 1} gap .4;
        // [.9, 1]: {.9: 1, 1.0: 0} mean .95, rate .5, gap .45 for two rows.
        let ece = (0.05 + 0.2 + 0.4 + 2.0 * 0.45) / 5.0;
        assert!((expected_calibration_error(&y, &p) - ece).abs() < 1e-12);
        let bins = reliability(&y, &p);
        assert_eq!(bins.iter().map(|b| b.rows).sum::<u64>(), 5);
        assert_eq!(bins[9].rows, 2);
        // Perfect answers: no error of either kind.
        let sure = [1.0, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(brier(&y, &sure), 0.0);
        assert_eq!(expected_calibration_error(&y, &sure), 0.0);
        let m = Metrics::compute(&y, &p, 0.5);
        assert_eq!(m.get(MetricName::Brier), m.brier);
        assert_eq!(m.get(MetricName::Ece), m.ece);
        assert!(!MetricName::Ece.higher_is_better());
        assert_eq!("brier".parse::<MetricName>(), Ok(MetricName::Brier));
        assert!(MetricName::Brier.improvement(0.04, 0.03) > 0.0);
    }

    #[test]
    fn roc_curve_runs_from_origin_to_one_one() {
        let pts = roc_curve(&[false, true, true, false], &[0.2, 0.9, 0.4, 0.4]);
        assert_eq!(pts.first(), Some(&(0.0, 0.0)));
        assert_eq!(pts.last(), Some(&(1.0, 1.0)));
    }
}
