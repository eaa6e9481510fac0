//! The kernel side of the instances: interfaces and addresses as netlink
//! reports them, and the VRRP sockets the instances need.
//!
//! Why: a link going down faults the instance, a VIP removed by someone else
//! while we are master is put back and re-announced, and a reload may need a
//! socket on a new interface or a multicast membership it did not have.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::time::Instant;

use anyhow::Context;

use super::source::Source;
use super::state::Daemon;
use crate::agent::log::{info, warn};
use crate::agent::rawsock::VrrpSocket;
use crate::vrrp::router::{Action, Event, State};

impl Daemon {
    /// Re-reads links and addresses (kept as they were when that fails).
    pub(super) fn refresh_kernel_state(&mut self) {
        match (self.netlink.links(), self.netlink.addrs()) {
            (Ok(l), Ok(a)) => {
                self.links = l;
                self.addrs = a;
            }
            (Err(e), _) | (_, Err(e)) => {
                warn(&format!("cannot read interfaces from netlink: {e}"));
                if let Ok(mut m) = self.metrics.lock() {
                    m.netlink_errors += 1;
                }
            }
        }
    }

    /// Reacts to link and address changes the watcher reported.
    pub(super) fn on_netlink(&mut self, now: Instant) {
        self.refresh_kernel_state();
        for idx in 0..self.instances.len() {
            self.follow_link(idx, now);
            if self.bgp.is_none() && self.instances[idx].router.state() == State::Master {
                self.restore_missing_vips(idx, now);
            }
        }
        self.bgp_check_kernel();
    }

    /// Takes up instance `idx`'s link MAC and up/down state.
    fn follow_link(&mut self, idx: usize, now: Instant) {
        let inst = &self.instances[idx];
        let link = self.links.iter().find(|l| l.index == inst.ifindex);
        let up = link.is_some_and(|l| l.up);
        if let Some(l) = link {
            if l.mac.is_some() && l.mac != inst.mac {
                self.instances[idx].mac = l.mac;
            }
        }
        if up != self.instances[idx].link_up {
            self.instances[idx].link_up = up;
            let name = self.instances[idx].cfg.name.clone();
            info(&format!(
                "instance {name}: link {} {}",
                self.instances[idx].cfg.interface,
                if up { "up" } else { "down" }
            ));
            if self.started(idx) {
                self.feed(idx, if up { Event::LinkUp } else { Event::LinkDown }, now);
            }
        }
    }

    /// A master whose VIP disappeared from its interface adds it back and
    /// announces it again.
    fn restore_missing_vips(&mut self, idx: usize, now: Instant) {
        let inst = &self.instances[idx];
        let missing: Vec<String> = inst
            .cfg
            .vips
            .iter()
            .filter(|v| {
                !self
                    .addrs
                    .iter()
                    .any(|a| a.index == inst.ifindex && a.addr == v.addr)
            })
            .map(|v| v.to_string())
            .collect();
        if !missing.is_empty() {
            warn(&format!(
                "instance {}: VIP {} disappeared from {} while master; adding it back and re-announcing",
                inst.cfg.name,
                missing.join(","),
                inst.cfg.interface
            ));
            self.set_vips(idx, true);
            self.execute(idx, vec![Action::SendGratuitous], now);
        }
    }

    /// Opens the VRRP sockets the instances need and closes the others.
    pub(super) fn sync_sockets(&mut self) -> anyhow::Result<()> {
        let mut want: HashMap<(u32, bool), (String, bool)> = HashMap::new();
        for inst in &self.instances {
            let e = want
                .entry((inst.ifindex, inst.cfg.is_ipv6()))
                .or_insert((inst.cfg.interface.clone(), false));
            e.1 |= inst.cfg.multicast();
        }
        self.sockets.retain(|k, _| want.contains_key(k));
        for (key, (ifname, multicast)) in want {
            if let Some(existing) = self.sockets.get(&key) {
                // Reopen only if a multicast instance joined a unicast-only socket.
                if existing.multicast() || !multicast {
                    continue;
                }
                self.sockets.remove(&key);
            }
            let sock = VrrpSocket::open(&ifname, key.0, key.1, multicast).with_context(|| {
                format!("cannot open the VRRP socket on {ifname} (needs CAP_NET_RAW)")
            })?;
            self.poller
                .add(sock.as_raw_fd(), Source::Vrrp(key.0, key.1).token())
                .with_context(|| format!("cannot watch the VRRP socket on {ifname}"))?;
            self.sockets.insert(key, sock);
        }
        self.sync_bfd(std::time::Instant::now());
        Ok(())
    }
}
