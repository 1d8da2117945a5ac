//! Graceful shutdown in process: requests in flight are answered, idle keep-alive connections
//! do not hold the drain open, the listener closes, and `start` returns success.

use std::sync::Arc;
use std::time::{Duration, Instant};

use legendary::acquire::ModelSource;
use legendary::config::ServeConfig;
use legendary::http::ServerLimits;
use legendary::server::start;
use tokio::net::TcpListener;

use crate::support::app::body;
use crate::support::prometheus::{parse, value};
use crate::support::{repo, wait_until_async};

/// The bundled model and data, with `grace` to drain.
pub(crate) fn config(grace: Duration) -> ServeConfig {
    ServeConfig {
        grpc_listen: None,
        monitoring: Default::default(),
        shadow: None,
        payload_log: None,
        listen: "127.0.0.1:0".parse().unwrap(),
        model: ModelSource::Local(repo().join("models/pokemon")),
        tracking: None,
        reload_interval: Duration::ZERO,
        limits: ServerLimits::default(),
        drain_grace: grace,
        startup_deadline: Duration::from_secs(10),
        wait_for_model: false,
        data: Some(repo().join("data/pokemon")),
        sandbox: legendary::sandbox::Sandbox::new(
            env!("CARGO_BIN_EXE_legendary"),
            legendary::sandbox::SandboxLimits::detect(),
        ),
        served_name: None,
    }
}

/// Waits until `/ping` answers 200.
pub(crate) async fn ready(client: &reqwest::Client, addr: std::net::SocketAddr) {
    wait_until_async(
        "/ping 200",
        Duration::from_secs(30),
        Duration::from_millis(10),
        || async {
            let r = client
                .get(format!("http://{addr}/ping"))
                .send()
                .await
                .ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
}

async fn in_flight(addr: std::net::SocketAddr) -> f64 {
    // A fresh connection each time, so this client holds no keep-alive connection itself.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let text = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    value(&parse(&text), "legendary_http_requests_in_flight", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_finish_and_the_server_returns_success() {
    const SLOW: usize = 6;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(start(
        listener,
        config(Duration::from_secs(120)),
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    ready(&client, addr).await;

    // Slow requests (100,000 rows each) on the pooled keep-alive client.
    let big = Arc::new(body(100_000));
    let slow: Vec<_> = (0..SLOW)
        .map(|_| {
            let (client, big) = (client.clone(), Arc::clone(&big));
            tokio::spawn(async move {
                let response = client
                    .post(format!("http://{addr}/invocations"))
                    .header("content-type", "application/json")
                    .body(big.to_string())
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                (
                    status,
                    text.matches("true").count() + text.matches("false").count(),
                )
            })
        })
        .collect();
    // Shut down once all of them are being answered (the scrape itself is one more).
    while in_flight(addr).await < (SLOW + 1) as f64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let triggered = Instant::now();
    stop.send(()).unwrap();

    for task in slow {
        let (status, predictions) = task.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(predictions, 100_000);
    }
    server.await.unwrap().unwrap();
    // Idle keep-alive connections (this client's pool) were closed, not waited on for the
    // 120 s grace; the bound leaves room for six 100,000-row requests on a busy debug build.
    let drained = triggered.elapsed();
    assert!(drained < Duration::from_secs(60), "drain took {drained:?}");
    eprintln!("{SLOW} slow requests drained in {drained:?}");
    // And the listener is closed.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn the_grace_period_bounds_the_drain() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(start(
        listener,
        config(Duration::from_millis(200)),
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    ready(&client, addr).await;
    // A request whose body never finishes arriving stays in flight forever.
    let (_tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(1);
    let stuck = tokio::spawn(
        client
            .post(format!("http://{addr}/invocations"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures_util::stream::unfold(
                rx,
                |mut rx| async { rx.recv().await.map(|item| (item, rx)) },
            )))
            .send(),
    );
    while in_flight(addr).await < 2.0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let triggered = Instant::now();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let took = triggered.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(5),
        "{took:?}"
    );
    stuck.abort();
}
