//! The summary bar plot of a set of explanations, as `shap.summary_plot(plot_type="bar")`
//! draws it: one horizontal bar per stat, the mean absolute Shapley value, largest on top.
//! One chart, written as PNG (the file MLflow's shap integration logs) and as SVG.

use crate::plot::{self, Bar, Bars, Palette, PlotError};
use legendary_forest::FEATURES;

/// Mean |φ| of each stat over `values`, in [`FEATURES`] order.
pub(super) fn mean_abs(values: &[[f64; 6]]) -> [f64; 6] {
    let n = values.len().max(1) as f64;
    std::array::from_fn(|i| values.iter().map(|v| v[i].abs()).sum::<f64>() / n)
}

/// The summary bar plot of the Shapley values `values` (rows of six).
pub(super) fn summary_bar(values: &[[f64; 6]]) -> Bars<'static> {
    let means = mean_abs(values);
    Bars {
        title: None,
        x_label: "mean(|SHAP value|) (average impact on model output magnitude)",
        palette: Palette::Shap,
        bars: FEATURES
            .iter()
            .zip(means)
            .map(|(feature, value)| Bar {
                label: (*feature).to_owned(),
                value,
                error: None,
            })
            .collect(),
    }
}

/// The plot's PNG and SVG files.
///
/// # Errors
/// See [`PlotError`].
pub(super) fn files(values: &[[f64; 6]]) -> Result<(Vec<u8>, String), PlotError> {
    let chart = summary_bar(values);
    Ok((plot::png(&chart)?, plot::svg(&chart)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bars_are_the_mean_absolute_values_largest_first() {
        let values = [
            [0.1, -0.3, 0.0, 0.02, -0.05, 0.2],
            [-0.1, 0.1, 0.0, 0.0, 0.05, 0.2],
        ];
        assert_eq!(mean_abs(&values), [0.1, 0.2, 0.0, 0.01, 0.05, 0.2]);
        let bars = summary_bar(&values).sorted();
        let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
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
    }
}
