//! `legendary serve`: the HTTP server. Opens the listener at once, loads the model, turns
//! ready, serves until SIGTERM or Ctrl-C, then drains.

mod body;
mod error;
mod invocations;
mod loader;
mod metrics;
mod routes;
mod shutdown;
mod state;
mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::net::TcpListener;

pub use error::{ApiError, error_body};
pub use invocations::ScoredRows;
pub use loader::{ModelSource, client_for, load};
pub use metrics::Metrics;
pub use routes::router;
pub use shutdown::shutdown_signal;
pub use state::{AppState, ModelMeta, Served, ServerLimits};

/// Flags of `legendary serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LEGENDARY_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, env = "LEGENDARY_PORT", default_value_t = 8080)]
    pub port: u16,
    /// The model: a local MLflow model directory, `models:/NAME/STAGE`, `models:/NAME/VERSION`,
    /// `models:/NAME@ALIAS`, `models:/NAME/latest`, `runs:/RUN_ID/PATH` or `mlflow-artifacts:/PATH`.
    /// Without it, `MLFLOW_MODEL_NAME` + `MLFLOW_MODEL_STAGE` are used if set, else `models/pokemon`.
    #[arg(long, short = 'm', env = "MLFLOW_MODEL_URI")]
    pub model_uri: Option<String>,
    /// Registered model name (the original demo's Kubernetes variable).
    #[arg(long, env = "MLFLOW_MODEL_NAME", hide = true)]
    pub model_name: Option<String>,
    /// Registry stage to serve with `MLFLOW_MODEL_NAME` (default Production).
    #[arg(long, env = "MLFLOW_MODEL_STAGE", hide = true)]
    pub model_stage: Option<String>,
    /// How often to poll the registry for a new version when the URI names a stage, an alias
    /// or `latest` (`0s` turns polling off).
    #[arg(long, env = "LEGENDARY_RELOAD_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub reload_interval: Duration,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "LEGENDARY_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Longest a request may take before a 504 (default 60s, or
    /// `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT` seconds when set).
    #[arg(long, env = "LEGENDARY_TIMEOUT", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Most rows accepted in one request.
    #[arg(long, env = "LEGENDARY_MAX_ROWS", default_value_t = 1_000_000)]
    pub max_rows: usize,
    /// On shutdown, how long requests in flight may take to finish.
    #[arg(long, env = "LEGENDARY_DRAIN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub drain_grace: Duration,
    /// How long to keep retrying an unreachable registry at start-up before giving up.
    #[arg(long, env = "LEGENDARY_STARTUP_DEADLINE", default_value = "60s", value_parser = parse_duration)]
    pub startup_deadline: Duration,
    /// The data package the web page searches.
    #[arg(long, env = "LEGENDARY_DATA", default_value = "data/pokemon")]
    pub data: std::path::PathBuf,
}

/// Parses `30s`, `1m 30s`, `250ms`, or a bare number of seconds.
///
/// # Errors
/// A message naming the value.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.trim().parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("'{s}' is not a duration"));
    }
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration (e.g. 30s, 2m, 250ms): {e}"))
}

impl ServeArgs {
    /// The request timeout: `--timeout`, else MLflow's variable, else 60 s.
    ///
    /// # Errors
    /// When `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT` is set but not a number of seconds.
    pub fn request_timeout(&self) -> anyhow::Result<Duration> {
        if let Some(t) = self.timeout {
            return Ok(t);
        }
        match std::env::var("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT") {
            Ok(v) => parse_duration(&v)
                .map_err(|e| anyhow::anyhow!("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT: {e}")),
            Err(_) => Ok(Duration::from_secs(60)),
        }
    }

    /// The model source these flags name.
    ///
    /// # Errors
    /// An unparseable URI.
    pub fn source(&self) -> anyhow::Result<ModelSource> {
        ModelSource::from_args(
            self.model_uri.as_deref(),
            self.model_name.as_deref(),
            self.model_stage.as_deref(),
        )
    }

    /// Limits for the request path.
    ///
    /// # Errors
    /// A bad timeout variable.
    pub fn limits(&self) -> anyhow::Result<ServerLimits> {
        Ok(ServerLimits {
            max_body_bytes: self.max_body_bytes,
            timeout: self.request_timeout()?,
            scoring: crate::scoring::Limits {
                max_rows: self.max_rows,
            },
            parallel_rows: 8192,
        })
    }
}

/// Runs `legendary serve` to completion on a new multi-threaded runtime.
///
/// # Errors
/// A port that cannot be bound, or a model that cannot be loaded.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let addr: SocketAddr = format!("{}:{}", args.host, args.port)
            .parse()
            .with_context(|| {
                format!(
                    "'{}:{}' is not an address to listen on",
                    args.host, args.port
                )
            })?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        start(listener, args, shutdown_signal()).await
    });
    // A large batch being scored on the blocking pool cannot be cancelled; once the drain
    // is over (or its grace ran out), don't let it hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Serves on `listener`: the listener answers `/health` (and 503 on `/ping`) while the model
/// loads; a model that cannot be loaded ends the process with an error.
///
/// # Errors
/// A model that cannot be loaded, or a server I/O failure.
pub async fn start(
    listener: TcpListener,
    args: ServeArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    let source = args.source()?;
    let client = loader::client_for(&source)?;
    let pokedex = match crate::dataset::load(&args.data, &crate::dataset::Generations::all()) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(error = %e, "the web page's search is off: the data set could not be read");
            None
        }
    };
    let state = AppState::new(args.limits()?, pokedex);
    tracing::info!(addr = %listener.local_addr()?, model = %source, "listening");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(shutdown::serve(
        listener,
        router(state.clone()),
        state.clone(),
        args.drain_grace,
        async move {
            tokio::select! {
                () = shutdown => {},
                _ = stop_rx => {},
            }
        },
    ));
    let loaded = tokio::select! {
        loaded = loader::load_with_retry(&source, client.as_ref(), args.startup_deadline) => loaded,
        // Stopped (SIGTERM) while the model was still loading: a clean exit, at once.
        stopped = &mut server => {
            stopped.context("server task")??;
            tracing::info!("stopped before a model was loaded");
            return Ok(ExitCode::SUCCESS);
        }
    };
    let served = match loaded {
        Ok(served) => served,
        Err(e) => {
            let _ = stop_tx.send(());
            let _ = server.await;
            return Err(e);
        }
    };
    tracing::info!(uri = %served.meta.uri, version = ?served.meta.version, "model loaded; ready");
    state.set_model(served);
    let _reloader = loader::spawn_reloader(state.clone(), source, client, args.reload_interval);
    server.await.context("server task")??;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
