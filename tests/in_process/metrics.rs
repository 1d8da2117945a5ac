//! `/metrics` parses as Prometheus text and moves when requests are answered.

use futures_util::stream;
use legendary::http::ReloadResult;
use prometheus_parse::Value;

use crate::support::app::{body, spawn_with_model};
use crate::support::prometheus::{histogram_count, parse, value};

const REQUESTS: &str = "legendary_http_requests_total";
const LATENCY: &str = "legendary_http_request_duration_seconds";
const REQUEST_SIZE: &str = "legendary_http_request_size_bytes";
const RESPONSE_SIZE: &str = "legendary_http_response_size_bytes";
const ROWS: &str = "legendary_rows_scored_total";

#[tokio::test]
async fn counters_and_histograms_move_when_requests_are_answered() {
    let app = spawn_with_model().await;
    let before = app.scrape().await;
    // Prometheus's usual label names: `method` and `code`.
    let ok = [
        ("method", "POST"),
        ("route", "/invocations"),
        ("code", "200"),
    ];

    let bodies = [body(1), body(5), body(1000)];
    for b in &bodies {
        assert_eq!(app.score(b.clone()).await.status(), 200);
    }
    assert_eq!(app.score("{\"nope\": 1}".into()).await.status(), 400);

    let after = app.scrape().await;
    assert_eq!(
        value(&after, REQUESTS, &ok) - value(&before, REQUESTS, &ok),
        3.0
    );
    let bad = [("route", "/invocations"), ("code", "400")];
    assert_eq!(value(&after, REQUESTS, &bad), 1.0);
    assert_eq!(value(&after, ROWS, &[]) - value(&before, ROWS, &[]), 1006.0);
    // The standard process collector's metrics are there too.
    assert!(value(&after, "process_resident_memory_bytes", &[]) > 1e6);
    assert!(value(&after, "process_open_fds", &[]) >= 3.0);
    for name in [LATENCY, REQUEST_SIZE, RESPONSE_SIZE] {
        let moved = histogram_count(&after, name, "/invocations")
            - histogram_count(&before, name, "/invocations");
        assert_eq!(moved, 4.0, "{name}");
    }
    let sent: usize = bodies.iter().map(String::len).sum::<usize>() + "{\"nope\": 1}".len();
    let size_sum = value(
        &after,
        "legendary_http_request_size_bytes_sum",
        &[("route", "/invocations")],
    );
    assert_eq!(size_sum, sent as f64);
    // The scrape answering this is the one request in flight.
    assert_eq!(value(&after, "legendary_http_requests_in_flight", &[]), 1.0);
    app.shut_down().await;
}

#[tokio::test]
async fn a_chunked_request_body_is_sized_as_it_is_read() {
    let app = spawn_with_model().await;
    let text = body(3);
    let half = text.len() / 2;
    let chunks = vec![
        Ok::<_, std::io::Error>(text[..half].to_owned()),
        Ok(text[half..].to_owned()),
    ];
    let response = app
        .client
        .post(app.url("/invocations"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let scrape = app.scrape().await;
    let sum = value(
        &scrape,
        "legendary_http_request_size_bytes_sum",
        &[("route", "/invocations")],
    );
    assert_eq!(sum, text.len() as f64);
    app.shut_down().await;
}

#[tokio::test]
async fn routes_are_labelled_by_template_never_by_raw_path() {
    let app = spawn_with_model().await;
    for path in ["/nope", "/secret/123", "/ping?x=1"] {
        app.client.get(app.url(path)).send().await.unwrap();
    }
    let scrape = app.scrape().await;
    assert_eq!(
        value(
            &scrape,
            REQUESTS,
            &[("route", "unmatched"), ("code", "404")]
        ),
        2.0
    );
    assert_eq!(
        value(&scrape, REQUESTS, &[("route", "/ping"), ("code", "200")]),
        1.0
    );
    for sample in &scrape.samples {
        if let Some(route) = sample.labels.get("route") {
            assert!(route == "unmatched" || !route.contains("nope") && !route.contains("secret"));
        }
    }
    // The latency histogram has the documented buckets, 50 µs to 10 s.
    let latency = scrape
        .samples
        .iter()
        .find(|s| s.metric == LATENCY && s.labels.get("route") == Some("/ping"))
        .unwrap();
    let Value::Histogram(buckets) = &latency.value else {
        panic!("not a histogram")
    };
    assert_eq!(buckets.first().unwrap().less_than, 0.00005);
    assert_eq!(buckets[buckets.len() - 2].less_than, 10.0);
    app.shut_down().await;
}

#[tokio::test]
async fn model_info_and_reload_counters_are_exposed() {
    let app = spawn_with_model().await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = parse(&text);
    let served = app.state.model().unwrap();
    // prometheus-parse splits label sets on every comma, so the comma-joined aliases are
    // checked on the text (label escaping is unit-tested in `server::metrics`).
    assert!(
        text.contains(r#"stage="Production",aliases="champion,blue",uri="#),
        "{text}"
    );
    let info = [
        ("name", "pokemon"),
        ("version", "7"),
        ("stage", "Production"),
        ("uri", "models:/pokemon/Production"),
        ("model_uuid", served.info.model_uuid.as_str()),
    ];
    assert_eq!(value(&scrape, "legendary_model_info", &info), 1.0);
    let loaded = value(&scrape, "legendary_model_loaded_timestamp_seconds", &[]);
    assert!((loaded - served.loaded_at_unix()).abs() < 1e-3, "{loaded}");

    let succeeded = [("result", "succeeded")];
    let failed = [("result", "failed")];
    assert_eq!(
        value(&scrape, "legendary_model_reloads_total", &succeeded),
        0.0
    );
    app.state.metrics().record_reload(ReloadResult::Succeeded);
    app.state.metrics().record_reload(ReloadResult::Failed);
    app.state.metrics().record_reload(ReloadResult::Failed);
    let scrape = app.scrape().await;
    assert_eq!(
        value(&scrape, "legendary_model_reloads_total", &succeeded),
        1.0
    );
    assert_eq!(
        value(&scrape, "legendary_model_reloads_total", &failed),
        2.0
    );
    app.shut_down().await;
}
