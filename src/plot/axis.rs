//! The charts' axes: a value range with ticks exactly where a chart puts them. Numeric axes
//! tick at round numbers (1, 2 or 5 × 10^k apart, about five of them, as matplotlib's default
//! locator does), labelled with just enough decimals; a categorical axis ticks at 0, 1, …
//! with its rows half a unit either side. plotters' own float axes pick their ticks with a
//! hint and cannot be given a label formatter once their ticks are fixed, hence this type.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// An axis from `low` to `high`, ticked at `ticks`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Axis {
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl Axis {
    /// From `low` to `high`, ticked at the multiples of `step` between them.
    pub(super) fn stepped(low: f64, high: f64, step: f64) -> Self {
        let first = (low / step - 1e-9).ceil() as i64;
        let last = (high / step + 1e-9).floor() as i64;
        let ticks = (first..=last)
            .map(|k| k as f64 * step)
            // -0.0 would be labelled "-0.0".
            .map(|v| if v == 0.0 { 0.0 } else { v })
            .collect();
        Self { low, high, ticks }
    }

    /// `n` categories at 0, 1, …, n - 1.
    pub(super) fn categories(n: usize) -> Self {
        Self {
            low: -0.5,
            high: n as f64 - 0.5,
            ticks: (0..n).map(|k| k as f64).collect(),
        }
    }
}

/// A tick step of 1, 2 or 5 × 10^k giving about five intervals over `span`.
pub(super) fn step(span: f64) -> f64 {
    let raw = (span / 5.0).max(1e-12);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * magnitude)
}

/// Decimals that show multiples of `step` exactly.
pub(super) fn decimals(step: f64) -> usize {
    (-step.log10().floor()).max(0.0) as usize
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (from, to): (i32, i32)) -> i32 {
        let share = if self.high > self.low {
            (value - self.low) / (self.high - self.low)
        } else {
            0.5
        };
        from + (f64::from(to - from) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.low..self.high
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_with_just_enough_decimals() {
        assert_eq!(step(0.1), 0.02);
        assert_eq!(step(0.3), 0.1);
        assert_eq!(step(1.0), 0.2);
        assert_eq!(step(220.0), 50.0);
        assert_eq!(step(3.0), 1.0);
        assert_eq!(decimals(0.05), 2);
        assert_eq!(decimals(0.2), 1);
        assert_eq!(decimals(50.0), 0);
        assert_eq!(
            Axis::stepped(-0.01, 0.1, 0.05).key_points(0),
            [0.0, 0.05, 0.1]
        );
        assert_eq!(
            Axis::stepped(0.0, 220.0, 50.0).key_points(0),
            [0.0, 50.0, 100.0, 150.0, 200.0]
        );
        assert_eq!(Axis::categories(2).key_points(0), [0.0, 1.0]);
    }

    #[test]
    fn values_map_linearly_onto_the_pixels() {
        let axis = Axis::stepped(0.0, 1.0, 0.5);
        assert_eq!(axis.map(&0.0, (10, 110)), 10);
        assert_eq!(axis.map(&0.25, (10, 110)), 35);
        assert_eq!(axis.map(&1.0, (110, 10)), 10);
    }
}
