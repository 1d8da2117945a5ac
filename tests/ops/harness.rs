//! Starts the real router on 127.0.0.1:0, builds scoring bodies, reads `/metrics`.

use legendary::server::{AppState, ModelMeta, Served};
use prometheus_parse::{Scrape, Value};

pub(crate) use crate::app::{TestApp as App, limits, repo, spawn_state as spawn};

/// The bundled model, ready to serve.
pub(crate) fn bundled_model() -> Served {
    let dir = legendary::model::read_dir(&repo().join("models/pokemon")).unwrap();
    let meta = ModelMeta {
        uri: "models/pokemon".into(),
        name: Some("pokemon".into()),
        version: Some("7".into()),
        stage: Some("Production".into()),
        aliases: vec!["champion".into(), "blue".into()],
        ..ModelMeta::default()
    };
    Served::new(dir, meta)
}

/// Serves the bundled model.
pub(crate) async fn spawn_with_model() -> App {
    let state = AppState::new(limits(), None);
    state.set_model(bundled_model());
    spawn(state).await
}

impl App {
    pub(crate) async fn score(&self, body: String) -> reqwest::Response {
        self.client
            .post(self.url("/invocations"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn scrape(&self) -> Scrape {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        parse(&response.text().await.unwrap())
    }
}

/// Parses a text exposition with a real Prometheus parser.
pub(crate) fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// A `dataframe_split` body of `rows` rows of valid stats.
pub(crate) fn body(rows: usize) -> String {
    let columns = serde_json::to_string(&legendary::dataset::FEATURES).unwrap();
    let row = "[80,100,90,110,95,105]";
    let data = vec![row; rows].join(",");
    format!(r#"{{"dataframe_split":{{"columns":{columns},"data":[{data}]}}}}"#)
}

/// The value of the sample `name` whose labels include `labels`; 0 when absent (a counter
/// not yet incremented is not exposed).
pub(crate) fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut found = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)));
    let Some(sample) = found.next() else {
        return 0.0;
    };
    assert!(found.next().is_none(), "{name} {labels:?} is ambiguous");
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("{name} is not a single value: {other:?}"),
    }
}

/// The `+Inf` bucket of histogram `name` for `route`.
pub(crate) fn histogram_count(scrape: &Scrape, name: &str, route: &str) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && s.labels.get("route") == Some(route));
    let Some(sample) = sample else {
        return 0.0;
    };
    let Value::Histogram(buckets) = &sample.value else {
        panic!("{name} is not a histogram: {:?}", sample.value);
    };
    let inf = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
    // The `_count` sample must agree with the `+Inf` bucket.
    let count = value(scrape, &format!("{name}_count"), &[("route", route)]);
    assert_eq!(inf.count, count, "{name}{{route={route}}}");
    inf.count
}
