//! DejaVu Sans 2.37, the font matplotlib draws with (its licence is `DejaVuSans-LICENSE`
//! beside it), compiled into the binary so a bare server image draws the same text as a
//! workstation, and the one measure of text that both the SVG and the PNG are laid out with.
//!
//! Sizes: plotters' SVG backend writes a text of size `s` with `font-size` `s / 1.24`, so that
//! is the em this module sets the font at too, and a chart's text comes out the same size in
//! both files.

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontRef, Glyph, InvalidFont, PxScale, ScaleFont as _, point};

/// The family every chart's text names. The SVG backend writes it as the text's
/// `font-family`, so it is a CSS family list: a viewer without DejaVu Sans shows its own
/// sans-serif, not its serif.
pub(super) const FAMILY: &str = "DejaVu Sans, sans-serif";

/// The font file.
const DEJAVU_SANS: &[u8] = include_bytes!("DejaVuSans.ttf");

/// The parsed font (parsed once per process).
///
/// # Errors
/// The embedded bytes are not a font.
pub(super) fn face() -> Result<&'static FontRef<'static>, InvalidFont> {
    static FACE: OnceLock<Result<FontRef<'static>, InvalidFont>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS))
        .as_ref()
        .map_err(|e| *e)
}

/// One line of text, laid out.
pub(super) struct Line {
    /// The glyphs, positioned with the top left of the line's box at (0, 0).
    pub(super) glyphs: Vec<Glyph>,
    /// Width: the advances and kerning of the glyphs.
    pub(super) width: f32,
    /// Height: from the font's ascender to its descender.
    pub(super) height: f32,
}

/// Lays out `text` at plotters size `size` (1.24 em, see the module's doc).
pub(super) fn line(face: &FontRef<'static>, text: &str, size: f64) -> Line {
    let em = size as f32 / 1.24;
    let scale = PxScale::from(em * face.height_unscaled() / face.units_per_em().unwrap_or(2048.0));
    let font = face.as_scaled(scale);
    let mut glyphs = Vec::new();
    let mut caret = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            caret += font.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, point(caret, font.ascent())));
        caret += font.h_advance(id);
        previous = Some(id);
    }
    Line {
        glyphs,
        width: caret,
        height: font.ascent() - font.descent(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_reads_and_measures_text_at_the_svg_size() {
        let face = face().unwrap();
        let l = line(face, "ll", 1.24 * 20.0);
        // DejaVu Sans: 'l' advances 0.278 em; ascender to descender is 1.164 em.
        assert!((l.width - 2.0 * 0.278 * 20.0).abs() < 0.1, "{}", l.width);
        assert!((l.height - 1.164 * 20.0).abs() < 0.1, "{}", l.height);
        assert_eq!(l.glyphs.len(), 2);
    }
}
