//! Publishing a logged model: register it as a new version, then place it as asked (stage,
//! alias) or through the promotion gate. Returns what happened, for the command to print.

use std::fmt;

use super::promote::{Decision, GateConfig, Reason, promote};
use super::{LoggedRun, place, register};
use crate::model::Model;
use crate::train::HeldOut;
use legendary_mlflow::{MlflowClient, Stage};

/// Exit code of `train`/`sweep --promote` when the gate refused the new model: not an error,
/// but scripts need to tell it apart from a promotion (`--not-promoted-exit-code`).
pub const EXIT_NOT_PROMOTED: u8 = 3;

/// What to do with a logged model.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// Registered model name.
    pub name: String,
    /// Where the new version goes.
    pub placement: Placement,
    /// The process's exit code when the gate refuses the version.
    pub not_promoted_exit_code: u8,
}

/// Where a new version goes.
#[derive(Debug, Clone)]
pub enum Placement {
    /// Straight to this stage and/or alias (or nowhere: registered only).
    Direct {
        /// Stage to move it to, archiving the previous holders.
        stage: Option<Stage>,
        /// Alias to point at it.
        alias: Option<String>,
    },
    /// Through the quality gate.
    Gate(GateConfig),
}

/// What [`publish`] did.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// Registered model name.
    pub name: String,
    /// The new version.
    pub version: String,
    /// Where it went.
    pub result: PublishResult,
}

/// Where a published version went.
#[derive(Debug, Clone)]
pub(crate) enum PublishResult {
    /// Placed as asked.
    Placed {
        /// The stage it holds now.
        stage: Option<Stage>,
        /// The alias that points to it now.
        alias: Option<String>,
    },
    /// The gate decided.
    Gated {
        /// How it decided.
        gate: GateConfig,
        /// What it decided.
        decision: Decision,
        /// Why.
        reason: Reason,
        /// Rows both models were scored on.
        rows: usize,
    },
}

impl Published {
    /// False only when the gate refused the version.
    pub(crate) fn accepted(&self) -> bool {
        !matches!(
            self.result,
            PublishResult::Gated {
                decision: Decision::Refused { .. },
                ..
            }
        )
    }
}

impl fmt::Display for Published {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, version) = (&self.name, &self.version);
        writeln!(f, "registered {name} version {version}")?;
        match &self.result {
            PublishResult::Placed { stage, alias } => {
                if let Some(stage) = stage {
                    writeln!(
                        f,
                        "{name} version {version} is now in stage {}",
                        stage.as_str()
                    )?;
                }
                if let Some(alias) = alias {
                    writeln!(f, "{name}@{alias} now points to version {version}")?;
                }
                Ok(())
            }
            PublishResult::Gated {
                gate,
                decision:
                    Decision::Promoted {
                        champion,
                        challenger,
                    },
                rows,
                ..
            } => {
                let before = champion.as_ref().map_or_else(
                    || "there was no champion".to_owned(),
                    |(v, s)| format!("champion version {v} scored {s:.4}"),
                );
                writeln!(
                    f,
                    "promoted: version {version} scored {} {challenger:.4} on {rows} held-out rows; {before}. {name}@{} and stage {} now point to it.",
                    gate.metric,
                    gate.alias,
                    gate.stage.as_str()
                )
            }
            PublishResult::Gated {
                gate,
                decision:
                    Decision::Refused {
                        champion: (v, s),
                        challenger,
                    },
                reason,
                ..
            } => {
                let why = match reason {
                    Reason::FellShort { .. } => {
                        format!("{reason} and must win by at least {}", gate.min_improvement)
                    }
                    _ => reason.to_string(),
                };
                writeln!(
                    f,
                    "not promoted: version {version} scored {} {challenger:.4}, champion version {v} scored {s:.4}; {why}. The champion keeps serving.",
                    gate.metric
                )
            }
        }
    }
}

/// Registers the run's model (with `description` on its version page), then places it as
/// `config` says; the gate scores the challenger (`model`: the fit that never saw them) and
/// the champion on the rows the challenger's training held out.
/// Called through [`super::Session::publish`].
///
/// # Errors
/// Registry failures, or a champion that cannot be loaded.
pub(super) async fn publish(
    client: &MlflowClient,
    config: &PublishConfig,
    run: &LoggedRun,
    model: &Model,
    held_out: &HeldOut,
    description: Option<&str>,
) -> anyhow::Result<Published> {
    let version = register(client, &config.name, run, description).await?;
    let result = match &config.placement {
        Placement::Direct { stage, alias } => {
            place(
                client,
                &config.name,
                &version.version,
                *stage,
                alias.as_deref(),
            )
            .await?;
            PublishResult::Placed {
                stage: *stage,
                alias: alias.clone(),
            }
        }
        Placement::Gate(gate) => {
            let (decision, reason) = promote(client, gate, &version, model, held_out).await?;
            PublishResult::Gated {
                gate: gate.clone(),
                decision,
                reason,
                rows: held_out.rows.len(),
            }
        }
    };
    Ok(Published {
        name: config.name.clone(),
        version: version.version,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::MetricName;

    fn refused(reason: Reason) -> Published {
        Published {
            name: "pokemon".to_owned(),
            version: "2".to_owned(),
            result: PublishResult::Gated {
                gate: GateConfig {
                    name: "pokemon".to_owned(),
                    alias: "champion".to_owned(),
                    stage: Stage::Production,
                    metric: MetricName::RocAuc,
                    min_improvement: 0.001,
                },
                decision: Decision::Refused {
                    champion: ("1".to_owned(), 0.95),
                    challenger: 0.94,
                },
                reason,
                rows: 300,
            },
        }
    }

    #[test]
    fn a_refusal_says_how_far_the_challenger_fell_short_of_the_margin() {
        let published = refused(Reason::FellShort { by: -0.01 });
        assert!(!published.accepted());
        assert_eq!(
            published.to_string(),
            "registered pokemon version 2\nnot promoted: version 2 scored roc_auc 0.9400, champion version 1 scored 0.9500; the challenger is worse by 0.0100 and must win by at least 0.001. The champion keeps serving.\n"
        );
    }

    #[test]
    fn a_refusal_over_a_score_that_is_not_a_number_says_so() {
        let text = refused(Reason::NotComparable).to_string();
        assert!(
            text.contains("; a score that is not a number cannot be compared. The champion"),
            "{text}"
        );
    }
}
