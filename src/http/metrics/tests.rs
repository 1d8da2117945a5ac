use super::*;

fn metrics() -> Metrics {
    Metrics::new(LiveModel::default(), Default::default(), Default::default())
}

fn rendered(metrics: &Metrics) -> String {
    metrics.render().unwrap()
}

fn unmatched_get() -> RouteLabels {
    RouteLabels::new(&axum::http::Method::GET, None)
}

fn answered(status: StatusCode, request_bytes: u64) -> Answered {
    Answered {
        status,
        elapsed: Duration::from_micros(300),
        request_bytes,
        response_bytes: Some(10),
        rows: None,
    }
}

#[test]
fn every_metric_keeps_its_name_and_type() {
    let m = metrics();
    m.record_request(&unmatched_get(), &answered(StatusCode::OK, 1));
    m.record_reload_attempt(ReloadAttempt::new(Verdict::Swapped, None, None));
    let out = rendered(&m);
    let mut types: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "legendary_build_info gauge",
            "legendary_http_connections_total counter",
            "legendary_http_request_duration_seconds histogram",
            "legendary_http_request_size_bytes histogram",
            "legendary_http_requests_in_flight gauge",
            "legendary_http_requests_total counter",
            "legendary_http_response_size_bytes histogram",
            "legendary_model_compile_failures_total counter",
            "legendary_model_info gauge",
            "legendary_model_last_reload_timestamp_seconds gauge",
            "legendary_model_loaded_timestamp_seconds gauge",
            "legendary_model_reload_poll_failures_total counter",
            "legendary_model_reloads_total counter",
            "legendary_rows_scored_total counter",
            "process_cpu_seconds_total counter",
            "process_max_fds gauge",
            "process_open_fds gauge",
            "process_resident_memory_bytes gauge",
            "process_start_time_seconds gauge",
            "process_virtual_memory_bytes gauge",
        ],
        "{out}"
    );
    assert!(
        out.contains(
            "# HELP legendary_rows_scored_total Rows scored by successful /invocations requests.\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "legendary_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
}

#[test]
fn requests_are_counted_by_method_route_and_code() {
    let m = metrics();
    let post = RouteLabels::new(&axum::http::Method::POST, None);
    m.record_request(&post, &answered(StatusCode::OK, 1));
    m.record_request(&post, &answered(StatusCode::OK, 1));
    m.record_request(&post, &answered(StatusCode::BAD_REQUEST, 1));
    let odd = axum::http::Method::from_bytes(b"BREW").unwrap();
    m.record_request(
        &RouteLabels::new(&odd, None),
        &answered(StatusCode::NOT_FOUND, 1),
    );
    let out = rendered(&m);
    for line in [
        "legendary_http_requests_total{method=\"POST\",route=\"unmatched\",code=\"200\"} 2\n",
        "legendary_http_requests_total{method=\"POST\",route=\"unmatched\",code=\"400\"} 1\n",
        "legendary_http_requests_total{method=\"OTHER\",route=\"unmatched\",code=\"404\"} 1\n",
        "legendary_http_request_duration_seconds_count{method=\"POST\",route=\"unmatched\"} 3\n",
        "legendary_http_response_size_bytes_sum{method=\"POST\",route=\"unmatched\"} 30.0\n",
    ] {
        assert!(out.contains(line), "{line} missing from {out}");
    }
}

#[test]
fn histogram_buckets_are_cumulative_and_inclusive() {
    let m = metrics();
    for bytes in [0, 64, 65, 100_000_000] {
        m.record_request(&unmatched_get(), &answered(StatusCode::OK, bytes));
    }
    let out = rendered(&m);
    let name = "legendary_http_request_size_bytes";
    let labels = "method=\"GET\",route=\"unmatched\"";
    for line in [
        format!("{name}_bucket{{{labels},le=\"64\"}} 2\n"),
        format!("{name}_bucket{{{labels},le=\"256\"}} 3\n"),
        // Bounds of a million and more are written as Go's client writes them.
        format!("{name}_bucket{{{labels},le=\"6.7108864e+07\"}} 3\n"),
        format!("{name}_bucket{{{labels},le=\"+Inf\"}} 4\n"),
        format!("{name}_count{{{labels}}} 4\n"),
        format!("{name}_sum{{{labels}}} 100000129.0\n"),
    ] {
        assert!(out.contains(&line), "{line} missing from {out}");
    }
}

#[test]
fn buckets_ascend() {
    for buckets in [&LATENCY_BUCKETS[..], &SIZE_BUCKETS[..]] {
        assert!(buckets.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn fixed_vocabularies_are_exposed_at_zero_before_any_event() {
    let out = rendered(&metrics());
    for line in [
        "legendary_model_reloads_total{result=\"succeeded\"} 0\n",
        "legendary_model_reloads_total{result=\"failed\"} 0\n",
        "legendary_http_connections_total{result=\"accepted\"} 0\n",
        "legendary_http_connections_total{result=\"evicted\"} 0\n",
        "legendary_http_connections_total{result=\"peer_evicted\"} 0\n",
        "legendary_http_connections_total{result=\"refused\"} 0\n",
        "legendary_http_connections_total{result=\"peer_refused\"} 0\n",
        "legendary_http_connections_total{result=\"accept_error\"} 0\n",
        "legendary_model_reload_poll_failures_total{cause=\"registry\"} 0\n",
        "legendary_model_reload_poll_failures_total{cause=\"download\"} 0\n",
        "legendary_model_reload_poll_failures_total{cause=\"timeout\"} 0\n",
        "legendary_model_compile_failures_total{cause=\"oom\"} 0\n",
        "legendary_model_compile_failures_total{cause=\"cpu\"} 0\n",
        "legendary_model_compile_failures_total{cause=\"deadline\"} 0\n",
        "legendary_model_compile_failures_total{cause=\"invalid\"} 0\n",
        "legendary_model_compile_failures_total{cause=\"crash\"} 0\n",
        "legendary_http_requests_in_flight 0\n",
        "legendary_rows_scored_total 0\n",
    ] {
        assert!(out.contains(line), "{line} missing from {out}");
    }
    assert!(!out.contains("legendary_model_info{"), "{out}");
}

#[test]
fn a_reload_attempt_counts_by_its_verdict_and_shows_the_last_outcome() {
    let m = metrics();
    m.record_reload_attempt(ReloadAttempt::new(Verdict::Swapped, None, None));
    m.record_reload_attempt(ReloadAttempt::new(Verdict::Refused, None, None));
    m.record_reload_attempt(ReloadAttempt::new(
        Verdict::Failed(PollFailure::Timeout),
        None,
        None,
    ));
    assert_eq!(m.reloads(), (1, 1));
    let out = rendered(&m);
    assert!(
        out.contains("legendary_model_reload_poll_failures_total{cause=\"timeout\"} 1\n"),
        "{out}"
    );
    assert!(
        out.contains("legendary_model_last_reload_timestamp_seconds{outcome=\"failed\"} "),
        "{out}"
    );
    assert!(!out.contains("outcome=\"swapped\""), "{out}");
}

#[test]
fn connections_and_compile_failures_count_under_their_own_label() {
    let m = metrics();
    m.record_connection(ConnectionResult::PeerEvicted);
    m.record_compile_failure(Cause::Oom);
    let out = rendered(&m);
    assert!(
        out.contains("legendary_http_connections_total{result=\"peer_evicted\"} 1\n"),
        "{out}"
    );
    assert!(
        out.contains("legendary_model_compile_failures_total{cause=\"oom\"} 1\n"),
        "{out}"
    );
}

#[test]
fn the_in_flight_gauge_falls_when_its_guard_is_dropped() {
    let m = metrics();
    let guard = m.enter();
    assert_eq!(m.in_flight(), 1);
    drop(guard);
    assert_eq!(m.in_flight(), 0);
}
