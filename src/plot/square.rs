//! The square probability plot the ROC curve and the reliability diagram share, as matplotlib
//! draws scikit-learn's displays: both axes a little past [0, 1] (ticked every 0.2) so that a
//! curve along an edge is not hidden by the axis, a closed box, the dashed diagonal, and the
//! legend in the lower right (where neither curve goes).

use std::iter::once;

use plotters::backend::DrawingBackend;
use plotters::chart::{ChartBuilder, ChartContext, SeriesLabelPosition};
use plotters::coord::Shift;
use plotters::coord::cartesian::Cartesian2d;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{DashedPathElement, PathElement};
use plotters::style::{Color as _, WHITE};

use super::axis::Axis;
use super::style::{self, GREY, TICK, TITLE};

/// A square plot, 500 × 500: 630 wide less 40 of margins and the 90 of the y labels; 644 tall
/// less 40 of margins, the 70 of the x labels and the 34 of the title (its text and 5 above
/// and below). The same for both charts, so they sit side by side in the MLflow UI.
pub(super) const SIZE: (u32, u32) = (630, 644);

/// Where the axes start and end.
pub(super) const LOW: f64 = -0.01;
/// See [`LOW`].
pub(super) const HIGH: f64 = 1.01;

/// The chart both kinds draw their curves on.
pub(super) type Square<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Draws the title, the axes with their labels and the box, and returns the chart.
pub(super) fn axes<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    x_desc: String,
    y_desc: String,
) -> Result<Square<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, style::text(TITLE))
        .margin(20)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(Axis::stepped(LOW, HIGH, 0.2), Axis::stepped(LOW, HIGH, 0.2))?;
    let mut mesh = chart.configure_mesh();
    style::mesh(&mut mesh)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()?;
    // matplotlib closes the box with a top and a right spine.
    chart.draw_series(once(PathElement::new(
        vec![(LOW, HIGH), (HIGH, HIGH), (HIGH, LOW)],
        style::axis(),
    )))?;
    Ok(chart)
}

/// The dashed grey diagonal from (0, 0) to (1, 1), named `label` in the legend.
pub(super) fn diagonal<'a, DB: DrawingBackend + 'a>(
    chart: &mut Square<'a, DB>,
    label: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let line = GREY.stroke_width(2);
    chart
        .draw_series(once(DashedPathElement::new(
            [(0.0, 0.0), (1.0, 1.0)],
            8,
            5,
            line,
        )))?
        .label(label)
        .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + 28, y)], 8, 5, line));
    Ok(())
}

/// The legend of every labelled series, in the lower right.
pub(super) fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Square<'a, DB>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .margin(14)
        .legend_area_size(36)
        .label_font(style::text(TICK))
        .background_style(WHITE.filled())
        .border_style(GREY.mix(0.4))
        .draw()
}
