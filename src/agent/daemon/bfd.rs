//! BFD in the loop: the sessions' sockets as event sources, their timers in
//! the loop's deadlines, and what a session going Down means for the VRRP
//! instances (the decision itself is [`crate::bfd::takeover`]).
//!
//! Plugs in at the loop's three points: [`Daemon::fire_bfd`] (timers, after
//! reading what is queued), [`Daemon::bfd_deadline`] and
//! [`Daemon::on_bfd_ready`] (a [`Source::Bfd`] listener).

use std::net::IpAddr;
use std::time::Instant;

use serde_json::{json, Value};

use super::source::Source;
use super::state::Daemon;
use crate::agent::bfd_metrics::PeerMetrics;
use crate::agent::bfd_peers::{Down, Want};
use crate::agent::log::{info, warn};
use crate::bfd::takeover::{decide, PeerDown, Verdict, View};
use crate::vrrp::router::{Event, State};

impl Daemon {
    /// Instance `idx` heard an advert from `from`: remembered for the
    /// takeover decision; an advert from a master BFD declared dead (after
    /// this unit took over from it) is counted as BFD contradicted.
    pub(super) fn bfd_heard(&mut self, idx: usize, from: IpAddr, priority: u8, at: Instant) {
        let inst = &mut self.instances[idx];
        inst.heard.insert(from, (at, priority));
        if inst.bfd_events.took_from == Some(from) && priority > 0 {
            inst.bfd_events.took_from = None;
            if inst.router.state() == State::Master {
                let name = inst.cfg.name.clone();
                warn(&format!(
                    "instance {name}: adverts from {from} still arrive after BFD declared it down; VRRP decides"
                ));
                self.count_contradicted(idx);
            }
        }
    }

    fn count_contradicted(&mut self, idx: usize) {
        let inst = &mut self.instances[idx];
        inst.bfd_events.contradicted += 1;
        self.gate.mark_dirty();
        if let Ok(mut m) = self.metrics.lock() {
            *m.bfd.suppressed.entry(inst.cfg.name.clone()).or_insert(0) += 1;
        }
    }

    /// The sessions every BFD-enabled instance asks for.
    fn bfd_wants(&self) -> Vec<Want> {
        let mut wants = Vec::new();
        for inst in &self.instances {
            let Some(b) = &inst.cfg.bfd else { continue };
            for peer in &inst.cfg.unicast_peers {
                wants.push(Want {
                    ifname: inst.cfg.interface.clone(),
                    local: inst.primary,
                    peer: *peer,
                    interval: b.interval,
                    multiplier: b.multiplier,
                    multihop: b.multihop,
                });
            }
        }
        wants
    }

    /// Opens and closes sessions to match the instances (start, reload).
    pub(super) fn sync_bfd(&mut self, now: Instant) {
        let wants = self.bfd_wants();
        for (id, fd) in self.bfd.sync(wants, now) {
            if let Err(e) = self.poller.add(fd, Source::Bfd(id).token()) {
                warn(&format!("BFD: cannot watch a listener: {e}"));
            }
        }
    }

    /// A BFD listener is readable.
    pub(super) fn on_bfd_ready(&mut self, id: u32, now: Instant) {
        let mut downs = Vec::new();
        self.bfd.read(id, now, &mut downs);
        self.on_bfd_downs(&downs, now);
    }

    /// Fires the sessions' due timers (after reading what is queued).
    pub(super) fn fire_bfd(&mut self, now: Instant) {
        let mut downs = Vec::new();
        self.bfd.fire(now, &mut downs);
        self.on_bfd_downs(&downs, now);
    }

    /// The earliest session deadline.
    pub(super) fn bfd_deadline(&self) -> Option<Instant> {
        self.bfd.next_deadline()
    }

    /// Tells the peers of the instances being stepped down (or all, on a
    /// graceful stop) that this unit is going: AdminDown, so the winner acts
    /// at once. `again` restarts the sessions (step-down keeps running).
    /// A session may be shared with other instances; that is safe because
    /// step-down resigns every instance this unit is master of, and a peer
    /// only acts on the Down for the instances whose master it lost.
    pub(super) fn bfd_admin_down(&mut self, idx: Option<usize>, again: bool, now: Instant) {
        let local = match idx {
            Some(i) if self.instances[i].cfg.bfd.is_none() => return,
            Some(i) => Some(self.instances[i].primary),
            None => None,
        };
        self.bfd.admin_down(local, again, now);
    }

    fn on_bfd_downs(&mut self, downs: &[Down], now: Instant) {
        for d in downs {
            for idx in 0..self.instances.len() {
                let inst = &self.instances[idx];
                let uses = inst.cfg.bfd.is_some()
                    && inst.primary == d.local
                    && inst.cfg.unicast_peers.contains(&d.peer);
                if uses && self.started(idx) {
                    self.bfd_down_for(idx, d, now);
                }
            }
        }
        if !downs.is_empty() {
            self.gate.mark_dirty();
        }
    }

