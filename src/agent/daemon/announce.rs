//! BGP mode in the loop: which instances announce their VIPs, and putting
//! them on (or taking them off) the dummy interface the routing daemon
//! redistributes.
//!
//! Why derived rather than driven by the routers' AddVips/RemoveVips: what
//! announces depends on the mode (`ecmp: false`: the VRRP master;
//! `ecmp: true`: every instance whose checks pass, that is not paused and
//! whose link is up, i.e. BACKUP or MASTER), so after every batch of
//! actions [`Daemon::sync_announce`] compares what should be announced with
//! what is, and changes only the difference. A failed check (FAULT), a
//! pause, a stop (INIT) or losing an election withdraws at once; nothing
//! goes on the VRRP interface and no gratuitous ARP/NA is sent.
//!
//! At start the dummy is created when absent and cleared of stale
//! addresses (left by a crash); after a hand-over (the marker file next to
//! the state file) the configured VIPs stay for the instances to adopt.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::state::{BgpRuntime, Daemon};
use crate::agent::config::{AgentConfig, BgpConfig, Vip};
use crate::agent::dummy::{host_vip, is_link_local};
use crate::agent::log::{error, info, warn};
use crate::agent::netlink::Netlink;
use crate::vrrp::router::{Action, State};

/// The marker a hand-over leaves next to the state file: the VIPs on the
/// dummy are the next agent's to adopt, not stale.
pub(super) fn handover_marker(state_file: &Path) -> PathBuf {
    let mut name = OsString::from(state_file.as_os_str());
    name.push(".handover");
    PathBuf::from(name)
}

/// `--check`: the `bgp.interface` is absent (the agent creates it) or a dummy.
pub(super) fn check_bgp(config: &AgentConfig, netlink: &mut Netlink) -> anyhow::Result<()> {
    if let Some(b) = &config.bgp {
        netlink
            .dummy_index(&b.interface)
            .map_err(|e| anyhow::anyhow!("bgp.interface: {e}"))?;
    }
    Ok(())
}

/// Logs that `name` had to be an ifb device (no dummy interfaces in this
/// kernel); returns `index`.
fn note_fallback(name: &str, fallback: bool, index: u32) -> u32 {
    if fallback {
        warn(&format!(
            "BGP: this kernel has no dummy interfaces (CONFIG_DUMMY); created {name} as an ifb device instead"
        ));
    }
    index
}

impl Daemon {
    /// BGP mode at start (before any instance): the dummy exists and is
    /// up, and holds no stale address; no VIP is left on a VRRP interface
    /// (by an agent that ran in L2 mode).
    pub(super) fn bgp_start(&mut self) -> anyhow::Result<()> {
        let Some(cfg) = self.config.bgp.clone() else {
            return Ok(());
        };
        let ifindex = self
            .netlink
            .ensure_dummy(&cfg.interface)
            .map(|(index, fallback)| note_fallback(&cfg.interface, fallback, index))
            .with_context(|| format!("bgp.interface: cannot set up {}", cfg.interface))?;
        let marker = handover_marker(&self.config.state_file);
        let handed_over = marker.exists();
        let _ = std::fs::remove_file(&marker);
        self.refresh_kernel_state();
        for (index, vip) in self.leftovers(ifindex, handed_over) {
            let on = self.links.iter().find(|l| l.index == index);
            let name = on.map_or_else(|| index.to_string(), |l| l.name.clone());
            info(&format!(
                "BGP: removing stale {vip} from {name} (left by an earlier run)"
            ));
            if let Err(e) = self.netlink.del_vip(index, vip) {
                warn(&format!("BGP: cannot remove {vip} from {name}: {e}"));
            }
        }
        self.refresh_kernel_state();
        info(&format!(
            "BGP mode: announcing VIPs on {} ({})",
            cfg.interface,
            if cfg.ecmp {
                "ecmp: every unit whose checks pass"
            } else {
                "the VRRP master only"
            }
        ));
        self.bgp = Some(BgpRuntime { cfg, ifindex });
        Ok(())
    }

