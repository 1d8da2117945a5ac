//! Fitting one forest, and choosing its calibration and decision threshold from out-of-fold
//! votes.

use legendary_forest::{Calibration, CalibrationError, fit_centred_isotonic, fit_isotonic};

use crate::dataset::kfold;
use crate::model::{ForestModel, ForestParams, Model, ModelError};

use super::TrainConfig;
use super::metrics::Metrics;

/// How the decision threshold on the probability is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A fixed threshold (0.5 is the plain majority vote).
    Fixed(f64),
    /// The threshold maximising F1 on out-of-fold probabilities of the training rows.
    Auto,
}

impl std::str::FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        match s.parse::<f64>() {
            Ok(t) if (0.0..1.0).contains(&t) => Ok(Self::Fixed(t)),
            _ => Err(format!(
                "'{s}' is not a threshold: expected 'auto' or a number in [0, 1)"
            )),
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(t) => write!(f, "{t}"),
            Self::Auto => f.write_str("auto"),
        }
    }
}

/// How the vote fraction becomes the probability the model reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalibrationMethod {
    /// Isotonic regression of the labels on out-of-fold vote fractions of the training rows,
    /// centred (one knot at each pooled block's mean vote): strictly increasing between its
    /// first and last knot, so it keeps the forest's ranking where the plain map ties it.
    CentredIsotonic,
    /// Plain isotonic regression, as scikit-learn's `IsotonicRegression`: flat across each
    /// pooled block, which ties rows the forest ranked apart (ROC AUC about 0.001 lower).
    Isotonic,
    /// The vote fraction is the probability (every model before calibration existed).
    Uncalibrated,
}

impl CalibrationMethod {
    /// Every method, in the order the flag's help lists them.
    const WORDS: [(Self, &'static str); 3] = [
        (Self::CentredIsotonic, "centred-isotonic"),
        (Self::Isotonic, "isotonic"),
        (Self::Uncalibrated, "none"),
    ];

    /// The map this method fits on out-of-fold votes `oof` of rows labelled `labels`, or
    /// `None` for [`Self::Uncalibrated`].
    fn fit(self, oof: &[f64], labels: &[bool]) -> Result<Option<Calibration>, CalibrationError> {
        match self {
            Self::CentredIsotonic => fit_centred_isotonic(oof, labels).map(Some),
            Self::Isotonic => fit_isotonic(oof, labels).map(Some),
            Self::Uncalibrated => Ok(None),
        }
    }
}

impl std::str::FromStr for CalibrationMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::WORDS
            .into_iter()
            .find(|(_, word)| *word == s)
            .map(|(method, _)| method)
            .ok_or_else(|| {
                format!(
                    "'{s}' is not a calibration: expected 'centred-isotonic', 'isotonic' or 'none'"
                )
            })
    }
}

impl std::fmt::Display for CalibrationMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = Self::WORDS
            .into_iter()
            .find(|(method, _)| method == self)
            .map_or("?", |(_, word)| word);
        f.write_str(word)
    }
}

/// Fits a forest on `rows` (six raw stats each) with a fixed calibration and threshold.
///
/// # Errors
/// When smartcore refuses the data or parameters.
fn fit_forest(
    rows: &[[f64; 6]],
    labels: &[bool],
    params: &ForestParams,
    calibration: Option<Calibration>,
    threshold: f64,
) -> Result<Model, ModelError> {
    let forest = legendary_forest::fit_forest(rows, labels, params)?;
    Ok(ForestModel::from_forest(forest, params.clone(), calibration, threshold)?.into())
}

/// Fits as `config` says. When the threshold is `Auto` or there is a calibration, an
/// inner stratified 5-fold over `rows` first gives every row an out-of-fold vote fraction;
/// the calibration map is fitted on those, and the threshold is the one that maximises F1 on
/// them once calibrated (the probabilities the model will report).
///
/// # Errors
/// When a fit fails.
pub(super) fn fit(
    rows: &[[f64; 6]],
    labels: &[bool],
    config: &TrainConfig,
) -> Result<Model, ModelError> {
    let params = &config.params;
    let calibrate = config.calibration != CalibrationMethod::Uncalibrated;
    let needs_oof = calibrate || config.threshold == Threshold::Auto;
    let mut oof = if needs_oof {
        out_of_fold(rows, labels, params)?
    } else {
        Vec::new()
    };
    let calibration = config
        .calibration
        .fit(&oof, labels)
        .map_err(legendary_forest::ModelError::from)?;
    if let Some(map) = &calibration {
        for p in &mut oof {
            *p = map.apply(*p);
        }
    }
    let t = match config.threshold {
        Threshold::Fixed(t) => t,
        Threshold::Auto => best_f1_threshold(labels, &oof),
    };
    fit_forest(rows, labels, params, calibration, t)
}

/// Each row's vote fraction from a forest fitted without it (an inner stratified 5-fold).
fn out_of_fold(
    rows: &[[f64; 6]],
    labels: &[bool],
    params: &ForestParams,
) -> Result<Vec<f64>, ModelError> {
    let mut oof = vec![0.0; rows.len()];
    for split in kfold(labels, 5, params.seed ^ 0x5EED) {
        let train_rows: Vec<[f64; 6]> = split.train.iter().map(|&i| rows[i]).collect();
        let train_labels: Vec<bool> = split.train.iter().map(|&i| labels[i]).collect();
        let model = fit_forest(&train_rows, &train_labels, params, None, 0.5)?;
        let test_rows: Vec<[f64; 6]> = split.test.iter().map(|&i| rows[i]).collect();
        for (&i, p) in split.test.iter().zip(model.proba_rows(&test_rows)) {
            oof[i] = p;
        }
    }
    Ok(oof)
}

