//! `legendary serve`: the HTTP server. Opens the listener at once, loads the model, turns
//! ready, serves until SIGTERM or Ctrl-C, then drains.
//!
//! - `app`: the one composition point: every route (the scoring protocol and probes here,
//!   the web page and demo API from [`crate::web`]) and the layers around them.
//! - `invocations`, `probes`: the scoring protocol and `/ping`, `/health`, `/version`, `/model`.
//! - `oip`: the Open Inference Protocol v2 over REST (`/v2/…`), on the same model.
//! - `grpc`: the same protocol over gRPC, on its own port (`--grpc-port`).
//! - `openapi`: the OpenAPI document, from the real handlers' attributes.
//! - `reload`: hot reload of a moving model URI.
//! - `connections`, `slots`: the accept loop and how it shares connection slots out.
//! - `shutdown`, `telemetry`: draining, and the request span and access log.

mod app;
mod connections;
mod explain;
pub mod grpc;
mod invocations;
mod monitoring;
mod oip;
mod openapi;
mod probes;
mod reload;
mod shutdown;
mod slots;
mod telemetry;

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::acquire::Fetcher;
use crate::config::ServeConfig;
use crate::dataset::Dataset;
use crate::dataset::catalogue;
use crate::http::AppState;

pub use app::{CONTENT_SECURITY_POLICY, app};
pub use openapi::openapi;
use shutdown::shutdown_signal;

/// Runs `legendary serve` to completion on a new multi-threaded runtime.
///
/// # Errors
/// A port that cannot be bound, or a model that cannot be loaded.
pub fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        start(listener, config, shutdown_signal()).await
    });
    // A large batch being scored on the blocking pool cannot be cancelled; once the drain
    // is over (or its grace ran out), don't let it hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Loads the model; with `--wait-for-model`, a model, stage, alias or version that does not
/// exist yet is waited for (polled at the reload interval, the reason on `/ping`) instead of
/// ending the process, so pods on a fresh registry stay up, unready, until training publishes.
async fn load(
    fetcher: &Fetcher,
    state: &AppState,
    config: &ServeConfig,
) -> anyhow::Result<crate::acquire::Served> {
    let pause = config
        .reload_interval
        .max(std::time::Duration::from_secs(1));
    loop {
        match fetcher.load_with_retry(config.startup_deadline).await {
            Err(e) if config.wait_for_model && e.is_missing() => {
                let reason = format!("{e:#}");
                tracing::warn!(model = %config.model, error = %reason, retry_in = %humantime::format_duration(pause), "the model does not exist yet; waiting for it");
                state.set_waiting(format!(
                    "waiting for '{}', which does not exist yet ({reason})",
                    config.model
                ));
                tokio::time::sleep(pause).await;
            }
            loaded => return Ok(loaded?),
        }
    }
}

/// The data set the web page searches, and its catalogue: `data`, or the bundled one.
fn pokedex(data: Option<&std::path::Path>) -> anyhow::Result<(Dataset, Vec<catalogue::Entry>)> {
    let all = crate::dataset::Generations::all();
    match data {
        Some(path) => Ok((
            crate::dataset::load(path, &all)?,
            // A single CSV has no descriptor, so no catalogue.
            catalogue::read(path, &path.display().to_string()).unwrap_or_default(),
        )),
        None => {
            let dir = tempfile::tempdir().context("creating a directory for the bundled data")?;
            crate::embedded::write_data(dir.path()).context("writing the bundled data")?;
            Ok((
                crate::dataset::load(dir.path(), &all)?,
                catalogue::read(dir.path(), BUNDLED_DATA)?,
            ))
        }
    }
}

/// Where the bundled data package came from, as the catalogue names it.
const BUNDLED_DATA: &str = "data/pokemon";

