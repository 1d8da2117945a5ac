//! Slow clients cannot take the server's connections: with 1,024 file descriptors and 1,100
//! connections that send one header byte a second, requests from well-behaved clients keep
//! succeeding, and every slow connection is closed within the header timeout.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::process::Server;

const SLOW: usize = 1_100;
const HEADER_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn slow_header_connections_never_starve_good_requests() {
    let server = Server::start_with_file_limit(1024, &["--header-timeout", "3s"]);
    let addr = server.addr;
    // 1,100 connections, each with the start of a request head and no end to it.
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .filter_map(|_| {
            let mut s = TcpStream::connect(addr).ok()?;
            s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n").ok()?;
            s.set_nonblocking(true).ok()?;
            Some(s)
        })
        .collect();
    assert!(slow.len() > 1_000, "only {} connections opened", slow.len());
    // The last of them may have waited in the listen backlog: time from here.
    let opened = Instant::now();

    // While they drip one byte a second, good requests keep being answered.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut good = 0;
    let mut failed = Vec::new();
    let mut last_drip = Instant::now();
    while opened.elapsed() < HEADER_TIMEOUT + Duration::from_secs(1) {
        match client.get(format!("http://{addr}/ping")).send().await {
            Ok(r) if r.status() == 200 => good += 1,
            Ok(r) => failed.push(format!("status {}", r.status())),
            Err(e) => failed.push(e.to_string()),
        }
        if last_drip.elapsed() >= Duration::from_secs(1) {
            for s in &mut slow {
                let _ = s.write_all(b"X");
            }
            last_drip = Instant::now();
        }
    }
    assert!(
        failed.is_empty(),
        "{} good requests failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(
        good > 10,
        "only {good} good requests in {:?}",
        started.elapsed()
    );

    // Every slow connection is closed by now or within the header timeout (plus slack): it
    // reads end-of-file or a reset.
    let deadline = opened + HEADER_TIMEOUT + Duration::from_secs(3);
    let mut closed = vec![false; slow.len()];
    while closed.iter().any(|c| !c) && Instant::now() < deadline {
        for (s, c) in slow.iter_mut().zip(&mut closed) {
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                _ if *c => {}
                Ok(0) => *c = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => *c = true,
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let open = closed.iter().filter(|c| !**c).count();
    assert_eq!(
        open, 0,
        "{open} slow connections still open after the header timeout"
    );

    let metrics = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("legendary_http_connections_total{result=\"evicted\"}"),
        "{metrics}"
    );
    let peak_kb = crate::support::peak_rss(server.pid()) / 1024;
    eprintln!(
        "1,100 slow connections: peak RSS {} MB, {good} good requests",
        peak_kb / 1000
    );
    assert!(peak_kb < 100_000, "peak RSS {peak_kb} kB");
}
