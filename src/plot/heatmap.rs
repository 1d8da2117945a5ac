//! A confusion matrix as scikit-learn's `ConfusionMatrixDisplay` draws it: a viridis heatmap
//! of the counts (true class down, predicted class across), each count written in its cell in
//! the colour that contrasts with it, and a colour bar beside.

use std::iter::once;

use plotters::backend::DrawingBackend;
use plotters::chart::ChartBuilder;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{PathElement, Rectangle, Text};
use plotters::style::colors::colormaps::{ColorMap as _, ViridisRGB};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color as _, RGBColor};

use super::Chart;
use super::axis::{self, Axis};
use super::style::{self, TITLE};

/// A two-class confusion matrix.
pub(crate) struct Confusion<'a> {
    /// Above the plot.
    pub(crate) title: &'a str,
    /// The classes, negative first.
    pub(crate) classes: [&'a str; 2],
    /// `counts[true class][predicted class]`.
    pub(crate) counts: [[u64; 2]; 2],
}

/// The colour bar's width, and the room right of it for its tick labels.
const BAR: u32 = 24;
const BAR_LABELS: u32 = 70;
const BAR_GAP: u32 = 30;
/// The counts' text size (pixels per em).
const COUNT: f64 = 24.0;

fn viridis(v: f64, low: f64, high: f64) -> RGBColor {
    ViridisRGB.get_color_normalized(v, low, high.max(low + 1.0))
}

impl Chart for Confusion<'_> {
    /// Square cells: the matrix's area is 720 - 124 (colour bar) wide, less 40 of margins and
    /// the 170 of its row labels, 386; and 530 tall, less 40 of margins, the 70 of the column
    /// labels and the 34 of the title, 386.
    fn size(&self) -> (u32, u32) {
        (720, 530)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let counts = self.counts.map(|row| row.map(|c| c as f64));
        let low = counts
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let high = counts.iter().flatten().copied().fold(0.0, f64::max);
        let (width, _) = root.dim_in_pixel();
        let (matrix, side) = root.split_horizontally(width - BAR - BAR_LABELS - BAR_GAP);
        // Row 0 (the negative class) on top.
        let y = |i: usize| 1.0 - i as f64;
        let classes = self.classes;
        let class = |v: &f64| {
            classes
                .get(v.round() as usize)
                .map_or_else(String::new, |c| (*c).to_owned())
        };
        let row_class = |v: &f64| class(&(1.0 - v));
        let mut chart = ChartBuilder::on(&matrix)
            .caption(self.title, style::text(TITLE))
            .margin(20)
            .x_label_area_size(70)
            .y_label_area_size(170)
            .build_cartesian_2d(Axis::categories(2), Axis::categories(2))?;
        let mut mesh = chart.configure_mesh();
        style::mesh(&mut mesh)
            .x_label_formatter(&class)
            .y_label_formatter(&row_class)
            .x_desc("Predicted label")
            .y_desc("True label")
            .draw()?;
        let cells = (0..2).flat_map(|i| (0..2).map(move |j| (i, j)));
        chart.draw_series(cells.clone().map(|(i, j)| {
            Rectangle::new(
                [(j as f64 - 0.5, y(i) - 0.5), (j as f64 + 0.5, y(i) + 0.5)],
                viridis(counts[i][j], low, high).filled(),
            )
        }))?;
        // scikit-learn writes a count in the colormap's dark end on a light cell and in its
        // light end on a dark one.
        let middle = (low + high) / 2.0;
        chart.draw_series(cells.map(|(i, j)| {
            let ink = if counts[i][j] < middle { high } else { low };
            let style = style::text_in(COUNT, viridis(ink, low, high))
                .pos(Pos::new(HPos::Center, VPos::Center));
            Text::new(self.counts[i][j].to_string(), (j as f64, y(i)), style)
        }))?;
        chart.draw_series(once(PathElement::new(
            vec![(-0.5, 1.5), (1.5, 1.5), (1.5, -0.5)],
            style::axis(),
        )))?;

        // The colour bar: as tall as the matrix, its ticks on the right.
        let (_, rows) = chart.plotting_area().get_pixel_range();
        let top = u32::try_from(rows.start).unwrap_or(0);
        let height = u32::try_from(rows.end - rows.start).unwrap_or(0);
        let bar = side.shrink((BAR_GAP / 3, top), (BAR + BAR_LABELS, height));
        let span = high.max(low + 1.0) - low;
        let mut scale = ChartBuilder::on(&bar)
            .right_y_label_area_size(BAR_LABELS)
            .build_cartesian_2d(0.0..1.0, Axis::stepped(low, low + span, axis::step(span)))?;
        let mut mesh = scale.configure_mesh();
        style::mesh(&mut mesh)
            .disable_x_axis()
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        // Each slice reaches into the next one, which is drawn over it: a viewer that scales
        // the SVG shows no white seams between them.
        const SLICES: usize = 128;
        scale.draw_series((0..SLICES).map(|k| {
            let a = k as f64 / SLICES as f64;
            let b = ((k + 2) as f64 / SLICES as f64).min(1.0);
            Rectangle::new(
                [(0.0, low + a * span), (1.0, low + b * span)],
                viridis(low + (a + 0.5 / SLICES as f64) * span, low, high).filled(),
            )
        }))?;
        scale.draw_series(once(Rectangle::new(
            [(0.0, low), (1.0, low + span)],
            style::axis(),
        )))?;
        Ok(())
    }
}
