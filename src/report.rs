//! Plain-text summaries of training results for the terminal.

use std::fmt::Write as _;

use crate::train::Outcome;

/// A short table: data, threshold, held-out metrics, CV mean ± std, importances.
pub(crate) fn summary(o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "data: generations {} - {} rows ({} legendary), train {} / test {}",
        o.dataset.generations,
        o.dataset.rows.len(),
        o.dataset.legendary_count(),
        o.split.train.len(),
        o.split.test.len()
    );
    let _ = writeln!(
        s,
        "forest: {} trees, features {}, decision threshold {}",
        o.model.n_trees(),
        o.model.feature_set(),
        o.model.threshold()
    );
    let _ = writeln!(
        s,
        "{:<12} {:>9} {:>17}",
        "metric", "held-out", "cross-validation"
    );
    for (name, value) in o.holdout.scalars() {
        let cv =
            o.cv.as_ref()
                .and_then(|cv| cv.summary.iter().find(|(n, _, _)| *n == name))
                .map_or_else(String::new, |(_, m, sd)| format!("{m:.4} ± {sd:.4}"));
        // `MetricName`'s Display does not pad; a String does.
        let _ = writeln!(s, "{:<12} {value:>9.4} {cv:>17}", name.to_string());
    }
    let [[tn, fp], [fn_, tp]] = o.holdout.confusion_matrix;
    let _ = writeln!(
        s,
        "confusion (held-out): tn {tn}  fp {fp}  fn {fn_}  tp {tp}"
    );
    let _ = write!(s, "permutation importance (drop in ROC AUC):");
    for i in &o.importances.permutation {
        let _ = write!(s, " {} {:.3}", i.feature, i.mean);
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "trained in {:.2} s (final fit, evaluation and cross-validation)",
        o.timing.elapsed.as_secs_f64()
    );
    s
}
