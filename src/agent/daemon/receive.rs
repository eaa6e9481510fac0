//! The VRRP receive path and the routers' timers: packets are read in
//! batches, stamped with the time the kernel received them, and fed to the
//! instances in that order, each after the timers that fell due before it.
//!
//! In BGP mode the peers may be on other subnets: an advert from a listed
//! unicast peer is accepted with a TTL below 255 (RFC 5798's TTL check
//! assumes one segment); every other advert still needs 255.
//!
//! Why this order: a starved agent that wakes to a queue of adverts and an
//! expired master-down timer must replay what happened in the order it
//! happened, or it would take over from a master whose adverts it simply had
//! not read yet.

use std::time::{Duration, Instant, SystemTime};

use super::source::Source;
use super::state::{Daemon, Packet};
use crate::agent::advert_metrics::count_peer_advert;
use crate::agent::instance::Instance;
use crate::agent::log::warn;
use crate::agent::rawsock::{Received, RECV_BATCH};
use crate::agent::strangers::LogLine;
use crate::vrrp::packet::{check_hop_limit, decode, Advert};
use crate::vrrp::router::{Action, Event};

/// Lateness above which a timer firing is logged.
const LATE_LOG: Duration = Duration::from_millis(20);
/// Packet buffers kept for reuse between turns.
const SPARE_PACKETS: usize = 16;
/// Most packets read from one socket in one turn.
const MAX_PACKETS_PER_TURN: usize = 256;

impl Daemon {
    /// Reads the ready VRRP sockets and handles their packets in arrival
    /// order, firing the timers due before each.
    pub(super) fn on_vrrp_ready(&mut self, ready: &[Source], now: Instant) {
        let mut packets = std::mem::take(&mut self.packets);
        for s in ready {
            if let Source::Vrrp(i, v6) = s {
                self.collect_packets((*i, *v6), now, &mut packets);
            }
        }
        packets.sort_by_key(|(at, _, _)| *at);
        for (at, key, rx) in packets.drain(..) {
            self.fire_timers_until(at, true);
            self.dispatch_packet(key, &rx, at);
            // Keep the buffer for the next packet, unless it grew past any
            // real advert's size (a hostile jumbo packet) or enough are kept.
            if self.spare.len() < SPARE_PACKETS && rx.payload.capacity() <= 4096 {
                self.spare.push(rx);
            }
        }
        self.packets = packets;
    }

    /// Drains a ready VRRP socket; returns the packets with the instant the
    /// kernel received each (from SO_TIMESTAMPNS, else `now`).
    fn collect_packets(&mut self, key: (u32, bool), now: Instant, out: &mut Vec<Packet>) {
        let wall_now = SystemTime::now();
        let mut bad = 0;
        for _ in 0..MAX_PACKETS_PER_TURN / RECV_BATCH {
            let Some(sock) = self.sockets.get_mut(&key) else {
                break;
            };
            let spare = &mut self.spare;
            let read = sock.recv_batch(|r| match r {
                Ok(pkt) => {
                    let mut rx = spare.pop().unwrap_or_default();
                    pkt.copy_into(&mut rx);
                    let ago = rx
                        .at
                        .and_then(|t| wall_now.duration_since(t).ok())
                        .unwrap_or_default();
                    // A timestamp older than a second means a clock step, not a delay.
                    let at = if ago < Duration::from_secs(1) {
                        now.checked_sub(ago).unwrap_or(now)
                    } else {
                        now
                    };
                    out.push((at, key, rx));
                }
                Err(_) => bad += 1,
            });
            match read {
                // A short batch drained the queue: no need to ask again.
                Ok(n) if n == RECV_BATCH => {}
                _ => break,
            }
        }
        for _ in 0..bad {
            self.count_drop(key.0, "bad_ip_header");
        }
    }

    /// Checks one received packet and feeds it to the instances it is for, at
    /// the time it arrived.
    fn dispatch_packet(&mut self, key: (u32, bool), rx: &Received, at: Instant) {
        if let Err(e) = check_hop_limit(rx.ttl) {
            if !self.routed_peer(key, rx.src) {
                self.count_drop(key.0, e.reason());
                return;
            }
        }
        let advert = match decode(&rx.payload, rx.src, rx.dst) {
            Ok(a) => a,
            Err(e) => {
                self.count_drop(key.0, e.reason());
                return;
            }
        };
        let vrid = advert.vrid;
        let is_target = |inst: &Instance| {
            inst.ifindex == key.0 && inst.cfg.is_ipv6() == key.1 && inst.cfg.vrid == vrid
        };
        let mut targets = self.instances.iter().filter(|i| is_target(i)).count();
        if targets == 0 {
            self.count_drop(key.0, "unknown_vrid");
            return;
        }
        // The last target gets the decoded advert itself, the others a copy.
        let mut advert = Some(advert);
        // Instances never change while a packet is dispatched (a reload runs
        // from the signal handler, not from here), so indexes stay valid.
        for idx in 0..self.instances.len() {
            if !is_target(&self.instances[idx]) {
                continue;
            }
            targets -= 1;
            if self.refuse_stranger(idx, key.0, rx, at) || !self.started(idx) {
                continue;
            }
            let advert = if targets == 0 {
                advert.take()
            } else {
                advert.clone()
            };
            if let Some(advert) = advert {
                self.deliver(idx, rx, advert, at);
            }
        }
    }

    /// BGP mode (routed VRRP): true when `src` is a listed unicast peer of
    /// an instance on this socket, whose adverts may arrive with TTL < 255
    /// (they crossed routers). Every other advert keeps the TTL 255 check.
    fn routed_peer(&self, key: (u32, bool), src: std::net::IpAddr) -> bool {
        self.bgp.is_some()
            && self.instances.iter().any(|i| {
                i.ifindex == key.0 && i.cfg.is_ipv6() == key.1 && i.cfg.unicast_peers.contains(&src)
            })
    }

