//! Sorted horizontal bars, largest on top, as `shap.summary_plot(plot_type="bar")` and
//! matplotlib's `barh` of feature importances draw them: one labelled row per feature, the
//! value printed past the end of its bar, optional error whiskers (± one standard deviation).

use std::iter::once;

use plotters::backend::DrawingBackend;
use plotters::chart::ChartBuilder;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{EmptyElement, PathElement, Rectangle, Text};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color as _, RGBColor};

use super::Chart;
use super::axis::{self, Axis};
use super::style::{self, BLUE, INK, SHAP_BLUE, TICK, TITLE};

/// One row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    /// The feature's name, beside the axis.
    pub(crate) label: String,
    /// The bar's length.
    pub(crate) value: f64,
    /// The whisker's half-length (a standard deviation), if the value has one.
    pub(crate) error: Option<f64>,
}

/// Whose colours the bars take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Palette {
    /// matplotlib's first colour.
    Matplotlib,
    /// shap's blue, so the SHAP summary looks like the one the shap package draws.
    Shap,
}

/// A horizontal bar chart.
#[derive(Debug, Clone)]
pub(crate) struct Bars<'a> {
    /// Above the plot, if any (shap's summary has none).
    pub(crate) title: Option<&'a str>,
    /// Under the x axis.
    pub(crate) x_label: &'a str,
    /// The bars' colour.
    pub(crate) palette: Palette,
    /// The rows, in any order.
    pub(crate) bars: Vec<Bar>,
}

/// Height of one row, in pixels.
const ROW: u32 = 46;
/// The bar's share of its row.
const THICKNESS: f64 = 0.7;
const WIDTH: u32 = 820;

impl Bars<'_> {
    /// The rows largest first (ties keep their order), non-finite numbers as zero.
    pub(crate) fn sorted(&self) -> Vec<Bar> {
        let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
        let mut bars: Vec<Bar> = self
            .bars
            .iter()
            .map(|b| Bar {
                label: b.label.clone(),
                value: finite(b.value),
                error: b.error.map(finite),
            })
            .collect();
        bars.sort_by(|a, b| b.value.total_cmp(&a.value));
        bars
    }
}

/// Where a bar and its whisker end: the lowest and the highest value drawn.
fn reach(bar: &Bar) -> (f64, f64) {
    let e = bar.error.unwrap_or(0.0).abs();
    ((bar.value - e).min(0.0), (bar.value + e).max(0.0))
}

impl Chart for Bars<'_> {
    fn size(&self) -> (u32, u32) {
        let title = if self.title.is_some() { 50 } else { 10 };
        (WIDTH, title + ROW * self.bars.len().max(1) as u32 + 100)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let bars = self.sorted();
        let n = bars.len();
        let (low, high) = bars.iter().map(reach).fold((0.0, 0.0), |(l, h), (a, b)| {
            (f64::min(l, a), f64::max(h, b))
        });
        let high = if high - low > 0.0 { high } else { 1.0 };
        let step = axis::step(high - low);
        let places = axis::decimals(step);
        // Room past the longest bar for its printed value.
        let (x0, x1) = (low - (high - low) * 0.02, high + (high - low) * 0.16);
        // The largest bar is row 0, drawn on top.
        let y = |k: usize| (n - 1 - k) as f64;
        let label_width = bars
            .iter()
            .map(|b| root.estimate_text_size(&b.label, &style::text(TICK)))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(w, _)| w)
            .max()
            .unwrap_or(0);
        let mut builder = ChartBuilder::on(root);
        if let Some(title) = self.title {
            builder.caption(title, style::text(TITLE));
        }
        let mut chart = builder
            .margin(20)
            .margin_right(30)
            .x_label_area_size(70)
            .y_label_area_size(label_width + 24)
            .build_cartesian_2d(Axis::stepped(x0, x1, step), Axis::categories(n))?;
        let name = |v: &f64| {
            let row = n as f64 - 1.0 - v.round();
            bars.get(row as usize)
                .map_or_else(String::new, |b| b.label.clone())
        };
        let mut mesh = chart.configure_mesh();
        style::mesh(&mut mesh)
            .x_label_formatter(&|v| format!("{v:.places$}"))
            .y_label_formatter(&name)
            .x_desc(self.x_label)
            .draw()?;
        let colour: RGBColor = match self.palette {
            Palette::Matplotlib => BLUE,
            Palette::Shap => SHAP_BLUE,
        };
        let half = THICKNESS / 2.0;
        chart.draw_series(bars.iter().enumerate().map(|(k, b)| {
            Rectangle::new(
                [(0.0, y(k) - half), (b.value, y(k) + half)],
                colour.filled(),
            )
        }))?;
        for (k, b) in bars.iter().enumerate() {
            if let Some(e) = b.error {
                let (l, r, c) = (b.value - e, b.value + e, half / 3.0);
                chart.draw_series([
                    PathElement::new(vec![(l, y(k)), (r, y(k))], INK.stroke_width(1)),
                    PathElement::new(vec![(l, y(k) - c), (l, y(k) + c)], INK.stroke_width(1)),
                    PathElement::new(vec![(r, y(k) - c), (r, y(k) + c)], INK.stroke_width(1)),
                ])?;
            }
        }
        let value_style = style::text(TICK).pos(Pos::new(HPos::Left, VPos::Center));
        for (k, b) in bars.iter().enumerate() {
            let at = (reach(b).1, y(k));
            let text = format!("{:.p$}", b.value, p = places + 1);
            chart.draw_series(once(
                EmptyElement::at(at) + Text::new(text, (8, 0), value_style.clone()),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_largest_first_and_ties_keep_their_order() {
        let bar = |label: &str, value| Bar {
            label: label.to_owned(),
            value,
            error: None,
        };
        let chart = Bars {
            title: None,
            x_label: "x",
            palette: Palette::Shap,
            bars: vec![
                bar("a", 0.1),
                bar("b", 0.3),
                bar("c", f64::NAN),
                bar("d", 0.1),
            ],
        };
        let labels: Vec<String> = chart.sorted().into_iter().map(|b| b.label).collect();
        assert_eq!(labels, ["b", "a", "d", "c"]);
    }
}
