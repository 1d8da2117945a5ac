//! How a model does on a generation it has never seen: the situation the demo meets each
//! time a new generation comes out. Forward in time (train on the generations before `k`,
//! test on `k`) and leave one generation out (train on all the others), each fitted exactly
//! as the final model is, with the misses and false alarms named.

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::Dataset;

use super::metrics::Metrics;
use super::{TrainConfig, TrainError, fit_config};

/// Which next-generation evaluations a training runs (`--generation-eval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GenerationEval {
    /// Forward in time and leave one generation out.
    Both,
    /// Train on generations before `k`, test on `k`.
    Forward,
    /// Train on every other generation, test on `k`.
    LeaveOneOut,
    /// Neither (a sweep's trials, quick tests).
    None,
}

impl GenerationEval {
    fn schemes(self) -> &'static [Scheme] {
        match self {
            Self::Both => &[Scheme::Forward, Scheme::LeaveOneOut],
            Self::Forward => &[Scheme::Forward],
            Self::LeaveOneOut => &[Scheme::LeaveOneOut],
            Self::None => &[],
        }
    }
}

impl FromStr for GenerationEval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "both" => Ok(Self::Both),
            "forward" => Ok(Self::Forward),
            "leave-one-out" => Ok(Self::LeaveOneOut),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "'{s}' is not a generation evaluation: expected both, forward, leave-one-out or none"
            )),
        }
    }
}

impl fmt::Display for GenerationEval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Both => "both",
            Self::Forward => "forward",
            Self::LeaveOneOut => "leave-one-out",
            Self::None => "none",
        })
    }
}

/// One way of holding a generation out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Trained on the generations before.
    Forward,
    /// Trained on all the other generations.
    LeaveOneOut,
}

impl Scheme {
    /// The prefix of its MLflow metrics (`forward_f1`, `logo_f1`, stepped by generation).
    pub(crate) fn metric_prefix(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::LeaveOneOut => "logo",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Forward => "forward",
            Self::LeaveOneOut => "leave-one-out",
        })
    }
}

/// A Pokémon of the tested generation the model got wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Error {
    /// National Pokédex number.
    pub number: u32,
    /// Name.
    pub name: String,
    /// Its franchise category (`sub-legendary`, `mythical`, …).
    pub category: String,
    /// The probability the model gave.
    pub proba: f64,
    /// True for a missed legendary, false for a false alarm.
    pub missed: bool,
}

/// One held-out generation.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationResult {
    /// How it was held out.
    pub scheme: Scheme,
    /// The tested generation.
    pub generation: u8,
    /// The generations trained on.
    pub trained_on: Vec<u8>,
    /// Training rows.
    pub train_rows: usize,
    /// The model's decision threshold.
    pub threshold: f64,
    /// Its metrics on the generation.
    pub metrics: Metrics,
    /// Its misses and false alarms, by probability (most confident first). Left out of
    /// `metrics.json`, which a model directory's reader caps at 64 KiB (a weak model misses
    /// hundreds): they are in `generation_errors.csv`.
    #[serde(skip)]
    pub errors: Vec<Error>,
}

/// Every held-out generation of a training, in scheme then generation order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerationReport {
    /// The results.
    pub results: Vec<GenerationResult>,
}

