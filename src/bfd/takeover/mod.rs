//! Who takes over when BFD says the master is down: a pure decision, no I/O.
//!
//! Why apart from the shell: the rule that keeps one crash from making two
//! masters must be testable on its own. Every backup that loses its BFD
//! session to the master asks [`decide`]; only the unit that would win the
//! RFC 5798 election among the live units (itself plus every peer whose
//! session is Up; by priority, then primary address) gets
//! [`Verdict::TakeOver`], and the shell feeds its router
//! `Event::MasterDead`. Everyone else keeps waiting for the VRRP timers.
//!
//! # Safety
//! - A live peer whose priority is unknown may outrank us: defer.
//! - If an advert from the master arrived after its BFD packets stopped
//!   (later than one of its BFD transmit intervals past the last BFD packet),
//!   the master is alive and BFD is what is broken (a filter, asymmetric
//!   loss): [`Verdict::AdvertsStillArrive`], counted by the shell; the VRRP
//!   timers decide as without BFD.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::vrrp::router::addr_gt;

/// A session to `peer` went Down: what the shell knows about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerDown {
    /// The peer's address (the one its adverts come from).
    pub peer: IpAddr,
    /// When its last BFD packet was accepted (None: never, or unknown).
    pub last_packet: Option<Instant>,
    /// Its BFD transmit interval as it advertised it.
    pub tx_interval: Duration,
}

/// One instance's view at the moment of the Down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The instance's router is Backup.
    pub backup: bool,
    /// The master it follows (or the one that just resigned).
    pub master: Option<IpAddr>,
    /// Our effective priority and primary address.
    pub me: (u8, IpAddr),
    /// Every other peer whose BFD session is Up, with its priority if known.
    pub live: Vec<(IpAddr, Option<u8>)>,
    /// When the latest advert from the lost peer arrived, if ever.
    pub last_advert: Option<Instant>,
}

/// What the backup does about a Down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Become master now.
    TakeOver,
    /// The lost peer is not the master this backup follows (or we are not
    /// Backup): nothing to do.
    NotMaster,
    /// The master's adverts still arrive: leave it to VRRP (counted).
    AdvertsStillArrive,
    /// Another live unit wins the election (or may: its priority is unknown).
    Outranked(IpAddr),
}

/// True when `(prio_a, addr_a)` wins an RFC 5798 election against `b`.
pub fn beats(a: (u8, IpAddr), b: (u8, IpAddr)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && addr_gt(a.1, b.1))
}

/// The live unit that would beat `me`, if any (unknown priority counts as
/// beating us).
pub fn outranked_by(me: (u8, IpAddr), live: &[(IpAddr, Option<u8>)]) -> Option<IpAddr> {
    live.iter()
        .find(|(addr, prio)| prio.map_or(true, |p| beats((p, *addr), me)))
        .map(|(addr, _)| *addr)
}

/// Decides what one backup does when its session to `down.peer` went Down.
pub fn decide(down: &PeerDown, view: &View) -> Verdict {
    if !view.backup || view.master != Some(down.peer) {
        return Verdict::NotMaster;
    }
    if let (Some(advert), Some(last)) = (view.last_advert, down.last_packet) {
        if advert > last + down.tx_interval {
            return Verdict::AdvertsStillArrive;
        }
    }
    let live: Vec<_> = view
        .live
        .iter()
        .copied()
        .filter(|(a, _)| *a != down.peer)
        .collect();
    match outranked_by(view.me, &live) {
        Some(winner) => Verdict::Outranked(winner),
        None => Verdict::TakeOver,
    }
}

#[cfg(test)]
mod tests;
