//! The sweep grid: a TOML file of data selections times hyperparameters, expanded into
//! training configurations in a fixed, documented order.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dataset::Generations;
use crate::model::FeatureSet;
use crate::train::{
    CalibrationMethod, GenerationEval, MetricName, Threshold, TrainConfig, ValidConfig,
};

/// The metric a sweep ranks its configurations by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RankMetric {
    /// Mean over the cross-validation folds (needs `cv_folds >= 2`).
    Cv(MetricName),
    /// On the held-out split.
    Holdout(MetricName),
}

impl RankMetric {
    /// Parses `cv_roc_auc`, `roc_auc`, `cv_f1`, `accuracy`, ...
    ///
    /// # Errors
    /// An unknown name, with the known ones listed.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let (cv, name) = match s.strip_prefix("cv_") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let name: MetricName = name
            .parse()
            .map_err(|e| format!("metric '{s}': {e} (held-out), or the same with a cv_ prefix"))?;
        Ok(if cv {
            Self::Cv(name)
        } else {
            Self::Holdout(name)
        })
    }

    /// The metric, wherever it is measured.
    pub(crate) fn metric(self) -> MetricName {
        match self {
            Self::Cv(m) | Self::Holdout(m) => m,
        }
    }

    /// Larger is better, except for the losses (log loss, Brier score, calibration error).
    pub(crate) fn higher_is_better(self) -> bool {
        self.metric().higher_is_better()
    }
}