/// Evaluates `dataset` as `config.generation_eval` says. A generation is skipped when the
/// generations it would be trained on have no legendary (or no ordinary) row: nothing could
/// be learnt, so nothing would be measured.
///
/// # Errors
/// A failed fit.
pub(super) fn evaluate(
    dataset: &Dataset,
    config: &TrainConfig,
) -> Result<GenerationReport, TrainError> {
    let present: Vec<u8> = {
        let mut g: Vec<u8> = dataset.rows.iter().map(|p| p.generation).collect();
        g.sort_unstable();
        g.dedup();
        g
    };
    let present = &present;
    let tasks: Vec<(Scheme, u8, Vec<u8>)> = config
        .generation_eval
        .schemes()
        .iter()
        .flat_map(|&scheme| {
            present.iter().filter_map(move |&g| {
                let trained_on: Vec<u8> = match scheme {
                    Scheme::Forward => present.iter().copied().filter(|&o| o < g).collect(),
                    Scheme::LeaveOneOut => present.iter().copied().filter(|&o| o != g).collect(),
                };
                let learnable = [true, false].iter().all(|&class| {
                    dataset
                        .rows
                        .iter()
                        .any(|p| trained_on.contains(&p.generation) && p.legendary == class)
                });
                learnable.then_some((scheme, g, trained_on))
            })
        })
        .collect();
    let results = tasks
        .into_par_iter()
        .map(|(scheme, generation, trained_on)| {
            let (train, test): (Vec<_>, Vec<_>) = dataset
                .rows
                .iter()
                .filter(|p| p.generation == generation || trained_on.contains(&p.generation))
                .partition(|p| p.generation != generation);
            let rows: Vec<[f64; 6]> = train.iter().map(|p| p.stats).collect();
            let labels: Vec<bool> = train.iter().map(|p| p.legendary).collect();
            let model = fit_config(config, &rows, &labels)?;
            let test_rows: Vec<[f64; 6]> = test.iter().map(|p| p.stats).collect();
            let test_labels: Vec<bool> = test.iter().map(|p| p.legendary).collect();
            let proba = model.proba_rows(&test_rows);
            let threshold = model.threshold();
            let mut errors: Vec<Error> = test
                .iter()
                .zip(&proba)
                .filter(|&(p, &q)| p.legendary != (q > threshold))
                .map(|(p, &q)| Error {
                    number: p.number,
                    name: p.name.clone(),
                    category: p.category.clone(),
                    proba: q,
                    missed: p.legendary,
                })
                .collect();
            // Most confident mistakes first: lowest probability for a miss, highest for a
            // false alarm.
            errors.sort_by(|a, b| {
                let wrongness = |e: &Error| if e.missed { 1.0 - e.proba } else { e.proba };
                wrongness(b)
                    .total_cmp(&wrongness(a))
                    .then(a.number.cmp(&b.number))
            });
            Ok(GenerationResult {
                scheme,
                generation,
                trained_on,
                train_rows: rows.len(),
                threshold,
                metrics: Metrics::compute(&test_labels, &proba, threshold),
                errors,
            })
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    Ok(GenerationReport { results })
}

impl GenerationReport {
    /// The results of one scheme, by generation.
    pub fn of(&self, scheme: Scheme) -> impl Iterator<Item = &GenerationResult> {
        self.results.iter().filter(move |r| r.scheme == scheme)
    }

    /// Precision, recall and F1 over every generation of `scheme` at once (one confusion
    /// matrix summed over them): `None` when the scheme did not run.
    pub fn pooled(&self, scheme: Scheme) -> Option<[f64; 3]> {
        let mut cm = [[0u64; 2]; 2];
        let mut any = false;
        for r in self.of(scheme) {
            any = true;
            for (i, row) in r.metrics.confusion_matrix.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    cm[i][j] += v;
                }
            }
        }
        any.then(|| super::metrics::precision_recall_f1(cm))
    }

    /// The newest generation trained without: forward in time when it ran, else left out.
    pub fn newest(&self) -> Option<&GenerationResult> {
        [Scheme::Forward, Scheme::LeaveOneOut]
            .into_iter()
            .find_map(|s| self.of(s).max_by_key(|r| r.generation))
    }

    /// One sentence for the registry version's description: how a model of this recipe does
    /// on the newest generation when it has not seen it, and whom it gets wrong.
    pub fn newest_summary(&self) -> Option<String> {
        let r = self.newest()?;
        let names = |missed: bool| {
            let names: Vec<&str> = r
                .errors
                .iter()
                .filter(|e| e.missed == missed)
                .map(|e| e.name.as_str())
                .collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        let m = &r.metrics;
        Some(format!(
            "On generation {} when trained without it (on generations {}): precision {:.2}, recall {:.2}, F1 {:.2} over {} Pokémon. Missed: {}. False alarms: {}.",
            r.generation,
            r.trained_on
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            m.precision,
            m.recall,
            m.f1,
            m.rows,
            names(true),
            names(false),
        ))
    }

    /// `generations.csv`: one line per held-out generation.
    pub fn table_csv(&self) -> String {
        let mut out = String::from(
            "scheme,generation,trained_on,train_rows,test_rows,legendary,threshold,precision,recall,f1,roc_auc,misses,false_alarms\n",
        );
        for r in &self.results {
            let m = &r.metrics;
            let trained: Vec<String> = r.trained_on.iter().map(u8::to_string).collect();
            let misses = r.errors.iter().filter(|e| e.missed).count();
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                r.scheme,
                r.generation,
                trained.join(" "),
                r.train_rows,
                m.rows,
                m.confusion_matrix[1][0] + m.confusion_matrix[1][1],
                r.threshold,
                m.precision,
                m.recall,
                m.f1,
                m.roc_auc,
                misses,
                r.errors.len() - misses,
            ));
        }
        out
    }

    /// `generation_errors.csv`: every miss and false alarm, named.
    pub fn errors_csv(&self) -> String {
        let mut out =
            String::from("scheme,generation,number,name,category,proba,threshold,error\n");
        for r in &self.results {
            for e in &r.errors {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    r.scheme,
                    r.generation,
                    e.number,
                    super::csv_field(&e.name),
                    super::csv_field(&e.category),
                    e.proba,
                    r.threshold,
                    if e.missed { "missed" } else { "false alarm" },
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Generations;

    fn config(eval: GenerationEval) -> TrainConfig {
        let mut c = TrainConfig {
            data: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pokemon"),
            generations: "1-4"
                .parse::<Generations>()
                .unwrap_or_else(|_| Generations::all()),
            cv_folds: 0,
            generation_eval: eval,
            ..TrainConfig::default()
        };
        c.params.n_trees = 5;
        c
    }

    #[test]
    fn forward_tests_each_generation_after_the_first_on_the_ones_before() {
        let c = config(GenerationEval::Both);
        let Ok(dataset) = crate::dataset::load(&c.data, &c.generations) else {
            panic!("the bundled data loads");
        };
        let Ok(report) = evaluate(&dataset, &c) else {
            panic!("the fits succeed");
        };
        let forward: Vec<(u8, Vec<u8>)> = report
            .of(Scheme::Forward)
            .map(|r| (r.generation, r.trained_on.clone()))
            .collect();
        assert_eq!(forward, [(2, vec![1]), (3, vec![1, 2]), (4, vec![1, 2, 3])]);
        let left_out: Vec<u8> = report
            .of(Scheme::LeaveOneOut)
            .map(|r| r.generation)
            .collect();
        assert_eq!(left_out, [1, 2, 3, 4]);
        for r in &report.results {
            let rows = dataset.rows.iter().filter(|p| p.generation == r.generation);
            assert_eq!(r.metrics.rows, rows.count() as u64);
            let wrong = r.metrics.confusion_matrix[0][1] + r.metrics.confusion_matrix[1][0];
            assert_eq!(r.errors.len() as u64, wrong, "every mistake is named");
        }
        let newest = report.newest().map(|r| (r.scheme, r.generation));
        assert_eq!(newest, Some((Scheme::Forward, 4)));
        let summary = report.newest_summary().unwrap_or_default();
        assert!(
            summary.starts_with("On generation 4 when trained without it (on generations 1, 2, 3)"),
            "{summary}"
        );
        let pooled = report.pooled(Scheme::Forward).unwrap_or_default();
        assert!(pooled.iter().all(|v| (0.0..=1.0).contains(v)), "{pooled:?}");
        assert_eq!(report.table_csv().lines().count(), 1 + 3 + 4);
    }

    #[test]
    fn none_runs_nothing() {
        let c = config(GenerationEval::None);
        let Ok(dataset) = crate::dataset::load(&c.data, &c.generations) else {
            panic!("the bundled data loads");
        };
        let report = evaluate(&dataset, &c).map(|r| r.results.len());
        assert_eq!(report.ok(), Some(0));
        assert_eq!(GenerationReport::default().pooled(Scheme::Forward), None);
        assert_eq!(GenerationReport::default().newest_summary(), None);
    }

    #[test]
    fn the_flag_values_round_trip() {
        for e in [
            GenerationEval::Both,
            GenerationEval::Forward,
            GenerationEval::LeaveOneOut,
            GenerationEval::None,
        ] {
            assert_eq!(e.to_string().parse::<GenerationEval>(), Ok(e));
        }
        assert!("sideways".parse::<GenerationEval>().is_err());
    }
}
