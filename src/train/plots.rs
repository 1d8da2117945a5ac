//! The training's SVG plots, for the model directory and the top of the MLflow run: what each
//! of [`crate::plot`]'s charts shows of a training outcome.

use crate::plot::{self, Bar, Bars, Confusion, Palette, PlotError, Roc};

use super::importance::Importance;

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
