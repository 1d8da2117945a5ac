//! A plotters backend with the embedded font's text: it measures every text with the font's
//! real advances and kerning (plotters lays out titles, tick labels and legends with that
//! measure), and on a bitmap draws the glyphs itself, anti-aliased at their exact positions.
//! plotters' own `ab_glyph` text drops each glyph's left side bearing, which puts a visible gap
//! after every `l` and `i`; on SVG the viewer draws the text, from `<text>` elements.

use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use super::font;

/// Who draws the glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Glyphs {
    /// This backend, pixel by pixel (bitmaps).
    Rasterised,
    /// The inner backend, as text (SVG).
    Inner,
}

/// `inner`, with text measured (and, for [`Glyphs::Rasterised`], drawn) in the embedded font.
pub(super) struct Typeset<B> {
    pub(super) inner: B,
    pub(super) glyphs: Glyphs,
}

fn font_error<E: std::error::Error + Send + Sync>(e: ab_glyph::InvalidFont) -> DrawingErrorKind<E> {
    DrawingErrorKind::FontError(Box::new(e))
}

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<B::ErrorType>> {
        let line = font::line(font::face().map_err(font_error)?, text, style.size());
        Ok((line.width.ceil() as u32, line.height.ceil() as u32))
    }

    /// The text's box is anchored at `pos` as the style says, then turned about `pos` by the
    /// style's rotation (the y axis label is turned a quarter), as plotters does.
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        if self.glyphs == Glyphs::Inner {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let face = font::face().map_err(font_error)?;
        let line = font::line(face, text, style.size());
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -line.height / 2.0,
            VPos::Bottom => -line.height,
        };
        let turn = style.transform();
        let mut pixels = Vec::new();
        for glyph in line.glyphs {
            let mut glyph = glyph;
            glyph.position.x += dx;
            glyph.position.y += dy;
            if let Some(outline) = ab_glyph::Font::outline_glyph(face, glyph) {
                let corner = outline.px_bounds().min;
                outline.draw(|x, y, coverage| {
                    let (x, y) = (corner.x as i32 + x as i32, corner.y as i32 + y as i32);
                    pixels.push((turn.transform(x, y), coverage));
                });
            }
        }
        for ((x, y), coverage) in pixels {
            let alpha = color.alpha * f64::from(coverage.min(1.0));
            if alpha > 0.0 {
                self.inner.draw_pixel(
                    (pos.0 + x, pos.1 + y),
                    BackendColor {
                        alpha,
                        rgb: color.rgb,
                    },
                )?;
            }
        }
        Ok(())
    }
}
