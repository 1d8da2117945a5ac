//! Small self-contained SVG plots for the model directory and the MLflow run.

use std::fmt::Write as _;

use super::importance::Importance;

const W: f64 = 420.0;
const H: f64 = 320.0;
const PAD: f64 = 48.0;

fn header(title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{title}</text>\n",
        x = W / 2.0
    )
}

/// ROC curve with the diagonal and the AUC in the title.
pub(super) fn roc(points: &[(f64, f64)], auc: f64) -> String {
    let plot = W - 2.0 * PAD;
    let sx = |x: f64| PAD + x * plot;
    let sy = |y: f64| H - PAD - y * (H - 2.0 * PAD);
    let mut s = header(&format!("ROC curve (held-out AUC {auc:.3})"));
    let _ = writeln!(
        s,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#aaa\" stroke-dasharray=\"4\"/>",
        sx(0.0),
        sy(0.0),
        sx(1.0),
        sy(1.0)
    );
    let path: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
        .collect();
    let _ = writeln!(
        s,
        "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    );
    let _ = writeln!(
        s,
        "<rect x=\"{PAD}\" y=\"{PAD}\" width=\"{plot}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>",
        H - 2.0 * PAD
    );
    // Ticks and light grid lines every quarter, labelled on both axes.
    for k in 0..=4 {
        let v = f64::from(k) / 4.0;
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#eee\"/>\n\
             <line x1=\"{PAD}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\n\
             <text x=\"{x:.1}\" y=\"{below:.1}\" text-anchor=\"middle\" font-size=\"11\">{v}</text>\n\
             <text x=\"{left:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" font-size=\"11\">{v}</text>",
            x = sx(v),
            y = sy(v),
            top = PAD,
            bottom = H - PAD,
            right = W - PAD,
            below = H - PAD + 14.0,
            left = PAD - 4.0,
            ty = sy(v) + 4.0,
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">false positive rate</text>",
        W / 2.0,
        H - 10.0
    );
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {})\">true positive rate</text>",
        H / 2.0,
        H / 2.0
    );
    s.push_str("</svg>\n");
    s
}

/// Horizontal bars of permutation importance.
pub(super) fn importance(items: &[Importance]) -> String {
    let mut s = header("Permutation importance (drop in ROC AUC)");
    let max = items.iter().map(|i| i.mean).fold(1e-9, f64::max);
    let bar_h = (H - 2.0 * PAD) / items.len().max(1) as f64;
    let left = 130.0;
    for (k, item) in items.iter().enumerate() {
        let y = PAD + k as f64 * bar_h;
        let w = (item.mean.max(0.0) / max) * (W - left - PAD);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n<rect x=\"{left}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#2e86c1\"/>\n<text x=\"{:.1}\" y=\"{:.1}\">{:.3}</text>",
            left - 6.0,
            y + bar_h * 0.6,
            item.feature,
            y + bar_h * 0.15,
            bar_h * 0.7,
            left + w + 4.0,
            y + bar_h * 0.6,
            item.mean
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The 2x2 confusion matrix.
pub(super) fn confusion(cm: &[[u64; 2]; 2]) -> String {
    let mut s = header("Confusion matrix (held-out)");
    // Two-line headers ("predicted" over the class), so neighbouring labels never overlap.
    let labels = ["not legendary", "legendary"];
    let cell = 100.0;
    let (x0, y0) = (150.0, 84.0);
    for (i, row) in cm.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let (x, y) = (x0 + j as f64 * cell, y0 + i as f64 * cell);
            let fill = if i == j { "#d5f5e3" } else { "#fadbd8" };
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#333\"/>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"20\">{v}</text>",
                x + cell / 2.0,
                y + cell / 2.0 + 7.0
            );
        }
        let row_y = y0 + i as f64 * cell + cell / 2.0;
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"end\" fill=\"#555\">actual</text>\n\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            row_y - 4.0,
            row_y + 11.0,
            labels[i],
            x = x0 - 8.0,
        );
        let col_x = x0 + i as f64 * cell + cell / 2.0;
        let _ = writeln!(
            s,
            "<text x=\"{col_x}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">predicted</text>\n\
             <text x=\"{col_x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            y0 - 22.0,
            y0 - 8.0,
            labels[i]
        );
    }
    s.push_str("</svg>\n");
    s
}
