//! The gate's errand: find the champion, gather its answers on the challenger's held-out
//! rows (see [`super::pairing`]), judge (see [`super::verdict`]), record every number on the
//! challenger's version and run, and promote when every check passed.

use std::path::Path;

use super::GateConfig;
use super::pairing::{Answers, ChampionRecord, LoggedHoldout, pair};
use super::verdict::{CheckKind, Evidence, Verdict, judge};
use crate::model::Model;
use crate::train::{HeldOut, Metrics};
use legendary_mlflow::wire::{Metric, ModelVersion};
use legendary_mlflow::{MlflowClient, wire::KeyValue};

/// The run artifact directory the gate reads a champion's hold-out answers from.
pub(crate) const GATE_DIR: &str = "gate";

/// The most bytes of a champion's logged hold-out the gate downloads.
const MAX_LOGGED_BYTES: usize = 64 << 20;

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

/// What the champion's run says of it: its logged hold-out answers, its generations, whether
/// it was refitted on every row, and its logged score of the gate metric (for a refitted
/// champion with no log). An older run (or none: a model registered from elsewhere) gives
/// what it has.
async fn record_of(
    client: &MlflowClient,
    champion: &ModelVersion,
    gate: &GateConfig,
) -> (ChampionRecord, Option<f64>) {
    let mut record = ChampionRecord::default();
    if champion.run_id.is_empty() {
        return (record, None);
    }
    let Ok(run) = client.get_run(&champion.run_id).await else {
        return (record, None);
    };
    let param = |key: &str| {
        run.data
            .params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    };
    record.refitted = param("refit_all") == Some("true");
    record.generations = param("generations").and_then(|g| g.parse().ok());
    record.data_sha256 = param("data_sha256").map(str::to_owned);
    let score = run
        .data
        .metrics
        .iter()
        .find(|m| m.key == gate.metric.as_str() && m.step == 0)
        .map(|m| m.value);
    match logged_holdout(client, &run.info.artifact_uri).await {
        Ok(logged) => record.logged = logged,
        Err(e) => tracing::warn!(
            run_id = %champion.run_id,
            "the champion's logged hold-out cannot be read, so only rows it never trained on are paired: {e:#}"
        ),
    }
    (record, score)
}