    /// What must go at start: every address on the dummy `ifindex` but the
    /// kernel's link-local one (after a hand-over, the configured VIPs
    /// stay for the instances to adopt), and configured VIPs on the VRRP
    /// interfaces.
    fn leftovers(&self, ifindex: u32, handed_over: bool) -> Vec<(u32, Vip)> {
        let configured: Vec<IpAddr> = self
            .config
            .instances
            .iter()
            .flat_map(|i| i.vips.iter().map(|v| v.addr))
            .collect();
        let vrrp_if = |index: u32| {
            self.links.iter().any(|l| {
                l.index == index && self.config.instances.iter().any(|i| i.interface == l.name)
            })
        };
        self.addrs
            .iter()
            .filter(|a| {
                let mine = configured.contains(&a.addr);
                if a.index == ifindex {
                    let adopted = handed_over && mine;
                    !(is_link_local(a.addr) || adopted)
                } else {
                    mine && vrrp_if(a.index)
                }
            })
            .map(|a| {
                (
                    a.index,
                    Vip {
                        addr: a.addr,
                        prefix: a.prefix,
                    },
                )
            })
            .collect()
    }

    /// True when instance `idx` should announce its VIPs now.
    fn should_announce(&self, idx: usize) -> bool {
        let state = self.instances[idx].router.state();
        match &self.bgp {
            Some(b) if b.cfg.ecmp => matches!(state, State::Master | State::Backup),
            Some(_) => state == State::Master,
            None => false,
        }
    }

    /// Puts instance `idx`'s VIPs on the dummy, or takes them off, when
    /// that differs from what it should announce.
    pub(super) fn sync_announce(&mut self, idx: usize) {
        let Some(ifindex) = self.bgp.as_ref().map(|b| b.ifindex) else {
            return;
        };
        let want = self.should_announce(idx);
        if want != self.instances[idx].announced {
            self.set_announced(idx, ifindex, want);
        }
    }

    /// Adds (or removes) instance `idx`'s VIPs as host routes on the dummy
    /// `ifindex`, and records it.
    fn set_announced(&mut self, idx: usize, ifindex: u32, on: bool) {
        let inst = &self.instances[idx];
        let (name, vips) = (inst.cfg.name.clone(), inst.cfg.vips.clone());
        for vip in &vips {
            let host = host_vip(vip.addr);
            let r = if on {
                self.netlink.add_vip(ifindex, host)
            } else {
                self.netlink.del_vip(ifindex, host)
            };
            if let Err(e) = r {
                let how = if on { "announce" } else { "withdraw" };
                warn(&format!("instance {name}: cannot {how} {host}: {e}"));
                if let Ok(mut m) = self.metrics.lock() {
                    m.netlink_errors += 1;
                }
            }
        }
        let was = std::mem::replace(&mut self.instances[idx].announced, on);
        if was != on {
            self.instances[idx].announce_changes += 1;
            let list: Vec<String> = vips.iter().map(|v| v.addr.to_string()).collect();
            let how = if on { "announcing" } else { "withdrawing" };
            info(&format!("instance {name}: BGP: {how} {}", list.join(",")));
            self.gate.mark_dirty();
        }
    }

    /// Withdraws every instance's VIPs (graceful stop, leaving BGP mode).
    pub(super) fn withdraw_all(&mut self) {
        let Some(ifindex) = self.bgp.as_ref().map(|b| b.ifindex) else {
            return;
        };
        for idx in 0..self.instances.len() {
            self.set_announced(idx, ifindex, false);
        }
    }

    /// On leaving: a graceful stop withdraws everything; a hand-over leaves
    /// the VIPs and the marker that tells the next agent they are not stale.
    pub(super) fn bgp_finish(&mut self, handover: bool) {
        if self.bgp.is_none() {
            return;
        }
        if !handover {
            self.withdraw_all();
            return;
        }
        let marker = handover_marker(&self.config.state_file);
        if let Err(e) = std::fs::write(&marker, "VIPs left on the dummy for the next agent\n") {
            warn(&format!("cannot write {}: {e}", marker.display()));
        }
    }

