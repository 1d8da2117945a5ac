//! Graceful shutdown: on the trigger, flip readiness, stop accepting, let requests in flight
//! finish within the grace period, then return.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::signal;

use super::connections::accept_until;
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
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    state: AppState,
    grace: Duration,
    trigger: impl Future<Output = ()> + Send + 'static,
) {
    let limits = state.limits().clone();
    let graceful = accept_until(listener, router, &state, &limits, trigger).await;
    // The listener was dropped with the accept loop: new connections are refused from here.
    state.start_draining();
    tracing::info!(
        in_flight = state.metrics().in_flight(),
        grace = %humantime::format_duration(grace),
        "draining: listener closed, finishing requests in flight"
    );
    // hyper closes an idle keep-alive connection at once and lets a request in progress
    // finish first; `shutdown` resolves once every connection is gone.
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained: every connection closed"),
        () = tokio::time::sleep(grace) => tracing::warn!(
            in_flight = state.metrics().in_flight(),
            grace = %humantime::format_duration(grace),
            "drain grace period over; dropping the remaining requests"
        ),
    }
}
