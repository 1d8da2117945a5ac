//! The quality gate: score the current champion and the challenger on the same held-out rows,
//! and promote the challenger only if it is better by at least a margin. The decision and both
//! scores are recorded as tags on the challenger's version.

use std::fmt;

use crate::model::Model;
use crate::train::{HeldOut, MetricName, Metrics};
use legendary_mlflow::wire::ModelVersion;
use legendary_mlflow::{MlflowClient, Stage};

/// How the gate decides.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// Registered model name.
    pub name: String,
    /// The alias that marks the champion (moved on promotion).
    pub alias: String,
    /// The stage that marks the champion (the challenger moves there, the old one is archived).
    pub stage: Stage,
    /// Metric compared, in its own direction (log loss: lower is better).
    pub metric: MetricName,
    /// The challenger must beat the champion by at least this much.
    pub min_improvement: f64,
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// The challenger now holds the stage and the alias.
    Promoted {
        /// The champion's score, if there was a champion.
        champion: Option<(String, f64)>,
        /// The challenger's score.
        challenger: f64,
    },
    /// The challenger stays where it is.
    Refused {
        /// The champion's version and score.
        champion: (String, f64),
        /// The challenger's score.
        challenger: f64,
    },
}

/// Why the gate decided as it did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Reason {
    /// No version held the alias or the stage: the challenger is promoted as it is.
    NoChampion,
    /// The challenger is better by `by` (in the metric's own direction), at least the margin.
    Cleared {
        /// Challenger minus champion, or the reverse for a lower-is-better metric.
        by: f64,
    },
    /// The challenger is better by only `by` (negative: it is worse), less than the margin.
    FellShort {
        /// Challenger minus champion, or the reverse for a lower-is-better metric.
        by: f64,
    },
    /// A score is not a number (a model that scores no row, or one class only), so the two
    /// cannot be compared and the champion stays.
    NotComparable,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoChampion => f.write_str("there was no champion"),
            Self::Cleared { by } => write!(f, "the challenger is better by {by:.4}"),
            Self::FellShort { by } if *by < 0.0 => {
                write!(f, "the challenger is worse by {:.4}", -by)
            }
            Self::FellShort { by } => write!(f, "the challenger is better by only {by:.4}"),
            Self::NotComparable => f.write_str("a score that is not a number cannot be compared"),
        }
    }
}

/// The gate's decision on the two models' scores of `gate.metric`, and why: the challenger is
/// promoted when there is no champion, or when it beats the champion's score by at least
/// `gate.min_improvement`; a score that is not a number never wins. `champion` is its
/// version and score, when there is one.
pub(crate) fn decide(
    gate: &GateConfig,
    challenger: f64,
    champion: Option<(&str, f64)>,
) -> (Decision, Reason) {
    let Some((version, champion)) = champion else {
        return (
            Decision::Promoted {
                champion: None,
                challenger,
            },
            Reason::NoChampion,
        );
    };
    let champion = (version.to_owned(), champion);
    let by = gate.metric.improvement(champion.1, challenger);
    let reason = if by.is_nan() {
        Reason::NotComparable
    } else if by >= gate.min_improvement {
        Reason::Cleared { by }
    } else {
        Reason::FellShort { by }
    };
    let decision = match reason {
        Reason::Cleared { .. } => Decision::Promoted {
            champion: Some(champion),
            challenger,
        },
        _ => Decision::Refused {
            champion,
            challenger,
        },
    };
    (decision, reason)
}

fn metrics(model: &Model, held_out: &HeldOut) -> Metrics {
    Metrics::compute(
        &held_out.labels,
        &model.proba_rows(&held_out.rows),
        model.threshold(),
    )
}

/// The champion's score from its own training run, when that run refitted it on every row
/// (`refit_all`): such a champion has seen the challenger's held-out rows, so scoring it on
/// them would flatter it; the held-out score its run logged is of its evaluation fit, which
/// had not. `None` (score it on the rows) for a champion without such a run.
async fn own_evaluation(
    client: &MlflowClient,
    champion: &ModelVersion,
    metric: MetricName,
) -> Option<f64> {
    if champion.run_id.is_empty() {
        return None;
    }
    let run = client.get_run(&champion.run_id).await.ok()?;
    let refit = run
        .data
        .params
        .iter()
        .any(|p| p.key == "refit_all" && p.value == "true");
    if !refit {
        return None;
    }
    run.data
        .metrics
        .iter()
        .find(|m| m.key == metric.as_str() && m.step == 0)
        .map(|m| m.value)
}

