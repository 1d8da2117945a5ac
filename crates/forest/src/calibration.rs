//! The calibration of a forest's vote fraction: a monotone piecewise-linear map to the
//! probability the model reports, fitted by pool-adjacent-violators (isotonic regression).
//!
//! The vote fraction of a random forest ranks rows well but is not a probability: on the
//! bundled data it is too low by 0.10-0.14 above 0.5 (leaves of five samples and bootstrap
//! averaging pull the votes toward the middle). Isotonic regression of the labels on
//! out-of-fold vote fractions keeps the ranking (the map never decreases) and makes the
//! numbers mean what they say.
//!
//! The map is written so that NumPy reproduces it to the bit (the model directory's pyfunc
//! loader does): plain IEEE additions, subtractions, multiplications and divisions in a
//! fixed order, no fused multiply-add.

use std::fmt;

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Most knots a calibration may have. A map fitted on n rows has at most n knots, and
/// usually far fewer (the bundled data's 986 training rows give a few dozen); a model file
/// is untrusted, so reading one allocates no more than this many.
pub const MAX_KNOTS: usize = 10_001;

/// A monotone piecewise-linear map from vote fraction to probability, given by its knots:
/// `x` strictly increasing and `y` non-decreasing, every value finite and in [0, 1]. Between
/// two knots it interpolates linearly; below the first and above the last it is flat (as
/// scikit-learn's `IsotonicRegression(out_of_bounds="clip")`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    x: Vec<f64>,
    y: Vec<f64>,
}

/// Why a calibration map was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// No knots at all.
    #[error("calibration has no knots")]
    Empty,
    /// `x` and `y` differ in length.
    #[error("calibration has {x} x values and {y} y values")]
    Lengths {
        /// Length of `x`.
        x: usize,
        /// Length of `y`.
        y: usize,
    },
    /// More than [`MAX_KNOTS`] knots.
    #[error("calibration has {found} knots, more than the limit of {MAX_KNOTS}")]
    TooMany {
        /// How many the file lists.
        found: usize,
    },
    /// A value that is not a finite number in [0, 1].
    #[error("calibration {axis}[{index}] = {value} is not a number in [0, 1]")]
    OutOfRange {
        /// `x` or `y`.
        axis: char,
        /// Its index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// `x` not strictly increasing, or `y` decreasing.
    #[error(
        "calibration {axis}[{index}] = {value} is below {axis}[{prev}] = {before}: x must be strictly increasing and y non-decreasing",
        prev = index - 1
    )]
    Order {
        /// `x` or `y`.
        axis: char,
        /// The index of the value out of order.
        index: usize,
        /// The value.
        value: f64,
        /// The value before it.
        before: f64,
    },
}

impl Calibration {
    /// The map with knots `(x[i], y[i])`.
    ///
    /// # Errors
    /// A [`CalibrationError`] naming the first knot that breaks the rules above.
    pub fn new(x: Vec<f64>, y: Vec<f64>) -> Result<Self, CalibrationError> {
        if x.len() != y.len() {
            return Err(CalibrationError::Lengths {
                x: x.len(),
                y: y.len(),
            });
        }
        if x.is_empty() {
            return Err(CalibrationError::Empty);
        }
        if x.len() > MAX_KNOTS {
            return Err(CalibrationError::TooMany { found: x.len() });
        }
        check_axis('x', &x, |before, value| before < value)?;
        check_axis('y', &y, |before, value| before <= value)?;
        Ok(Self { x, y })
    }

    /// The knots' vote fractions, strictly increasing.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// The knots' probabilities, non-decreasing.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// The probability of vote fraction `p`: `y[0]` at or below `x[0]`, the last `y` at or
    /// above the last `x`, exactly `y[i]` at a knot, and for `x[i] < p < x[i+1]`
    /// `y[i] + (p - x[i]) * ((y[i+1] - y[i]) / (x[i+1] - x[i]))`, evaluated in that order
    /// (NumPy's elementwise arithmetic gives the same bits). NaN stays NaN.
    pub fn apply(&self, p: f64) -> f64 {
        if p.is_nan() {
            return p;
        }
        let (x, y) = (&self.x, &self.y);
        // The knots at or below p; `new` proved there is at least one knot.
        let below = x.partition_point(|&k| k <= p);
        if below == 0 {
            return y[0];
        }
        if below == x.len() {
            return y[below - 1];
        }
        let i = below - 1;
        if p == x[i] {
            return y[i];
        }
        y[i] + (p - x[i]) * ((y[i + 1] - y[i]) / (x[i + 1] - x[i]))
    }
}