    /// After a netlink change: the dummy is still there, and every
    /// announced VIP is on it (put back when someone removed it).
    pub(super) fn bgp_check_kernel(&mut self) {
        let Some(bgp) = self.bgp.clone() else { return };
        let mut ifindex = bgp.ifindex;
        // Only a missing dummy is re-created: setting a link up again on
        // every change could chase its own notification.
        if !self.links.iter().any(|l| l.index == ifindex) {
            match self.netlink.ensure_dummy(&bgp.cfg.interface) {
                Ok((i, fallback)) => ifindex = note_fallback(&bgp.cfg.interface, fallback, i),
                Err(e) => {
                    error(&format!("BGP: {}: {e}", bgp.cfg.interface));
                    return;
                }
            }
            warn(&format!(
                "BGP: {} was deleted; created it again",
                bgp.cfg.interface
            ));
            self.bgp = Some(BgpRuntime { ifindex, ..bgp });
        }
        for idx in 0..self.instances.len() {
            let inst = &self.instances[idx];
            let missing = inst.announced
                && inst.cfg.vips.iter().any(|v| {
                    !self
                        .addrs
                        .iter()
                        .any(|a| a.index == ifindex && a.addr == v.addr)
                });
            if missing {
                warn(&format!(
                    "instance {}: an announced VIP disappeared from the dummy; adding it back",
                    inst.cfg.name
                ));
                self.set_announced(idx, ifindex, true);
            }
        }
    }

    /// A reload changed the `bgp` block (`new`): moves the VIPs between the
    /// VRRP interfaces and the dummy, or re-decides who announces (`ecmp`),
    /// without restarting an instance.
    pub(super) fn bgp_reload(&mut self, new: Option<BgpConfig>, now: Instant) {
        let old = self.bgp.as_ref().map(|b| b.cfg.clone());
        if old == new {
            return;
        }
        let same_dummy = matches!((&old, &new), (Some(o), Some(n)) if o.interface == n.interface);
        if same_dummy {
            if let (Some(b), Some(n)) = (self.bgp.as_mut(), new) {
                b.cfg = n;
            }
        } else {
            if old.is_some() {
                self.withdraw_all();
            } else {
                self.l2_release();
            }
            self.bgp = None;
            if let Some(n) = new {
                match self.netlink.ensure_dummy(&n.interface) {
                    Ok((i, fallback)) => {
                        let ifindex = note_fallback(&n.interface, fallback, i);
                        self.bgp = Some(BgpRuntime { cfg: n, ifindex });
                    }
                    Err(e) => error(&format!("reload: bgp.interface: {}: {e}", n.interface)),
                }
            }
            if self.bgp.is_none() {
                self.l2_take(now);
            }
        }
        info(&format!(
            "reload: BGP mode {}",
            match &self.bgp {
                Some(b) => format!("on {} (ecmp {})", b.cfg.interface, b.cfg.ecmp),
                None => "off: VIPs on the VRRP interfaces".into(),
            }
        ));
        for idx in 0..self.instances.len() {
            self.sync_announce(idx);
        }
        self.gate.mark_dirty();
    }

    /// Entering BGP mode: masters take their VIPs off the VRRP interfaces
    /// (still in L2 mode here, so `set_vips` acts) and stop announcing them.
    fn l2_release(&mut self) {
        for idx in 0..self.instances.len() {
            if self.instances[idx].router.state() == State::Master {
                self.set_vips(idx, false);
                self.instances[idx].garp_left = 0;
                self.instances[idx].garp_next = None;
            }
        }
    }

    /// Leaving BGP mode: masters put their VIPs on the VRRP interfaces and
    /// announce them by gratuitous ARP / NA.
    fn l2_take(&mut self, now: Instant) {
        for idx in 0..self.instances.len() {
            if self.instances[idx].router.state() == State::Master {
                self.execute(idx, vec![Action::AddVips, Action::SendGratuitous], now);
            }
        }
    }
}