/// The current champion's version: the alias first, else the stage's latest version.
async fn champion(
    client: &MlflowClient,
    gate: &GateConfig,
) -> anyhow::Result<Option<ModelVersion>> {
    if let Some(v) = client.version_by_alias(&gate.name, &gate.alias).await? {
        return Ok(Some(v));
    }
    Ok(client.latest_version(&gate.name, gate.stage).await?)
}

/// Runs the gate for `challenger` (already registered as `version`), evaluated on the rows
/// its training held out (see [`decide`]), records the decision on the version and, when it
/// is promoted, moves the stage and the alias to it.
///
/// # Errors
/// Registry failures, or a champion that cannot be downloaded.
pub(super) async fn promote(
    client: &MlflowClient,
    gate: &GateConfig,
    version: &ModelVersion,
    challenger: &Model,
    held_out: &HeldOut,
) -> anyhow::Result<(Decision, Reason)> {
    let current = champion(client, gate)
        .await?
        .filter(|c| c.version != version.version);
    let mut scored_on = "the challenger's held-out rows";
    let champion = match &current {
        None => None,
        Some(c) => {
            let number: u64 = c.version.parse().map_err(|_| {
                anyhow::anyhow!("the registry gave version '{}', not a number", c.version)
            })?;
            let loaded = crate::acquire::fetch_version(client, &gate.name, number)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("champion version {} cannot be loaded: {e:#}", c.version)
                })?;
            // A scikit-learn champion of other columns (or a regressor) has no legendary
            // probability: its score would be NaN, which the gate cannot compare, so say so.
            if !loaded.model.takes_demo_stats() {
                anyhow::bail!(
                    "champion version {} of '{}' does not answer 'legendary or not' from the six stats (it takes {:?}), so the gate cannot compare it; move @{} with --alias instead of --promote",
                    c.version,
                    gate.name,
                    loaded.model.input_features(),
                    gate.alias
                );
            }
            let score = match own_evaluation(client, c, gate.metric).await {
                Some(score) => {
                    scored_on = "its run's held-out evaluation (refitted on every row since)";
                    score
                }
                None => metrics(&loaded.model, held_out).get(gate.metric),
            };
            Some((c.version.as_str(), score))
        }
    };
    let (decision, reason) = decide(
        gate,
        metrics(challenger, held_out).get(gate.metric),
        champion,
    );
    record(
        client,
        gate,
        version,
        &decision,
        held_out.rows.len(),
        scored_on,
    )
    .await?;
    if let Decision::Promoted { .. } = decision {
        super::place(
            client,
            &gate.name,
            &version.version,
            Some(gate.stage),
            Some(&gate.alias),
        )
        .await?;
    }
    Ok((decision, reason))
}

