//! The summary bar plot of a set of explanations, as `shap.summary_plot(plot_type="bar")`
//! draws it: one horizontal bar per stat, the mean absolute Shapley value, largest on top.
//! Laid out once as a [`Scene`] of rectangles and text in pixels, then drawn as SVG
//! ([`Scene::svg`]) and PNG (`raster`), so the two files cannot disagree.

use std::fmt::Write as _;

use legendary_forest::FEATURES;

/// shap's bar colour.
const BLUE: [u8; 3] = [0x00, 0x8b, 0xfb];
/// Text and axes.
const INK: [u8; 3] = [0x33, 0x33, 0x33];

/// Width and height of a glyph at scale 1 (font8x8).
pub(super) const GLYPH: u32 = 8;

/// Where a text is anchored horizontally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    /// `x` is the left edge.
    Start,
    /// `x` is the middle.
    Middle,
    /// `x` is the right edge.
    End,
}

/// One thing drawn.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Mark {
    /// A filled rectangle.
    Rect {
        /// Left, top, width, height.
        x: u32,
        y: u32,
        w: u32,
        h: u32,
        /// RGB.
        fill: [u8; 3],
    },
    /// A line of text, `scale` × 8 pixels tall, its top at `y`.
    Text {
        x: u32,
        y: u32,
        anchor: Anchor,
        scale: u32,
        text: String,
    },
}

/// A picture: its size and what is on it, in drawing order, on white.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scene {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) marks: Vec<Mark>,
}

const WIDTH: u32 = 800;
const LEFT: u32 = 270;
const PLOT: u32 = 430;
const TOP: u32 = 16;
const ROW: u32 = 44;
const BAR: u32 = 28;
const TEXT: u32 = 2;

/// Mean |φ| of each stat over `values`, in [`FEATURES`] order.
pub(super) fn mean_abs(values: &[[f64; 6]]) -> [f64; 6] {
    let n = values.len().max(1) as f64;
    std::array::from_fn(|i| values.iter().map(|v| v[i].abs()).sum::<f64>() / n)
}

