//! `legendary retrain`: one command, made to run as a Kubernetes CronJob every few minutes,
//! that decides whether a new model is worth training and, when it is, trains, gates and
//! promotes it (the serving replicas pick the new champion up by hot reload).
//!
//! It retrains when the **data** moved: the catalogue's digest of the selected generations
//! differs from the one the champion's run logged (a new generation file, or labelled rows
//! added), or there is no champion yet. The **fleet**'s drift and prediction-mix alarms
//! (each replica's `/monitoring`, or Prometheus's firing alerts) are read and recorded as a
//! reason, but alone they do not retrain: the same rows would give the same model, which the
//! gate refuses as noise; the command says so, and that the payload log is where new labelled
//! rows come from. A **cool-down** after each retraining keeps it from retraining in a loop.
//!
//! Exit codes: 0 when it did not need to retrain or the new model was promoted; the
//! not-promoted code (3 by default) when the gate refused it; 1 on an error.

mod fleet;

use std::time::Duration;

use legendary_mlflow::MlflowClient;
use legendary_mlflow::wire::ModelVersion;

pub(crate) use fleet::FleetReport;

/// The run tag that marks a retraining (the cool-down searches for it).
pub(crate) const RETRAIN_TAG: &str = "legendary.retrain";

/// The run tag that says why it retrained.
pub(crate) const REASON_TAG: &str = "legendary.retrain.reason";

/// Where `retrain` looks, besides the registry and the catalogue.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Each replica's `/monitoring` URL.
    pub monitoring: Vec<String>,
    /// Prometheus's base URL.
    pub prometheus: Option<String>,
    /// No retraining this soon after the last one.
    pub cooldown: Duration,
    /// Retrain whatever the signals say (the gate still decides).
    pub force: bool,
}

/// What `retrain` decided, and every reason.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Train now.
    pub retrain: bool,
    /// Why, or why not: one sentence per signal.
    pub reasons: Vec<String>,
}

impl Plan {
    /// The reasons as one line (for the log and the run tag).
    pub(crate) fn why(&self) -> String {
        self.reasons.join("; ")
    }
}

/// The signals, gathered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signals {
    /// The champion's version, if there is one.
    pub champion: Option<String>,
    /// The data digest the champion's run logged.
    pub champion_data: Option<String>,
    /// The catalogue's digest now.
    pub data: String,
    /// What the fleet said.
    pub fleet: FleetReport,
    /// How long ago the last retraining started, if any did.
    pub since_last: Option<Duration>,
}

/// The decision on `signals` (see the module docs).
pub(crate) fn decide(signals: &Signals, watch: &Watch) -> Plan {
    let mut reasons = Vec::new();
    let data_moved = match (&signals.champion, &signals.champion_data) {
        (None, _) => {
            reasons.push("there is no champion yet".to_owned());
            true
        }
        (Some(v), None) => {
            reasons.push(format!(
                "champion version {v}'s run logged no data digest, so its data is unknown"
            ));
            true
        }
        (Some(v), Some(d)) if *d != signals.data => {
            reasons.push(format!(
                "the data changed: champion version {v} was trained on {}…, the catalogue is now {}…",
                short(d),
                short(&signals.data)
            ));
            true
        }
        (Some(v), Some(_)) => {
            reasons.push(format!(
                "the data is what champion version {v} was trained on ({}…)",
                short(&signals.data)
            ));
            false
        }
    };
    let drifted = !signals.fleet.alarms.is_empty();
    if drifted {
        reasons.push(format!(
            "the fleet drifted: {}",
            signals.fleet.alarms.join(", ")
        ));
    } else {
        // Said only when some source was read: an unreachable fleet shows nothing.
        let sources = watch.monitoring.len() + usize::from(watch.prometheus.is_some());
        if sources > signals.fleet.unreadable.len() {
            reasons.push("the fleet shows no drift".to_owned());
        }
    }
    for e in &signals.fleet.unreadable {
        reasons.push(format!("could not read {e}"));
    }
    if drifted && !data_moved {
        reasons.push(
            "drift alone does not retrain: the same rows would give the same model; label the payload log and add it to the catalogue"
                .to_owned(),
        );
    }
    let wanted = data_moved || watch.force;
    if watch.force {
        reasons.push("--force".to_owned());
    }
    if let Some(since) = signals.since_last
        && since < watch.cooldown
        && wanted
        && !watch.force
    {
        reasons.push(format!(
            "cooling down: the last retraining started {}s ago, the cool-down is {}s",
            since.as_secs(),
            watch.cooldown.as_secs()
        ));
        return Plan {
            retrain: false,
            reasons,
        };
    }
    Plan {
        retrain: wanted,
        reasons,
    }
}