/// Checks that every value of `axis` is a finite number in [0, 1] and in order after the
/// one before it.
fn check_axis(
    axis: char,
    values: &[f64],
    in_order: impl Fn(f64, f64) -> bool,
) -> Result<(), CalibrationError> {
    for (index, &value) in values.iter().enumerate() {
        if !(0.0..=1.0).contains(&value) {
            return Err(CalibrationError::OutOfRange { axis, index, value });
        }
        if let Some(&before) = index.checked_sub(1).and_then(|i| values.get(i))
            && !in_order(before, value)
        {
            return Err(CalibrationError::Order {
                axis,
                index,
                value,
                before,
            });
        }
    }
    Ok(())
}

/// Fits the isotonic regression of `labels` on `proba` (pool-adjacent-violators, each row
/// weighing one) and returns it as a map, as scikit-learn's `IsotonicRegression` builds it:
/// rows with equal `proba` are pooled first, then adjacent blocks whose means decrease are
/// merged until the means never decrease; the knots are the distinct `proba` with their
/// block's mean, dropping the knots inside a flat run (which interpolation gives anyway).
///
/// # Errors
/// [`CalibrationError`] when `proba` is empty, differs in length from `labels`, or has a
/// value outside [0, 1] (a vote fraction never does), or the map would have more than
/// [`MAX_KNOTS`] knots.
pub fn fit_isotonic(proba: &[f64], labels: &[bool]) -> Result<Calibration, CalibrationError> {
    knots(&pav(proba, labels)?)
}

/// Fits the same isotonic regression as [`fit_isotonic`] and centres it (Oron and
/// Flournoy's centred isotonic regression): one knot per pooled block, at the block's mean
/// vote fraction with the block's mean label.
///
/// Why: the plain map is flat across each block, so rows the forest ranked apart get one
/// probability, and ROC AUC falls wherever such a tie holds both classes. The centred map
/// rises strictly from the first block's centre to the last one's (the block means rise
/// strictly after pooling), so it keeps the forest's order there; it is flat only below the
/// first centre and above the last, as the plain map is outside its knots. Measured on the
/// bundled data, it also has a slightly lower Brier score and calibration error
/// (`docs/model.md`, "Calibration").
///
/// # Errors
/// As [`fit_isotonic`].
pub fn fit_centred_isotonic(
    proba: &[f64],
    labels: &[bool],
) -> Result<Calibration, CalibrationError> {
    let (x, y) = pav(proba, labels)?
        .iter()
        .map(|b| (b.centre(), b.mean()))
        .unzip();
    Calibration::new(x, y)
}

/// The pooled blocks of the isotonic regression of `labels` on `proba`, in ascending order.
fn pav(proba: &[f64], labels: &[bool]) -> Result<Vec<Block>, CalibrationError> {
    if proba.len() != labels.len() {
        return Err(CalibrationError::Lengths {
            x: proba.len(),
            y: labels.len(),
        });
    }
    if let Some((index, &value)) = proba
        .iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0).contains(*p))
    {
        return Err(CalibrationError::OutOfRange {
            axis: 'x',
            index,
            value,
        });
    }
    let mut order: Vec<usize> = (0..proba.len()).collect();
    order.sort_by(|&a, &b| proba[a].total_cmp(&proba[b]));
    // Rows of equal vote fraction are one point first (they must get one probability, and
    // pooling them as they come could merge a block that the whole group would not).
    let mut points: Vec<Block> = Vec::new();
    for i in order {
        let (x, y) = (proba[i], f64::from(u8::from(labels[i])));
        match points.last_mut() {
            Some(b) if b.xs[0] == x => {
                b.sum += y;
                b.x_sum += x;
                b.rows += 1.0;
            }
            _ => points.push(Block {
                xs: vec![x],
                sum: y,
                x_sum: x,
                rows: 1.0,
            }),
        }
    }
    let mut blocks: Vec<Block> = Vec::with_capacity(points.len());
    for point in points {
        blocks.push(point);
        pool(&mut blocks);
    }
    Ok(blocks)
}