impl std::fmt::Display for RankMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cv(n) => write!(f, "cv_{n}"),
            Self::Holdout(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    cv_folds: Option<usize>,
    #[serde(default)]
    test_size: Option<f64>,
    #[serde(default)]
    data: DataAxes,
    #[serde(default)]
    params: ParamAxes,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataAxes {
    #[serde(default)]
    path: Option<PathBuf>,
    #[serde(default)]
    generations: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamAxes {
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    n_trees: Vec<u16>,
    #[serde(default)]
    max_depth: Vec<u16>,
    #[serde(default)]
    min_samples_split: Vec<usize>,
    #[serde(default)]
    min_samples_leaf: Vec<usize>,
    #[serde(default)]
    mtry: Vec<usize>,
    #[serde(default)]
    threshold: Vec<String>,
    #[serde(default)]
    calibration: Vec<String>,
    #[serde(default)]
    seed: Vec<u64>,
}

/// A parsed grid: the ranking metric and every configuration, in order.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    /// What to rank by.
    pub metric: RankMetric,
    /// The configurations; index `i` is configuration `i` everywhere (`--only-index`). They
    /// are checked one by one ([`Grid::checked`]): a combination of axes that does not fit
    /// (an `mtry` wider than a feature set) is a failed trial, and the sweep goes on.
    pub configs: Vec<TrainConfig>,
    /// Where the rows really live, when the configurations read a local copy of them
    /// (`retrain` fetches a remote catalogue first): what every trial's run records as its
    /// data, so that MLflow names the catalogue and not a temporary directory.
    pub recorded_data: Option<PathBuf>,
}

impl Grid {
    /// Configuration `i`, checked; an error names the grid key (`params.mtry must be ...`).
    pub(crate) fn checked(&self, i: usize) -> Result<ValidConfig, String> {
        self.configs[i]
            .clone()
            .validate()
            .map_err(|e| format!("{} {}", e.setting.grid_key(), e.problem))
    }
}

/// Why a grid file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub(crate) struct GridError {
    /// The grid file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// Reads and expands a grid file. Axes and keys left out take `base`'s values (`sweep`
/// passes the `train` defaults, `retrain` its own flags). The order is fixed: generations,
/// features, n_trees, max_depth, min_samples_split, min_samples_leaf, mtry, threshold,
/// calibration, seed, with the last axis varying fastest.
///
/// # Errors
/// Unreadable or invalid TOML, unknown keys, bad values, or an empty grid.
pub(crate) fn load(path: &Path, base: &TrainConfig) -> Result<Grid, GridError> {
    let err = |message: String| GridError {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse(&text, base).map_err(err)
}

/// Parses grid TOML text on top of `base` (see [`load`]).
///
/// # Errors
/// A message naming the bad key or value.
pub(crate) fn parse(text: &str, base: &TrainConfig) -> Result<Grid, String> {
    let file: GridFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let metric = RankMetric::parse(file.metric.as_deref().unwrap_or("cv_roc_auc"))?;
    let cv_folds = file.cv_folds.unwrap_or(base.cv_folds);
    if matches!(metric, RankMetric::Cv(_)) && cv_folds < 2 {
        return Err(format!("metric '{metric}' needs cv_folds >= 2"));
    }
    let gens: Vec<Generations> = axis(&file.data.generations, |s| {
        s.parse::<Generations>()
            .map_err(|e| format!("data.generations: {e}"))
    })?
    .unwrap_or_else(|| vec![base.generations.clone()]);
    let features: Vec<FeatureSet> = axis(&file.params.features, |s| {
        s.parse::<FeatureSet>()
            .map_err(|e| format!("params.features: {e}"))
    })?
    .unwrap_or_else(|| vec![base.params.features]);
    let thresholds: Vec<Threshold> = axis(&file.params.threshold, |s| {
        s.parse::<Threshold>()
            .map_err(|e| format!("params.threshold: {e}"))
    })?
    .unwrap_or_else(|| vec![base.threshold]);
    let calibrations: Vec<CalibrationMethod> = axis(&file.params.calibration, |s| {
        s.parse::<CalibrationMethod>()
            .map_err(|e| format!("params.calibration: {e}"))
    })?
    .unwrap_or_else(|| vec![base.calibration]);
    let or = |v: &[u16], d: u16| if v.is_empty() { vec![d] } else { v.to_vec() };
    let or_usize = |v: &[usize], d: usize| if v.is_empty() { vec![d] } else { v.to_vec() };
    let n_trees = or(&file.params.n_trees, base.params.n_trees);
    let max_depth: Vec<Option<u16>> = if file.params.max_depth.is_empty() {
        vec![base.params.max_depth]
    } else {
        file.params.max_depth.iter().map(|d| Some(*d)).collect()
    };
    let min_split = or_usize(
        &file.params.min_samples_split,
        base.params.min_samples_split,
    );
    let min_leaf = or_usize(&file.params.min_samples_leaf, base.params.min_samples_leaf);
    // No mtry axis: each feature set's default (see `default_mtry`), set per configuration.
    let mtry: Vec<Option<usize>> = if file.params.mtry.is_empty() {
        vec![None]
    } else {
        file.params.mtry.iter().map(|m| Some(*m)).collect()
    };
    let seeds = if file.params.seed.is_empty() {
        vec![base.params.seed]
    } else {
        file.params.seed.clone()
    };

    let mut configs = Vec::new();
    for g in &gens {
        for &f in &features {
            for &t in &n_trees {
                for &d in &max_depth {
                    for &s in &min_split {
                        for &l in &min_leaf {
                            for &m in &mtry {
                                for &th in &thresholds {
                                    for &cal in &calibrations {
                                        for &seed in &seeds {
                                            let mut c = base.clone();
                                            if let Some(p) = &file.data.path {
                                                c.data.clone_from(p);
                                            }
                                            c.generations = g.clone();
                                            c.cv_folds = cv_folds;
                                            c.test_size = file.test_size.unwrap_or(base.test_size);
                                            c.threshold = th;
                                            c.calibration = cal;
                                            c.params.features = f;
                                            c.params.n_trees = t;
                                            c.params.max_depth = d;
                                            c.params.min_samples_split = s;
                                            c.params.min_samples_leaf = l;
                                            c.params.mtry =
                                                m.or(Some(crate::train::default_mtry(f)));
                                            c.params.seed = seed;
                                            // A trial is an evaluation: its model is the
                                            // fit the collect step can check and gate on
                                            // its held-out rows, and the next-generation
                                            // fits would multiply its cost by four.
                                            c.refit_all = false;
                                            c.generation_eval = GenerationEval::None;
                                            configs.push(c);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if configs.len() > 10_000 {
        return Err(format!(
            "the grid expands to {} configurations; at most 10000 are allowed",
            configs.len()
        ));
    }
    Ok(Grid {
        metric,
        configs,
        recorded_data: None,
    })
}

fn axis<T>(
    values: &[String],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<Vec<T>>, String> {
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .map(|v| parse(v))
        .collect::<Result<Vec<T>, String>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults(text: &str) -> Result<Grid, String> {
        parse(text, &TrainConfig::default())
    }

    #[test]
    fn keys_left_out_take_the_base_and_axes_override_it() {
        let mut base = TrainConfig::default();
        base.params.n_trees = 33;
        base.cv_folds = 0;
        base.data = PathBuf::from("elsewhere");
        let g = parse(
            "metric = \"brier\"\n[params]\nmin_samples_leaf = [1, 2]\n",
            &base,
        )
        .unwrap();
        assert_eq!(g.configs.len(), 2);
        for c in &g.configs {
            assert_eq!((c.params.n_trees, c.cv_folds), (33, 0));
            assert_eq!(c.data, PathBuf::from("elsewhere"));
        }
        assert_eq!(g.configs[1].params.min_samples_leaf, 2);
        let g = parse("[params]\nn_trees = [5]\n", &TrainConfig::default());
        assert_eq!(g.unwrap().configs[0].params.n_trees, 5);
    }

    #[test]
    fn a_grid_expands_in_the_documented_order() {
        let g = defaults(
            "metric = \"cv_f1\"\ncv_folds = 3\n[data]\ngenerations = [\"1-6\", \"1-9\"]\n[params]\nn_trees = [10, 20]\nmin_samples_leaf = [1, 2]\n",
        )
        .unwrap();
        assert_eq!(g.metric, RankMetric::Cv(MetricName::F1));
        assert_eq!(g.configs.len(), 8);
        let c = |i: usize| g.checked(i).unwrap().get().clone();
        assert_eq!(c(0).generations.to_string(), "1-6");
        assert_eq!((c(0).params.n_trees, c(0).params.min_samples_leaf), (10, 1));
        assert_eq!((c(1).params.n_trees, c(1).params.min_samples_leaf), (10, 2));
        assert_eq!(c(4).generations.to_string(), "1-9");
        assert!(g.configs.iter().all(|c| c.cv_folds == 3));
    }

    #[test]
    fn calibration_is_an_axis_after_the_threshold() {
        let g = defaults(
            "[params]\nthreshold = [\"auto\", \"0.5\"]\ncalibration = [\"none\", \"isotonic\"]\n",
        )
        .unwrap();
        let pairs: Vec<String> = g
            .configs
            .iter()
            .map(|c| format!("{} {}", c.threshold, c.calibration))
            .collect();
        assert_eq!(
            pairs,
            ["auto none", "auto isotonic", "0.5 none", "0.5 isotonic"]
        );
        assert_eq!(
            TrainConfig::default().calibration,
            CalibrationMethod::CentredIsotonic
        );
        assert!(
            defaults("[params]\ncalibration = [\"platt\"]\n")
                .unwrap_err()
                .contains("params.calibration")
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(
            defaults("[params]\nn_tree = [1]\n")
                .unwrap_err()
                .contains("n_tree")
        );
        assert!(
            defaults("metric = \"auc\"\n")
                .unwrap_err()
                .contains("unknown metric 'auc'")
        );
        let g = defaults("[params]\nn_trees = [10, 0]\n").unwrap();
        assert!(g.checked(0).is_ok());
        assert_eq!(
            g.checked(1).unwrap_err(),
            "params.n_trees must be at least 1"
        );
        assert!(
            defaults("[data]\ngenerations = [\"0-3\"]\n")
                .unwrap_err()
                .contains("data.generations")
        );
        assert!(defaults("cv_folds = 0\n").unwrap_err().contains("cv_folds"));
    }
}