/// A tick step of 1, 2 or 5 × 10^k giving about four intervals up to `max`.
fn tick_step(max: f64) -> f64 {
    let raw = (max / 4.0).max(1e-12);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Decimals that show `step` exactly enough.
fn decimals(step: f64) -> usize {
    (-step.log10().floor()).max(0.0) as usize
}

/// The summary bar plot of the Shapley values `values` (rows of six).
pub(super) fn summary_bar(values: &[[f64; 6]]) -> Scene {
    let means = mean_abs(values);
    let mut order: Vec<usize> = (0..FEATURES.len()).collect();
    order.sort_by(|&a, &b| means[b].total_cmp(&means[a]).then(a.cmp(&b)));
    let step = tick_step(means[order[0]]);
    let axis_max = (means[order[0]] / step).ceil().max(1.0) * step;
    let px = |v: f64| (v / axis_max * f64::from(PLOT)).round() as u32;
    let places = decimals(step) + 1;
    let mut marks = Vec::new();
    let text = |x, y, anchor, text: String| Mark::Text {
        x,
        y,
        anchor,
        scale: TEXT,
        text,
    };
    for (row, &i) in order.iter().enumerate() {
        let y = TOP + row as u32 * ROW;
        let w = px(means[i]);
        let label_y = y + (BAR - GLYPH * TEXT) / 2;
        marks.push(text(
            LEFT - 12,
            label_y,
            Anchor::End,
            FEATURES[i].to_owned(),
        ));
        marks.push(Mark::Rect {
            x: LEFT,
            y,
            w,
            h: BAR,
            fill: BLUE,
        });
        marks.push(text(
            LEFT + w + 8,
            label_y,
            Anchor::Start,
            format!("{:.places$}", means[i], places = places + 1),
        ));
    }
    let axis_y = TOP + FEATURES.len() as u32 * ROW;
    marks.push(Mark::Rect {
        x: LEFT,
        y: TOP - 8,
        w: 2,
        h: axis_y - TOP + 8,
        fill: INK,
    });
    marks.push(Mark::Rect {
        x: LEFT,
        y: axis_y,
        w: PLOT + 1,
        h: 2,
        fill: INK,
    });
    let ticks = (axis_max / step).round() as u32;
    for k in 0..=ticks {
        let v = f64::from(k) * step;
        let x = LEFT + px(v);
        marks.push(Mark::Rect {
            x,
            y: axis_y,
            w: 2,
            h: 8,
            fill: INK,
        });
        marks.push(text(
            x,
            axis_y + 14,
            Anchor::Middle,
            format!("{v:.p$}", p = decimals(step)),
        ));
    }
    // The axis label is wider than the plot: centred on the picture.
    let middle = WIDTH / 2;
    marks.push(text(
        middle,
        axis_y + 44,
        Anchor::Middle,
        "mean(|SHAP value|)".to_owned(),
    ));
    marks.push(text(
        middle,
        axis_y + 64,
        Anchor::Middle,
        "(average impact on model output magnitude)".to_owned(),
    ));
    Scene {
        width: WIDTH,
        height: axis_y + 96,
        marks,
    }
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Scene {
    /// The scene as SVG: the same rectangles; text in a monospace font of the bitmap's
    /// size (its baseline where the bitmap glyphs' is, one pixel above their bottom row).
    pub(super) fn svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"monospace\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        for mark in &self.marks {
            let _ = match mark {
                Mark::Rect { x, y, w, h, fill } => writeln!(
                    s,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{}\"/>",
                    hex(*fill)
                ),
                Mark::Text {
                    x,
                    y,
                    anchor,
                    scale,
                    text,
                } => {
                    let anchor = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    writeln!(
                        s,
                        "<text x=\"{x}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{anchor}\" fill=\"{}\">{}</text>",
                        y + 7 * scale,
                        10 * scale,
                        hex(INK),
                        escape(text)
                    )
                }
            };
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_covering_the_largest_bar() {
        assert_eq!(tick_step(0.1), 0.05);
        assert_eq!(tick_step(0.3), 0.1);
        assert_eq!(tick_step(1.0), 0.5);
        assert_eq!(tick_step(0.013), 0.005);
        assert_eq!(decimals(0.05), 2);
        assert_eq!(decimals(0.5), 1);
    }

    #[test]
    fn the_bars_are_the_mean_absolute_values_largest_first() {
        let values = [
            [0.1, -0.3, 0.0, 0.02, -0.05, 0.2],
            [-0.1, 0.1, 0.0, 0.0, 0.05, 0.2],
        ];
        assert_eq!(mean_abs(&values), [0.1, 0.2, 0.0, 0.01, 0.05, 0.2]);
        let scene = summary_bar(&values);
        let labels: Vec<&str> = scene
            .marks
            .iter()
            .filter_map(|m| match m {
                Mark::Text {
                    text,
                    anchor: Anchor::End,
                    ..
                } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        // Ties keep the stats' order.
        assert_eq!(
            labels,
            [
                "attack",
                "speed",
                "hp",
                "special_defense",
                "special_attack",
                "defense"
            ]
        );
        let widths: Vec<u32> = scene
            .marks
            .iter()
            .filter_map(|m| match m {
                Mark::Rect { w, fill: BLUE, .. } => Some(*w),
                _ => None,
            })
            .collect();
        assert!(widths.windows(2).all(|w| w[0] >= w[1]), "{widths:?}");
        // Every mark is inside the picture.
        for m in &scene.marks {
            if let Mark::Rect { x, y, w, h, .. } = m {
                assert!(x + w <= scene.width && y + h <= scene.height, "{m:?}");
            }
        }
        let svg = scene.svg();
        assert!(svg.starts_with("<svg") && svg.contains(">special_defense</text>"));
        assert!(svg.contains("mean(|SHAP value|)"));
    }
}