    /// What instance `idx` does about the loss of `d.peer`.
    fn bfd_down_for(&mut self, idx: usize, d: &Down, now: Instant) {
        let view = self.bfd_view(idx, d.peer);
        let down = PeerDown {
            peer: d.peer,
            last_packet: d.last_packet,
            tx_interval: d.tx_interval,
        };
        let name = self.instances[idx].cfg.name.clone();
        let verdict = if d.stalled {
            warn(&format!(
                "instance {name}: BFD to {} timed out while this agent was not scheduled; leaving it to VRRP",
                d.peer
            ));
            return;
        } else {
            decide(&down, &view)
        };
        let why = if d.admin {
            "stopping (AdminDown)"
        } else {
            "silent"
        };
        match verdict {
            Verdict::TakeOver => {
                info(&format!("instance {name}: BFD: master {} {why}; taking over", d.peer));
                if let Ok(mut m) = self.metrics.lock() {
                    *m.bfd.takeovers.entry(name).or_insert(0) += 1;
                }
                self.feed(idx, Event::MasterDead { master: d.peer }, now);
                let ev = &mut self.instances[idx].bfd_events;
                ev.takeovers += 1;
                ev.took_from = Some(d.peer);
            }
            Verdict::AdvertsStillArrive => {
                warn(&format!(
                    "instance {name}: BFD says master {} is down but its adverts still arrive; VRRP decides",
                    d.peer
                ));
                self.count_contradicted(idx);
            }
            Verdict::Outranked(w) => info(&format!(
                "instance {name}: BFD: master {} {why}; {w} wins among the live units, staying backup",
                d.peer
            )),
            Verdict::NotMaster => {}
        }
    }

    /// Instance `idx`'s view for [`decide`]: the live peers with their
    /// priorities (heard in adverts, else configured). A peer whose session
    /// never came Up (it runs no BFD: keepalived, an agent without `bfd:`)
    /// counts as live, so a mixed group elects as VRRP would.
    fn bfd_view(&self, idx: usize, lost: IpAddr) -> View {
        let inst = &self.instances[idx];
        let configured = inst.cfg.bfd.as_ref().map(|b| &b.peer_priorities);
        let live = inst
            .cfg
            .unicast_peers
            .iter()
            .filter(|p| **p != lost)
            .filter(|p| {
                // Alive: Up now, or never Up (no BFD there: alive for all we know).
                self.bfd.get(inst.primary, **p).map_or(true, |s| {
                    s.session.state() == crate::bfd::packet::SessionState::Up || !s.ever_up
                })
            })
            .map(|p| {
                let heard = inst.heard.get(p).map(|(_, prio)| *prio).filter(|x| *x > 0);
                (
                    *p,
                    heard.or_else(|| configured.and_then(|c| c.get(p).copied())),
                )
            })
            .collect();
        View {
            backup: inst.router.state() == State::Backup,
            master: inst.router.master().or_else(|| {
                // The master may have resigned (priority 0) just before its
                // AdminDown arrived.
                let resigned = inst.heard.get(&lost).is_some_and(|(_, p)| *p == 0);
                resigned.then_some(lost)
            }),
            me: (inst.router.effective_priority(), inst.primary),
            live,
            last_advert: inst.heard.get(&lost).map(|(at, _)| *at),
        }
    }

    /// The `bfd` entries of instance `idx`'s status: per peer, the session
    /// state and the detection time in force.
    pub(super) fn bfd_status(&self, idx: usize) -> Option<Value> {
        let inst = &self.instances[idx];
        inst.cfg.bfd.as_ref()?;
        let peers: Vec<Value> = inst
            .cfg
            .unicast_peers
            .iter()
            .map(|p| match self.bfd.get(inst.primary, *p) {
                Some(s) => json!({
                    "peer": p.to_string(),
                    "state": s.session.state().as_str(),
                    "detection-ms": s.detect().as_secs_f64() * 1000.0,
                    "changes": s.changes,
                }),
                None => json!({"peer": p.to_string(), "state": "none"}),
            })
            .collect();
        Some(Value::Array(peers))
    }

    /// Copies the sessions into the BFD metrics.
    pub(super) fn refresh_bfd_gauges(&self) {
        let Ok(mut m) = self.metrics.lock() else {
            return;
        };
        m.bfd.peers.clear();
        for inst in &self.instances {
            if inst.cfg.bfd.is_none() {
                continue;
            }
            for p in &inst.cfg.unicast_peers {
                let Some(s) = self.bfd.get(inst.primary, *p) else {
                    continue;
                };
                m.bfd.peers.insert(
                    (inst.cfg.name.clone(), p.to_string()),
                    PeerMetrics {
                        state: s.session.state().as_str(),
                        changes: s.changes,
                        sent: s.sent(),
                        received: s.received,
                        detect_s: s.detect().as_secs_f64(),
                    },
                );
            }
        }
        m.bfd.dropped = self.bfd.dropped();
    }
}
