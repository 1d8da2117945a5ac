//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout (which
//! also bounds how long a keep-alive connection may sit idle), and caps on open connections,
//! in all and per peer, kept below the process's file-descriptor limit.
//!
//! At a cap a new connection does not wait: an idle connection (no request in flight) gives
//! up its slot, the one idle longest (see [`super::slots`]). Slow-header clients (slowloris)
//! and clients that keep idle keep-alive connections warm can then only push each other out,
//! never the clients that send a request, and `/ping` keeps answering. Only when every slot
//! has a request in flight is the new connection closed at once (and counted).

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use http_body_util::BodyExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use super::slots::{Activity, Clock, Slots};
use crate::http::{AppState, ConnectionResult, ServerLimits};

/// Accepts and serves connections until `stop` resolves; returns the watcher that drains
/// the connections still open.
pub(super) async fn accept_until(
    listener: TcpListener,
    router: Router,
    state: &AppState,
    limits: &ServerLimits,
    stop: impl std::future::Future<Output = ()>,
) -> GracefulShutdown {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Mutex::new(Slots::default()));
    let clock = slots.lock().unwrap_or_else(PoisonError::into_inner).clock();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before it was accepted: the
                    // listener itself is fine. Back off briefly instead of spinning.
                    tracing::warn!(error = %error, "accept failed");
                    state.metrics().record_connection(ConnectionResult::AcceptError);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let admitted = slots.lock().unwrap_or_else(PoisonError::into_inner).admit(
            peer.ip().to_canonical(),
            limits.max_connections,
            limits.max_connections_per_peer,
        );
        let admitted = match admitted {
            Ok(admitted) => admitted,
            Err(refused) => {
                drop(stream);
                state.metrics().record_connection(refused);
                continue;
            }
        };
        state
            .metrics()
            .record_connection(ConnectionResult::Accepted);
        let _ = stream.set_nodelay(true);
        let service = tracked(router.clone(), admitted.activity, Arc::clone(&clock));
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        let slots = Arc::clone(&slots);
        let metrics_state = state.clone();
        let (id, evicted) = (admitted.id, admitted.evicted);
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(error = %error, "connection ended with an error");
                    }
                }
                // Evicted to make room (the slot table says why).
                Ok(why) = evicted => metrics_state.metrics().record_connection(why),
            }
            slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id);
        });
    }
    graceful
}

/// `router` as one connection's service: busy from a complete request head until its
/// response body is written (or dropped), idle otherwise, as the slot table reads it.
fn tracked(
    router: Router,
    activity: Arc<Activity>,
    clock: Arc<Clock>,
) -> impl tower::Service<
    Request<hyper::body::Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |request: Request<hyper::body::Incoming>| {
        activity.busy();
        let busy = Busy {
            activity: Arc::clone(&activity),
            clock: Arc::clone(&clock),
        };
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(axum::body::Body::new)).await?;
            // The guard lives in the body, so the connection is idle again only once hyper
            // has written the body out (or given up on it).
            Ok(response.map(|body| {
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _held = &busy;
                    frame
                }))
            }))
        }
    })
}

/// Marks the connection idle when dropped.
struct Busy {
    activity: Arc<Activity>,
    clock: Arc<Clock>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.activity.idle(&self.clock);
    }
}
