//! `cargo bench`: request parsing in every input format, prediction, and the whole
//! `/invocations` handler in-process (router + layers via `tower::ServiceExt::oneshot`), for
//! 1, 5, 1,000 and 100,000 rows of the bundled model; and exact Shapley explanations
//! (`explain/`: 1 row, and the most `POST /explain` takes) against the bundled background;
//! and what the metrics layer records per request (`metrics/`), on `prometheus-client` and on
//! the hand-written registry it replaced, alternately; and what the drift monitor adds to a
//! scored batch (`monitor/record`, 1 and 1,000 rows against the bundled profile).
//!
//! Filter like any criterion bench: `cargo bench --bench scoring -- 'handler/'`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod hand_written;

use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::any;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use legendary::acquire::Served;
use legendary::http::{Answered, AppState, RouteLabels, ServerLimits};
use legendary::model::{Model, read_dir};
use legendary_mlflow::Resolved;
use legendary_scoring::Limits;
use tower::ServiceExt as _;

const COLUMNS: [&str; 6] = legendary_forest::FEATURES;
const SIZES: [usize; 4] = [1, 5, 1_000, 100_000];

/// Deterministic stats in [20, 160] (a small LCG: the bench needs no RNG crate).
fn rows(n: usize) -> Vec<[u32; 6]> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            std::array::from_fn(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                20 + ((state >> 33) % 141) as u32
            })
        })
        .collect()
}

fn join<T>(items: impl Iterator<Item = T>, f: impl Fn(T) -> String) -> String {
    items.map(f).collect::<Vec<_>>().join(",")
}

fn list(row: &[u32; 6]) -> String {
    format!("[{}]", join(row.iter(), u32::to_string))
}

fn record(row: &[u32; 6]) -> String {
    format!(
        "{{{}}}",
        join(COLUMNS.iter().zip(row), |(c, v)| format!("\"{c}\":{v}"))
    )
}

fn columns_json() -> String {
    format!("[{}]", join(COLUMNS.iter(), |c| format!("\"{c}\"")))
}

/// (format name, Content-Type, body) for every input format.
fn bodies(rows: &[[u32; 6]]) -> Vec<(&'static str, &'static str, String)> {
    let data = format!("[{}]", join(rows.iter(), list));
    let records = format!("[{}]", join(rows.iter(), record));
    let split = format!("{{\"columns\":{},\"data\":{data}}}", columns_json());
    let columnar = format!(
        "{{{}}}",
        join(COLUMNS.iter().enumerate(), |(i, c)| format!(
            "\"{c}\":[{}]",
            join(rows.iter(), |r| r[i].to_string())
        ))
    );
    let mut csv = COLUMNS.join(",");
    for r in rows {
        csv.push('\n');
        csv.push_str(&join(r.iter(), u32::to_string));
    }
    csv.push('\n');
    vec![
        (
            "dataframe_split",
            "application/json",
            format!("{{\"dataframe_split\":{split}}}"),
        ),
        (
            "dataframe_records",
            "application/json",
            format!("{{\"dataframe_records\":{records}}}"),
        ),
        (
            "instances_columnar",
            "application/json",
            format!("{{\"instances\":{columnar}}}"),
        ),
        (
            "inputs_records",
            "application/json",
            format!("{{\"inputs\":{records}}}"),
        ),
        ("csv", "text/csv", csv),
        (
            "pandas_split_1x",
            "application/json; format=pandas-split",
            split,
        ),
    ]
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> legendary::model::ModelDir {
    read_dir(&repo().join("models/pokemon")).unwrap()
}

fn features() -> Vec<String> {
    COLUMNS.iter().map(|c| (*c).to_owned()).collect()
}

fn throughput(n: usize) -> Throughput {
    Throughput::Elements(n as u64)
}

fn parsing(c: &mut Criterion) {
    let features = features();
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse");
    for n in SIZES {
        let rows = rows(n);
        group.throughput(throughput(n));
        for (format, content_type, body) in bodies(&rows) {
            // Every body must parse, or the bench measures an error path.
            let parsed =
                legendary_scoring::parse(Some(content_type), body.as_bytes(), &features, &limits)
                    .unwrap_or_else(|e| panic!("{format}: {e:?}"));
            assert_eq!(parsed.batch.n_rows(), n, "{format}");
            group.bench_with_input(BenchmarkId::new(format, n), &body, |b, body| {
                b.iter(|| {
                    legendary_scoring::parse(
                        Some(content_type),
                        black_box(body.as_bytes()),
                        &features,
                        &limits,
                    )
                });
            });
        }
    }
    group.finish();
}

fn values(n: usize) -> Vec<f64> {
    rows(n).iter().flatten().map(|&v| f64::from(v)).collect()
}

fn prediction(c: &mut Criterion) {
    let model: Model = model_dir().model;
    let mut group = c.benchmark_group("predict");
    for n in SIZES {
        let values = values(n);
        group.throughput(throughput(n));
        group.bench_with_input(BenchmarkId::new("predict_batch", n), &values, |b, v| {
            b.iter(|| model.predict_batch(black_box(v)));
        });
        // The tree walk QuickScorer replaced, in the same run.
        group.bench_with_input(BenchmarkId::new("walk_batch", n), &values, |b, v| {
            b.iter(|| model.walk_proba_batch(black_box(v)));
        });
    }
    // A lone row, a different one each call (as 1-row requests are): no row stays in cache
    // and no branch predictor learns one path.
    let many = values(4096);
    group.throughput(throughput(1));
    let mut next = 0;
    group.bench_function("predict_one_distinct", |b| {
        b.iter(|| {
            next = (next + 6) % many.len();
            model.predict_batch(black_box(&many[next..next + 6]))
        });
    });
    group.finish();
}

/// A tokio runtime and the whole application serving the bundled model.
fn served_app() -> (tokio::runtime::Runtime, axum::Router) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let limits = ServerLimits {
        scoring: Limits::default(),
        ..ServerLimits::default()
    };
    let state = AppState::new(limits, None);
    let resolved = Resolved {
        artifact_uri: "models/pokemon".into(),
        ..Resolved::default()
    };
    state.set_model(Served::new(model_dir(), "models/pokemon", resolved));
    (runtime, legendary::server::app(state))
}

