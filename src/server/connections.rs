//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout (which
//! also bounds how long a keep-alive connection may sit idle), and a cap on open connections
//! kept below the process's file-descriptor limit.
//!
//! At the cap, a new connection does not wait and is not refused while a slot is held by a
//! connection that has never sent a complete request head: the oldest such connection is
//! closed to make room. Slow-header clients (slowloris) can then only delay each other, never
//! the clients that send a request at once, and `/ping` keeps answering. Only when every slot
//! is held by a connection that has been served is the new one closed at once (and counted).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::http::{AppState, ServerLimits};

/// One open connection, as the cap sees it.
struct Slot {
    /// Set once the connection has sent a complete request head.
    served: Arc<AtomicBool>,
    /// Closes the connection when sent (or dropped).
    evict: Option<oneshot::Sender<()>>,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Slots {
    next_id: u64,
    open: BTreeMap<u64, Slot>,
}

impl Slots {
    /// Makes room for one more connection under `max`: closes the oldest connection that has
    /// never been served. False when every slot is held by a served connection.
    fn make_room(&mut self, max: usize) -> bool {
        if self.open.len() < max {
            return true;
        }
        let victim = self
            .open
            .iter()
            .find(|(_, slot)| !slot.served.load(Ordering::Relaxed))
            .map(|(id, _)| *id);
        match victim {
            Some(id) => {
                if let Some(mut slot) = self.open.remove(&id)
                    && let Some(evict) = slot.evict.take()
                {
                    let _ = evict.send(());
                }
                true
            }
            None => false,
        }
    }
}

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
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before it was accepted: the
                    // listener itself is fine. Back off briefly instead of spinning.
                    tracing::warn!(error = %error, "accept failed");
                    state.metrics().record_connection("accept_error");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let served = Arc::new(AtomicBool::new(false));
        let (evict_tx, evict_rx) = oneshot::channel::<()>();
        let id = {
            let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
            if !slots.make_room(limits.max_connections) {
                drop(stream);
                state.metrics().record_connection("refused");
                continue;
            }
            let id = slots.next_id;
            slots.next_id += 1;
            slots.open.insert(
                id,
                Slot {
                    served: Arc::clone(&served),
                    evict: Some(evict_tx),
                },
            );
            id
        };
        state.metrics().record_connection("accepted");
        let _ = stream.set_nodelay(true);
        let mark = Arc::clone(&served);
        let service = tower::ServiceBuilder::new()
            .map_request(
                move |request: axum::extract::Request<hyper::body::Incoming>| {
                    mark.store(true, Ordering::Relaxed);
                    request
                },
            )
            .service(router.clone());
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        let slots = Arc::clone(&slots);
        let metrics_state = state.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(error = %error, "connection ended with an error");
                    }
                }
                // Evicted to make room (or the slot table dropped the sender).
                _ = evict_rx => metrics_state.metrics().record_connection("evicted"),
            }
            slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .open
                .remove(&id);
        });
    }
    graceful
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(served: bool) -> (Slot, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (
            Slot {
                served: Arc::new(AtomicBool::new(served)),
                evict: Some(tx),
            },
            rx,
        )
    }

    #[test]
    fn at_the_cap_the_oldest_unserved_connection_makes_room() {
        let mut slots = Slots::default();
        let (a, mut a_rx) = slot(true);
        let (b, mut b_rx) = slot(false);
        let (c, mut c_rx) = slot(false);
        slots.open.insert(0, a);
        slots.open.insert(1, b);
        slots.open.insert(2, c);
        assert!(slots.make_room(4), "below the cap nothing is closed");
        assert!(slots.make_room(3));
        assert!(a_rx.try_recv().is_err(), "a served connection stays");
        assert!(b_rx.try_recv().is_ok(), "the oldest unserved one goes");
        assert!(c_rx.try_recv().is_err());
        assert_eq!(slots.open.len(), 2);
    }

    #[test]
    fn when_every_slot_was_served_the_new_connection_is_refused() {
        let mut slots = Slots::default();
        let (a, _a_rx) = slot(true);
        slots.open.insert(0, a);
        assert!(!slots.make_room(1));
        assert_eq!(slots.open.len(), 1);
    }
}
