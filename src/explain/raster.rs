//! A [`Scene`] as a PNG: drawn into an RGB buffer (rectangles, and text in font8x8's 8×8
//! bitmap font scaled by whole pixels), then written as a PNG by hand: the signature and
//! three chunks (IHDR, one zlib IDAT of unfiltered scanlines, IEND), each with its CRC.
//! Deterministic: the same scene gives the same bytes.

use std::io::Write as _;

use font8x8::legacy::BASIC_LEGACY;

use super::plot::{Anchor, GLYPH, Mark, Scene};

/// An RGB image.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            pixels: vec![0xff; (width * height * 3) as usize],
        }
    }

    /// Fills a rectangle, clipped to the canvas.
    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
        for row in y..(y + h).min(self.height) {
            for col in x..(x + w).min(self.width) {
                let at = ((row * self.width + col) * 3) as usize;
                self.pixels[at..at + 3].copy_from_slice(&color);
            }
        }
    }

    /// Draws `text` with its top-left corner at (`x`, `y`); characters outside ASCII are blank.
    fn text(&mut self, x: u32, y: u32, scale: u32, text: &str, color: [u8; 3]) {
        for (k, c) in text.chars().enumerate() {
            let glyph = BASIC_LEGACY.get(c as usize).copied().unwrap_or_default();
            let left = x + k as u32 * GLYPH * scale;
            for (r, bits) in glyph.iter().enumerate() {
                for col in 0..GLYPH {
                    if bits >> col & 1 == 1 {
                        let (px, py) = (left + col * scale, y + r as u32 * scale);
                        self.fill(px, py, scale, scale, color);
                    }
                }
            }
        }
    }
}

/// Text and axes (the scene's rectangles carry their own colour).
const INK: [u8; 3] = [0x33, 0x33, 0x33];

/// The scene drawn as a PNG file.
pub(super) fn png(scene: &Scene) -> Vec<u8> {
    let mut canvas = Canvas::new(scene.width, scene.height);
    for mark in &scene.marks {
        match mark {
            Mark::Rect { x, y, w, h, fill } => canvas.fill(*x, *y, *w, *h, *fill),
            Mark::Text {
                x,
                y,
                anchor,
                scale,
                text,
            } => {
                let width = text.chars().count() as u32 * GLYPH * scale;
                let left = match anchor {
                    Anchor::Start => *x,
                    Anchor::Middle => x.saturating_sub(width / 2),
                    Anchor::End => x.saturating_sub(width),
                };
                canvas.text(left, *y, *scale, text, INK);
            }
        }
    }
    encode(&canvas)
}

/// PNG bytes of an 8-bit RGB image.
fn encode(canvas: &Canvas) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&canvas.width.to_be_bytes());
    ihdr.extend_from_slice(&canvas.height.to_be_bytes());
    // 8 bits per channel, colour type 2 (RGB), deflate, no filter method, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let stride = (canvas.width * 3) as usize;
    let mut raw = Vec::with_capacity((stride + 1) * canvas.height as usize);
    for line in canvas.pixels.chunks_exact(stride) {
        raw.push(0); // filter type 0: none
        raw.extend_from_slice(line);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(&raw);
    chunk(&mut out, b"IDAT", &z.finish().unwrap_or_default());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Appends one chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_idat(png: &[u8]) -> (u32, u32, Vec<u8>) {
        use std::io::Read as _;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let (mut w, mut h, mut idat) = (0, 0, Vec::new());
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(
                crc,
                crc32fast::hash(&png[at + 4..at + 8 + len]),
                "CRC of {kind:?}"
            );
            match kind {
                b"IHDR" => {
                    w = u32::from_be_bytes(data[..4].try_into().unwrap());
                    h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                }
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            at += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap();
        (w, h, raw)
    }

    #[test]
    fn a_scene_becomes_a_valid_png_with_its_pixels() {
        let scene = Scene {
            width: 40,
            height: 20,
            marks: vec![
                Mark::Rect {
                    x: 2,
                    y: 3,
                    w: 4,
                    h: 5,
                    fill: [1, 2, 3],
                },
                Mark::Text {
                    x: 20,
                    y: 4,
                    anchor: Anchor::Start,
                    scale: 1,
                    text: "I".to_owned(),
                },
            ],
        };
        let png = png(&scene);
        let (w, h, raw) = decode_idat(&png);
        assert_eq!((w, h), (40, 20));
        assert_eq!(raw.len(), 20 * (1 + 40 * 3));
        let pixel = |x: usize, y: usize| &raw[y * 121 + 1 + x * 3..y * 121 + 1 + x * 3 + 3];
        assert_eq!(pixel(2, 3), [1, 2, 3]);
        assert_eq!(pixel(5, 7), [1, 2, 3]);
        assert_eq!(pixel(6, 8), [0xff; 3]);
        // The letter I has ink in its middle columns.
        assert!((20..28).any(|x| pixel(x, 6) == INK));
        assert_eq!(png, super::png(&scene), "deterministic");
    }
}
