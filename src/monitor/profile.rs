//! The reference profile a model carries (`monitoring_profile.json` in its directory): what
//! its training rows looked like and what it answered on them, so a server can tell, without
//! labels and without copying payloads anywhere, when what it sees moves away from it.
//!
//! Bins are fixed at training: per feature, the deciles of the training rows
//! (`e_k = sorted[ceil(k·n/10) − 1]`, k = 1..9, repeated edges dropped); a value `v` is in bin
//! `i` = the number of edges below it, so bin `i` is `(e_i, e_{i+1}]`. Probabilities go into
//! ten fixed bins of width 0.1. The same definitions are in docs/monitoring.md, so anyone can
//! recompute the numbers.

use serde::{Deserialize, Serialize};

/// The file's name in a model directory.
pub const PROFILE_FILE: &str = "monitoring_profile.json";

/// The format written at the top of every profile.
const FORMAT: &str = "legendary.monitoring/v1";

/// The features monitored: the six stats and their total (a new generation moves the total
/// more than any one stat).
pub const MONITORED: [&str; 7] = legendary_forest::features_then(&["total"]);

/// Bins of the probability histogram: `[0, 0.1)`, …, `[0.9, 1]`.
pub const PROBABILITY_BINS: usize = 10;

/// Bins per feature at most: the nine decile edges give ten.
pub(super) const MAX_BINS: usize = 10;

/// The monitored values of one row of the six stats, in [`MONITORED`] order.
#[inline]
pub fn monitored_values(stats: &[f64]) -> [f64; 7] {
    let mut out = [0.0; 7];
    out[..6].copy_from_slice(&stats[..6]);
    out[6] = stats[..6].iter().sum();
    out
}

/// The probability histogram's bin of `p` (a probability in `[0, 1]`; 1 falls in the last
/// bin). A saturating cast rather than `floor`, which is a libm call on the request path:
/// the same bin for every probability (a negative one, or NaN, casts to 0).
#[inline]
pub fn probability_bin(p: f64) -> usize {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "saturating, then capped at the last bin"
    )]
    let bin = (p * 10.0) as usize;
    bin.min(PROBABILITY_BINS - 1)
}

/// One feature's bins and the training rows' share in each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeatureProfile {
    /// The feature, one of [`MONITORED`].
    pub name: String,
    /// The inner bin edges, strictly increasing (at most nine).
    pub edges: Vec<f64>,
    /// The share of the training rows in each bin (one more than the edges; sums to 1).
    pub reference: Vec<f64>,
}

impl FeatureProfile {
    /// The decile bins of `values` and their shares.
    fn fit(name: &str, values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mut edges: Vec<f64> = Vec::with_capacity(MAX_BINS - 1);
        for k in 1..MAX_BINS {
            // ceil(k·n/10) − 1, the type-1 quantile.
            let at = (k * n).div_ceil(MAX_BINS).saturating_sub(1);
            if let Some(&e) = sorted.get(at)
                && edges.last().is_none_or(|&last| e > last)
            {
                edges.push(e);
            }
        }
        let mut counts = vec![0u64; edges.len() + 1];
        for &v in values {
            counts[bin_of(&edges, v)] += 1;
        }
        Self {
            name: name.to_owned(),
            reference: shares(&counts),
            edges,
        }
    }

    /// The bin of `v`: how many edges are below it.
    pub fn bin(&self, v: f64) -> usize {
        bin_of(&self.edges, v)
    }
}

fn bin_of(edges: &[f64], v: f64) -> usize {
    edges.iter().filter(|&&e| e < v).count()
}

/// Counts as shares of their total (all zero for no counts).
fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    #[allow(clippy::cast_precision_loss, reason = "counts of rows")]
    counts
        .iter()
        .map(|&c| {
            if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            }
        })
        .collect()
}

/// What the model answered on rows like its training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PredictionProfile {
    /// Where the probabilities came from (out-of-fold, held out, or the rows given).
    pub source: String,
    /// The share of probabilities in each of the [`PROBABILITY_BINS`] bins.
    pub reference: Vec<f64>,
    /// The share of rows answered "legendary".
    pub positive_rate: f64,
    /// The range that share may take without alarm: across cross-validation folds, or a
    /// binomial interval when there were none.
    pub positive_rate_range: [f64; 2],
}

