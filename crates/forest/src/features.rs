//! The columns a forest is trained on: the six raw base stats, optionally followed by
//! columns computed from them. The computation belongs to the model artifact, so a
//! client always sends only the six raw stats.

use serde::{Deserialize, Serialize};

use crate::FEATURES;

/// Which columns the forest sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeatureSet {
    /// The six base stats only, as in the original demo.
    Raw,
    /// The six base stats plus their total, minimum, second lowest stat, spread
    /// (max - min) and standard deviation: the total and the balance of the stats.
    Derived,
    /// The six base stats, their total, minimum, second lowest stat and spread, plus how
    /// regular the stat line is (see [`REGULARITY`]). Legendary stat lines are designed
    /// with round and repeated numbers (Mesprit: 80/105/105/105/105/80, total 580);
    /// pseudo-legendaries, Megas and Paradox Pokémon of the same strength mostly are not
    /// (Iron Boulder: 90/120/80/68/108/124, total 590).
    #[default]
    Regularity,
}

/// The widest row any feature set produces.
pub const MAX_WIDTH: usize = 15;

/// Names of the derived columns, in the order [`FeatureSet::expand`] writes them.
pub const DERIVED: [&str; 5] = ["total", "min", "second_min", "spread", "std"];

/// Names of the columns [`FeatureSet::Regularity`] writes after the six stats: the first
/// four derived columns, how many stats are multiples of 5 and of 10, how many distinct
/// values the six stats take, how many stats share the most common value, and whether the
/// total is a multiple of 20 (1) or not (0).
pub const REGULARITY: [&str; 9] = [
    "total",
    "min",
    "second_min",
    "spread",
    "multiples_of_5",
    "multiples_of_10",
    "distinct_values",
    "largest_tie",
    "total_multiple_of_20",
];

/// How many of the [`DERIVED`] columns [`FeatureSet::Regularity`] keeps (all but `std`).
const REGULARITY_KEEPS: usize = 4;

impl FeatureSet {
    /// Number of columns the forest is trained on.
    pub fn width(self) -> usize {
        match self {
            Self::Raw => FEATURES.len(),
            Self::Derived => FEATURES.len() + DERIVED.len(),
            Self::Regularity => FEATURES.len() + REGULARITY.len(),
        }
    }

    /// Names of the forest's columns.
    pub fn column_names(self) -> Vec<String> {
        let raw = FEATURES.iter().map(|s| (*s).to_owned());
        match self {
            Self::Raw => raw.collect(),
            Self::Derived => raw.chain(DERIVED.iter().map(|s| (*s).to_owned())).collect(),
            Self::Regularity => raw
                .chain(REGULARITY.iter().map(|s| (*s).to_owned()))
                .collect(),
        }
    }

    /// Writes the forest's columns for one row of six raw stats into `out` and returns how
    /// many were written; no allocation, for the request path. A row shorter than six
    /// stats is copied as is (callers check widths before scoring).
    pub fn fill(self, raw: &[f64], out: &mut [f64; MAX_WIDTH]) -> usize {
        let Some(stats) = raw.first_chunk::<6>() else {
            let n = raw.len().min(MAX_WIDTH);
            out[..n].copy_from_slice(&raw[..n]);
            return n;
        };
        out[..6].copy_from_slice(stats);
        match self {
            Self::Raw => 6,
            Self::Derived => {
                out[6..6 + DERIVED.len()].copy_from_slice(&derive(stats));
                6 + DERIVED.len()
            }
            Self::Regularity => {
                let sorted = sorted(stats);
                let kept = shape(&sorted);
                out[6..6 + REGULARITY_KEEPS].copy_from_slice(&kept);
                let r = regularity(&sorted, kept[0]);
                out[6 + REGULARITY_KEEPS..6 + REGULARITY.len()].copy_from_slice(&r);
                6 + REGULARITY.len()
            }
        }
    }

    /// Appends the forest's columns for one row of six raw stats to `out`.
    pub fn expand(self, raw: &[f64], out: &mut Vec<f64>) {
        let mut cols = [0.0; MAX_WIDTH];
        let n = self.fill(raw, &mut cols);
        out.extend_from_slice(&cols[..n]);
    }
}

/// The derived columns of one row, computed from its stats in [`f64::total_cmp`] order.
fn derive(stats: &[f64; 6]) -> [f64; DERIVED.len()] {
    let sorted = sorted(stats);
    let [total, min, second_min, spread] = shape(&sorted);
    let mean = total / 6.0;
    let std = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0).sqrt();
    [total, min, second_min, spread, std]
}