async fn record(
    client: &MlflowClient,
    gate: &GateConfig,
    version: &ModelVersion,
    decision: &Decision,
    rows: usize,
    champion_scored_on: &str,
) -> anyhow::Result<()> {
    let (verdict, champion, challenger) = match decision {
        Decision::Promoted {
            champion,
            challenger,
        } => ("promoted", champion.clone(), *challenger),
        Decision::Refused {
            champion,
            challenger,
        } => ("refused", Some(champion.clone()), *challenger),
    };
    let mut tags = vec![
        ("legendary.gate.decision", verdict.to_owned()),
        ("legendary.gate.metric", gate.metric.to_string()),
        (
            "legendary.gate.min_improvement",
            gate.min_improvement.to_string(),
        ),
        ("legendary.gate.eval_rows", rows.to_string()),
        ("legendary.gate.challenger_score", challenger.to_string()),
    ];
    if let Some((v, s)) = champion {
        tags.push(("legendary.gate.champion_version", v));
        tags.push(("legendary.gate.champion_score", s.to_string()));
        tags.push((
            "legendary.gate.champion_scored_on",
            champion_scored_on.to_owned(),
        ));
    }
    for (k, v) in tags {
        client
            .set_model_version_tag(&gate.name, &version.version, k, &v)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(metric: MetricName, min_improvement: f64) -> GateConfig {
        GateConfig {
            name: "pokemon".to_owned(),
            alias: "champion".to_owned(),
            stage: Stage::Production,
            metric,
            min_improvement,
        }
    }

    /// [`decide`] on whole metrics, as the gate's callers have them.
    fn decide(
        gate: &GateConfig,
        challenger: &Metrics,
        champion: Option<(&str, &Metrics)>,
    ) -> (Decision, Reason) {
        super::decide(
            gate,
            challenger.get(gate.metric),
            champion.map(|(v, m)| (v, m.get(gate.metric))),
        )
    }

    /// Metrics where only ROC AUC and log loss matter to these tests.
    fn scored(roc_auc: f64, log_loss: f64) -> Metrics {
        Metrics {
            accuracy: 0.9,
            precision: 0.8,
            recall: 0.7,
            f1: 0.75,
            roc_auc,
            log_loss,
            brier: 0.05,
            ece: 0.02,
            confusion_matrix: [[10, 1], [2, 7]],
            rows: 20,
        }
    }

    #[test]
    fn with_no_champion_the_challenger_is_promoted() {
        let (decision, reason) = decide(&gate(MetricName::RocAuc, 0.01), &scored(0.6, 0.5), None);
        assert_eq!(
            decision,
            Decision::Promoted {
                champion: None,
                challenger: 0.6
            }
        );
        assert_eq!(reason, Reason::NoChampion);
    }

    #[test]
    fn a_challenger_better_by_the_margin_is_promoted() {
        let (decision, reason) = decide(
            &gate(MetricName::RocAuc, 0.01),
            &scored(0.95, 0.5),
            Some(("3", &scored(0.90, 0.5))),
        );
        assert_eq!(
            decision,
            Decision::Promoted {
                champion: Some(("3".to_owned(), 0.90)),
                challenger: 0.95
            }
        );
        assert!(matches!(reason, Reason::Cleared { by } if (by - 0.05).abs() < 1e-12));
    }

    #[test]
    fn a_worse_challenger_is_refused_and_the_reason_says_by_how_much() {
        let (decision, reason) = decide(
            &gate(MetricName::RocAuc, 0.0),
            &scored(0.80, 0.5),
            Some(("3", &scored(0.90, 0.5))),
        );
        assert_eq!(
            decision,
            Decision::Refused {
                champion: ("3".to_owned(), 0.90),
                challenger: 0.80
            }
        );
        assert!(matches!(reason, Reason::FellShort { by } if by < 0.0));
        assert_eq!(reason.to_string(), "the challenger is worse by 0.1000");
    }

    #[test]
    fn a_challenger_better_by_less_than_the_margin_is_refused() {
        let (decision, reason) = decide(
            &gate(MetricName::RocAuc, 0.01),
            &scored(0.905, 0.5),
            Some(("3", &scored(0.90, 0.5))),
        );
        assert!(matches!(decision, Decision::Refused { .. }));
        assert_eq!(
            reason.to_string(),
            "the challenger is better by only 0.0050"
        );
    }

    #[test]
    fn an_equal_score_is_promoted_with_no_margin_and_refused_with_one() {
        let (champion, challenger) = (scored(0.9, 0.5), scored(0.9, 0.5));
        let (decision, reason) = decide(
            &gate(MetricName::RocAuc, 0.0),
            &challenger,
            Some(("1", &champion)),
        );
        assert!(matches!(decision, Decision::Promoted { .. }));
        assert_eq!(reason, Reason::Cleared { by: 0.0 });
        let (decision, _) = decide(
            &gate(MetricName::RocAuc, 0.001),
            &challenger,
            Some(("1", &champion)),
        );
        assert!(matches!(decision, Decision::Refused { .. }));
    }

    #[test]
    fn a_lower_log_loss_is_the_better_one() {
        let gate = gate(MetricName::LogLoss, 0.05);
        let (decision, reason) = decide(&gate, &scored(0.5, 0.2), Some(("2", &scored(0.9, 0.3))));
        assert!(matches!(decision, Decision::Promoted { .. }), "{reason}");
        let (decision, _) = decide(&gate, &scored(0.9, 0.3), Some(("2", &scored(0.5, 0.2))));
        assert!(matches!(decision, Decision::Refused { .. }));
    }

    #[test]
    fn a_missing_score_on_either_side_keeps_the_champion() {
        let gate = gate(MetricName::RocAuc, 0.0);
        for (challenger, champion) in [(f64::NAN, 0.9), (0.9, f64::NAN), (f64::NAN, f64::NAN)] {
            let (decision, reason) = decide(
                &gate,
                &scored(challenger, 0.5),
                Some(("4", &scored(champion, 0.5))),
            );
            assert!(
                matches!(decision, Decision::Refused { ref champion, .. } if champion.0 == "4"),
                "{decision:?}"
            );
            assert_eq!(reason, Reason::NotComparable);
        }
    }
}