/// Adjacent points pooled to one mean. The sums are of 0/1 labels, so a mean is one
/// rounding of an exact fraction, and two blocks of equal means give that mean when merged.
struct Block {
    /// The distinct x of the block, ascending.
    xs: Vec<f64>,
    /// The sum of the block's labels.
    sum: f64,
    /// The sum of the block's x, one per row.
    x_sum: f64,
    rows: f64,
}

impl Block {
    fn mean(&self) -> f64 {
        self.sum / self.rows
    }

    /// The block's mean x, kept inside its own range whatever the rounding, so that the
    /// centres of disjoint ascending blocks ascend strictly.
    fn centre(&self) -> f64 {
        let (Some(&lo), Some(&hi)) = (self.xs.first(), self.xs.last()) else {
            return f64::NAN;
        };
        (self.x_sum / self.rows).clamp(lo, hi)
    }
}

/// Merges the last block into the ones before it while their means do not increase (equal
/// means are merged too, as scikit-learn does; the values are the same either way).
fn pool(blocks: &mut Vec<Block>) {
    while let [.., before, last] = blocks.as_slice()
        && before.mean() >= last.mean()
    {
        let Some(last) = blocks.pop() else { return };
        let Some(before) = blocks.last_mut() else {
            return;
        };
        before.xs.extend(last.xs);
        before.sum += last.sum;
        before.x_sum += last.x_sum;
        before.rows += last.rows;
    }
}

/// The knots of pooled blocks: every distinct x with its block's mean, minus the knots in
/// the middle of a run of equal means.
fn knots(blocks: &[Block]) -> Result<Calibration, CalibrationError> {
    let points: Vec<(f64, f64)> = blocks
        .iter()
        .flat_map(|b| {
            let mean = b.mean();
            b.xs.iter().map(move |&x| (x, mean))
        })
        .collect();
    let n = points.len();
    let (x, y) = points
        .iter()
        .enumerate()
        .filter(|&(i, &(_, v))| {
            i == 0 || i + 1 == n || points[i - 1].1 != v || points[i + 1].1 != v
        })
        .map(|(_, &p)| p)
        .unzip();
    Calibration::new(x, y)
}

/// The envelope's `calibration` as read from an untrusted file: the knots, at most
/// [`MAX_KNOTS`] of each kept in memory whatever the file lists, and how many it listed, so
/// that [`Knots::check`] can refuse too many by name instead of as a parse error.
#[derive(Debug, Deserialize)]
pub(crate) struct Knots {
    #[serde(deserialize_with = "capped")]
    x: Capped,
    #[serde(deserialize_with = "capped")]
    y: Capped,
}

impl Knots {
    /// The map these knots give.
    ///
    /// # Errors
    /// As [`Calibration::new`].
    pub(crate) fn check(self) -> Result<Calibration, CalibrationError> {
        let found = self.x.listed.max(self.y.listed);
        if found > MAX_KNOTS {
            return Err(CalibrationError::TooMany { found });
        }
        if self.x.listed != self.y.listed {
            return Err(CalibrationError::Lengths {
                x: self.x.listed,
                y: self.y.listed,
            });
        }
        Calibration::new(self.x.kept, self.y.kept)
    }
}

/// A list of numbers of which at most [`MAX_KNOTS`] are kept.
#[derive(Debug)]
struct Capped {
    kept: Vec<f64>,
    listed: usize,
}

