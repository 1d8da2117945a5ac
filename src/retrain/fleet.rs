//! What the serving fleet says: drift and prediction-mix alarms, read from each replica's
//! `GET /monitoring` or from Prometheus's firing alerts (the rules of
//! `deploy/kubernetes/components/drift-monitoring`).

use std::time::Duration;

use serde_json::Value;

/// The most bytes one answer may have: a `/monitoring` report is a few KB, an alert list
/// a few hundred KB at most.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// How long one source may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The alerts that mean the fleet sees something the champion was not trained on.
pub(crate) const ALERTS: [&str; 3] = [
    "LegendaryFeatureDriftPSI",
    "LegendaryFeatureDriftJS",
    "LegendaryPositiveRateOutOfRange",
];

/// What the fleet said.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct FleetReport {
    /// Each alarm, in words (`http://replica-1/monitoring: special_attack PSI 0.228 over
    /// the last 1000 rows`).
    pub alarms: Vec<String>,
    /// Sources that could not be read, and why.
    pub unreadable: Vec<String>,
}

/// Reads a capped JSON answer from `url`.
async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    let mut response = client
        .get(url)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "{url}: the answer is over {MAX_ANSWER_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON ({e})"))
}

/// The alarms of one `/monitoring` report, for the champion `version` only (a replica still
/// counting an older model says nothing of the champion; `None`: any version).
pub(crate) fn monitoring_alarms(
    source: &str,
    report: &Value,
    version: Option<&str>,
) -> Vec<String> {
    let served = report.get("version").and_then(Value::as_str).unwrap_or("");
    if version.is_some_and(|v| !served.is_empty() && v != served) {
        return Vec::new();
    }
    let mut alarms = Vec::new();
    let windows = report.get("windows").and_then(Value::as_array);
    for window in windows.into_iter().flatten() {
        let span = window
            .get("span")
            .and_then(Value::as_str)
            .unwrap_or("a window");
        let features = window.get("features").and_then(Value::as_array);
        for drift in features.into_iter().flatten() {
            if drift.get("drifted").and_then(Value::as_bool) == Some(true) {
                let name = drift.get("name").and_then(Value::as_str).unwrap_or("?");
                let psi = drift.get("psi").and_then(Value::as_f64).unwrap_or(f64::NAN);
                let js = drift.get("js").and_then(Value::as_f64).unwrap_or(f64::NAN);
                alarms.push(format!(
                    "{source}: {name} drifted (PSI {psi:.3}, JS {js:.3}) over {span}"
                ));
            }
        }
        if window
            .get("positive_rate_outside_range")
            .and_then(Value::as_bool)
            == Some(true)
        {
            let rate = window
                .get("positive_rate")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN);
            alarms.push(format!(
                "{source}: the share of legendary answers ({rate:.3}) left its training range over {span}"
            ));
        }
    }
    alarms
}

/// The firing drift alerts in a Prometheus `/api/v1/query` answer.
pub(crate) fn prometheus_alarms(source: &str, answer: &Value) -> Result<Vec<String>, String> {
    if answer.get("status").and_then(Value::as_str) != Some("success") {
        return Err(format!("{source}: the query did not succeed: {answer}"));
    }
    let results = answer
        .pointer("/data/result")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{source}: no data.result in the answer"))?;
    Ok(results
        .iter()
        .map(|r| {
            let labels = r.get("metric").cloned().unwrap_or(Value::Null);
            let label = |k: &str| labels.get(k).and_then(Value::as_str).unwrap_or("");
            let mut what = label("alertname").to_owned();
            for k in ["feature", "version", "namespace"] {
                if !label(k).is_empty() {
                    what.push_str(&format!(" {k}={}", label(k)));
                }
            }
            format!("{source}: alert {what} is firing")
        })
        .collect())
}

/// Asks every replica and Prometheus; a source that cannot be read is reported, not fatal
/// (the data alone can still decide).
pub(crate) async fn read(
    monitoring: &[String],
    prometheus: Option<&str>,
    version: Option<&str>,
) -> FleetReport {
    let mut report = FleetReport::default();
    let client = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            report.unreadable.push(format!("no HTTP client: {e}"));
            return report;
        }
    };
    for url in monitoring {
        match get_json(&client, url).await {
            Ok(v) => report.alarms.extend(monitoring_alarms(url, &v, version)),
            Err(e) => report.unreadable.push(e),
        }
    }
    if let Some(base) = prometheus {
        let query = format!(
            "ALERTS{{alertstate=\"firing\",alertname=~\"{}\"}}",
            ALERTS.join("|")
        );
        let url = match reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", base.trim_end_matches('/')),
            &[("query", query.as_str())],
        ) {
            Ok(u) => u.to_string(),
            Err(e) => {
                report.unreadable.push(format!("{base}: {e}"));
                return report;
            }
        };
        match get_json(&client, &url)
            .await
            .and_then(|v| prometheus_alarms(base, &v))
        {
            Ok(a) => report.alarms.extend(a),
            Err(e) => report.unreadable.push(e),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(version: &str, drifted: bool, outside: bool) -> Value {
        serde_json::json!({
            "version": version,
            "windows": [{
                "window": "rows",
                "span": "the last 1000 rows",
                "features": [
                    {"name": "hp", "psi": 0.01, "js": 0.02, "drifted": false},
                    {"name": "special_attack", "psi": 0.228, "js": 0.12, "drifted": drifted},
                ],
                "positive_rate": 0.31,
                "positive_rate_outside_range": outside,
            }],
        })
    }

    #[test]
    fn a_drifted_feature_and_an_odd_mix_are_alarms_of_the_champion_only() {
        let r = report("7", true, true);
        let alarms = monitoring_alarms("http://a/monitoring", &r, Some("7"));
        assert_eq!(
            alarms,
            vec![
                "http://a/monitoring: special_attack drifted (PSI 0.228, JS 0.120) over the last 1000 rows",
                "http://a/monitoring: the share of legendary answers (0.310) left its training range over the last 1000 rows",
            ]
        );
        assert!(
            monitoring_alarms("a", &r, Some("6")).is_empty(),
            "another version"
        );
        assert!(monitoring_alarms("a", &report("7", false, false), Some("7")).is_empty());
        assert_eq!(monitoring_alarms("a", &r, None).len(), 2);
    }

    #[test]
    fn firing_alerts_are_named_with_their_labels() {
        let answer = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"alertname": "LegendaryFeatureDriftPSI", "feature": "hp", "version": "3"}, "value": [1, "1"]}
        ]}});
        assert_eq!(
            prometheus_alarms("http://prom", &answer).unwrap(),
            vec!["http://prom: alert LegendaryFeatureDriftPSI feature=hp version=3 is firing"]
        );
        let failed = serde_json::json!({"status": "error", "error": "bad query"});
        assert!(
            prometheus_alarms("p", &failed)
                .unwrap_err()
                .contains("did not succeed")
        );
    }
}
