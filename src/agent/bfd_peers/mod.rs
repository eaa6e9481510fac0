//! The agent's BFD sessions: one per (interface, local address, peer
//! address), their UDP sockets, and the demultiplexing between them.
//!
//! Why a table apart from the loop: the loop only needs "read this socket",
//! "fire what is due", "when next" and the list of peers that went Down; the
//! sessions themselves ([`crate::bfd::session`]) stay sans-IO.
//!
//! # Sharing
//! Instances on the same interface that list the same peer from the same
//! local address share one session: liveness is a property of the peer, not
//! of the VRID. It runs at the fastest interval and the smallest multiplier
//! among those instances ([`Want`] merged by [`BfdPeers::sync`]).
//!
//! # Time
//! Every packet is fed to its session at the time the kernel received it
//! (SO_TIMESTAMPNS), and [`BfdPeers::fire`] drains every socket before any
//! timer fires: an agent that was not scheduled for a while replays what its
//! peers said while it slept instead of taking its own stall for their
//! silence.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant, SystemTime};

use crate::agent::bfd_socket::{BfdCounters, BfdListener, BfdSender, Received};
use crate::agent::log::{info, warn};
use crate::bfd::jitter::{JitterSource, SplitMix64};
use crate::bfd::packet::{DecodeError, Diag, SessionState};
use crate::bfd::session::{Event, Output, Session, SessionConfig};

/// Most packets read from one socket per call.
const MAX_READ: usize = 256;

mod types;

pub use types::{Down, PeerSession, Want};

/// All sessions and listeners.
#[derive(Default)]
pub struct BfdPeers {
    /// Listeners by id (the poll token), with the local address and
    /// interface (the listener knows whether it is multihop).
    listeners: BTreeMap<u32, (IpAddr, String, BfdListener)>,
    next_listener: u32,
    /// The sessions.
    pub sessions: Vec<PeerSession>,
    next_discr: u32,
    /// Packets dropped after decoding (no session for them), by reason.
    pub unmatched: BfdCounters,
    /// A session changed state since [`BfdPeers::take_changed`].
    changed: bool,
    /// When the metrics counters were last copied.
    gauges_at: Option<Instant>,
}

impl BfdPeers {
    /// Opens and closes sessions and listeners to match `wants`; returns the
    /// listeners opened (id, fd) for the caller to watch.
    pub fn sync(&mut self, wants: Vec<Want>, now: Instant) -> Vec<(u32, RawFd)> {
        let wants = Want::merge(wants);
        self.sessions.retain(|s| wants.contains(&s.want));
        self.listeners.retain(|_, (l, i, s)| {
            wants
                .iter()
                .any(|w| (w.local, &w.ifname, w.multihop) == (*l, &*i, s.multihop()))
        });
        let mut opened = Vec::new();
        for w in wants {
            if self.sessions.iter().any(|s| s.want == w) {
                continue;
            }
            if let Some(id) = self.ensure_listener(&w) {
                opened.push(id);
            }
            match self.open_session(&w, now) {
                Ok(s) => {
                    info(&format!(
                        "BFD: session to {} from {} on {} ({} ms x {}{})",
                        w.peer,
                        w.local,
                        w.ifname,
                        w.interval.as_millis(),
                        w.multiplier,
                        if w.multihop { ", multihop" } else { "" }
                    ));
                    self.sessions.push(s);
                }
                Err(e) => warn(&format!("BFD: cannot open a session to {}: {e}", w.peer)),
            }
        }
        opened
    }

    fn ensure_listener(&mut self, w: &Want) -> Option<(u32, RawFd)> {
        let have = self.listeners.values().any(|(l, i, s)| {
            (*l, i.as_str(), s.multihop()) == (w.local, w.ifname.as_str(), w.multihop)
        });
        if have {
            return None;
        }
        let bound = if w.multihop {
            BfdListener::bind_multihop(w.local)
        } else {
            BfdListener::bind(w.local, Some(&w.ifname))
        };
        match bound {
            Ok(l) => {
                let id = self.next_listener;
                self.next_listener += 1;
                let fd = l.as_raw_fd();
                self.listeners.insert(id, (w.local, w.ifname.clone(), l));
                Some((id, fd))
            }
            Err(e) => {
                let port = if w.multihop { 4784 } else { 3784 };
                warn(&format!("BFD: cannot listen on {}:{port}: {e}", w.local));
                None
            }
        }
    }

