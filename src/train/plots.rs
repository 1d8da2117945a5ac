//! The training's SVG plots, for the model directory and the top of the MLflow run: what each
//! of [`crate::plot`]'s charts shows of a training outcome.

use crate::plot::{self, Bar, Bars, Confusion, Palette, PlotError, Reliability, Roc};

use super::importance::Importance;
use super::metrics::{self, expected_calibration_error};

/// The held-out ROC curve, its AUC in the legend.
pub(super) fn roc(points: &[(f64, f64)], auc: f64) -> Result<String, PlotError> {
    plot::svg(&Roc {
        title: "ROC curve (held-out rows)",
        name: "Random forest",
        positive: "legendary",
        points,
        auc,
    })
}

/// The reliability diagram of the held-out probabilities (as the model reports them,
/// calibrated if it is): each non-empty bin's mean probability against its fraction
/// legendary, the calibration error in the legend.
pub(super) fn reliability(labels: &[bool], proba: &[f64]) -> Result<String, PlotError> {
    let points: Vec<(f64, f64)> = metrics::reliability(labels, proba)
        .iter()
        .filter(|b| b.rows > 0)
        .map(|b| (b.mean_proba, b.positive_rate))
        .collect();
    plot::svg(&Reliability {
        title: "Reliability (held-out rows)",
        name: "Random forest",
        positive: "legendary",
        points: &points,
        ece: expected_calibration_error(labels, proba),
    })
}

/// Permutation importances, largest on top, ± one standard deviation over the shuffles.
pub(super) fn importance(items: &[Importance]) -> Result<String, PlotError> {
    plot::svg(&Bars {
        title: Some("Permutation importance (held-out rows)"),
        x_label: "Mean drop in ROC AUC when the stat is shuffled",
        palette: Palette::Matplotlib,
        bars: items
            .iter()
            .map(|i| Bar {
                label: i.feature.clone(),
                value: i.mean,
                error: Some(i.std),
            })
            .collect(),
    })
}

/// The held-out confusion matrix.
pub(super) fn confusion(cm: &[[u64; 2]; 2]) -> Result<String, PlotError> {
    plot::svg(&Confusion {
        title: "Confusion matrix (held-out rows)",
        classes: ["not legendary", "legendary"],
        counts: *cm,
    })
}
