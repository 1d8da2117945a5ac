//! The columns a forest is trained on: the six raw base stats, optionally followed by
//! derived stats computed from them. The derivation belongs to the model artifact, so a
//! client always sends only the six raw stats.

use serde::{Deserialize, Serialize};

use crate::dataset::FEATURES;

/// Which columns the forest sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeatureSet {
    /// The six base stats only, as in the original demo.
    Raw,
    /// The six base stats plus their total, minimum, second lowest stat, spread
    /// (max - min) and standard deviation: the total and the balance of the stats.
    #[default]
    Derived,
}

/// The widest row any feature set produces.
pub(crate) const MAX_WIDTH: usize = 11;

/// Names of the derived columns, in the order [`FeatureSet::expand`] writes them.
pub const DERIVED: [&str; 5] = ["total", "min", "second_min", "spread", "std"];

impl FeatureSet {
    /// Number of columns the forest is trained on.
    pub fn width(self) -> usize {
        match self {
            Self::Raw => FEATURES.len(),
            Self::Derived => FEATURES.len() + DERIVED.len(),
        }
    }

    /// Names of the forest's columns.
    pub fn column_names(self) -> Vec<String> {
        let raw = FEATURES.iter().map(|s| (*s).to_owned());
        match self {
            Self::Raw => raw.collect(),
            Self::Derived => raw.chain(DERIVED.iter().map(|s| (*s).to_owned())).collect(),
        }
    }

    /// Writes the forest's columns for one row of six raw stats into `out` and returns how
    /// many were written; no allocation, for the request path.
    pub fn fill(self, raw: &[f64], out: &mut [f64; MAX_WIDTH]) -> usize {
        let n = raw.len().min(FEATURES.len());
        out[..n].copy_from_slice(&raw[..n]);
        if self == Self::Derived {
            let d = derive(raw);
            out[n..n + d.len()].copy_from_slice(&d);
            return n + d.len();
        }
        n
    }

    /// Appends the forest's columns for one row of six raw stats to `out`.
    pub fn expand(self, raw: &[f64], out: &mut Vec<f64>) {
        out.extend_from_slice(raw);
        if self == Self::Derived {
            out.extend_from_slice(&derive(raw));
        }
    }
}

fn derive(raw: &[f64]) -> [f64; DERIVED.len()] {
    let mut sorted = [0.0; 6];
    sorted.copy_from_slice(&raw[..6]);
    sorted.sort_by(f64::total_cmp);
    let total: f64 = sorted.iter().sum();
    let mean = total / 6.0;
    let std = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0).sqrt();
    [total, sorted[0], sorted[1], sorted[5] - sorted[0], std]
}

impl std::str::FromStr for FeatureSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raw" => Ok(Self::Raw),
            "derived" => Ok(Self::Derived),
            other => Err(format!(
                "unknown feature set '{other}': expected 'raw' or 'derived'"
            )),
        }
    }
}

impl std::fmt::Display for FeatureSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Raw => "raw",
            Self::Derived => "derived",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_columns_follow_the_raw_stats() {
        let mut out = Vec::new();
        FeatureSet::Derived.expand(&[1.0, 2.0, 3.0, 4.0, 5.0, 9.0], &mut out);
        // total, min, second lowest, spread, population std
        let std = (((1.0f64 - 4.0).powi(2) + 4.0 + 1.0 + 0.0 + 1.0 + 25.0) / 6.0).sqrt();
        assert_eq!(
            out,
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 24.0, 1.0, 2.0, 8.0, std]
        );
        let mut fixed = [0.0; MAX_WIDTH];
        let n = FeatureSet::Derived.fill(&[1.0, 2.0, 3.0, 4.0, 5.0, 9.0], &mut fixed);
        assert_eq!(&fixed[..n], &out[..]);
        assert_eq!(
            FeatureSet::Derived.column_names().len(),
            FeatureSet::Derived.width()
        );
    }
}