/// The champion run's `gate/holdout_predictions.csv`, `None` when the run has none.
async fn logged_holdout(
    client: &MlflowClient,
    artifact_uri: &str,
) -> anyhow::Result<Option<LoggedHoldout>> {
    let dir = tempfile::tempdir()?;
    let uri = format!("{}/{GATE_DIR}", artifact_uri.trim_end_matches('/'));
    let deadline = tokio::time::Instant::now() + client.artifact_timeout();
    match client.download_artifacts(&uri, dir.path(), deadline).await {
        Ok(_) => {}
        Err(legendary_mlflow::MlflowError::NoArtifacts { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let path = dir.path().join(crate::train::HOLDOUT_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = read_capped(&path, MAX_LOGGED_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("it is not UTF-8"))?;
    LoggedHoldout::parse(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", crate::train::HOLDOUT_FILE))
}

fn read_capped(path: &Path, max: usize) -> anyhow::Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > max as u64 {
        anyhow::bail!("it is {len} bytes, over the gate's {max}");
    }
    Ok(std::fs::read(path)?)
}

/// Runs the gate for `challenger` (already registered as `version` from `run`; the fit that
/// never saw `held_out`), records the verdict on the version and the run and, when it is
/// promoted, moves the stage and the alias to it.
///
/// # Errors
/// Registry failures, or a champion that cannot be downloaded.
pub(crate) async fn promote(
    client: &MlflowClient,
    gate: &GateConfig,
    run: &crate::track::LoggedRun,
    version: &ModelVersion,
    challenger: &Model,
    held_out: &HeldOut,
) -> anyhow::Result<Verdict> {
    let answers = Answers::of(challenger, &held_out.rows);
    let challenger_metrics =
        Metrics::of_decisions(&held_out.labels, &answers.proba, &answers.decided);
    let current = champion(client, gate)
        .await?
        .filter(|c| c.version != version.version);
    let verdict = match &current {
        None => judge(
            gate.metric,
            gate.min_improvement,
            &gate.rules,
            &challenger_metrics,
            &Evidence::NoChampion,
        ),
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
            let (record, score) = record_of(client, c, gate).await;
            let champion_answers = Answers::of(&loaded.model, &held_out.rows);
            let paired = pair(held_out, &answers, &champion_answers, &record);
            // Other data than the champion's: a champion that logged its digest, and another one.
            let new_data = record
                .data_sha256
                .as_ref()
                .is_some_and(|d| *d != held_out.data_sha256);
            let evidence = match (&paired, score) {
                (Some(paired), _) => Evidence::Paired {
                    version: &c.version,
                    paired,
                    new_data,
                },
                (None, Some(score)) => Evidence::Score {
                    version: &c.version,
                    score,
                    source: "its run's held-out evaluation (refitted on every row since, and no logged hold-out to pair with)",
                },
                (None, None) => anyhow::bail!(
                    "champion version {} was refitted on every row and its run has neither a logged hold-out nor a {} score, so the gate has nothing fair to compare; move @{} with --alias instead of --promote",
                    c.version,
                    gate.metric,
                    gate.alias
                ),
            };
            judge(
                gate.metric,
                gate.min_improvement,
                &gate.rules,
                &challenger_metrics,
                &evidence,
            )
        }
    };
    record(client, gate, run, version, &verdict).await?;
    if verdict.promoted {
        super::super::place(
            client,
            &gate.name,
            &version.version,
            Some(gate.stage),
            Some(&gate.alias),
        )
        .await?;
    }
    Ok(verdict)
}

/// Every number of the verdict: tags on the version (what the registry page shows), and on
/// the challenger's `run` its tags, metrics (`gate_*`, the slices with the generation as the
/// step) and `gate/decision.json`.
async fn record(
    client: &MlflowClient,
    gate: &GateConfig,
    run: &crate::track::LoggedRun,
    version: &ModelVersion,
    verdict: &Verdict,
) -> anyhow::Result<()> {
    let decision = if verdict.promoted {
        "promoted"
    } else {
        "refused"
    };
    let mut tags = vec![
        ("legendary.gate.decision", decision.to_owned()),
        ("legendary.gate.metric", gate.metric.to_string()),
        (
            "legendary.gate.min_improvement",
            gate.min_improvement.to_string(),
        ),
        ("legendary.gate.eval_rows", verdict.rows.to_string()),
    ];
    if let Some(gain) = verdict.gain() {
        tags.push((
            "legendary.gate.challenger_score",
            gain.challenger.to_string(),
        ));
        if let Some(s) = gain.champion {
            tags.push(("legendary.gate.champion_score", s.to_string()));
        }
        if let Some(i) = gain.interval {
            tags.push((
                "legendary.gate.gain_interval",
                format!("[{}, {}]", i.low, i.high),
            ));
        }
    }
    if let Some(v) = &verdict.champion {
        tags.push(("legendary.gate.champion_version", v.clone()));
        tags.push((
            "legendary.gate.champion_scored_on",
            verdict.champion_source.clone(),
        ));
    }
    let failed = verdict.failed();
    if !failed.is_empty() {
        tags.push(("legendary.gate.failed", failed.join("; ")));
    }
    for (k, v) in &tags {
        client
            .set_model_version_tag(&gate.name, &version.version, k, v)
            .await?;
    }
    let now = legendary_mlflow::tracking::now_ms();
    let mut metrics = Vec::new();
    for c in &verdict.checks {
        let step = c.generation.map_or(0, i64::from);
        let name = match c.kind {
            CheckKind::Slice => format!("gate_slice_{}", c.metric),
            CheckKind::Floor => format!("gate_floor_{}", c.metric),
            CheckKind::Gain => format!("gate_{}", c.metric),
        };
        metrics.push(Metric::new(
            format!("{name}_challenger"),
            c.challenger,
            now,
            step,
        ));
        if let Some(v) = c.champion {
            metrics.push(Metric::new(format!("{name}_champion"), v, now, step));
        }
        if let Some(v) = c.gain {
            metrics.push(Metric::new(format!("{name}_gain"), v, now, step));
        }
        if let Some(i) = c.interval {
            metrics.push(Metric::new(format!("{name}_gain_low"), i.low, now, step));
            metrics.push(Metric::new(format!("{name}_gain_high"), i.high, now, step));
        }
    }
    metrics.retain(|m| m.value.is_finite());
    let run_tags: Vec<KeyValue> = tags
        .iter()
        .map(|(k, v)| KeyValue::new(*k, v.clone()))
        .collect();
    client
        .log_batch(&run.run_id, &[], &metrics, &run_tags)
        .await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("decision.json"),
        serde_json::to_vec_pretty(verdict)?,
    )?;
    client
        .upload_dir(&run.artifact_uri, GATE_DIR, dir.path())
        .await?;
    Ok(())
}
