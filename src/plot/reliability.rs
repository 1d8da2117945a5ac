//! A reliability diagram as scikit-learn's `CalibrationDisplay` draws it: a square plot of the
//! fraction of positives against the mean predicted probability of each bin, squares joined
//! by a line, the dashed diagonal of a perfectly calibrated model, the legend in the lower
//! right (where a calibrated curve never goes).

use std::iter::once;

use plotters::backend::DrawingBackend;
use plotters::chart::{ChartBuilder, SeriesLabelPosition};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{DashedPathElement, EmptyElement, PathElement, Rectangle};
use plotters::style::{Color as _, WHITE};

use super::Chart;
use super::axis::Axis;
use super::style::{self, BLUE, GREY, TICK, TITLE};

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

/// As for the ROC curve: a little past [0, 1], so points on an edge stay visible.
const LOW: f64 = -0.01;
const HIGH: f64 = 1.01;

/// Half the side of a bin's square marker, in pixels.
const MARKER: i32 = 4;

impl Chart for Reliability<'_> {
    /// The ROC curve's size, so the two sit side by side in the MLflow UI.
    fn size(&self) -> (u32, u32) {
        (630, 644)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, style::text(TITLE))
            .margin(20)
            .x_label_area_size(70)
            .y_label_area_size(90)
            .build_cartesian_2d(Axis::stepped(LOW, HIGH, 0.2), Axis::stepped(LOW, HIGH, 0.2))?;
        let mut mesh = chart.configure_mesh();
        style::mesh(&mut mesh)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .x_desc(format!(
                "Mean predicted probability (Positive class: {})",
                self.positive
            ))
            .y_desc(format!(
                "Fraction of positives (Positive class: {})",
                self.positive
            ))
            .draw()?;
        chart.draw_series(once(PathElement::new(
            vec![(LOW, HIGH), (HIGH, HIGH), (HIGH, LOW)],
            style::axis(),
        )))?;
        let perfect = GREY.stroke_width(2);
        chart
            .draw_series(once(DashedPathElement::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                5,
                perfect,
            )))?
            .label("Perfectly calibrated")
            .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + 28, y)], 8, 5, perfect));
        let curve = BLUE.stroke_width(2);
        // A square centred `dx` pixels right of a point.
        let square = |dx: i32| {
            Rectangle::new(
                [(dx - MARKER, -MARKER), (dx + MARKER, MARKER)],
                BLUE.filled(),
            )
        };
        chart
            .draw_series(once(PathElement::new(self.points.to_vec(), curve)))?
            .label(format!("{} (ECE = {:.3})", self.name, self.ece))
            .legend(move |at| {
                EmptyElement::at(at) + PathElement::new(vec![(0, 0), (28, 0)], curve) + square(14)
            });
        chart.draw_series(self.points.iter().map(|&p| EmptyElement::at(p) + square(0)))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .margin(14)
            .legend_area_size(36)
            .label_font(style::text(TICK))
            .background_style(WHITE.filled())
            .border_style(GREY.mix(0.4))
            .draw()?;
        Ok(())
    }
}