    fn open_session(&mut self, w: &Want, now: Instant) -> anyhow::Result<PeerSession> {
        let seed = u64::from(std::process::id()) << 32 ^ now.elapsed().as_nanos() as u64;
        if self.next_discr == 0 {
            self.next_discr = (SplitMix64::new(seed).next_u32() >> 8).max(1);
        }
        let discr = self.next_discr;
        self.next_discr = self.next_discr.wrapping_add(1).max(1);
        let cfg = SessionConfig {
            local_discriminator: discr,
            desired_min_tx: w.interval,
            required_min_rx: w.interval,
            detect_mult: w.multiplier,
            passive: false,
        };
        let session = Session::new(cfg, SplitMix64::new(seed ^ u64::from(discr)), now)?;
        let hint = 49152 + (discr % 16384) as u16;
        let sender = if w.multihop {
            BfdSender::open_multihop(w.local, w.peer, hint)?
        } else {
            BfdSender::open(w.local, w.peer, Some(&w.ifname), hint)?
        };
        Ok(PeerSession {
            want: w.clone(),
            session,
            sender,
            last_now: now,
            last_rx: None,
            changes: 0,
            ever_up: false,
            received: 0,
            send_errors: 0,
        })
    }

    /// Reads every listener (up to a bound each) and feeds the packets.
    pub fn drain_all(&mut self, now: Instant, downs: &mut Vec<Down>) {
        let ids: Vec<u32> = self.listeners.keys().copied().collect();
        for id in ids {
            self.read(id, now, downs);
        }
    }

    /// Reads listener `id` and feeds its packets to their sessions at the
    /// time each was received.
    pub fn read(&mut self, id: u32, now: Instant, downs: &mut Vec<Down>) {
        let wall_now = SystemTime::now();
        for _ in 0..MAX_READ {
            let Some((local, _, listener)) = self.listeners.get_mut(&id) else {
                return;
            };
            let (local, multihop) = (*local, listener.multihop());
            let rx = match listener.recv() {
                Ok(Some(rx)) => rx,
                Ok(None) => return,
                Err(e) => {
                    warn(&format!("BFD: receive on {local}: {e}"));
                    return;
                }
            };
            let at = received_at(&rx, now, wall_now);
            self.deliver((local, multihop), &rx, at, downs);
        }
    }

    /// Feeds `rx`, read by the listener on `local` (multihop or not), to its
    /// session: one to the sender, of the same kind, with our discriminator.
    fn deliver(&mut self, on: (IpAddr, bool), rx: &Received, at: Instant, downs: &mut Vec<Down>) {
        let your = rx.packet.your_discriminator;
        let found = self.sessions.iter().position(|s| {
            (s.want.local, s.want.multihop) == on
                && s.want.peer == rx.from.ip()
                && (your == 0 || your == s.session.local_discriminator())
        });
        let Some(i) = found else {
            self.unmatched
                .count_drop(&DecodeError::BadDiscriminator(your));
            return;
        };
        let s = &mut self.sessions[i];
        let now = s.last_now.max(at);
        s.last_now = now;
        let out = s.session.handle(Event::Received(rx.packet), now);
        if out.discarded.is_none() {
            s.received += 1;
            s.last_rx = Some(now);
        }
        self.apply(i, out, downs);
    }

    /// Fires every session timer due at `now`, after reading what is queued.
    pub fn fire(&mut self, now: Instant, downs: &mut Vec<Down>) {
        if !self.sessions.iter().any(|s| due(s, now)) {
            return;
        }
        self.drain_all(now, downs);
        for i in 0..self.sessions.len() {
            if due(&self.sessions[i], now) {
                let s = &mut self.sessions[i];
                let late = s
                    .session
                    .next_deadline()
                    .map(|d| now.saturating_duration_since(d))
                    .unwrap_or_default();
                let now = s.last_now.max(now);
                s.last_now = now;
                let out = s.session.handle(Event::TimerFired, now);
                let first = downs.len();
                self.apply(i, out, downs);
                let detect = self.sessions[i].detect();
                for d in &mut downs[first..] {
                    d.stalled = late > detect;
                }
            }
        }
    }