/// The grid of `retrain --grid` at `path`, expanded on top of `base` (the flags' recipe on the
/// catalogue's local copy); each trial records `catalogue` as its data.
///
/// # Errors
/// What `sweep` refuses in a grid, and a `[data]` table: retrain trains on the catalogue whose
/// digest it compared, not on rows a grid names.
pub(crate) fn grid(
    path: &std::path::Path,
    base: &crate::train::TrainConfig,
    catalogue: &std::path::Path,
) -> anyhow::Result<crate::sweep::Grid> {
    let mut grid = crate::sweep::load(path, base)?;
    if grid
        .configs
        .iter()
        .any(|c| c.data != base.data || c.generations != base.generations)
    {
        anyhow::bail!(
            "{}: retrain trains on the catalogue it watches (--data, --generations); remove the grid's [data] table",
            path.display()
        );
    }
    grid.recorded_data = Some(catalogue.to_path_buf());
    Ok(grid)
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// The champion of `name`: `@alias` first, else the latest version in `stage`; `None` when
/// there is none, or no such registered model yet.
async fn champion(
    client: &MlflowClient,
    name: &str,
    alias: &str,
    stage: legendary_mlflow::Stage,
) -> anyhow::Result<Option<ModelVersion>> {
    match client.version_by_alias(name, alias).await {
        Ok(Some(v)) => return Ok(Some(v)),
        Ok(None) => {}
        // Not registered yet: the first retraining makes the first champion.
        Err(legendary_mlflow::MlflowError::ModelNotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    Ok(client.latest_version(name, stage).await?)
}

/// Gathers the signals: the champion and its data digest from the registry and its run, the
/// catalogue's digest (`data`, computed by the caller), the fleet, and the last retraining
/// in `experiment_id`.
///
/// # Errors
/// Registry and tracking failures (the fleet's are reported in the signals instead).
pub(crate) async fn gather(
    client: &MlflowClient,
    experiment_id: &str,
    gate: &crate::track::GateConfig,
    data: String,
    watch: &Watch,
) -> anyhow::Result<Signals> {
    let current = champion(client, &gate.name, &gate.alias, gate.stage).await?;
    let mut signals = Signals {
        data,
        ..Signals::default()
    };
    if let Some(c) = &current {
        signals.champion = Some(c.version.clone());
        if !c.run_id.is_empty() {
            let run = client.get_run(&c.run_id).await?;
            signals.champion_data = run
                .data
                .params
                .iter()
                .find(|p| p.key == "data_sha256")
                .map(|p| p.value.clone());
        }
    }
    signals.fleet = fleet::read(
        &watch.monitoring,
        watch.prometheus.as_deref(),
        signals.champion.as_deref(),
    )
    .await;
    let filter = format!("tags.`{RETRAIN_TAG}` = 'true'");
    let runs = client.search_runs(experiment_id, &filter, 10_000).await?;
    let now = legendary_mlflow::tracking::now_ms();
    signals.since_last = runs
        .iter()
        .filter_map(|r| r.info.start_time)
        .max()
        .map(|t| Duration::from_millis(u64::try_from(now.saturating_sub(t)).unwrap_or(0)));
    Ok(signals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(champion_data: Option<&str>, alarms: &[&str]) -> Signals {
        Signals {
            champion: Some("4".to_owned()),
            champion_data: champion_data.map(str::to_owned),
            data: "abcdef0123456789".to_owned(),
            fleet: FleetReport {
                alarms: alarms.iter().map(|a| (*a).to_owned()).collect(),
                unreadable: Vec::new(),
            },
            since_last: None,
        }
    }

    fn watch() -> Watch {
        Watch {
            monitoring: vec!["http://a/monitoring".to_owned()],
            cooldown: Duration::from_secs(600),
            ..Watch::default()
        }
    }

    #[test]
    fn nothing_changed_means_no_retraining_and_says_why() {
        let plan = decide(&signals(Some("abcdef0123456789"), &[]), &watch());
        assert!(!plan.retrain);
        assert_eq!(
            plan.why(),
            "the data is what champion version 4 was trained on (abcdef012345…); the fleet shows no drift"
        );
    }

    #[test]
    fn new_data_retrains_and_drift_is_recorded_beside_it() {
        let plan = decide(&signals(Some("0000"), &["a: hp drifted"]), &watch());
        assert!(plan.retrain);
        assert_eq!(
            plan.why(),
            "the data changed: champion version 4 was trained on 0000…, the catalogue is now abcdef012345…; the fleet drifted: a: hp drifted"
        );
    }

    #[test]
    fn an_unreadable_fleet_is_named_and_not_called_quiet() {
        let mut s = signals(Some("abcdef0123456789"), &[]);
        s.fleet.unreadable = vec!["http://a/monitoring: connection refused".to_owned()];
        let plan = decide(&s, &watch());
        assert!(!plan.retrain);
        assert_eq!(
            plan.why(),
            "the data is what champion version 4 was trained on (abcdef012345…); could not read http://a/monitoring: connection refused"
        );
    }

    #[test]
    fn drift_alone_does_not_retrain_and_says_what_would() {
        let plan = decide(
            &signals(Some("abcdef0123456789"), &["a: hp drifted"]),
            &watch(),
        );
        assert!(!plan.retrain);
        assert!(
            plan.why().contains("label the payload log"),
            "{}",
            plan.why()
        );
    }

    #[test]
    fn the_cool_down_holds_new_data_back_and_force_overrides_it() {
        let mut s = signals(Some("0000"), &[]);
        s.since_last = Some(Duration::from_secs(60));
        let plan = decide(&s, &watch());
        assert!(!plan.retrain);
        assert!(
            plan.why()
                .contains("cooling down: the last retraining started 60s ago")
        );
        s.since_last = Some(Duration::from_secs(601));
        assert!(decide(&s, &watch()).retrain);
        let forced = Watch {
            force: true,
            ..watch()
        };
        s.since_last = Some(Duration::from_secs(60));
        assert!(decide(&s, &forced).retrain);
    }

    #[test]
    fn a_grid_varies_the_flags_recipe_and_may_not_pick_its_own_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.toml");
        let mut base = crate::train::TrainConfig::default();
        base.params.n_trees = 60;
        std::fs::write(
            &path,
            "metric = \"brier\"\n[params]\nmin_samples_leaf = [1, 2]\n",
        )
        .unwrap();
        let expanded = grid(&path, &base, std::path::Path::new("s3://bucket/pokemon")).unwrap();
        assert_eq!(expanded.configs.len(), 2);
        assert!(expanded.configs.iter().all(|c| c.params.n_trees == 60));
        assert_eq!(
            expanded.recorded_data.as_deref(),
            Some(std::path::Path::new("s3://bucket/pokemon"))
        );
        for data in [
            "[data]\npath = \"elsewhere\"\n",
            "[data]\ngenerations = [\"1-3\"]\n",
        ] {
            std::fs::write(&path, data).unwrap();
            let refused = grid(&path, &base, std::path::Path::new("c")).unwrap_err();
            assert!(
                refused
                    .to_string()
                    .contains("remove the grid's [data] table"),
                "{refused}"
            );
        }
    }

    #[test]
    fn no_champion_or_no_logged_digest_retrains() {
        let mut s = signals(None, &[]);
        assert!(decide(&s, &watch()).retrain);
        s.champion = None;
        assert_eq!(decide(&s, &watch()).reasons[0], "there is no champion yet");
    }
}