/// The derived columns both feature sets keep: total (added in sorted order, as the models
/// were trained: float addition is not associative), minimum, second lowest and spread.
fn shape(sorted: &[f64; 6]) -> [f64; REGULARITY_KEEPS] {
    let total = sorted.iter().sum();
    [total, sorted[0], sorted[1], sorted[5] - sorted[0]]
}

/// The compare-exchanges of an optimal sorting network for six values (12 in five layers).
const SORT_SIX: [(usize, usize); 12] = [
    (0, 5),
    (1, 3),
    (2, 4),
    (1, 2),
    (3, 4),
    (0, 3),
    (2, 5),
    (0, 1),
    (2, 3),
    (4, 5),
    (1, 2),
    (3, 4),
];

/// The six stats sorted by [`f64::total_cmp`], branch-free: each value becomes the integer
/// that `total_cmp` orders it by (the same bit trick), a sorting network orders those with
/// `min`/`max`, and the trick undoes itself. Equal keys are equal bits, so the result is the
/// array `sort_by(f64::total_cmp)` gives, without its comparator calls on the request path.
fn sorted(stats: &[f64; 6]) -> [f64; 6] {
    // Flips every bit but the sign of a negative number, so the integers order as
    // `total_cmp` does; applied twice it is the identity.
    let flip = |bits: i64| bits ^ (((bits >> 63) as u64) >> 1) as i64;
    let mut keys = stats.map(|v| flip(v.to_bits() as i64));
    for (i, j) in SORT_SIX {
        let (low, high) = (keys[i].min(keys[j]), keys[i].max(keys[j]));
        keys[i] = low;
        keys[j] = high;
    }
    keys.map(|k| f64::from_bits(flip(k) as u64))
}

/// The regularity columns after the kept derived ones, from the stats in
/// [`f64::total_cmp`] order and their `total`. Distinct values and ties are counted with
/// `==`: `-0.0` ties with `0.0`, a NaN ties with nothing and is a distinct value of its
/// own. Sorted, the values a `==` joins are adjacent (`-0.0` sorts just before `0.0`), so
/// both are counted in one pass over neighbours.
fn regularity(sorted: &[f64; 6], total: f64) -> [f64; REGULARITY.len() - REGULARITY_KEEPS] {
    let count = |of: u64| sorted.iter().filter(|v| is_multiple(**v, of)).count() as f64;
    let (mut distinct, mut run, mut largest_tie) = (1_u8, 1_u8, 1_u8);
    if sorted[0].is_nan() {
        (run, largest_tie) = (0, 0);
    }
    for pair in sorted.windows(2) {
        if pair[1] == pair[0] {
            run += 1;
        } else {
            distinct += 1;
            run = u8::from(!pair[1].is_nan());
        }
        largest_tie = largest_tie.max(run);
    }
    [
        count(5),
        count(10),
        f64::from(distinct),
        f64::from(largest_tie),
        f64::from(u8::from(is_multiple(total, 20))),
    ]
}

/// Whether `v` is an exact multiple of `of` (`v % of == 0`), without a `fmod` call for the
/// usual case: base stats and totals are small non-negative integers.
fn is_multiple(v: f64, of: u64) -> bool {
    if (0.0..=1e15).contains(&v) {
        // Exact: below 2^53 every integer is a float and the cast truncates.
        let i = v as u64;
        i as f64 == v && i.is_multiple_of(of)
    } else {
        v % of as f64 == 0.0
    }
}

impl std::str::FromStr for FeatureSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raw" => Ok(Self::Raw),
            "derived" => Ok(Self::Derived),
            "regularity" => Ok(Self::Regularity),
            other => Err(format!(
                "unknown feature set '{other}': expected 'raw', 'derived' or 'regularity'"
            )),
        }
    }
}

