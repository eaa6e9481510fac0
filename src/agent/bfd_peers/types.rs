//! The vocabulary of the session table: what the instances ask for, what a
//! lost peer looks like, and one running session.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::agent::bfd_socket::BfdSender;
use crate::bfd::session::Session;

/// One session the instances ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// Interface the peer is on.
    pub ifname: String,
    /// Our address (the instance's advert source).
    pub local: IpAddr,
    /// The peer's address.
    pub peer: IpAddr,
    /// Desired / required interval once Up.
    pub interval: Duration,
    /// Detect multiplier.
    pub multiplier: u8,
    /// Multihop (RFC 5883, UDP 4784, any TTL) rather than single hop.
    pub multihop: bool,
}

impl Want {
    /// Merges the instances' wants by (interface, local, peer, multihop):
    /// the fastest interval and smallest multiplier win.
    pub fn merge(wants: Vec<Want>) -> Vec<Want> {
        let mut merged: Vec<Want> = Vec::new();
        for w in wants {
            let key = |x: &Want| (x.ifname.clone(), x.local, x.peer, x.multihop);
            match merged.iter_mut().find(|m| key(m) == key(&w)) {
                Some(m) => {
                    m.interval = m.interval.min(w.interval);
                    m.multiplier = m.multiplier.min(w.multiplier);
                }
                None => merged.push(w),
            }
        }
        merged
    }
}

/// A session that went from Up to Down because the peer went silent or
/// said AdminDown (not when the peer signalled Down: then it is alive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Down {
    /// Our address.
    pub local: IpAddr,
    /// The peer lost.
    pub peer: IpAddr,
    /// When its last packet was accepted.
    pub last_packet: Option<Instant>,
    /// Its transmit interval (detection time / multiplier).
    pub tx_interval: Duration,
    /// The peer said AdminDown (it is stopping), rather than going silent.
    pub admin: bool,
    /// The timer fired later than the detection time itself: this agent was
    /// not scheduled (a stall), so the silence may be its own.
    pub stalled: bool,
}

/// One running session and its sending socket.
pub struct PeerSession {
    /// What it was opened for.
    pub want: Want,
    /// The sans-IO session.
    pub session: Session,
    pub(super) sender: BfdSender,
    /// Its latest fed time (the session's clock never runs backwards).
    pub(super) last_now: Instant,
    /// When the last packet was accepted.
    pub last_rx: Option<Instant>,
    /// State changes so far.
    pub changes: u64,
    /// The session has been Up at least once: the peer speaks BFD. A peer
    /// that never came Up (keepalived, an agent without `bfd:`) may well be
    /// alive, so it is never taken for dead.
    pub ever_up: bool,
    /// Packets received for it.
    pub received: u64,
    /// Sends that failed (no route, interface down).
    pub send_errors: u64,
}

impl PeerSession {
    /// The detection time in force (the configured one before the peer spoke).
    pub fn detect(&self) -> Duration {
        self.session
            .detection_time()
            .unwrap_or(self.want.interval * u32::from(self.want.multiplier))
    }

    /// Packets sent on it.
    pub fn sent(&self) -> u64 {
        self.sender.counters.sent
    }
}
