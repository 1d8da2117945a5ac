//! Starts the real router on 127.0.0.1:0, builds scoring bodies, reads `/metrics`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use legendary::server::{AppState, ModelMeta, Served, ServerLimits, router};
use prometheus_parse::{Scrape, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The repository's root, so tests find `models/` from any working directory.
pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn limits() -> ServerLimits {
    ServerLimits {
        max_body_bytes: 64 * 1024 * 1024,
        timeout: Duration::from_secs(60),
        scoring: legendary::scoring::Limits {
            max_rows: 1_000_000,
        },
        parallel_rows: 8192,
    }
}

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

/// A server running in this process.
pub(crate) struct App {
    pub(crate) addr: SocketAddr,
    pub(crate) client: reqwest::Client,
    pub(crate) state: AppState,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Serves `state` as it is (possibly without a model).
pub(crate) async fn spawn(state: AppState) -> App {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = oneshot::channel::<()>();
    let app = router(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    App {
        addr,
        client: reqwest::Client::new(),
        state,
        stop,
        server,
    }
}

/// Serves the bundled model.
pub(crate) async fn spawn_with_model() -> App {
    let state = AppState::new(limits(), None);
    state.set_model(bundled_model());
    spawn(state).await
}

impl App {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

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

    pub(crate) async fn shut_down(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
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
