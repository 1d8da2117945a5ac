//! The payload log (`serve --log-payloads`): the rows every scoring route answered become a
//! data package that the catalogue lists and training reads once labelled; a stalled sink
//! neither grows the queue past its bound nor slows a request, and its drops are counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use legendary::config::PayloadLogConfig;
use legendary::dataset::{Generations, catalogue};
use legendary::http::{AppState, ServerLimits};
use legendary::monitor::payload_log::{COLUMNS, PayloadLog, PayloadLogSettings, Sink, SinkError};
use legendary::train::{TrainConfig, train};

use super::shutdown::{config, ready};
use crate::support::app::{bundled_model, spawn_state};
use crate::support::prometheus::{parse, value};

const STATS: [&str; 6] = legendary_forest::FEATURES;

fn rows(n: usize, seed: u64) -> Vec<[f64; 6]> {
    let mut rng = legendary_forest::SplitMix64::new(seed);
    (0..n)
        .map(|_| std::array::from_fn(|_| 20.0 + rng.below(141) as f64))
        .collect()
}

async fn post(client: &reqwest::Client, url: String, id: &str, body: Value) -> Value {
    let response = client
        .post(url)
        .header("x-request-id", id)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Every CSV resource the package lists, as records keyed by column name.
fn logged(dir: &std::path::Path) -> Vec<HashMap<String, String>> {
    let entries = catalogue::read(dir, &dir.display().to_string()).unwrap();
    let mut out = Vec::new();
    for entry in entries {
        let mut reader = csv::Reader::from_path(&entry.location).unwrap();
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, COLUMNS);
        let mut rows = 0;
        for record in reader.records() {
            let record = record.unwrap();
            out.push(
                header
                    .iter()
                    .cloned()
                    .zip(record.iter().map(str::to_owned))
                    .collect(),
            );
            rows += 1;
        }
        assert_eq!(entry.rows, Some(rows), "{}", entry.name);
    }
    out
}

