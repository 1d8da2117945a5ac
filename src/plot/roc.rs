//! A ROC curve as scikit-learn's `RocCurveDisplay` draws it with `plot_chance_level=True`: a
//! square plot of the true against the false positive rate, the dashed chance diagonal, and a
//! legend giving the curve's AUC.

use std::iter::once;

use plotters::backend::DrawingBackend;
use plotters::chart::{ChartBuilder, SeriesLabelPosition};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{DashedPathElement, PathElement};
use plotters::style::{Color as _, WHITE};

use super::Chart;
use super::axis::Axis;
use super::style::{self, BLUE, GREY, TICK, TITLE};

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

/// The axes run a little past [0, 1] (ticked every 0.2, as matplotlib does) so that the
/// curve along an edge is not hidden by the axis.
const LOW: f64 = -0.01;
const HIGH: f64 = 1.01;

impl Chart for Roc<'_> {
    /// A square plot, 500 × 500: 630 wide less 40 of margins and the 90 of the y labels; 644
    /// tall less 40 of margins, the 70 of the x labels and the 34 of the title (its text and
    /// 5 above and below).
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
                "False Positive Rate (Positive label: {})",
                self.positive
            ))
            .y_desc(format!(
                "True Positive Rate (Positive label: {})",
                self.positive
            ))
            .draw()?;
        // matplotlib closes the box with a top and a right spine.
        chart.draw_series(once(PathElement::new(
            vec![(LOW, HIGH), (HIGH, HIGH), (HIGH, LOW)],
            style::axis(),
        )))?;
        let curve = BLUE.stroke_width(2);
        chart
            .draw_series(once(PathElement::new(self.points.to_vec(), curve)))?
            .label(format!("{} (AUC = {:.3})", self.name, self.auc))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 28, y)], curve));
        let chance = GREY.stroke_width(2);
        chart
            .draw_series(once(DashedPathElement::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                5,
                chance,
            )))?
            .label("Chance level (AUC = 0.5)")
            .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + 28, y)], 8, 5, chance));
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
