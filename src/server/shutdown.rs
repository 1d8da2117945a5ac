//! Graceful shutdown: on the trigger, flip readiness, stop accepting, let requests in flight
//! finish within the grace period, then return.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::signal;

use super::state::AppState;

/// Resolves on the first of Ctrl-C or SIGTERM (what Kubernetes sends).
pub async fn shutdown_signal() {
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
    tracing::info!("shutdown requested; draining requests in flight");
}

/// Serves until `trigger` resolves, then drains for at most `grace`.
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
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
    let drain_state = state.clone();
    let signal = async move {
        trigger.await;
        drain_state.start_draining();
        let _ = drain_tx.send(true);
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(signal);
    let deadline = async move {
        let mut rx = drain_rx;
        let _ = rx.wait_for(|draining| *draining).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(grace = ?grace, "drain grace period over; closing remaining connections");
            Ok(())
        }
    }
}