/// Benches `POST path` with a `dataframe_split` body of `n` rows through the whole router
/// (`tower::ServiceExt::oneshot`), after checking it answers 200.
fn bench_route(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    (runtime, app): &(tokio::runtime::Runtime, axum::Router),
    path: &str,
    id: BenchmarkId,
    n: usize,
) {
    let (_, content_type, body) = bodies(&rows(n)).swap_remove(0);
    let body = axum::body::Bytes::from(body);
    let request = || {
        Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let response = runtime.block_on(app.clone().oneshot(request())).unwrap();
    assert_eq!(response.status(), 200, "{path}");
    group.bench_function(id, |b| {
        b.to_async(runtime).iter(|| async {
            let response = app.clone().oneshot(request()).await.unwrap();
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap()
        });
    });
}

fn handler(c: &mut Criterion) {
    let served = served_app();
    let mut group = c.benchmark_group("handler");
    for n in SIZES {
        group.throughput(throughput(n));
        let id = BenchmarkId::new("dataframe_split", n);
        bench_route(&mut group, &served, "/invocations", id, n);
    }
    group.finish();
}

/// The engine alone (`legendary::explain::explain`) and the whole `POST /explain` handler: the
/// cost per explained row that sizes `MAX_EXPLAIN_ROWS`.
fn explanation(c: &mut Criterion) {
    let served = served_app();
    let model: Model = model_dir().model;
    let background = legendary::explain::bundled().unwrap();
    let mut group = c.benchmark_group("explain");
    group.sample_size(10);
    for n in [1, legendary::explain::MAX_EXPLAIN_ROWS] {
        let rows: Vec<[f64; 6]> = rows(n).iter().map(|r| r.map(f64::from)).collect();
        group.throughput(throughput(n));
        group.bench_with_input(BenchmarkId::new("engine", n), &rows, |b, rows| {
            b.iter(|| {
                legendary::explain::explain(
                    &model,
                    background,
                    black_box(rows),
                    &legendary::cancel::Cancel::never(),
                )
                .unwrap()
            });
        });
        bench_route(
            &mut group,
            &served,
            "/explain",
            BenchmarkId::new("handler", n),
            n,
        );
    }
    group.finish();
}

/// The route templates the metrics benches spread requests over; the first is the one timed.
const ROUTES: [&str; 6] = [
    "/invocations",
    "/ping",
    "/health",
    "/version",
    "/model",
    "/metrics",
];

/// The `MatchedPath` of each of [`ROUTES`], as axum hands it to the metrics layer.
fn matched_paths() -> Vec<MatchedPath> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut router = axum::Router::new();
    for route in ROUTES {
        let seen = Arc::clone(&seen);
        router = router.route(
            route,
            any(move |matched: MatchedPath| async move { seen.lock().unwrap().push(matched) }),
        );
    }
    for route in ROUTES {
        let request = Request::get(route).body(Body::empty()).unwrap();
        runtime.block_on(router.clone().oneshot(request)).unwrap();
    }
    std::mem::take(&mut *seen.lock().unwrap())
}

