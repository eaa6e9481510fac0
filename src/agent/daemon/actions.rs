//! Carrying out what the VRRP routers decide: feeding them events and
//! executing the [`Action`]s they return (adverts, VIPs, gratuitous ARP/NA,
//! timers, state changes, drop counts).
//!
//! Why one place: every event the loop turns into (a packet, a timer, a
//! signal, a request, a check verdict, a link change) ends in [`Daemon::feed`],
//! so an instance's clock and its actions are handled the same way whatever
//! woke the loop.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use super::state::Daemon;
use crate::agent::log::{info, warn};
use crate::agent::rawsock::multicast_group;
use crate::vrrp::router::{Action, Event, State};

impl Daemon {
    /// Feeds one event to instance `idx` and carries out the actions.
    pub(super) fn feed(&mut self, idx: usize, event: Event, now: Instant) {
        // Never let an instance's clock run backwards (timers are fired at
        // their deadlines, which may precede an event already handled).
        let now = self.instances[idx].last_now.map_or(now, |l| l.max(now));
        self.instances[idx].last_now = Some(now);
        let actions = self.instances[idx].router.handle(event, now);
        self.execute(idx, actions, now);
    }

    /// Carries out `actions` of instance `idx`, in order.
    pub(super) fn execute(&mut self, idx: usize, actions: Vec<Action>, now: Instant) {
        for action in actions {
            match action {
                Action::SendAdvert { priority } => self.send_advert(idx, priority),
                Action::AddVips => self.set_vips(idx, true),
                Action::RemoveVips => self.set_vips(idx, false),
                Action::SendGratuitous => self.start_gratuitous(idx, now),
                Action::SetTimer(t) => self.instances[idx].deadline = Some(t),
                Action::CancelTimer => self.instances[idx].deadline = None,
                Action::StateChanged { from, to, reason } => {
                    let inst = &mut self.instances[idx];
                    inst.transitions += 1;
                    inst.last_transition = Some(SystemTime::now());
                    inst.last_reason = Some(reason.clone());
                    if to != State::Master {
                        inst.garp_left = 0;
                        inst.garp_next = None;
                    }
                    info(&format!(
                        "instance {}: {from} -> {to} ({reason})",
                        inst.cfg.name
                    ));
                }
                Action::Discarded(e) => {
                    let inst = &self.instances[idx];
                    if let Ok(mut m) = self.metrics.lock() {
                        m.drop_packet(&inst.cfg.interface, e.reason());
                        m.drop_for_instance(&inst.cfg.name, e.reason());
                    }
                }
            }
        }
        // BGP mode: announce or withdraw to match the state just reached.
        self.sync_announce(idx);
    }

    /// Starts a burst of `garp.repeat` gratuitous ARP/NA rounds, the first
    /// now (none in BGP mode: the VIPs are routed, not on the segment).
    fn start_gratuitous(&mut self, idx: usize, now: Instant) {
        if self.bgp.is_some() {
            return;
        }
        let inst = &mut self.instances[idx];
        info(&format!(
            "instance {}: announcing {} ({} x gratuitous ARP/NA, {} ms apart)",
            inst.cfg.name,
            inst.cfg
                .vips
                .iter()
                .map(|v| v.addr.to_string())
                .collect::<Vec<_>>()
                .join(","),
            inst.cfg.garp.repeat,
            inst.cfg.garp.interval.as_millis()
        ));
        inst.garp_left = inst.cfg.garp.repeat;
        inst.garp_next = Some(now);
        self.garp_round(idx, now);
    }

    /// Sends instance `idx`'s advert with `priority` to the multicast group
    /// or to each unicast peer; logs each distinct send error once.
    fn send_advert(&mut self, idx: usize, priority: u8) {
        let inst = &self.instances[idx];
        let advert = inst.router.advert(priority);
        let multicast = [multicast_group(inst.cfg.is_ipv6())];
        // A unicast instance with no peers yet sends nothing (never multicast).
        let dsts: &[IpAddr] = if inst.cfg.multicast() {
            &multicast
        } else {
            &inst.cfg.unicast_peers
        };
        let Some(sock) = self.sockets.get(&(inst.ifindex, inst.cfg.is_ipv6())) else {
            return;
        };
        let mut err = None;
        let mut sent = 0;
        for &dst in dsts {
            let bytes = advert.encode(inst.primary, dst);
            match sock.send(&bytes, inst.primary, dst) {
                Ok(()) => sent += 1,
                Err(e) => err = Some(format!("sending advert to {dst}: {e}")),
            }
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.instance(&inst.cfg.name).adverts_sent += sent;
            if err.is_some() {
                m.send_errors += 1;
            }
        }
        let inst = &mut self.instances[idx];
        if err != inst.last_send_error {
            if let Some(e) = &err {
                warn(&format!("instance {}: {e}", inst.cfg.name));
            }
            inst.last_send_error = err;
        }
    }

    /// Adds (or removes) every VIP of instance `idx` on its interface (in
    /// BGP mode none goes there: see `sync_announce`).
    pub(super) fn set_vips(&mut self, idx: usize, add: bool) {
        if self.bgp.is_some() {
            return;
        }
        let inst = &self.instances[idx];
        let (ifindex, name, vips) = (inst.ifindex, inst.cfg.name.clone(), inst.cfg.vips.clone());
        for vip in vips {
            let r = if add {
                self.netlink.add_vip(ifindex, vip)
            } else {
                self.netlink.del_vip(ifindex, vip)
            };
            if let Err(e) = r {
                warn(&format!(
                    "instance {name}: cannot {} VIP {vip}: {e}",
                    if add { "add" } else { "remove" }
                ));
                if let Ok(mut m) = self.metrics.lock() {
                    m.netlink_errors += 1;
                }
            }
        }
        // No re-read here (it would delay the advert and GARP that follow);
        // the netlink watcher reports the change and triggers one.
    }

    /// Sends one GARP/NA round if one is due, and schedules the next.
    pub(super) fn garp_round(&mut self, idx: usize, now: Instant) {
        let inst = &mut self.instances[idx];
        if inst.garp_left == 0 || inst.garp_next.map_or(true, |t| t > now) {
            return;
        }
        inst.garp_left -= 1;
        inst.garp_next = (inst.garp_left > 0).then(|| now + inst.cfg.garp.interval);
        let Some(mac) = inst.mac else { return };
        let mut sent = 0;
        for vip in &inst.cfg.vips {
            let r = match vip.addr {
                IpAddr::V4(a) => self.announcer.garp(inst.ifindex, mac, a),
                IpAddr::V6(a) => self.announcer.unsolicited_na(inst.ifindex, mac, a),
            };
            match r {
                Ok(()) => sent += 1,
                Err(e) => {
                    if inst.last_send_error.as_deref() != Some(&e.to_string()) {
                        warn(&format!(
                            "instance {}: announcing {vip}: {e}",
                            inst.cfg.name
                        ));
                        inst.last_send_error = Some(e.to_string());
                    }
                }
            }
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.instance(&inst.cfg.name).gratuitous_sent += sent;
        }
    }
}
