//! Publishing a logged model: register it as a new version, then place it as asked (stage,
//! alias) or through the promotion gate. Returns what happened, for the command to print.

use std::fmt;

use super::gate::{GateConfig, Verdict, promote};
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
        /// What it decided, and on what.
        verdict: Verdict,
    },
}

impl Published {
    /// False only when the gate refused the version.
    pub(crate) fn accepted(&self) -> bool {
        !matches!(
            &self.result,
            PublishResult::Gated { verdict, .. } if !verdict.promoted
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
            PublishResult::Gated { gate, verdict } => {
                let against = verdict.champion.as_ref().map_or_else(
                    || "there was no champion".to_owned(),
                    |v| format!("against champion version {v}"),
                );
                if verdict.promoted {
                    writeln!(
                        f,
                        "promoted: version {version} passed every check of the gate on {} held-out rows, {against}. {name}@{} and stage {} now point to it.",
                        verdict.rows,
                        gate.alias,
                        gate.stage.as_str()
                    )?;
                } else {
                    writeln!(
                        f,
                        "not promoted: version {version} failed {} {against}. The champion keeps serving.",
                        verdict.failed().join(", ")
                    )?;
                }
                if !verdict.checks.is_empty() {
                    write!(f, "{verdict}")?;
                }
                Ok(())
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
            let verdict = promote(client, gate, run, &version, model, held_out).await?;
            PublishResult::Gated {
                gate: gate.clone(),
                verdict,
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
    use crate::track::GateRules;
    use crate::track::gate::{Check, CheckKind};
    use crate::train::MetricName;

    #[test]
    fn a_refusal_names_the_failed_checks_and_shows_the_table() {
        let verdict = Verdict {
            promoted: false,
            champion: Some("1".to_owned()),
            champion_source: "240 rows from its run's evaluation fit".to_owned(),
            rows: 240,
            checks: vec![Check {
                kind: CheckKind::Gain,
                scope: "240 paired rows".to_owned(),
                generation: None,
                metric: MetricName::RocAuc,
                challenger: 0.94,
                champion: Some(0.95),
                gain: Some(-0.01),
                interval: None,
                rule: "95 % interval above 0.001".to_owned(),
                passed: false,
            }],
        };
        let published = Published {
            name: "pokemon".to_owned(),
            version: "2".to_owned(),
            result: PublishResult::Gated {
                gate: GateConfig {
                    name: "pokemon".to_owned(),
                    alias: "champion".to_owned(),
                    stage: Stage::Production,
                    metric: MetricName::RocAuc,
                    min_improvement: 0.001,
                    rules: GateRules::default(),
                },
                verdict,
            },
        };
        assert!(!published.accepted());
        let text = published.to_string();
        assert!(
            text.starts_with("registered pokemon version 2\nnot promoted: version 2 failed gain 240 paired rows (roc_auc) against champion version 1. The champion keeps serving.\n"),
            "{text}"
        );
        assert!(
            text.contains("240 rows from its run's evaluation fit"),
            "{text}"
        );
        assert!(text.contains("FAIL"), "{text}");
    }
}