/// One `POST /invocations` of one row, answered 200, as the metrics layer sees it.
fn answered() -> Answered {
    Answered {
        status: StatusCode::OK,
        elapsed: Duration::from_micros(80),
        request_bytes: 150,
        response_bytes: Some(40),
        rows: Some(1),
    }
}

/// What the metrics layer records per request, `prometheus-client` (`typed`) against the
/// hand-written registry it replaced (`hand_written`): each alone, then two threads recording
/// at once (the contended case, time per request per thread). The variants alternate, three
/// rounds, so that a machine slowing down in the run shows in both.
fn metrics(c: &mut Criterion) {
    let state = AppState::new(ServerLimits::default(), None);
    let typed = state.metrics();
    let paths = matched_paths();
    let labels: Vec<RouteLabels> = paths
        .iter()
        .map(|p| RouteLabels::new(&Method::POST, Some(p)))
        .collect();
    let old = hand_written::HandWritten::default();
    let record_old = || {
        old.record_request(ROUTES[0], &Method::POST, StatusCode::OK, 80_000, 150, 40, 1);
    };
    let answered = answered();
    let record_typed = || {
        let _in_flight = typed.enter();
        // The labels are made per request in the middleware, from the request.
        let labels = RouteLabels::new(&Method::POST, Some(&paths[0]));
        typed.record_request(black_box(&labels), black_box(&answered));
    };
    for (route, labels) in ROUTES.iter().zip(&labels) {
        old.record_request(route, &Method::GET, StatusCode::OK, 1, 1, 1, 0);
        typed.record_request(labels, &answered);
    }
    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(1));
    for round in 1..=3 {
        group.bench_function(BenchmarkId::new("hand_written", round), |b| {
            b.iter(record_old);
        });
        group.bench_function(BenchmarkId::new("typed", round), |b| b.iter(record_typed));
        group.bench_function(BenchmarkId::new("hand_written_2_threads", round), |b| {
            b.iter_custom(|iters| two_threads(iters, &record_old));
        });
        group.bench_function(BenchmarkId::new("typed_2_threads", round), |b| {
            b.iter_custom(|iters| two_threads(iters, &record_typed));
        });
    }
    group.finish();
}

/// The time two threads take to call `record` `iters` times each, at once.
fn two_threads(iters: u64, record: &(impl Fn() + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| (0..iters).for_each(|_| record()));
        }
    });
    start.elapsed()
}

/// `Monitor::record` of a scored batch: what monitoring adds to every request (the
/// `scripts/bench.sh` on/off ratio is this over the request's whole cost).
fn monitoring(c: &mut Criterion) {
    let served = Served::new(model_dir(), "models/pokemon", Resolved::default());
    let profile = served
        .profile
        .clone()
        .expect("the bundled model has a profile");
    let monitor = legendary::monitor::Monitor::new(
        profile,
        String::new(),
        &features(),
        10_000,
        Duration::from_secs(3600),
    )
    .unwrap();
    let mut group = c.benchmark_group("monitor");
    for n in [1, 1_000] {
        let values = values(n);
        let probabilities = served.model.proba_batch(&values);
        let decisions: Vec<bool> = probabilities
            .iter()
            .map(|&p| served.model.decide(p))
            .collect();
        group.throughput(throughput(n));
        group.bench_function(BenchmarkId::new("record", n), |b| {
            b.iter(|| monitor.record(black_box(&values), &probabilities, &decisions));
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = parsing, prediction, handler, explanation, metrics, monitoring
}
criterion_main!(benches);