impl std::fmt::Display for FeatureSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Raw => "raw",
            Self::Derived => "derived",
            Self::Regularity => "regularity",
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

    #[test]
    fn regularity_columns_describe_round_and_repeated_stats() {
        // Mesprit: 80/105/105/105/105/80, total 580 = 29 x 20.
        let mut out = Vec::new();
        FeatureSet::Regularity.expand(&[80.0, 105.0, 105.0, 105.0, 105.0, 80.0], &mut out);
        assert_eq!(
            &out[6..],
            &[580.0, 80.0, 80.0, 25.0, 6.0, 2.0, 2.0, 4.0, 1.0]
        );
        // Iron Boulder: 90/120/80/68/108/124, total 590.
        out.clear();
        FeatureSet::Regularity.expand(&[90.0, 120.0, 80.0, 68.0, 108.0, 124.0], &mut out);
        assert_eq!(
            &out[6..],
            &[590.0, 68.0, 80.0, 56.0, 3.0, 3.0, 6.0, 1.0, 0.0]
        );
        // Fractional stats are never multiples; the row still has every column.
        out.clear();
        FeatureSet::Regularity.expand(&[80.5, 80.5, 1.0, 2.0, 3.0, 4.0], &mut out);
        assert_eq!(&out[10..], &[0.0, 0.0, 5.0, 2.0, 0.0]);
        // The kept derived columns are written under their own names.
        assert_eq!(REGULARITY[..REGULARITY_KEEPS], DERIVED[..REGULARITY_KEEPS]);
        let names = FeatureSet::Regularity.column_names();
        assert_eq!(names.len(), FeatureSet::Regularity.width());
        assert_eq!(names.len(), MAX_WIDTH);
        assert_eq!(names[14], "total_multiple_of_20");
    }

    #[test]
    fn multiples_agree_with_the_float_remainder() {
        let values = [
            0.0,
            5.0,
            10.0,
            20.0,
            25.0,
            580.0,
            590.0,
            7.5,
            80.000_000_1,
            -20.0,
            -7.0,
            1e15,
            3e15,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -0.0,
        ];
        for v in values {
            for of in [5, 10, 20] {
                assert_eq!(is_multiple(v, of), v % of as f64 == 0.0, "{v} % {of}");
            }
        }
    }

    /// The derived and regularity columns as they were first written (a sort, then
    /// `contains` and `filter` over the stats in request order): the fast versions must give
    /// them to the bit.
    fn reference_columns(stats: &[f64; 6]) -> ([f64; 5], [f64; 9]) {
        let mut sorted = *stats;
        sorted.sort_by(f64::total_cmp);
        let total: f64 = sorted.iter().sum();
        let mean = total / 6.0;
        let std = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0).sqrt();
        let count = |of: u64| stats.iter().filter(|v| is_multiple(**v, of)).count() as f64;
        let (mut distinct, mut largest_tie) = (0.0, 0.0);
        for (i, v) in stats.iter().enumerate() {
            if !stats[..i].contains(v) {
                distinct += 1.0;
            }
            let ties = stats.iter().filter(|w| *w == v).count() as f64;
            largest_tie = f64::max(largest_tie, ties);
        }
        let (min, second, spread) = (sorted[0], sorted[1], sorted[5] - sorted[0]);
        let multiple_20 = f64::from(u8::from(is_multiple(total, 20)));
        (
            [total, min, second, spread, std],
            [
                total,
                min,
                second,
                spread,
                count(5),
                count(10),
                distinct,
                largest_tie,
                multiple_20,
            ],
        )
    }

    #[test]
    fn the_sorting_network_sorts_every_zero_one_input() {
        // The 0-1 principle: a network that sorts all 64 of these sorts everything.
        for bits in 0_u32..64 {
            let stats: [f64; 6] = std::array::from_fn(|i| f64::from((bits >> i) & 1));
            let mut expected = stats;
            expected.sort_by(f64::total_cmp);
            assert_eq!(sorted(&stats), expected, "{bits:06b}");
        }
    }

    #[test]
    fn fast_columns_match_the_first_implementation_to_the_bit() {
        // Small pools so ties, signed zeros and NaNs of both signs meet often.
        let pool = [
            0.0,
            -0.0,
            5.0,
            10.0,
            80.0,
            105.0,
            7.5,
            -20.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            0.1,
            0.2,
            0.30000000000000004,
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..200_000 {
            let stats: [f64; 6] = std::array::from_fn(|_| {
                let r = next();
                if case % 2 == 0 {
                    pool[(r % pool.len() as u64) as usize]
                } else {
                    // Stat lines with halves: 1.0 to 255.5.
                    (r % 510 + 2) as f64 / 2.0
                }
            });
            let (derived_want, regular_want) = reference_columns(&stats);
            let mut derived = [0.0; MAX_WIDTH];
            let n = FeatureSet::Derived.fill(&stats, &mut derived);
            let mut regular = [0.0; MAX_WIDTH];
            let m = FeatureSet::Regularity.fill(&stats, &mut regular);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&derived[6..n]), bits(&derived_want), "{stats:?}");
            assert_eq!(bits(&regular[6..m]), bits(&regular_want), "{stats:?}");
        }
    }

    #[test]
    fn every_feature_set_round_trips_through_its_name() {
        for set in [FeatureSet::Raw, FeatureSet::Derived, FeatureSet::Regularity] {
            assert_eq!(set.to_string().parse::<FeatureSet>(), Ok(set));
        }
        let err = "shape".parse::<FeatureSet>().unwrap_err();
        assert!(err.contains("'regularity'"), "{err}");
    }
}