/// A model's reference profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Profile {
    /// `legendary.monitoring/v1`.
    pub format: String,
    /// Where the reference rows came from.
    pub source: String,
    /// How many rows.
    pub rows: usize,
    /// One per [`MONITORED`] feature, in that order.
    pub features: Vec<FeatureProfile>,
    /// The probabilities and answers on those rows (or their out-of-fold stand-ins).
    pub prediction: PredictionProfile,
}

/// The answers a profile's prediction part is built from.
#[derive(Debug, Clone)]
pub struct Answers<'a> {
    /// Where they came from.
    pub source: String,
    /// One probability per row.
    pub probabilities: &'a [f64],
    /// One decision per row.
    pub decisions: &'a [bool],
    /// The share of "legendary" answers in each cross-validation fold, when there were folds.
    pub fold_rates: Vec<f64>,
}

impl Profile {
    /// The profile of `rows` (the six stats each), described by `source`, and of the
    /// model's `answers` on them.
    pub fn build(source: String, rows: &[[f64; 6]], answers: &Answers<'_>) -> Self {
        let values: Vec<[f64; 7]> = rows.iter().map(|r| monitored_values(r)).collect();
        let features = MONITORED
            .iter()
            .enumerate()
            .map(|(f, name)| {
                let column: Vec<f64> = values.iter().map(|v| v[f]).collect();
                FeatureProfile::fit(name, &column)
            })
            .collect();
        let mut bins = vec![0u64; PROBABILITY_BINS];
        for &p in answers.probabilities {
            bins[probability_bin(p)] += 1;
        }
        let n = answers.decisions.len().max(1);
        #[allow(clippy::cast_precision_loss, reason = "counts of rows")]
        let rate = answers.decisions.iter().filter(|&&d| d).count() as f64 / n as f64;
        let range = if answers.fold_rates.is_empty() {
            // Three binomial standard errors of a rate measured on n rows.
            #[allow(clippy::cast_precision_loss, reason = "a count of rows")]
            let se = (rate * (1.0 - rate) / n as f64).sqrt();
            [(rate - 3.0 * se).max(0.0), (rate + 3.0 * se).min(1.0)]
        } else {
            let lo = answers.fold_rates.iter().copied().fold(rate, f64::min);
            let hi = answers.fold_rates.iter().copied().fold(rate, f64::max);
            [lo, hi]
        };
        Self {
            format: FORMAT.to_owned(),
            source,
            rows: rows.len(),
            features,
            prediction: PredictionProfile {
                source: answers.source.clone(),
                reference: shares(&bins),
                positive_rate: rate,
                positive_rate_range: range,
            },
        }
    }

    /// The file's bytes (pretty JSON, so it reads in the MLflow UI).
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Reads and checks the file's bytes.
    ///
    /// # Errors
    /// What is wrong: not JSON of this shape, another format, other features than
    /// [`MONITORED`], edges not strictly increasing or not finite, shares that are not a
    /// distribution, rates outside `[0, 1]`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let profile: Self =
            serde_json::from_slice(bytes).map_err(|e| format!("not a monitoring profile: {e}"))?;
        profile.check()?;
        Ok(profile)
    }

    /// Checks a profile read from elsewhere (the sandbox's compiled form) as a file is.
    ///
    /// # Errors
    /// As [`Profile::from_json`].
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format is '{}', not '{FORMAT}'", self.format));
        }
        let names: Vec<&str> = self.features.iter().map(|f| f.name.as_str()).collect();
        if names != MONITORED {
            return Err(format!("features must be {MONITORED:?}, found {names:?}"));
        }
        for f in &self.features {
            let increasing = f.edges.windows(2).all(|w| w[0] < w[1]);
            if f.edges.len() >= MAX_BINS || !increasing || f.edges.iter().any(|e| !e.is_finite()) {
                return Err(format!(
                    "{}: edges must be at most {} finite numbers, strictly increasing",
                    f.name,
                    MAX_BINS - 1
                ));
            }
            if f.reference.len() != f.edges.len() + 1 {
                return Err(format!(
                    "{}: {} edges need {} shares, found {}",
                    f.name,
                    f.edges.len(),
                    f.edges.len() + 1,
                    f.reference.len()
                ));
            }
            distribution(&f.name, &f.reference)?;
        }
        let p = &self.prediction;
        if p.reference.len() != PROBABILITY_BINS {
            return Err(format!(
                "prediction: {PROBABILITY_BINS} shares needed, found {}",
                p.reference.len()
            ));
        }
        distribution("prediction", &p.reference)?;
        let [lo, hi] = p.positive_rate_range;
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !(unit(p.positive_rate) && unit(lo) && unit(hi) && lo <= hi) {
            return Err("prediction: rates must be in [0, 1], the range's low end first".into());
        }
        Ok(())
    }
}

