//! A chart as a file: an SVG document (plotters' SVG backend, text kept as `<text>` so it
//! stays searchable and sharp), or a PNG (plotters' bitmap backend drawing into an RGB buffer,
//! encoded by the `png` crate). Both are laid out with the embedded font's measure of text
//! ([`Typeset`]) and start from a white page of the chart's size.

use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea as _};
use plotters::prelude::{BitMapBackend, SVGBackend};
use plotters::style::WHITE;

use super::PlotError;
use super::typeset::{Glyphs, Typeset};

/// Something drawn the same way on every backend.
pub(crate) trait Chart {
    /// Width and height of the picture, in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws the chart on `root`, which is already white.
    ///
    /// # Errors
    /// The backend's.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self(e.to_string())
    }
}

impl From<png::EncodingError> for PlotError {
    fn from(e: png::EncodingError) -> Self {
        Self(format!("encoding the PNG: {e}"))
    }
}

/// Draws `chart` on a white `root` and finishes the drawing.
fn paint<DB: DrawingBackend>(
    chart: &impl Chart,
    root: DrawingArea<DB, Shift>,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    chart.draw(&root)?;
    root.present()?;
    Ok(())
}

/// `chart` as an SVG document.
///
/// # Errors
/// See [`PlotError`].
pub(crate) fn svg(chart: &impl Chart) -> Result<String, PlotError> {
    let mut out = String::new();
    let backend = Typeset {
        inner: SVGBackend::with_string(&mut out, chart.size()),
        glyphs: Glyphs::Inner,
    };
    paint(chart, backend.into_drawing_area())?;
    Ok(out)
}

/// `chart` as a PNG file (8-bit RGB).
///
/// # Errors
/// See [`PlotError`].
pub(crate) fn png(chart: &impl Chart) -> Result<Vec<u8>, PlotError> {
    let (width, height) = chart.size();
    let mut rgb = vec![0; width as usize * height as usize * 3];
    let backend = Typeset {
        inner: BitMapBackend::with_buffer(&mut rgb, (width, height)),
        glyphs: Glyphs::Rasterised,
    };
    paint(chart, backend.into_drawing_area())?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{png_rgb, svg_texts};
    use super::super::{Bar, Bars, Confusion, Palette, Reliability, Roc};
    use super::*;

    fn roc() -> Roc<'static> {
        Roc {
            title: "ROC curve (held-out rows)",
            name: "Random forest",
            positive: "legendary",
            points: &[(0.0, 0.0), (0.0, 0.5), (0.05, 0.9), (0.2, 0.95), (1.0, 1.0)],
            auc: 0.987,
        }
    }

    fn bars(title: Option<&'static str>, error: Option<f64>) -> Bars<'static> {
        let bar = |label: &str, value| Bar {
            label: label.to_owned(),
            value,
            error,
        };
        Bars {
            title,
            x_label: "mean(|SHAP value|)",
            palette: Palette::Shap,
            bars: vec![
                bar("hp", 0.031),
                bar("speed", 0.018),
                bar("special_attack", 0.05),
            ],
        }
    }

    fn reliability() -> Reliability<'static> {
        Reliability {
            title: "Reliability (held-out rows)",
            name: "Random forest",
            positive: "legendary",
            points: &[(0.02, 0.01), (0.15, 0.2), (0.55, 0.5), (0.93, 0.97)],
            ece: 0.0213,
        }
    }

    fn confusion() -> Confusion<'static> {
        Confusion {
            title: "Confusion matrix",
            classes: ["not legendary", "legendary"],
            counts: [[221, 3], [4, 18]],
        }
    }

    /// Checks `chart`'s PNG (its size, ink in its middle and in its title band, the same
    /// bytes every time) and that its SVG has `texts` among its `<text>` elements.
    fn check(chart: &impl Chart, texts: &[&str]) {
        let bytes = png(chart).unwrap();
        let (width, height, rgb) = png_rgb(&bytes);
        assert_eq!((width, height), chart.size());
        let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let at = (y * width + x) as usize * 3;
                    rgb[at..at + 3].iter().all(|&c| c < 100)
                })
                .count()
        };
        assert!(
            dark(0, width, 0, height) > 1000,
            "{} dark pixels",
            dark(0, width, 0, height)
        );
        assert_eq!(bytes, png(chart).unwrap(), "deterministic");
        let svg = svg(chart).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(&format!("width=\"{width}\" height=\"{height}\"")));
        let found = svg_texts(&svg);
        for text in texts {
            assert!(found.iter().any(|t| t == text), "{text:?} not in {found:?}");
        }
    }

    #[test]
    fn a_roc_curve_has_its_ticks_axis_labels_and_auc_in_the_legend() {
        check(
            &roc(),
            &[
                "ROC curve (held-out rows)",
                "0.0",
                "0.2",
                "0.4",
                "0.6",
                "0.8",
                "1.0",
                "False Positive Rate (Positive label: legendary)",
                "True Positive Rate (Positive label: legendary)",
                "Random forest (AUC = 0.987)",
                "Chance level (AUC = 0.5)",
            ],
        );
    }

    #[test]
    fn a_reliability_diagram_has_its_ticks_axis_labels_and_ece_in_the_legend() {
        check(
            &reliability(),
            &[
                "Reliability (held-out rows)",
                "0.0",
                "1.0",
                "Mean predicted probability (Positive class: legendary)",
                "Fraction of positives (Positive class: legendary)",
                "Random forest (ECE = 0.021)",
                "Perfectly calibrated",
            ],
        );
    }

    #[test]
    fn bars_have_their_labels_values_and_round_ticks() {
        let texts = [
            "special_attack",
            "hp",
            "speed",
            "0.050",
            "0.00",
            "0.01",
            "0.05",
            "mean(|SHAP value|)",
        ];
        check(&bars(None, None), &texts);
        // The whiskers reach 0.054: the ticks step by 0.02.
        check(
            &bars(Some("Permutation importance"), Some(0.004)),
            &[
                "Permutation importance",
                "special_attack",
                "0.050",
                "0.00",
                "0.02",
                "0.04",
            ],
        );
    }

    #[test]
    fn a_confusion_matrix_has_its_counts_classes_and_colour_bar_ticks() {
        check(
            &confusion(),
            &[
                "Confusion matrix",
                "221",
                "3",
                "4",
                "18",
                "not legendary",
                "legendary",
                "Predicted label",
                "True label",
                "50",
                "200",
            ],
        );
    }

    #[test]
    fn the_png_text_is_drawn_in_the_embedded_font() {
        // The title of the ROC curve, alone on its band: antialiased ink (grey levels, not
        // just black and white) across the middle of the picture.
        let (width, _, rgb) = png_rgb(&png(&roc()).unwrap());
        let band: Vec<&[u8]> = (20..48)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| {
                let at = (y * width + x) as usize * 3;
                &rgb[at..at + 3]
            })
            .collect();
        let inked = band.iter().filter(|p| p[0] < 128).count();
        let grey = band.iter().filter(|p| p[0] > 40 && p[0] < 215).count();
        assert!(inked > 300 && grey > 300, "{inked} inked, {grey} grey");
    }
}