fn capped<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Capped, D::Error> {
    struct CappedVisitor;
    impl<'de> Visitor<'de> for CappedVisitor {
        type Value = Capped;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of numbers")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped, A::Error> {
            let mut kept = Vec::new();
            let mut listed = 0;
            while listed < MAX_KNOTS {
                let Some(v) = seq.next_element::<f64>()? else {
                    return Ok(Capped { kept, listed });
                };
                kept.push(v);
                listed += 1;
            }
            // Past the cap: counted, not kept.
            while seq.next_element::<IgnoredAny>()?.is_some() {
                listed += 1;
            }
            Ok(Capped { kept, listed })
        }
    }
    deserializer.deserialize_seq(CappedVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(x: &[f64], y: &[f64]) -> Calibration {
        Calibration::new(x.to_vec(), y.to_vec()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_map_clips_interpolates_and_returns_knots_exactly() {
        let c = map(&[0.1, 0.3, 0.7], &[0.0, 0.2, 0.9]);
        assert_eq!(c.apply(0.0), 0.0);
        assert_eq!(c.apply(0.1), 0.0);
        assert_eq!(c.apply(0.3), 0.2);
        assert_eq!(c.apply(0.7), 0.9);
        assert_eq!(c.apply(1.0), 0.9);
        assert_eq!(
            c.apply(0.2),
            0.0 + (0.2 - 0.1) * ((0.2 - 0.0) / (0.3 - 0.1))
        );
        assert_eq!(
            c.apply(0.5),
            0.2 + (0.5 - 0.3) * ((0.9 - 0.2) / (0.7 - 0.3))
        );
        assert!(c.apply(f64::NAN).is_nan());
        // One knot: a constant.
        let one = map(&[0.4], &[0.25]);
        assert_eq!([one.apply(0.0), one.apply(0.4), one.apply(1.0)], [0.25; 3]);
    }

    #[test]
    fn the_map_never_decreases() {
        let c = map(&[0.0, 0.05, 0.4, 0.41, 1.0], &[0.0, 0.0, 0.3, 0.3, 1.0]);
        let mut before = f64::NEG_INFINITY;
        for k in 0..=10_000 {
            let p = c.apply(f64::from(k) / 10_000.0);
            assert!(p >= before && (0.0..=1.0).contains(&p), "{k}: {p}");
            before = p;
        }
    }

    #[test]
    fn bad_knots_are_refused_by_name() {
        let refused = |x: &[f64], y: &[f64]| Calibration::new(x.to_vec(), y.to_vec()).err();
        assert_eq!(refused(&[], &[]), Some(CalibrationError::Empty));
        assert_eq!(
            refused(&[0.1], &[0.1, 0.2]),
            Some(CalibrationError::Lengths { x: 1, y: 2 })
        );
        assert!(matches!(
            refused(&[0.1, 0.1], &[0.1, 0.2]),
            Some(CalibrationError::Order {
                axis: 'x',
                index: 1,
                ..
            })
        ));
        assert!(matches!(
            refused(&[0.1, 0.2], &[0.3, 0.2]),
            Some(CalibrationError::Order {
                axis: 'y',
                index: 1,
                ..
            })
        ));
        for bad in [f64::NAN, f64::INFINITY, -0.1, 1.5] {
            assert!(matches!(
                refused(&[0.1, bad], &[0.1, 0.2]),
                Some(CalibrationError::OutOfRange {
                    axis: 'x',
                    index: 1,
                    ..
                })
            ));
            assert!(matches!(
                refused(&[0.1, 0.2], &[bad, 0.2]),
                Some(CalibrationError::OutOfRange {
                    axis: 'y',
                    index: 0,
                    ..
                })
            ));
        }
        let many: Vec<f64> = (0..=MAX_KNOTS).map(|i| i as f64 / 1e5).collect();
        assert_eq!(
            refused(&many, &many),
            Some(CalibrationError::TooMany {
                found: MAX_KNOTS + 1
            })
        );
        let e = refused(&[0.2, 0.1], &[0.0, 0.0]).map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "calibration x[1] = 0.1 is below x[0] = 0.2: x must be strictly increasing and y non-decreasing"
            )
        );
    }

    #[test]
    fn knots_from_a_file_are_capped_while_read_and_refused_by_count() {
        let list = |n: usize| {
            let v: Vec<String> = (0..n).map(|i| format!("{}", i as f64 / 1e6)).collect();
            format!("[{}]", v.join(","))
        };
        let read = |n: usize| {
            let json = format!(r#"{{"x":{0},"y":{0}}}"#, list(n));
            let knots: Knots = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
            assert!(knots.x.kept.len() <= MAX_KNOTS);
            knots.check()
        };
        assert!(read(MAX_KNOTS).is_ok());
        assert_eq!(
            read(MAX_KNOTS + 5).err(),
            Some(CalibrationError::TooMany {
                found: MAX_KNOTS + 5
            })
        );
        let uneven: Knots =
            serde_json::from_str(r#"{"x":[0.1,0.2],"y":[0.1]}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            uneven.check().err(),
            Some(CalibrationError::Lengths { x: 2, y: 1 })
        );
    }

    #[test]
    fn pav_pools_violators_as_worked_by_hand() {
        // Sorted by x, equal x pooled: .1: 1, .2: 0, .3: 2/3 (three rows), .6: 0, .9: 1.
        // (.1: 1) >= (.2: 0): pooled to 1/2; 2/3 follows; (.6: 0) is below it: pooled to
        // {.3, .6}: 2/4, equal to the block before: pooled to {.1 .. .6}: 3/6; (.9: 1) stays.
        let x = [0.3, 0.1, 0.9, 0.3, 0.2, 0.6, 0.3];
        let y = [true, true, true, true, false, false, false];
        let c = fit_isotonic(&x, &y).unwrap_or_else(|e| panic!("{e}"));
        // Every distinct x with its block's mean, less the inside of the flat run .1 .. .6.
        assert_eq!(c.x(), [0.1, 0.6, 0.9]);
        assert_eq!(c.y(), [0.5, 0.5, 1.0]);
        assert_eq!(
            c.apply(0.75),
            0.5 + (0.75 - 0.6) * ((1.0 - 0.5) / (0.9 - 0.6))
        );
    }

    #[test]
    fn pav_of_sorted_labels_is_a_step_and_of_one_class_a_constant() {
        let c = fit_isotonic(&[0.1, 0.2, 0.3, 0.4], &[false, false, true, true])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.x(), [0.1, 0.2, 0.3, 0.4]);
        assert_eq!(c.y(), [0.0, 0.0, 1.0, 1.0]);
        let c = fit_isotonic(&[0.5, 0.1, 0.9], &[false; 3]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.x(), c.y()), (&[0.1, 0.9][..], &[0.0, 0.0][..]));
        let c = fit_isotonic(&[0.5, 0.5], &[true, false]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.x(), c.y()), (&[0.5][..], &[0.5][..]));
        assert!(fit_isotonic(&[], &[]).is_err());
        assert!(fit_isotonic(&[1.5], &[true]).is_err());
    }

    #[test]
    fn centred_pav_puts_one_knot_at_each_block_mean_vote() {
        // The blocks of `pav_pools_violators_as_worked_by_hand`: {.1, .2, .3 (three rows),
        // .6} with mean label 1/2 and mean vote 1.8 / 6 = .3, and {.9} with 1.
        let x = [0.3, 0.1, 0.9, 0.3, 0.2, 0.6, 0.3];
        let y = [true, true, true, true, false, false, false];
        let c = fit_centred_isotonic(&x, &y).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.x().len(), 2);
        assert!(
            (c.x()[0] - 0.3).abs() < 1e-15 && c.x()[1] == 0.9,
            "{:?}",
            c.x()
        );
        assert_eq!(c.y(), [0.5, 1.0]);
        // Flat below the first centre, rising after it: .2 and .25 tie, .35 and .4 do not.
        assert_eq!(c.apply(0.2), c.apply(0.25));
        assert!(c.apply(0.35) < c.apply(0.4));
    }

    #[test]
    fn centred_pav_keeps_the_order_of_every_vote_between_its_first_and_last_knot() {
        let x: Vec<f64> = (0..400).map(|i| f64::from(i * 37 % 101) / 100.0).collect();
        let y: Vec<bool> = (0..400)
            .map(|i| f64::from(i * 7919 % 97) / 97.0 < x[i as usize])
            .collect();
        let plain = fit_isotonic(&x, &y).unwrap_or_else(|e| panic!("{e}"));
        let centred = fit_centred_isotonic(&x, &y).unwrap_or_else(|e| panic!("{e}"));
        let (lo, hi) = (centred.x()[0], centred.x()[centred.x().len() - 1]);
        let inside: Vec<f64> = (0..=1000)
            .map(|k| f64::from(k) / 1000.0)
            .filter(|p| (lo..=hi).contains(p))
            .collect();
        for pair in inside.windows(2) {
            assert!(centred.apply(pair[0]) < centred.apply(pair[1]), "{pair:?}");
        }
        // The plain map ties some of them, which is what the centred one is for.
        assert!(
            inside
                .windows(2)
                .any(|p| plain.apply(p[0]) == plain.apply(p[1]))
        );
        // The same pooled blocks: the same probabilities, one per block.
        let mut levels = plain.y().to_vec();
        levels.dedup();
        assert_eq!(centred.y(), levels);
    }

    /// scikit-learn 1.9.1's `IsotonicRegression(out_of_bounds="clip")` fitted on 120 seeded
    /// points (with ties), its `X_thresholds_` and `y_thresholds_`, and its `predict` on a
    /// grid from -0.05 to 1.05, printed by (in the tests' `.venv`):
    ///
    /// ```python
    /// from sklearn.isotonic import IsotonicRegression
    /// x = [(i * 37 % 53) / 53 for i in range(120)]
    /// y = [1.0 if (i * 7919 % 101) / 101 < x[i] else 0.0 for i in range(120)]
    /// r = IsotonicRegression(out_of_bounds="clip").fit(x, y)
    /// print(list(r.X_thresholds_), list(r.y_thresholds_))
    /// print(list(r.predict([k / 40 - 0.05 for k in range(45)])))
    /// ```
    ///
    /// scipy's `interp1d` computes `slope * (p - x_lo) + y_lo`, and scikit-learn pools by
    /// block means, so values between knots may differ in the last bits.
    #[test]
    fn pav_matches_scikit_learn() {
        let x: Vec<f64> = (0..120).map(|i| f64::from(i * 37 % 53) / 53.0).collect();
        let y: Vec<bool> = (0..120)
            .map(|i| f64::from(i * 7919 % 101) / 101.0 < x[i as usize])
            .collect();
        let c = fit_isotonic(&x, &y).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.x(), SKLEARN_X);
        assert_eq!(c.y().len(), SKLEARN_Y.len());
        for (a, b) in c.y().iter().zip(SKLEARN_Y) {
            assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
        }
        for (k, expected) in SKLEARN_PREDICT.iter().enumerate() {
            let p = f64::from(k as u32) / 40.0 - 0.05;
            assert!((c.apply(p) - expected).abs() <= 1e-14, "{p}");
        }
    }

    const SKLEARN_X: &[f64] = &[
        0.0,
        0.11320754716981132,
        0.1320754716981132,
        0.24528301886792453,
        0.2641509433962264,
        0.37735849056603776,
        0.39622641509433965,
        0.41509433962264153,
        0.4716981132075472,
        0.49056603773584906,
        0.6226415094339622,
        0.6415094339622641,
        0.7358490566037735,
        0.7547169811320755,
        0.8679245283018868,
        0.8867924528301887,
        0.9811320754716981,
    ];
    const SKLEARN_Y: &[f64] = &[
        0.0,
        0.0,
        0.2,
        0.2,
        0.25,
        0.25,
        0.3333333333333333,
        0.5,
        0.5,
        0.6111111111111112,
        0.6111111111111112,
        0.7142857142857143,
        0.7142857142857143,
        0.8666666666666667,
        0.8666666666666667,
        1.0,
        1.0,
    ];
    const SKLEARN_PREDICT: &[f64] = &[
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.12499999999999986,
        0.2,
        0.2,
        0.2,
        0.2,
        0.21250000000000002,
        0.25,
        0.25,
        0.25,
        0.25,
        0.25,
        0.36666666666666664,
        0.5,
        0.5,
        0.5194444444444446,
        0.6111111111111112,
        0.6111111111111112,
        0.6111111111111112,
        0.6111111111111112,
        0.6111111111111112,
        0.6240079365079367,
        0.7142857142857143,
        0.7142857142857143,
        0.7142857142857143,
        0.7142857142857143,
        0.8285714285714284,
        0.8666666666666667,
        0.8666666666666667,
        0.8666666666666667,
        0.8666666666666667,
        0.9166666666666665,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
    ];
}
