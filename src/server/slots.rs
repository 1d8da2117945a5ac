//! The connection slots the accept loop shares out: a cap on open connections and a cap per
//! peer (IP address), with idle connections given up, oldest idle first, to make room.
//!
//! A connection is idle while it has no request in flight: before its first request head is
//! complete (a slow-header client), and between requests on a keep-alive connection, served
//! or not. An idle connection costs the server a descriptor and nothing else, and its client
//! can open a new one when it has something to ask, so a new connection always beats an idle
//! one. Otherwise a few hundred clients that each keep a connection warm (a `/health` every
//! 30 s) hold every slot, and every new client is turned away. Only a connection with a request
//! in flight keeps its slot whatever arrives.
//!
//! The per-peer cap keeps one address from holding every slot: a peer at its share that opens
//! another connection gives up its own oldest idle one, never another peer's.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

use crate::http::ConnectionResult;

/// The activity of one connection, shared by its slot and its service: one word, so that
/// eviction and the start of a request cannot both win.
///
/// `BUSY` while a request is in flight, `EVICTED` once evicted, otherwise the tick of the
/// [`Clock`] at which the connection last became idle (smaller is idle for longer).
#[derive(Debug)]
pub(super) struct Activity(AtomicU64);

const BUSY: u64 = 0;
const EVICTED: u64 = u64::MAX;

impl Activity {
    /// A connection that became idle at `tick` (just accepted: no request yet).
    fn idle_since(tick: u64) -> Self {
        Self(AtomicU64::new(tick))
    }

    /// A request head is complete: the connection is busy until [`Activity::idle`].
    pub(super) fn busy(&self) {
        self.0.store(BUSY, Ordering::SeqCst);
    }