/// The threshold in 0.05..=0.95 (step 0.05) with the best F1; ties go to the one nearest 0.5.
pub(super) fn best_f1_threshold(labels: &[bool], proba: &[f64]) -> f64 {
    let mut best = (f64::NEG_INFINITY, 0.5);
    for k in 1..20 {
        let t = f64::from(k) * 0.05;
        let f1 = Metrics::compute(labels, proba, t).f1;
        let better = f1 > best.0 + 1e-12
            || ((f1 - best.0).abs() <= 1e-12 && (t - 0.5).abs() < (best.1 - 0.5_f64).abs());
        if better {
            best = (f1, t);
        }
    }
    // Round away float noise so the recorded threshold reads as 0.35, not 0.35000000000000003.
    (best.1 * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{self, Generations};

    /// Generations 1-4 of the bundled data, and a small forest's config.
    fn data() -> (Vec<[f64; 6]>, Vec<bool>, TrainConfig) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pokemon");
        let generations: Generations = "1-4".parse().unwrap_or_else(|e| panic!("{e}"));
        let data = dataset::load(&root, &generations).unwrap_or_else(|e| panic!("{e}"));
        let rows = data.rows.iter().map(|p| p.stats).collect();
        let mut config = TrainConfig::default();
        config.params.n_trees = 15;
        (rows, data.labels(), config)
    }

    #[test]
    fn isotonic_maps_the_out_of_fold_votes_and_tunes_the_threshold_on_the_map() {
        let (rows, labels, mut config) = data();
        config.calibration = CalibrationMethod::Isotonic;
        let oof = out_of_fold(&rows, &labels, &config.params).unwrap_or_else(|e| panic!("{e}"));
        let map = fit_isotonic(&oof, &labels).unwrap_or_else(|e| panic!("{e}"));
        let calibrated: Vec<f64> = oof.iter().map(|&p| map.apply(p)).collect();
        let model = fit(&rows, &labels, &config).unwrap_or_else(|e| panic!("{e}"));
        let forest = model.forest().unwrap_or_else(|| panic!("a forest"));
        assert_eq!(forest.calibration(), Some(&map));
        assert_eq!(model.threshold(), best_f1_threshold(&labels, &calibrated));
        // The map is fitted on held-out votes: on them it is calibrated by construction.
        let brier = |p: &[f64]| super::super::metrics::brier(&labels, p);
        assert!(
            brier(&calibrated) < brier(&oof),
            "{} vs {}",
            brier(&calibrated),
            brier(&oof)
        );
    }

    #[test]
    fn the_default_centres_the_map_on_the_same_out_of_fold_votes() {
        let (rows, labels, config) = data();
        assert_eq!(config.calibration, CalibrationMethod::CentredIsotonic);
        let oof = out_of_fold(&rows, &labels, &config.params).unwrap_or_else(|e| panic!("{e}"));
        let map = fit_centred_isotonic(&oof, &labels).unwrap_or_else(|e| panic!("{e}"));
        let model = fit(&rows, &labels, &config).unwrap_or_else(|e| panic!("{e}"));
        let forest = model.forest().unwrap_or_else(|| panic!("a forest"));
        assert_eq!(forest.calibration(), Some(&map));
        let calibrated: Vec<f64> = oof.iter().map(|&p| map.apply(p)).collect();
        assert_eq!(model.threshold(), best_f1_threshold(&labels, &calibrated));
    }

    #[test]
    fn none_keeps_the_vote_fraction_and_a_fixed_threshold_still_calibrates_when_asked() {
        let (rows, labels, mut config) = data();
        config.calibration = CalibrationMethod::Uncalibrated;
        let plain = fit(&rows, &labels, &config).unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.is_calibrated());
        let oof = out_of_fold(&rows, &labels, &config.params).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.threshold(), best_f1_threshold(&labels, &oof));
        config.threshold = Threshold::Fixed(0.5);
        let fixed = fit(&rows, &labels, &config).unwrap_or_else(|e| panic!("{e}"));
        assert!(!fixed.is_calibrated() && fixed.threshold() == 0.5);
        config.calibration = CalibrationMethod::Isotonic;
        let calibrated = fit(&rows, &labels, &config).unwrap_or_else(|e| panic!("{e}"));
        assert!(calibrated.is_calibrated() && calibrated.threshold() == 0.5);
        // The same forest underneath: only the map differs.
        assert_eq!(
            fixed.vote_fraction_rows(&rows),
            calibrated.vote_fraction_rows(&rows)
        );
    }

    #[test]
    fn calibration_flags_read_and_print_the_same_words() {
        for word in ["centred-isotonic", "isotonic", "none"] {
            let method: CalibrationMethod = word.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(method.to_string(), word);
        }
        assert!("platt".parse::<CalibrationMethod>().is_err());
    }
}
