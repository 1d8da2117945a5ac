//! Graceful shutdown: on the trigger, flip readiness, stop accepting, let requests in flight
//! finish within the grace period, then return.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::signal;

use crate::http::AppState;

/// Resolves on the first of Ctrl-C or SIGTERM (what Kubernetes sends).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match signal::unix::signal(signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutdown signal received");
}

/// Serves until `trigger` resolves, then drains for at most `grace`.
///
/// The sequence: readiness flips (`/ping` answers 503), the listener is closed (new
/// connections are refused), idle keep-alive connections are closed at once, requests in
/// flight are answered (with `connection: close`), and this returns when the last connection
/// is closed, or when `grace` runs out, whichever comes first.
///
/// # Errors
/// Server I/O failures.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    state: AppState,
    grace: Duration,
    trigger: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (drain_tx, mut drain_rx) = tokio::sync::watch::channel(false);
    let drain_state = state.clone();
    let signal = async move {
        trigger.await;
        drain_state.start_draining();
        tracing::info!(
            in_flight = drain_state.metrics().in_flight(),
            grace = %humantime::format_duration(grace),
            "draining: listener closed, finishing requests in flight"
        );
        let _ = drain_tx.send(true);
    };
    // On the signal, axum stops accepting and drops the listener, then asks every connection
    // to shut down gracefully: hyper closes an idle keep-alive connection at once and lets a
    // request in progress finish first. The future resolves once every connection is gone.
    let server = axum::serve(listener, router).with_graceful_shutdown(signal);
    let deadline = async move {
        if drain_rx.wait_for(|draining| *draining).await.is_err() {
            // The signal future is gone without draining: only the server can end this.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => {
            tracing::info!("drained: every connection closed");
            result
        }
        () = deadline => {
            tracing::warn!(
                in_flight = state.metrics().in_flight(),
                grace = %humantime::format_duration(grace),
                "drain grace period over; dropping the remaining requests"
            );
            Ok(())
        }
    }
}
