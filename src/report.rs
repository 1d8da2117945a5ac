//! Plain-text summaries of training results for the terminal.

use std::fmt::Write as _;

use crate::train::{Outcome, Scheme};

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
        "{:<12} {:>9} {:>17} {:>17}",
        "metric", "held-out", "CV (grouped)", "CV (row by row)"
    );
    let cell = |cv: &Option<crate::train::CvSummary>, name| {
        cv.as_ref()
            .and_then(|cv| cv.summary.iter().find(|(n, _, _)| *n == name))
            .map_or_else(String::new, |(_, m, sd)| format!("{m:.4} ± {sd:.4}"))
    };
    for (name, value) in o.holdout.scalars() {
        let (grouped, rows) = (cell(&o.cv, name), cell(&o.cv_rows, name));
        // `MetricName`'s Display does not pad; a String does.
        let _ = writeln!(
            s,
            "{:<12} {value:>9.4} {grouped:>17} {rows:>17}",
            name.to_string()
        );
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
    for scheme in [Scheme::Forward, Scheme::LeaveOneOut] {
        let results: Vec<_> = o.generations.of(scheme).collect();
        if results.is_empty() {
            continue;
        }
        let _ = write!(s, "unseen generation ({scheme}), F1:");
        for r in &results {
            let _ = write!(s, " {} {:.2}", r.generation, r.metrics.f1);
        }
        if let Some([_, _, f1]) = o.generations.pooled(scheme) {
            let _ = write!(s, "; pooled {f1:.3}");
        }
        s.push('\n');
    }
    if let Some(newest) = o.generations.newest_summary() {
        let _ = writeln!(s, "{newest}");
    }
    if o.evaluated.is_some() {
        let _ = writeln!(
            s,
            "the model written is refitted on all {} rows; the metrics above are the evaluation's",
            o.dataset.rows.len()
        );
    }
    let _ = writeln!(
        s,
        "trained in {:.2} s (evaluation, cross-validations, unseen generations, final fit)",
        o.timing.elapsed.as_secs_f64()
    );
    s
}
