//! A ROC curve as scikit-learn's `RocCurveDisplay` draws it with `plot_chance_level=True`: a
//! square plot of the true against the false positive rate, the dashed chance diagonal, and a
//! legend giving the curve's AUC.

use std::iter::once;

use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::PathElement;
use plotters::style::Color as _;

use super::Chart;
use super::square;
use super::style::BLUE;

/// A ROC curve and its AUC.
pub(crate) struct Roc<'a> {
    /// Above the plot.
    pub(crate) title: &'a str,
    /// What the curve is of, in the legend.
    pub(crate) name: &'a str,
    /// The positive class, named in the axis labels.
    pub(crate) positive: &'a str,
    /// (false positive rate, true positive rate), from (0, 0) to (1, 1).
    pub(crate) points: &'a [(f64, f64)],
    /// The area under the curve.
    pub(crate) auc: f64,
}

impl Chart for Roc<'_> {
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
            format!("False Positive Rate (Positive label: {})", self.positive),
            format!("True Positive Rate (Positive label: {})", self.positive),
        )?;
        let curve = BLUE.stroke_width(2);
        chart
            .draw_series(once(PathElement::new(self.points.to_vec(), curve)))?
            .label(format!("{} (AUC = {:.3})", self.name, self.auc))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 28, y)], curve));
        square::diagonal(&mut chart, "Chance level (AUC = 0.5)")?;
        square::legend(&mut chart)
    }
}