/// Serves on `listener` until `shutdown` resolves: the listener answers `/health` (and 503 on
/// `/ping`) while the model loads; a model that cannot be loaded ends it with an error.
///
/// # Errors
/// A model that cannot be loaded, or a server I/O failure.
pub async fn start(
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let fetcher = Fetcher::new(
        config.model.clone(),
        config.tracking.as_ref(),
        config.sandbox.clone(),
    )?;
    let (pokedex, entries) = match pokedex(config.data.as_deref()) {
        Ok((dataset, entries)) => (Some(dataset), entries),
        Err(e) => {
            tracing::warn!(error = %e, "the web page's search is off: the data set could not be read");
            (None, Vec::new())
        }
    };
    let state = AppState::new(config.limits.clone(), pokedex);
    state.set_catalogue(entries);
    if let Some(name) = &config.served_name {
        state.set_served_name(name.clone());
    }
    state.set_monitoring(config.monitoring.clone());
    if let Some(log) = &config.payload_log {
        let sink = crate::monitor::payload_log::open(&log.target, &log.stores)?;
        state.set_payload_log(
            crate::monitor::payload_log::PayloadLog::start(sink, &log.settings)
                .context("starting the payload log's writer")?,
        );
    }
    state.set_waiting(format!("loading '{}'", config.model));
    let addr = listener.local_addr()?;
    // A URL to click: the unspecified address (0.0.0.0, ::) is reachable as localhost.
    let url = if addr.ip().is_unspecified() {
        format!("http://localhost:{}/", addr.port())
    } else {
        format!("http://{addr}/")
    };
    tracing::info!(addr = %addr, url = %url, model = %config.model, "listening");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Both servers stop on the one trigger: the HTTP server's fires `stopping`.
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(());
    let grpc = match config.grpc_listen {
        Some(addr) => Some(spawn_grpc(addr, state.clone(), stopping_rx).await?),
        None => None,
    };
    let mut server = tokio::spawn(shutdown::serve(
        listener,
        app(state.clone()),
        state.clone(),
        config.drain_grace,
        async move {
            tokio::select! {
                () = shutdown => {},
                _ = stop_rx => {},
            }
            let _ = stopping_tx.send(());
        },
    ));
    let loaded = tokio::select! {
        loaded = load(&fetcher, &state, &config) => loaded,
        // Stopped (SIGTERM) while the model was still loading: a clean exit, at once.
        stopped = &mut server => {
            stopped.context("server task")?;
            tracing::info!("stopped before a model was loaded");
            return Ok(());
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
    let (uri, version) = (
        served.uri.to_string(),
        served.resolved.version.clone().unwrap_or_default(),
    );
    // Said once the model is in place: a client that waits for this line may score at once.
    state.set_model(served);
    tracing::info!(uri = %uri, version = %version, "model loaded; ready");
    let _reloader = reload::spawn(
        state.clone(),
        fetcher,
        config.reload_interval,
        config.startup_deadline,
        reload::Target::Champion,
    );
    let _shadow = match &config.shadow {
        Some(shadow) => Some(spawn_shadow(&state, shadow, &config)?),
        None => None,
    };
    server.await.context("server task")?;
    if let Some(grpc) = grpc {
        // The HTTP drain is over; gRPC calls still in flight get what is left of the grace.
        let _ = tokio::time::timeout(config.drain_grace, grpc).await;
    }
    if let Some(log) = state.payload_log().cloned() {
        // What is queued gets the drain's grace to be written.
        let grace = config.drain_grace.max(Duration::from_secs(1));
        let _ = tokio::task::spawn_blocking(move || log.close(grace)).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Starts the shadow challenger: its worker at once; its model loaded in the background
/// (tried again at the reload interval until it loads: a challenger that does not exist yet
/// delays nothing), then kept up to date like the champion.
fn spawn_shadow(
    state: &AppState,
    shadow: &crate::config::ShadowConfig,
    config: &ServeConfig,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let fetcher = Fetcher::new(
        shadow.model.clone(),
        config.tracking.as_ref(),
        config.sandbox.clone(),
    )?;
    state.set_shadow(crate::monitor::Shadow::start(
        shadow.model.to_string(),
        shadow.sample,
        shadow.cpu,
    ));
    let (state, interval, deadline) = (
        state.clone(),
        config.reload_interval,
        config.startup_deadline,
    );
    let pause = interval.max(std::time::Duration::from_secs(1));
    Ok(tokio::spawn(async move {
        loop {
            match fetcher.load_with_retry(deadline).await {
                Ok(served) => {
                    tracing::info!(shadow = %fetcher.source(), version = served.resolved.version.as_deref().unwrap_or(""), "shadow challenger loaded");
                    state.set_shadow_model(served);
                    break;
                }
                Err(e) => {
                    tracing::warn!(shadow = %fetcher.source(), error = %format!("{e:#}"), retry_in = %humantime::format_duration(pause), "the shadow challenger could not be loaded; the champion serves alone");
                    tokio::time::sleep(pause).await;
                }
            }
        }
        if let Some(poller) =
            reload::spawn(state, fetcher, interval, deadline, reload::Target::Shadow)
        {
            let _ = poller.await;
        }
    }))
}

/// Binds the gRPC port and serves the Open Inference Protocol there until `stopping` fires
/// (or its sender is gone).
async fn spawn_grpc(
    addr: std::net::SocketAddr,
    state: AppState,
    mut stopping: tokio::sync::watch::Receiver<()>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} (--grpc-port)"))?;
    tracing::info!(addr = %listener.local_addr()?, "listening (Open Inference Protocol, gRPC)");
    Ok(tokio::spawn(async move {
        let stop = async move {
            let _ = stopping.changed().await;
        };
        if let Err(e) = grpc::serve(listener, state, stop).await {
            tracing::error!(error = %e, "the gRPC server stopped");
        }
    }))
}
