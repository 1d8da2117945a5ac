//! Starts the real router on 127.0.0.1:0 with the bundled model and data set.

use std::future::IntoFuture as _;
use std::path::Path;
use std::time::Duration;

use legendary::dataset::Generations;
use legendary::server::{AppState, ModelMeta, Served, ServerLimits, router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server; [`App::shut_down`] stops it and checks it drained cleanly.
pub(crate) struct App {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Serves the bundled model (`models/pokemon`) and data set (`data/pokemon`).
pub(crate) async fn spawn_app() -> App {
    let dir = legendary::model::read_dir(Path::new("models/pokemon")).unwrap();
    let dataset = legendary::dataset::load(Path::new("data/pokemon"), &Generations::all()).unwrap();
    let limits = ServerLimits {
        max_body_bytes: 1 << 20,
        timeout: Duration::from_secs(30),
        scoring: legendary::scoring::Limits::default(),
        parallel_rows: 8192,
    };
    let state = AppState::new(limits, Some(dataset));
    state.set_model(Served::new(dir, ModelMeta::default()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    App { base, stop, server }
}

impl App {
    /// The absolute URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and waits for it.
    pub(crate) async fn shut_down(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}
