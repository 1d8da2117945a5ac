//! The run's pictures, drawn with plotters the way matplotlib draws them for a Python user: a
//! title, axes with ticks and tick labels, axis labels and readable text, in DejaVu Sans
//! (matplotlib's own font), which is embedded because a bare server image has no fonts to
//! look up. A chart draws on any plotters backend, so its SVG and its PNG are one drawing.
//!
//! Layout:
//! - `font`: the embedded font, and the one measure of text.
//! - `typeset`: a plotters backend whose text is in that font.
//! - `style`: the colours and text sizes every chart shares.
//! - `render`: a chart as an SVG document or a PNG file.
//! - `axis`: value ranges ticked where a chart wants them.
//! - `square`: the square probability plot the ROC curve and the reliability diagram share.
//! - `roc`, `reliability`, `bars`, `heatmap`: the kinds of chart (ROC curve, reliability
//!   diagram, sorted horizontal bars, confusion matrix).

mod axis;
mod bars;
mod font;
mod heatmap;
mod reliability;
mod render;
mod roc;
mod square;
mod style;
mod typeset;

pub(crate) use bars::{Bar, Bars, Palette};
pub(crate) use heatmap::Confusion;
pub(crate) use reliability::Reliability;
pub(crate) use render::{Chart, png, svg};
pub(crate) use roc::Roc;

/// Why a chart could not be drawn or encoded. Neither happens with the embedded font and
/// in-memory backends, but plotters' and png's signatures allow it, so it is reported.
#[derive(Debug, thiserror::Error)]
#[error("drawing a plot: {0}")]
pub struct PlotError(String);

/// What the tests of the charts and of the files made of them read back.
#[cfg(test)]
pub(crate) mod testing {
    /// The contents of an SVG's `<text>` elements, trimmed.
    pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_owned())
            })
            .collect()
    }

    /// Width, height and 8-bit RGB pixels of a PNG, decoded by the `png` crate.
    pub(crate) fn png_rgb(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(
            (info.color_type, info.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight)
        );
        rgb.truncate(info.buffer_size());
        (info.width, info.height, rgb)
    }
}
