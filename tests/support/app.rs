//! Starts the real router on 127.0.0.1:0 with the bundled model, for integration tests.
#![allow(unreachable_pub, dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use legendary::server::{AppState, ModelMeta, Served, ServerLimits, router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server; shut it down with [`TestApp::shut_down`].
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Default limits for tests.
pub fn limits() -> ServerLimits {
    ServerLimits {
        max_body_bytes: 64 * 1024 * 1024,
        timeout: Duration::from_secs(60),
        scoring: legendary::scoring::Limits {
            max_rows: 1_000_000,
        },
        parallel_rows: 8192,
    }
}

/// The repository's root, so tests find `models/` and `data/` from any working directory.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Serves the bundled model with `limits`.
pub async fn spawn_with(limits: ServerLimits) -> TestApp {
    let dataset = legendary::dataset::load(
        &repo().join("data/pokemon"),
        &legendary::dataset::Generations::all(),
    )
    .unwrap();
    let state = AppState::new(limits, Some(dataset));
    let dir = legendary::model::read_dir(&repo().join("models/pokemon")).unwrap();
    state.set_model(Served::new(
        dir,
        ModelMeta {
            uri: "models/pokemon".into(),
            ..ModelMeta::default()
        },
    ));
    spawn_state(state).await
}

/// Serves `state` as it is (possibly without a model).
pub async fn spawn_state(state: AppState) -> TestApp {
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
    TestApp {
        addr,
        client: reqwest::Client::new(),
        state,
        stop,
        server,
    }
}

/// Serves the bundled model with default limits.
pub async fn spawn_app() -> TestApp {
    spawn_with(limits()).await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Stops the server and checks that it drained cleanly.
    pub async fn shut_down(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}
