//! A reliability diagram as scikit-learn's `CalibrationDisplay` draws it: a square plot of the
//! fraction of positives against the mean predicted probability of each bin, squares joined
//! by a line, the dashed diagonal of a perfectly calibrated model, the legend in the lower
//! right (where a calibrated curve never goes).

use std::iter::once;

use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{EmptyElement, PathElement, Rectangle};
use plotters::style::Color as _;

use super::Chart;
use super::square;
use super::style::BLUE;

/// The binned probabilities of one model.
pub(crate) struct Reliability<'a> {
    /// Above the plot.
    pub(crate) title: &'a str,
    /// What the curve is of, in the legend (with `ece`).
    pub(crate) name: &'a str,
    /// The positive class, named in the axis labels.
    pub(crate) positive: &'a str,
    /// (mean probability, fraction positive) of each non-empty bin, by probability.
    pub(crate) points: &'a [(f64, f64)],
    /// The expected calibration error, in the legend.
    pub(crate) ece: f64,
}

/// Half the side of a bin's square marker, in pixels.
const MARKER: i32 = 4;

impl Chart for Reliability<'_> {
    fn size(&self) -> (u32, u32) {
        square::SIZE
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut chart = square::axes(
            root,
            self.title,
            format!(
                "Mean predicted probability (Positive class: {})",
                self.positive
            ),
            format!("Fraction of positives (Positive class: {})", self.positive),
        )?;
        square::diagonal(&mut chart, "Perfectly calibrated")?;
        let curve = BLUE.stroke_width(2);
        // A square centred `dx` pixels right of a point.
        let marker = |dx: i32| {
            Rectangle::new(
                [(dx - MARKER, -MARKER), (dx + MARKER, MARKER)],
                BLUE.filled(),
            )
        };
        chart
            .draw_series(once(PathElement::new(self.points.to_vec(), curve)))?
            .label(format!("{} (ECE = {:.3})", self.name, self.ece))
            .legend(move |at| {
                EmptyElement::at(at) + PathElement::new(vec![(0, 0), (28, 0)], curve) + marker(14)
            });
        chart.draw_series(self.points.iter().map(|&p| EmptyElement::at(p) + marker(0)))?;
        square::legend(&mut chart)
    }
}
