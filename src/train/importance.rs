//! Feature importances: permutation importance on held-out rows (drop in ROC AUC when one
//! raw stat is shuffled) and the forest's mean decrease in impurity.

use serde::Serialize;

use crate::model::Model;
use legendary_forest::FEATURES;

use super::metrics::roc_auc;

/// Importance of one column.
#[derive(Debug, Clone, Serialize)]
pub struct Importance {
    /// Column name.
    pub feature: String,
    /// Mean drop in ROC AUC over the repeats.
    pub mean: f64,
    /// Standard deviation of the drop.
    pub std: f64,
}

impl Importances {
    /// Both kinds as one table, a row per forest column (the permutation columns are empty
    /// for derived columns, which are not shuffled on their own): the CSV the MLflow UI
    /// previews as a table.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "feature,permutation_importance_mean,permutation_importance_std,impurity_importance\n",
        );
        for (feature, impurity) in &self.impurity {
            let permutation = self.permutation.iter().find(|p| p.feature == *feature);
            let (mean, std) = permutation.map_or_else(
                || (String::new(), String::new()),
                |p| (p.mean.to_string(), p.std.to_string()),
            );
            out.push_str(&format!("{feature},{mean},{std},{impurity}\n"));
        }
        out
    }
}

/// Both kinds of importance.
#[derive(Debug, Clone, Serialize)]
pub struct Importances {
    /// Permutation importance of the six raw stats on the held-out set.
    pub permutation: Vec<Importance>,
    /// Mean decrease in impurity of each forest column (sums to 1).
    pub impurity: Vec<(String, f64)>,
    /// How the permutation importance was measured.
    pub method: String,
}

/// Shuffles each raw stat `repeats` times (seeded) and records the drop in ROC AUC.
pub(super) fn compute(
    model: &Model,
    rows: &[[f64; 6]],
    labels: &[bool],
    repeats: usize,
    seed: u64,
) -> Importances {
    let base = roc_auc(labels, &model.proba_rows(rows));
    let mut rng = legendary_forest::SplitMix64::new(seed);
    let permutation = FEATURES
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let drops: Vec<f64> = (0..repeats)
                .map(|_| {
                    let mut column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                    rng.shuffle(&mut column);
                    let shuffled: Vec<[f64; 6]> = rows
                        .iter()
                        .zip(&column)
                        .map(|(r, &v)| {
                            let mut r = *r;
                            r[j] = v;
                            r
                        })
                        .collect();
                    base - roc_auc(labels, &model.proba_rows(&shuffled))
                })
                .collect();
            let (mean, std) = super::metrics::mean_std(&drops);
            Importance {
                feature: (*name).to_owned(),
                mean,
                std,
            }
        })
        .collect();
    let impurity = model
        .forest_features()
        .into_iter()
        .zip(model.impurity_importances().iter().copied())
        .collect();
    Importances {
        permutation,
        impurity,
        method: format!("drop in held-out ROC AUC, {repeats} seeded shuffles per stat"),
    }
}