fn stats_of(row: &HashMap<String, String>) -> [f64; 6] {
    std::array::from_fn(|i| row[STATS[i]].parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_rows_become_a_package_that_is_listed_and_trained_on_once_labelled() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("payloads");
    let mut config = config(Duration::from_secs(10));
    config.payload_log = Some(PayloadLogConfig {
        target: dir.display().to_string(),
        settings: PayloadLogSettings {
            interval: Duration::from_millis(200),
            ..PayloadLogSettings::default()
        },
        stores: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(legendary::server::start(listener, config, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    ready(&client, addr).await;
    let url = |path: &str| format!("http://{addr}{path}");

    let batch = rows(400, 7);
    let split = json!({"dataframe_split": {"columns": STATS, "data": &batch[..300]}});
    let predictions = post(&client, url("/invocations"), "split-1", split).await;
    let proba = json!({"dataframe_split": {"columns": STATS, "data": &batch[..300]},
                       "params": {"predict_method": "predict_proba"}});
    let probabilities = post(&client, url("/invocations"), "proba-1", proba).await;
    let flat: Vec<f64> = batch[300..].iter().flatten().copied().collect();
    let oip =
        json!({"inputs": [{"name": "x", "shape": [100, 6], "datatype": "FP64", "data": flat}]});
    post(&client, url("/v2/models/pokemon/infer"), "oip-1", oip).await;
    let demo: Vec<Value> = batch[300..310]
        .iter()
        .map(|r| json!({"hp": r[0], "attack": r[1], "defense": r[2], "special_attack": r[3], "special_defense": r[4], "speed": r[5]}))
        .collect();
    let answers = post(&client, url("/pokemon-types"), "demo-1", json!(demo)).await;
    // Shutdown flushes what is queued before `start` returns.
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    let logged = logged(&dir);
    assert_eq!(logged.len(), 300 + 300 + 100 + 10);
    let of = |id: &str| -> Vec<&HashMap<String, String>> {
        logged.iter().filter(|r| r["request_id"] == id).collect()
    };
    let split_rows = of("split-1");
    assert_eq!(split_rows.len(), 300);
    for (i, row) in split_rows.iter().enumerate() {
        assert_eq!(stats_of(row), batch[i]);
        assert_eq!(row["prediction"], predictions["predictions"][i].to_string());
        assert!(
            humantime::parse_rfc3339(&row["time"]).is_ok(),
            "{}",
            row["time"]
        );
        assert_eq!(
            (row["legendary"].as_str(), row["generation"].as_str()),
            ("", "")
        );
    }
    for (i, row) in of("proba-1").iter().enumerate() {
        let p: f64 = row["probability"].parse().unwrap();
        assert_eq!(p, probabilities["predictions"][i].as_f64().unwrap());
    }
    assert_eq!(of("oip-1").len(), 100);
    for (row, answer) in of("demo-1").iter().zip(answers.as_array().unwrap()) {
        assert_eq!(row["prediction"], answer["is_legendary"].to_string());
        assert_eq!(
            row["probability"].parse::<f64>().unwrap(),
            answer["probability"].as_f64().unwrap()
        );
    }

    // Unlabelled, it is refused with what to do.
    let refused = legendary::dataset::load(&dir, &Generations::all()).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("none of its 710 rows is labelled"),
        "{refused}"
    );
    // A person labels every row but the demo's (a rule on the total stands for their eye).
    let entries = catalogue::read(&dir, &dir.display().to_string()).unwrap();
    assert!(entries.iter().all(|e| e.name.starts_with("payloads-")));
    for entry in &entries {
        let mut reader = csv::Reader::from_path(&entry.location).unwrap();
        let mut writer = csv::Writer::from_path(format!("{}.new", entry.location)).unwrap();
        writer.write_record(reader.headers().unwrap()).unwrap();
        for record in reader.records() {
            let mut record: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
            if record[10] != "demo-1" {
                let total: f64 = record[..6].iter().map(|s| s.parse::<f64>().unwrap()).sum();
                record[12] = (total >= 600.0).to_string();
            }
            writer.write_record(&record).unwrap();
        }
        writer.flush().unwrap();
        std::fs::rename(format!("{}.new", entry.location), &entry.location).unwrap();
    }
    let data = legendary::dataset::load(&dir, &Generations::all()).unwrap();
    assert_eq!(data.rows.len(), 700);
    let mut config = TrainConfig {
        cv_folds: 0,
        ..TrainConfig::default()
    };
    config.data = dir.clone();
    config.params.n_trees = 10;
    let outcome = train(&config.validate().unwrap()).unwrap();
    assert_eq!(outcome.dataset.rows.len(), 700);
    let expected = data.rows.iter().filter(|p| p.legendary).count();
    assert!(expected > 0 && expected < 700, "{expected}");
    assert_eq!(
        outcome.dataset.rows.iter().filter(|p| p.legendary).count(),
        expected
    );
}

/// A sink whose writes block until the test lets them go.
#[derive(Clone, Default)]
struct Stalled {
    released: Arc<(Mutex<bool>, Condvar)>,
    writes: Arc<AtomicUsize>,
    waiting: Arc<AtomicUsize>,
}

impl Stalled {
    fn release(&self) {
        let (lock, cv) = &*self.released;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
}

impl Sink for Stalled {
    fn read(&mut self, _name: &str) -> Result<Option<Vec<u8>>, SinkError> {
        Ok(None)
    }

    fn write(&mut self, _name: &str, _parts: Vec<Vec<u8>>) -> Result<(), SinkError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let (lock, cv) = &*self.released;
        let _released = cv.wait_while(lock.lock().unwrap(), |r| !*r).unwrap();
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn location(&self) -> String {
        "a stalled sink".to_owned()
    }
}

/// Latencies of `n` sequential 200-row `/invocations` requests.
async fn latencies(app: &crate::support::app::TestApp, n: usize) -> Vec<Duration> {
    let body = json!({"dataframe_split": {"columns": STATS, "data": rows(200, 3)}}).to_string();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        assert_eq!(app.score(body.clone()).await.status(), 200);
        out.push(started.elapsed());
    }
    out.sort();
    out
}

/// The issue asks for a sink stalled for ten minutes; what matters is that the stall is long
/// against everything the log does on its own time and that far more arrives than the bound
/// holds. Here the writes block for at least 3 s, thirty flush intervals (100 ms), while
/// about twenty times the 64 KiB bound is offered: past the first flush nothing more can be
/// written, so ten minutes would only drop more rows, with the queue as full as here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_sink_keeps_the_queue_under_its_bound_counts_drops_and_slows_no_request() {
    const MAX: usize = 64 * 1024;
    const STALL: Duration = Duration::from_secs(3);
    let baseline_state = AppState::new(ServerLimits::default(), None);
    baseline_state.set_model(bundled_model());
    let baseline_app = spawn_state(baseline_state).await;
    latencies(&baseline_app, 5).await; // warm up
    let baseline = latencies(&baseline_app, 60).await;
    baseline_app.shut_down().await;

    let state = AppState::new(ServerLimits::default(), None);
    state.set_model(bundled_model());
    let sink = Stalled::default();
    let settings = PayloadLogSettings {
        sample: 1.0,
        max_bytes: MAX,
        interval: Duration::from_millis(100),
    };
    let log = PayloadLog::start(Box::new(sink.clone()), &settings).unwrap();
    state.set_payload_log(Arc::clone(&log));
    let app = spawn_state(state).await;
    let stalled_since = Instant::now();
    latencies(&app, 5).await;
    let stalled = latencies(&app, 60).await;
    let mut most_queued = 0.0_f64;
    let metrics = loop {
        let scrape = parse(&app.get("/metrics").await.text().await.unwrap());
        let queued = value(&scrape, "legendary_payload_log_bytes_queued", &[]);
        most_queued = most_queued.max(queued);
        if stalled_since.elapsed() >= STALL {
            break scrape;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Still stalled: nothing written, the writer is blocked in its first write.
    assert_eq!(sink.writes.load(Ordering::SeqCst), 0);
    assert_eq!(sink.waiting.load(Ordering::SeqCst), 1);
    let report = log.report();
    let offered = report.offered_rows as f64;
    let dropped = value(
        &metrics,
        "legendary_payload_log_dropped_total",
        &[("reason", "full")],
    );
    assert_eq!(offered, 65.0 * 200.0);
    // Each row takes over 100 bytes: at most about 640 rows fit in 64 KiB.
    assert!(dropped >= offered - 700.0, "{dropped} of {offered} dropped");
    assert!(report.peak_bytes_queued <= MAX, "{report:?}");
    assert!(
        most_queued <= MAX as f64 && most_queued > 0.0,
        "{most_queued}"
    );
    assert_eq!(
        value(&metrics, "legendary_payload_log_max_bytes", &[]),
        MAX as f64
    );

    // No request waited for the sink: each took far less than the stall.
    let median = |l: &[Duration]| l[l.len() / 2];
    let slowest = stalled[stalled.len() - 1];
    eprintln!(
        "bound {MAX} B, peak queued {} B, offered {offered} rows, dropped {dropped}; median latency {:?} stalled vs {:?} without a log, slowest {slowest:?} vs {:?}",
        report.peak_bytes_queued,
        median(&stalled),
        median(&baseline),
        baseline[baseline.len() - 1]
    );
    assert!(slowest < STALL / 3, "{slowest:?}");
    assert!(
        median(&stalled) <= median(&baseline) * 3 + Duration::from_millis(20),
        "{:?} vs {:?}",
        median(&stalled),
        median(&baseline)
    );

    // Once the sink answers, what was kept is written and every row is accounted for.
    sink.release();
    assert!(log.close(Duration::from_secs(10)));
    let report = log.report();
    assert_eq!(
        report.written_rows + report.dropped_rows.full,
        report.offered_rows,
        "{report:?}"
    );
    assert!(report.written_rows > 0);
    assert_eq!(report.bytes_queued, 0);
    app.shut_down().await;
}

/// The object-store path stalled: an S3 endpoint that accepts connections and never answers.
/// Requests take no longer, the queue stays under its bound, and when the client's timeout
/// ends a write, its rows are dropped as `write_error` and counted, with no secret in sight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_store_that_never_answers_slows_no_request_and_its_failures_are_counted() {
    use legendary_mlflow::store::{Secret, StoreConfig};
    const MAX: usize = 64 * 1024;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        // Accepted and held, never read: the write waits for an answer that never comes.
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let config = StoreConfig {
        s3_endpoint: Some(endpoint),
        aws_access_key_id: Some("id".to_owned()),
        aws_secret_access_key: Some(Secret::new("s3-SECRET-1")),
        request_timeout: Duration::from_secs(2),
        max_retries: 0,
        ..StoreConfig::default()
    };
    let sink = legendary::monitor::payload_log::open("s3://bucket/payloads/", &config).unwrap();
    let settings = PayloadLogSettings {
        sample: 1.0,
        max_bytes: MAX,
        interval: Duration::from_millis(100),
    };
    let log = PayloadLog::start(sink, &settings).unwrap();
    let state = AppState::new(ServerLimits::default(), None);
    state.set_model(bundled_model());
    state.set_payload_log(Arc::clone(&log));
    let app = spawn_state(state).await;
    let timings = latencies(&app, 40).await;
    assert!(
        timings[timings.len() - 1] < Duration::from_secs(1),
        "{timings:?}"
    );
    let started = Instant::now();
    while log.report().dropped_rows.write_error == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            log.report()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = log.report();
    assert!(report.peak_bytes_queued <= MAX, "{report:?}");
    assert!(
        report.write_errors >= 1 && report.dropped_rows.full > 0,
        "{report:?}"
    );
    let metrics = parse(&app.get("/metrics").await.text().await.unwrap());
    assert!(value(&metrics, "legendary_payload_log_write_errors_total", &[]) >= 1.0);
    assert!(
        value(
            &metrics,
            "legendary_payload_log_dropped_total",
            &[("reason", "write_error")]
        ) > 0.0
    );
    assert!(!format!("{report:?}").contains("SECRET"));
    app.shut_down().await;
}
