//! What every chart shares, so they look like one family: matplotlib's defaults (black text
//! and axes on white, `tab:blue` for data) at sizes that stay readable when the MLflow UI
//! shrinks a picture to its preview pane.

use plotters::backend::DrawingBackend;
use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::Ranged;
use plotters::style::{Color as _, IntoFont as _, RGBColor, ShapeStyle, TextStyle};

use super::font::FAMILY;

/// Text, axes and tick marks.
pub(super) const INK: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
/// matplotlib's first colour (`C0`, `tab:blue`).
pub(super) const BLUE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// shap's bar colour (`shap.plots.colors.blue_rgb`).
pub(super) const SHAP_BLUE: RGBColor = RGBColor(0x00, 0x8b, 0xfb);
/// Reference lines: the ROC chance diagonal, error whiskers.
pub(super) const GREY: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Text sizes, in pixels per em (the SVG's `font-size`): the title's, the axis labels', the
/// tick labels' (and the legend's and the bars' values). Whole numbers that survive plotters'
/// × 1.24 / 1.24 unchanged, so the SVG says `font-size="16"`, not `16.000000000000002`.
pub(super) const TITLE: f64 = 20.0;
pub(super) const LABEL: f64 = 17.0;
pub(super) const TICK: f64 = 16.0;

/// Length of the tick marks, pointing out of the plot as matplotlib's do.
pub(super) const TICK_MARK: i32 = 6;

/// Text of `em` pixels per em in the embedded font, in `colour`. plotters sizes text by
/// 1.24 em (its SVG backend divides by that), hence the factor.
pub(super) fn text_in(em: f64, colour: RGBColor) -> TextStyle<'static> {
    (FAMILY, em * 1.24).into_font().color(&colour)
}

/// Text of `em` pixels per em in the embedded font, in ink.
pub(super) fn text(em: f64) -> TextStyle<'static> {
    text_in(em, INK)
}

/// The axes' lines.
pub(super) fn axis() -> ShapeStyle {
    INK.stroke_width(1)
}

/// Axes as matplotlib draws them: no grid, ink axes, outward tick marks, tick labels and axis
/// descriptions in the family's sizes. Each chart adds its formatters and descriptions.
pub(super) fn mesh<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.disable_mesh()
        .axis_style(axis())
        .set_all_tick_mark_size(TICK_MARK)
        .label_style(text(TICK))
        .axis_desc_style(text(LABEL))
}
