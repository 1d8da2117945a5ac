//! Load that runs beside a test: `/invocations` requests in a loop, each counted as answered
//! (200) or failed, until the test stops it. What the hot-reload tests assert "nothing lost" on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A running load.
pub struct Load {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u64, u64)>,
}

impl Load {
    /// POSTs the JSON `body` to `{base}/invocations` again and again, on the current runtime.
    pub fn start(base: &str, body: String) -> Self {
        Self::paced(base, body, std::time::Duration::ZERO)
    }

    /// [`Load::start`], waiting `pause` after each answer (a steady stream rather than as
    /// fast as the server answers).
    pub fn paced(base: &str, body: String, pause: std::time::Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (client, url, flag) = (
            reqwest::Client::new(),
            format!("{base}/invocations"),
            Arc::clone(&stop),
        );
        let task = tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            while !flag.load(Ordering::SeqCst) {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok += 1,
                    _ => failed += 1,
                }
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            (ok, failed)
        });
        Self { stop, task }
    }

    /// Stops it: (answered, failed).
    pub async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}
