//! Reading `/metrics` with a real Prometheus text parser.

use prometheus_parse::{Scrape, Value};

use super::app::TestApp;

impl TestApp {
    pub async fn scrape(&self) -> Scrape {
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
pub fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the sample `name` whose labels include `labels`; 0 when absent (a counter
/// not yet incremented is not exposed).
pub fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
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
pub fn histogram_count(scrape: &Scrape, name: &str, route: &str) -> f64 {
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