    /// The response is written: the connection is idle again from `clock`'s next tick (unless
    /// it was evicted meanwhile).
    pub(super) fn idle(&self, clock: &Clock) {
        let tick = clock.tick();
        let _ = self
            .0
            .compare_exchange(BUSY, tick, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// The tick it became idle at, or `None` while busy or once evicted.
    fn idle_tick(&self) -> Option<u64> {
        match self.0.load(Ordering::SeqCst) {
            BUSY | EVICTED => None,
            tick => Some(tick),
        }
    }

    /// Marks it evicted if it is still idle since `tick` (a request may have just started).
    fn evict(&self, tick: u64) -> bool {
        self.0
            .compare_exchange(tick, EVICTED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

/// A counter that orders the moments connections become idle, without reading a clock.
#[derive(Debug, Default)]
pub(super) struct Clock(AtomicU64);

impl Clock {
    /// The next tick: never [`BUSY`] nor [`EVICTED`].
    fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// One open connection.
struct Slot {
    peer: IpAddr,
    activity: Arc<Activity>,
    /// Closes the connection when sent, saying why.
    evict: Option<oneshot::Sender<ConnectionResult>>,
}

/// What a new connection gets: its id, its activity word and the receiver that closes it.
pub(super) struct Admitted {
    pub(super) id: u64,
    pub(super) activity: Arc<Activity>,
    pub(super) evicted: oneshot::Receiver<ConnectionResult>,
}

/// The open connections, by id (the order they were accepted in).
#[derive(Default)]
pub(super) struct Slots {
    next_id: u64,
    open: BTreeMap<u64, Slot>,
    per_peer: HashMap<IpAddr, usize>,
    clock: Arc<Clock>,
}

impl Slots {
    /// The clock the connections' services mark idleness with.
    pub(super) fn clock(&self) -> Arc<Clock> {
        Arc::clone(&self.clock)
    }

    /// Admits a connection from `peer` under `max` connections and `max_per_peer` from one
    /// peer, evicting the oldest idle connection (of that peer first, when it is at its
    /// share) to make room.
    ///
    /// # Errors
    /// [`ConnectionResult::PeerRefused`] when the peer is at its share with every connection
    /// busy, [`ConnectionResult::Refused`] when every slot is busy.
    pub(super) fn admit(
        &mut self,
        peer: IpAddr,
        max: usize,
        max_per_peer: usize,
    ) -> Result<Admitted, ConnectionResult> {
        if self.per_peer.get(&peer).copied().unwrap_or(0) >= max_per_peer
            && !self.evict_oldest_idle(Some(peer), ConnectionResult::PeerEvicted)
        {
            return Err(ConnectionResult::PeerRefused);
        }
        if self.open.len() >= max && !self.evict_oldest_idle(None, ConnectionResult::Evicted) {
            return Err(ConnectionResult::Refused);
        }
        let (tx, evicted) = oneshot::channel();
        let activity = Arc::new(Activity::idle_since(self.clock.tick()));
        let id = self.next_id;
        self.next_id += 1;
        self.open.insert(
            id,
            Slot {
                peer,
                activity: Arc::clone(&activity),
                evict: Some(tx),
            },
        );
        *self.per_peer.entry(peer).or_default() += 1;
        Ok(Admitted {
            id,
            activity,
            evicted,
        })
    }

    /// Forgets connection `id` (closed, or evicted already).
    pub(super) fn remove(&mut self, id: u64) {
        let Some(slot) = self.open.remove(&id) else {
            return;
        };
        if let Some(count) = self.per_peer.get_mut(&slot.peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&slot.peer);
            }
        }
    }

    /// Closes the connection (of `peer`, or of anyone) that has been idle longest, telling it
    /// `why`. False when there is none.
    fn evict_oldest_idle(&mut self, peer: Option<IpAddr>, why: ConnectionResult) -> bool {
        loop {
            let victim = self
                .open
                .iter()
                .filter(|(_, slot)| peer.is_none_or(|p| slot.peer == p))
                .filter_map(|(id, slot)| slot.activity.idle_tick().map(|tick| (tick, *id)))
                .min();
            let Some((tick, id)) = victim else {
                return false;
            };
            let won = self
                .open
                .get(&id)
                .is_some_and(|slot| slot.activity.evict(tick));
            if !won {
                // A request started on it since the scan: look again.
                continue;
            }
            if let Some(evict) = self.open.get_mut(&id).and_then(|slot| slot.evict.take()) {
                let _ = evict.send(why);
            }
            self.remove(id);
            return true;
        }
    }

    /// Connections open now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn at_the_cap_the_connection_idle_longest_makes_room_served_or_not() {
        let mut slots = Slots::default();
        let clock = slots.clock();
        let mut first = slots.admit(A, 3, 3).unwrap();
        let mut second = slots.admit(A, 3, 3).unwrap();
        let mut third = slots.admit(B, 3, 3).unwrap();
        // The first was served and went idle again after the others were accepted.
        first.activity.busy();
        first.activity.idle(&clock);
        let _fourth = slots.admit(B, 3, 3).unwrap();
        assert_eq!(slots.len(), 3);
        assert_eq!(second.evicted.try_recv(), Ok(ConnectionResult::Evicted));
        assert!(first.evicted.try_recv().is_err());
        assert!(third.evicted.try_recv().is_err());
    }

    #[test]
    fn a_connection_with_a_request_in_flight_is_never_evicted() {
        let mut slots = Slots::default();
        let mut busy = slots.admit(A, 1, 1).unwrap();
        busy.activity.busy();
        assert_eq!(slots.admit(B, 1, 1).err(), Some(ConnectionResult::Refused));
        assert!(busy.evicted.try_recv().is_err());
        // Once its answer is out it is idle, and gives way.
        busy.activity.idle(&slots.clock());
        assert!(slots.admit(B, 1, 1).is_ok());
        assert_eq!(busy.evicted.try_recv(), Ok(ConnectionResult::Evicted));
    }

    #[test]
    fn a_peer_at_its_share_gives_up_its_own_idle_connection_not_anothers() {
        let mut slots = Slots::default();
        let mut other = slots.admit(B, 10, 2).unwrap();
        let mut a1 = slots.admit(A, 10, 2).unwrap();
        let a2 = slots.admit(A, 10, 2).unwrap();
        let a3 = slots.admit(A, 10, 2).unwrap();
        assert_eq!(a1.evicted.try_recv(), Ok(ConnectionResult::PeerEvicted));
        assert!(
            other.evicted.try_recv().is_err(),
            "B is idle longer, but A pays"
        );
        assert_eq!(slots.per_peer[&A], 2);
        // With both of A's connections busy, A's next one is refused; B still gets in.
        a2.activity.busy();
        a3.activity.busy();
        assert_eq!(
            slots.admit(A, 10, 2).err(),
            Some(ConnectionResult::PeerRefused)
        );
        assert!(slots.admit(B, 10, 2).is_ok());
    }

    #[test]
    fn every_connection_of_a_busy_peer_held_refuses_only_that_peer() {
        let mut slots = Slots::default();
        let one = slots.admit(A, 10, 1).unwrap();
        one.activity.busy();
        assert_eq!(
            slots.admit(A, 10, 1).err(),
            Some(ConnectionResult::PeerRefused)
        );
        assert!(slots.admit(B, 10, 1).is_ok());
        slots.remove(one.id);
        assert!(!slots.per_peer.contains_key(&A));
    }
}