    /// True (counted, and logged within bounds: see [`Strangers`]) when
    /// instance `idx` is unicast and the advert's source is not one of its
    /// peers (with no peers listed yet, every source is a stranger).
    ///
    /// [`Strangers`]: crate::agent::strangers::Strangers
    fn refuse_stranger(&mut self, idx: usize, ifindex: u32, rx: &Received, at: Instant) -> bool {
        let inst = &mut self.instances[idx];
        if inst.cfg.multicast() || inst.cfg.unicast_peers.contains(&rx.src) {
            return false;
        }
        if let Some(line) = inst.strangers.refuse(rx.src, at) {
            log_strangers(&inst.cfg.name, inst.cfg.vrid, &line);
        }
        self.count_drop(ifindex, "unknown_source");
        self.count_instance_drop(idx, "unknown_source");
        self.count_collision(idx);
        true
    }

    /// Feeds an accepted advert to instance `idx` at the time it arrived.
    fn deliver(&mut self, idx: usize, rx: &Received, advert: Advert, at: Instant) {
        if self.instances[idx].cfg.bfd.is_some() {
            self.bfd_heard(idx, rx.src, advert.priority, at);
        }
        let event = Event::AdvertReceived {
            from: rx.src,
            advert,
        };
        let now = self.instances[idx].last_now.map_or(at, |l| l.max(at));
        self.instances[idx].last_now = Some(now);
        let actions = self.instances[idx].router.handle(event, now);
        let discarded = actions.iter().find_map(|a| match a {
            Action::Discarded(e) => Some(e.reason()),
            _ => None,
        });
        match discarded {
            None => {
                if let Ok(mut m) = self.metrics.lock() {
                    let im = m.instance(&self.instances[idx].cfg.name);
                    im.adverts_received += 1;
                    count_peer_advert(&mut im.adverts, rx.src);
                }
            }
            // Multicast: another router using our VRID with other settings
            // (unicast strangers are counted before they get here).
            Some("auth_mismatch" | "interval_mismatch" | "version_mismatch")
                if self.instances[idx].cfg.multicast() =>
            {
                self.count_collision(idx);
            }
            Some(_) => {}
        }
        self.execute(idx, actions, now);
    }

    /// The earliest deadline of any instance's router.
    pub(super) fn vrrp_deadline(&self) -> Option<Instant> {
        self.instances.iter().filter_map(|i| i.deadline).min()
    }

    /// Fires, in deadline order, the timer of every instance due at or before
    /// `t`, each instance at most once. Before an advert (`at_deadline`), each
    /// fires at its own deadline, so a starved agent replays what happened in
    /// the order it happened; otherwise at `t` (the real time), so a late
    /// master sends one advert and resumes its cadence instead of a burst.
    /// Lateness against the real time is measured and logged.
    pub(super) fn fire_timers_until(&mut self, t: Instant, at_deadline: bool) {
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        due.extend((0..self.instances.len()).filter_map(|i| {
            self.instances[i]
                .deadline
                .filter(|d| *d <= t)
                .map(|d| (d, i))
        }));
        due.sort();
        for &(deadline, idx) in &due {
            if self.instances[idx].deadline != Some(deadline) {
                continue;
            }
            let late = Instant::now().saturating_duration_since(deadline);
            if let Ok(mut m) = self.metrics.lock() {
                m.observe_lateness(late);
            }
            if late > LATE_LOG {
                warn(&format!(
                    "instance {}: timer fired {} ms late (CPU starvation?)",
                    self.instances[idx].cfg.name,
                    late.as_millis()
                ));
            }
            self.instances[idx].deadline = None;
            let when = if at_deadline { deadline } else { t };
            self.feed(idx, Event::TimerExpired, when);
        }
        self.due = due;
    }

    /// Counts one advert for instance `idx`'s VRID from a router that is not
    /// one of its peers.
    fn count_collision(&mut self, idx: usize) {
        if let Ok(mut m) = self.metrics.lock() {
            let inst = &self.instances[idx];
            let im = m.instance(&inst.cfg.name);
            im.adverts.vrid = inst.cfg.vrid;
            im.adverts.collisions += 1;
        }
    }

    /// Counts one advert instance `idx` refused for `reason`.
    pub(super) fn count_instance_drop(&mut self, idx: usize, reason: &'static str) {
        if let Ok(mut m) = self.metrics.lock() {
            m.drop_for_instance(&self.instances[idx].cfg.name, reason);
        }
    }

    /// Counts one packet dropped on interface `ifindex` for `reason`.
    pub(super) fn count_drop(&mut self, ifindex: u32, reason: &str) {
        let ifname = self
            .links
            .iter()
            .find(|l| l.index == ifindex)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| ifindex.to_string());
        if let Ok(mut m) = self.metrics.lock() {
            m.drop_packet(&ifname, reason);
        }
    }
}

/// Logs what [`crate::agent::strangers::Strangers`] says is worth a line.
pub(super) fn log_strangers(instance: &str, vrid: u8, line: &LogLine) {
    let held = match line.suppressed {
        0 => String::new(),
        n => format!(" ({n} more new source(s) not logged since the last such line)"),
    };
    match line.source {
        Some(src) => warn(&format!(
            "instance {instance}: advert for our VRID {vrid} from {src}, which is not a configured peer; ignored{held}"
        )),
        None => warn(&format!(
            "instance {instance}: adverts for our VRID {vrid} from sources that are not configured peers; ignored{held}"
        )),
    }
}
