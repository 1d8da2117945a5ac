//! The quality gate: score the current champion and the challenger on the same held-out rows,
//! and promote the challenger only if it is better by at least a margin. The decision and both
//! scores are recorded as tags on the challenger's version.

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

fn score(model: &Model, rows: &[[f64; 6]], labels: &[bool], metric: MetricName) -> f64 {
    Metrics::compute(labels, &model.proba_rows(rows), model.threshold()).get(metric)
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
/// its training held out.
///
/// # Errors
/// Registry failures, or a champion that cannot be downloaded.
pub(super) async fn promote(
    client: &MlflowClient,
    gate: &GateConfig,
    version: &ModelVersion,
    challenger: &Model,
    held_out: &HeldOut,
) -> anyhow::Result<Decision> {
    let (rows, labels) = (&held_out.rows, &held_out.labels);
    let challenger_score = score(challenger, rows, labels, gate.metric);
    let current = champion(client, gate)
        .await?
        .filter(|c| c.version != version.version);
    let champion_score = match &current {
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
            // probability: its score would be NaN, and NaN never loses, so say so instead.
            if !loaded.model.takes_demo_stats() {
                anyhow::bail!(
                    "champion version {} of '{}' does not answer 'legendary or not' from the six stats (it takes {:?}), so the gate cannot compare it; move @{} with --alias instead of --promote",
                    c.version,
                    gate.name,
                    loaded.model.input_features(),
                    gate.alias
                );
            }
            Some((
                c.version.clone(),
                score(&loaded.model, rows, labels, gate.metric),
            ))
        }
    };
    let improvement = champion_score
        .as_ref()
        .map(|(_, s)| gate.metric.improvement(*s, challenger_score));
    let promoted = improvement.is_none_or(|d| d >= gate.min_improvement);
    let decision = match champion_score {
        Some(champ) if !promoted => Decision::Refused {
            champion: champ,
            challenger: challenger_score,
        },
        champ => Decision::Promoted {
            champion: champ,
            challenger: challenger_score,
        },
    };
    record(client, gate, version, &decision, rows.len()).await?;
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
    Ok(decision)
}

async fn record(
    client: &MlflowClient,
    gate: &GateConfig,
    version: &ModelVersion,
    decision: &Decision,
    rows: usize,
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
    }
    for (k, v) in tags {
        client
            .set_model_version_tag(&gate.name, &version.version, k, &v)
            .await?;
    }
    Ok(())
}
