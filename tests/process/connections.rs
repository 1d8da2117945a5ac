//! Slow or idle clients cannot take the server's connections: with 1,024 file descriptors and
//! 1,100 connections that send one header byte a second, requests from well-behaved clients
//! keep succeeding, and every slow connection is closed within the header timeout; served
//! keep-alive connections kept warm give way to new clients; one peer holds at most its share.

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

/// A keep-alive connection from `from` that has been served once (`GET /health`), and is idle.
async fn served_connection(
    from: std::net::IpAddr,
    to: std::net::SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::new(from, 0))?;
    let mut stream = socket.connect(to).await?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf).await? {
        0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
        _ => Ok(stream),
    }
}

/// `n` fresh connections, one `GET /ping` each: how many answered 200, and the failures.
async fn good_requests(addr: std::net::SocketAddr, n: usize) -> (usize, Vec<String>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut ok = 0;
    let mut failed = Vec::new();
    for _ in 0..n {
        match client.get(format!("http://{addr}/ping")).send().await {
            Ok(r) if r.status() == 200 => ok += 1,
            Ok(r) => failed.push(format!("status {}", r.status())),
            Err(e) => failed.push(format!("{e:?}")),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (ok, failed)
}

/// The value of `legendary_http_connections_total{result="RESULT"}`.
async fn connections_counted(addr: std::net::SocketAddr, result: &str) -> u64 {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = format!("legendary_http_connections_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(needle.as_str()))
        .unwrap_or_else(|| panic!("no {needle} in {text}"))
        .parse()
        .unwrap()
}

const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const GOOD: usize = 85;

/// The attack of issue 30: every slot held by a keep-alive connection that was served and
/// keeps itself warm with a `/health` now and then (here every second, reconnecting when
/// closed). Each fresh good request still gets in, by taking the slot idle longest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_idle_keep_alive_connections_never_starve_good_requests() {
    const CAP: usize = 64;
    let server = Server::start(
        "json",
        "warn,legendary=info",
        &[
            "--max-connections",
            "64",
            // Off: all loopback clients are one peer.
            "--max-connections-per-peer",
            "1000",
        ],
    );
    let addr = server.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let warm = |stop: std::sync::Arc<std::sync::atomic::AtomicBool>| async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut reconnects = 0u32;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok(mut stream) = served_connection(LOOPBACK, addr).await else {
                reconnects += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let mut buf = [0u8; 4096];
                let refreshed = stream
                    .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    .await
                    .is_ok()
                    && matches!(stream.read(&mut buf).await, Ok(n) if n > 0);
                if !refreshed || stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
            if !stop.load(std::sync::atomic::Ordering::Relaxed) {
                reconnects += 1;
            }
        }
        reconnects
    };
    // Open descriptors: the server's connections and a fixed few.
    let connected = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .unwrap()
            .count()
    };
    let baseline = connected();
    let warmers: Vec<_> = (0..CAP)
        .map(|_| tokio::spawn(warm(std::sync::Arc::clone(&stop))))
        .collect();
    // Every slot taken and served before the good clients come.
    crate::support::wait_until(
        "64 served connections",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || (connected() >= baseline + CAP).then_some(()),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ok, failed) = good_requests(addr, GOOD).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reconnects = 0;
    for w in warmers {
        reconnects += w.await.unwrap();
    }
    let evicted = connections_counted(addr, "evicted").await;
    let refused = connections_counted(addr, "refused").await;
    eprintln!(
        "{CAP} warm keep-alive connections: {ok}/{GOOD} good requests answered, {evicted} \
         idle connections evicted, {refused} refused, {reconnects} warm reconnects"
    );
    assert!(
        failed.is_empty(),
        "{} of {GOOD} good requests failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert_eq!(ok, GOOD);
    assert!(evicted > 0, "the cap was never reached: {evicted} evicted");
}

/// One peer (127.0.0.2) cannot hold more than its share of the slots: its 64 served idle
/// connections shrink to the per-peer cap (its own oldest go first), and good requests from
/// another address all get in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_holds_at_most_its_share_of_the_slots() {
    const PER_PEER: usize = 16;
    let server = Server::start(
        "json",
        "warn,legendary=info",
        &[
            "--max-connections",
            "64",
            "--max-connections-per-peer",
            "16",
        ],
    );
    let addr = server.addr;
    let greedy = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
    let mut held = Vec::new();
    for _ in 0..64 {
        // A connection the server closed at once (its share is used) reads end-of-file here.
        if let Ok(stream) = served_connection(greedy, addr).await {
            held.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let open = held
        .iter()
        .filter(|s| {
            let mut buf = [0u8; 16];
            matches!(s.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    let peer_evicted = connections_counted(addr, "peer_evicted").await;
    let (ok, failed) = good_requests(addr, GOOD).await;
    eprintln!(
        "one peer opened 64 served connections: {open} still open (share {PER_PEER}), \
         {peer_evicted} evicted for the share; {ok}/{GOOD} good requests from another address"
    );
    assert!(open <= PER_PEER, "{open} connections of one peer open");
    assert!(open > 0, "the peer keeps its share");
    assert!(peer_evicted >= (64 - PER_PEER) as u64);
    assert!(failed.is_empty(), "{failed:?}");
    drop(held);
}