    /// The earliest session deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sessions
            .iter()
            .filter_map(|s| s.session.next_deadline())
            .min()
    }

    /// Sends AdminDown on the sessions to `peers` from `local` (all when
    /// `local` is None) and, with `again`, restarts them at once (the
    /// `failover` request: the peers act, the sessions come back).
    pub fn admin_down(&mut self, local: Option<IpAddr>, again: bool, now: Instant) {
        let mut downs = Vec::new();
        for i in 0..self.sessions.len() {
            if local.is_some_and(|l| l != self.sessions[i].want.local) {
                continue;
            }
            let now = self.sessions[i].last_now.max(now);
            let out = self.sessions[i].session.handle(Event::AdminDown, now);
            self.apply(i, out, &mut downs);
            if again {
                let out = self.sessions[i].session.handle(Event::AdminUp, now);
                self.apply(i, out, &mut downs);
            }
        }
    }

    /// Before a hand-over to the next agent (VIPs left in place): advertise
    /// `interval` so the peers' detection time becomes `multiplier ×
    /// interval` at once and the restart does not look like a crash.
    pub fn slow_down(&mut self, interval: Duration, now: Instant) {
        let mut downs = Vec::new();
        for i in 0..self.sessions.len() {
            let now = self.sessions[i].last_now.max(now);
            let event = Event::SetTiming {
                desired_min_tx: interval,
                required_min_rx: interval,
                detect_mult: self.sessions[i].want.multiplier,
            };
            let out = self.sessions[i].session.handle(event, now);
            self.apply(i, out, &mut downs);
        }
    }

    /// Sends what the session asked for and reports an Up → Down change.
    fn apply(&mut self, i: usize, out: Output, downs: &mut Vec<Down>) {
        let s = &mut self.sessions[i];
        for p in &out.send {
            if s.sender.send(p).is_err() {
                s.send_errors += 1;
            }
        }
        for c in &out.changes {
            s.changes += 1;
            s.ever_up |= c.to == SessionState::Up;
            self.changed = true;
            info(&format!(
                "BFD: session to {}: {} -> {} ({:?})",
                s.want.peer,
                c.from.as_str(),
                c.to.as_str(),
                c.diag
            ));
            // Only silence or the peer's own AdminDown says it is gone; a
            // peer that signals Down is alive (it does not hear us).
            let admin = s.session.remote_state() == SessionState::AdminDown;
            let silent = c.diag == Diag::ControlDetectionTimeExpired;
            if c.from == SessionState::Up && c.to == SessionState::Down && (silent || admin) {
                let detect = s.detect();
                downs.push(Down {
                    stalled: false,
                    local: s.want.local,
                    peer: s.want.peer,
                    last_packet: s.last_rx,
                    tx_interval: detect / u32::from(s.want.multiplier.max(1)),
                    admin,
                });
            }
        }
    }

    /// True once after any session changed state (the status must show it).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// True at most once a second while sessions run: time to copy the
    /// packet counters into the metrics.
    pub fn gauges_due(&mut self, now: Instant) -> bool {
        let due = !self.sessions.is_empty()
            && self.gauges_at.map_or(true, |t| {
                now.saturating_duration_since(t) >= Duration::from_secs(1)
            });
        if due {
            self.gauges_at = Some(now);
        }
        due
    }

    /// The session to `peer` from `local`, if any.
    pub fn get(&self, local: IpAddr, peer: IpAddr) -> Option<&PeerSession> {
        self.sessions
            .iter()
            .find(|s| s.want.local == local && s.want.peer == peer)
    }

    /// Packets the listeners dropped, by reason, plus the unmatched ones.
    pub fn dropped(&self) -> BTreeMap<&'static str, u64> {
        let mut all = self.unmatched.dropped.clone();
        for (_, _, l) in self.listeners.values() {
            for (k, v) in &l.counters.dropped {
                *all.entry(k).or_insert(0) += v;
            }
        }
        all
    }
}

fn due(s: &PeerSession, now: Instant) -> bool {
    s.session.next_deadline().is_some_and(|d| d <= now)
}

/// The instant the kernel received `rx` (a timestamp older than a second
/// means a clock step, not a delay: then `now`).
fn received_at(rx: &Received, now: Instant, wall_now: SystemTime) -> Instant {
    let ago = rx
        .at
        .and_then(|t| wall_now.duration_since(t).ok())
        .unwrap_or_default();
    if ago < Duration::from_secs(1) {
        now.checked_sub(ago).unwrap_or(now)
    } else {
        now
    }
}
