//! The real application (`legendary::server::app`) on 127.0.0.1:0, in this process, with the
//! bundled model and data set, spoken to over HTTP.

use std::net::SocketAddr;

use legendary::acquire::Served;
use legendary::http::{AppState, ServerLimits};
use legendary_mlflow::Resolved;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::repo;

/// A running server; shut it down with [`TestApp::shut_down`].
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// The bundled model, as if served from the registry as `pokemon` version 7.
pub fn bundled_model() -> Served {
    let dir = legendary::model::read_dir(&repo().join("models/pokemon")).unwrap();
    let resolved = Resolved {
        name: Some("pokemon".into()),
        version: Some("7".into()),
        stage: Some("Production".into()),
        aliases: vec!["champion".into(), "blue".into()],
        run_id: None,
        artifact_uri: "mlflow-artifacts:/1/abc/artifacts/model".into(),
    };
    Served::new(dir, "models:/pokemon/Production", resolved)
}

/// The bundled model, from its local directory.
pub fn local_model() -> Served {
    let dir = legendary::model::read_dir(&repo().join("models/pokemon")).unwrap();
    let resolved = Resolved {
        artifact_uri: "models/pokemon".into(),
        ..Resolved::default()
    };
    Served::new(dir, "models/pokemon", resolved)
}

/// The bundled data set (the web page's search).
pub fn pokedex() -> legendary::dataset::Dataset {
    legendary::dataset::load(
        &repo().join("data/pokemon"),
        &legendary::dataset::Generations::all(),
    )
    .unwrap()
}

/// Serves the bundled model from its directory, with the Pokédex, under `limits`.
pub async fn spawn_with(limits: ServerLimits) -> TestApp {
    let state = AppState::new(limits, Some(pokedex()));
    state.set_catalogue(
        legendary::dataset::catalogue::read(&repo().join("data/pokemon"), "data/pokemon").unwrap(),
    );
    state.set_model(local_model());
    spawn_state(state).await
}

/// Serves `state` as it is (possibly without a model).
pub async fn spawn_state(state: AppState) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = oneshot::channel::<()>();
    let app = legendary::server::app(state.clone());
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
    spawn_with(ServerLimits::default()).await
}

/// Serves the bundled model as registry version 7, without the Pokédex.
pub async fn spawn_with_model() -> TestApp {
    let state = AppState::new(ServerLimits::default(), None);
    state.set_model(bundled_model());
    spawn_state(state).await
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

    /// POSTs a JSON scoring body to `/invocations`.
    pub async fn score(&self, body: String) -> reqwest::Response {
        self.post("/invocations", Some("application/json"), body)
            .await
    }

    /// Stops the server and checks that it drained cleanly.
    pub async fn shut_down(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// A `dataframe_split` body of `rows` rows of valid stats.
pub fn body(rows: usize) -> String {
    let columns = serde_json::to_string(&legendary_forest::FEATURES).unwrap();
    let row = "[80,100,90,110,95,105]";
    let data = vec![row; rows].join(",");
    format!(r#"{{"dataframe_split":{{"columns":{columns},"data":[{data}]}}}}"#)
}