/// Shares in `[0, 1]` that sum to 1 (to rounding).
fn distribution(name: &str, shares: &[f64]) -> Result<(), String> {
    let sum: f64 = shares.iter().sum();
    if shares.iter().any(|s| !(0.0..=1.0).contains(s)) || (sum - 1.0).abs() > 1e-6 {
        return Err(format!(
            "{name}: shares must be in [0, 1] and sum to 1 (sum {sum})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use legendary_forest::FEATURES;

    #[test]
    fn the_monitored_features_are_the_stats_then_their_total() {
        assert_eq!(&MONITORED[..6], FEATURES);
        assert_eq!(monitored_values(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])[6], 21.0);
        assert_eq!(
            (
                probability_bin(0.0),
                probability_bin(0.1),
                probability_bin(1.0)
            ),
            (0, 1, 9)
        );
    }

    #[test]
    fn a_probability_bins_by_cast_as_it_did_by_floor() {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "the definition it replaced"
        )]
        let by_floor = |p: f64| (p * 10.0).floor().clamp(0.0, 9.0) as usize;
        let edges = (0..=10).map(|i| f64::from(i) / 10.0);
        let around = edges.flat_map(|e| [e, e.next_down(), e.next_up()]);
        for p in around.chain((0..=10_000).map(|i| f64::from(i) / 10_000.0)) {
            assert_eq!(probability_bin(p), by_floor(p), "{p}");
        }
        assert_eq!(probability_bin(f64::NAN), 0);
        assert_eq!(probability_bin(-0.5), 0);
    }

    #[test]
    fn deciles_are_the_type_1_quantiles_and_ties_merge_bins() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let f = FeatureProfile::fit("hp", &values);
        assert_eq!(
            f.edges,
            [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
        );
        assert_eq!(f.reference, vec![0.1; 10]);
        assert_eq!(
            (f.bin(10.0), f.bin(10.5), f.bin(-1e9), f.bin(1e9)),
            (0, 1, 0, 9)
        );
        // Half the rows at one value: its edges coincide.
        let mut tied = vec![5.0; 50];
        tied.extend((1..=50).map(|v| f64::from(v) + 5.0));
        let f = FeatureProfile::fit("hp", &tied);
        assert_eq!(f.edges, [5.0, 15.0, 25.0, 35.0, 45.0]);
        assert_eq!(f.reference[0], 0.5);
        assert!((f.reference.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_profile_survives_its_file_and_a_bad_one_says_what_is_wrong() {
        let rows: Vec<[f64; 6]> = (0..50)
            .map(|i| {
                let v = f64::from(i);
                [v, v + 1.0, v * 2.0, 30.0, 40.0 - v, 5.0]
            })
            .collect();
        let probabilities: Vec<f64> = (0..50).map(|i| f64::from(i) / 50.0).collect();
        let decisions: Vec<bool> = probabilities.iter().map(|&p| p > 0.5).collect();
        let answers = Answers {
            source: "test".into(),
            probabilities: &probabilities,
            decisions: &decisions,
            fold_rates: vec![0.4, 0.6],
        };
        let profile = Profile::build("rows".into(), &rows, &answers);
        assert_eq!(profile.prediction.positive_rate, 0.48);
        assert_eq!(profile.prediction.positive_rate_range, [0.4, 0.6]);
        assert_eq!(profile.features[3].edges, [30.0]);
        let back = Profile::from_json(&profile.to_json()).unwrap();
        assert_eq!(back, profile);

        let mut bad = profile.clone();
        bad.features[0].edges.reverse();
        let error = Profile::from_json(&bad.to_json()).unwrap_err();
        assert!(error.contains("strictly increasing"), "{error}");
        let mut bad = profile.clone();
        bad.prediction.reference[0] += 0.5;
        let error = Profile::from_json(&bad.to_json()).unwrap_err();
        assert!(error.contains("sum to 1"), "{error}");
        let mut bad = profile;
        bad.features.pop();
        let error = Profile::from_json(&bad.to_json()).unwrap_err();
        assert!(error.contains("features must be"), "{error}");
        assert!(
            Profile::from_json(b"[]")
                .unwrap_err()
                .contains("not a monitoring profile")
        );
    }
}
