//! The files `mlflow.shap.log_explanation` logs, for a training run's held-out rows: under
//! `model_explanations_shap/` at the run's artifact root, `base_values.npy` (a float64
//! scalar: the explainer's expected value), `shap_values.npy` (float64, rows × 6 stats) and
//! `summary_bar_plot.png`, plus the same plot as `summary_bar_plot.svg`.

use std::path::Path;

use crate::cancel::Cancel;
use rayon::prelude::*;

use super::engine::{Explanation, explain};
use super::{ExplainError, plot};
use crate::model::{Background, Model};
use legendary_sklearn::write_npy;

/// Where MLflow's shap integration puts its files, relative to the run's artifact root.
pub const SHAP_ARTIFACT_PATH: &str = "model_explanations_shap";

/// Rows explained per parallel task: enough work (about 0.1 s) to be worth a task.
const CHUNK_ROWS: usize = 16;

/// Explains `rows` on all cores, in order (the same numbers as one [`explain`] call).
///
/// # Errors
/// As [`explain`].
pub fn explain_parallel(
    model: &Model,
    background: &Background,
    rows: &[[f64; 6]],
) -> Result<Explanation, ExplainError> {
    let parts = rows
        .par_chunks(CHUNK_ROWS)
        .map(|chunk| explain(model, background, chunk, &Cancel::never()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut all = explain(model, background, &[], &Cancel::never())?;
    for part in parts {
        all.probabilities.extend(part.probabilities);
        all.vote_fractions.extend(part.vote_fractions);
        all.contributions.extend(part.contributions);
    }
    Ok(all)
}

/// The four files of `explanation`, by name.
///
/// # Errors
/// [`ExplainError::Io`] if the summary plot could not be drawn.
pub fn files(explanation: &Explanation) -> Result<Vec<(&'static str, Vec<u8>)>, ExplainError> {
    let values: Vec<[f64; 6]> = explanation
        .contributions
        .iter()
        .map(|c| c.values())
        .collect();
    let (png, svg) = plot::files(&values).map_err(|e| ExplainError::Io(e.to_string()))?;
    Ok(vec![
        ("base_values.npy", write_npy(&[], &[explanation.base_value])),
        (
            "shap_values.npy",
            write_npy(&[values.len(), 6], values.as_flattened()),
        ),
        ("summary_bar_plot.png", png),
        ("summary_bar_plot.svg", svg.into_bytes()),
    ])
}

/// Explains `rows` and writes the files into `dir` (which exists).
///
/// # Errors
/// A model without a legendary probability, or a file that cannot be drawn or written.
pub fn write(
    model: &Model,
    background: &Background,
    rows: &[[f64; 6]],
    dir: &Path,
) -> Result<(), ExplainError> {
    let explanation = explain_parallel(model, background, rows)?;
    for (name, bytes) in files(&explanation)? {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| ExplainError::Io(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Chart as _;

    #[test]
    fn parallel_explanations_are_the_serial_ones_and_the_files_hold_them() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pokemon");
        let model = crate::model::read_dir(&dir).unwrap().model;
        let background = Background::new(
            "test".into(),
            super::super::bundled().unwrap().data[..10].to_vec(),
        );
        let rows: Vec<[f64; 6]> = (0..40).map(|i| [40.0 + f64::from(i) * 3.0; 6]).collect();
        let parallel = explain_parallel(&model, &background, &rows).unwrap();
        assert_eq!(
            parallel,
            explain(&model, &background, &rows, &Cancel::never()).unwrap()
        );
        let files = files(&parallel).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.0).collect();
        assert_eq!(
            names,
            [
                "base_values.npy",
                "shap_values.npy",
                "summary_bar_plot.png",
                "summary_bar_plot.svg"
            ]
        );
        // shap_values.npy: the header, then row after row of the six values.
        let shap = &files[1].1;
        let data = &shap[shap.len() - 40 * 6 * 8..];
        let first: Vec<f64> = data[..48]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(first, parallel.contributions[0].values());
        assert!(String::from_utf8_lossy(&shap[..128]).contains("'shape': (40, 6)"));
        let base = &files[0].1;
        assert!(String::from_utf8_lossy(&base[..64]).contains("'shape': ()"));
        assert_eq!(base[base.len() - 8..], parallel.base_value.to_le_bytes());
        // The summary plot: a PNG of the chart's size, an SVG naming the six stats.
        let values: Vec<[f64; 6]> = parallel.contributions.iter().map(|c| c.values()).collect();
        let (width, height, _) = crate::plot::testing::png_rgb(&files[2].1);
        assert_eq!((width, height), plot::summary_bar(&values).size());
        let texts = crate::plot::testing::svg_texts(std::str::from_utf8(&files[3].1).unwrap());
        for stat in legendary_forest::FEATURES {
            assert!(texts.iter().any(|t| t == stat), "{stat} not in {texts:?}");
        }
    }
}
