//! Signals: TERM/INT end the loop gracefully, HUP reloads the config.
//!
//! Why a reload is careful: an operator (or the charm) rewrites the config
//! while the agent holds the VIP. An unchanged instance keeps its state and
//! VIPs; the same virtual router with new tunables (priority, interval,
//! preempt, peers, GARP, checks) is retuned in place with no VIP blip; only an
//! instance that is gone or changed identity is stopped (releasing its VIPs)
//! and started anew. Adding or removing the `bgp` block, or changing its
//! interface or `ecmp`, moves the VIPs between the VRRP interfaces and the
//! dummy in place, without restarting an instance. A config that does not
//! load or resolve changes nothing.

use std::time::Instant;

use nix::sys::signal::Signal;

use super::state::{resolve, Daemon, Exit};
use crate::agent::config::{self, AgentConfig, InstanceConfig};
use crate::agent::instance::{router_config, Instance};
use crate::agent::log::{error, info, warn};
use crate::vrrp::router::{Action, Event};

/// Actions a retuned instance still has to carry out, by its new index.
type Pending = Vec<(usize, Vec<Action>, Instant)>;

impl Daemon {
    /// Handles every queued signal.
    pub(super) fn on_signal(&mut self, now: Instant) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGHUP) => self.reload(now),
                Ok(sig) => {
                    crate::agent::log::info(&format!(
                        "{sig} received: resigning and releasing VIPs"
                    ));
                    self.exit = Some(Exit::Graceful);
                }
                Err(_) => {}
            }
        }
    }

    /// SIGHUP: apply a new config; unchanged instances keep state and VIPs.
    fn reload(&mut self, now: Instant) {
        let Some(new) = self.load_for_reload() else {
            return;
        };
        let mut leftovers = std::mem::take(&mut self.instances);
        let mut next: Vec<Instance> = Vec::new();
        let mut pending: Pending = Vec::new();
        let mut to_add: Vec<InstanceConfig> = Vec::new();
        let (mut kept, mut retuned) = (0, 0);
        for cfg in &new.instances {
            if let Some(pos) = leftovers.iter().position(|i| i.cfg == *cfg) {
                next.push(leftovers.remove(pos));
                kept += 1;
            } else if let Some(inst) =
                self.retune(&mut leftovers, cfg, now, next.len(), &mut pending)
            {
                next.push(inst);
                retuned += 1;
            } else {
                to_add.push(cfg.clone());
            }
        }
        // Stop what is gone or changed identity first (releases its VIPs).
        let stopped = leftovers.len();
        self.instances = leftovers;
        for idx in 0..self.instances.len() {
            info(&format!(
                "reload: instance {} removed or changed; stopping it",
                self.instances[idx].cfg.name
            ));
            if self.started(idx) {
                self.feed(idx, Event::Shutdown, now);
            }
        }
        self.instances = next;
        for (idx, actions, t) in pending {
            self.execute(idx, actions, t);
        }
        let added = self.add_instances(to_add);
        self.bgp_reload(new.bgp.clone(), now);
        self.adopt_config(new);
        info(&format!(
            "reloaded {}: {kept} instance(s) unchanged, {retuned} retuned in place, {added} started, {stopped} stopped",
            self.config_path.display()
        ));
    }

    /// Loads the config file again and checks every instance resolves on
    /// this host; None (logged) keeps the running config.
    fn load_for_reload(&mut self) -> Option<AgentConfig> {
        let new = match config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                error(&format!("reload failed, keeping the running config: {e}"));
                return None;
            }
        };
        self.refresh_kernel_state();
        for (i, inst) in new.instances.iter().enumerate() {
            if let Err(e) = resolve(inst, &self.links, &self.addrs) {
                error(&format!(
                    "reload failed, keeping the running config: instances[{i}].{e}"
                ));
                return None;
            }
        }
        if let Some(b) = new
            .bgp
            .as_ref()
            .filter(|b| Some(*b) != self.config.bgp.as_ref())
        {
            if let Err(e) = self.netlink.dummy_index(&b.interface) {
                error(&format!(
                    "reload failed, keeping the running config: bgp.interface: {e}"
                ));
                return None;
            }
        }
        if new.control_socket != self.config.control_socket
            || new.metrics_listen != self.config.metrics_listen
            || new.state_file != self.config.state_file
        {
            warn("reload: control-socket, state-file and metrics-listen changes apply at the next restart");
        }
        Some(new)
    }

    /// Same virtual router (name and interface) with new tunables: takes it
    /// out of `leftovers` retuned in place, queuing its actions under
    /// `new_idx`. None when `cfg` is a new identity (or cannot be retuned).
    fn retune(
        &mut self,
        leftovers: &mut Vec<Instance>,
        cfg: &InstanceConfig,
        now: Instant,
        new_idx: usize,
        pending: &mut Pending,
    ) -> Option<Instance> {
        let pos = leftovers
            .iter()
            .position(|i| i.cfg.name == cfg.name && i.cfg.interface == cfg.interface)?;
        let (link, primary) = resolve(cfg, &self.links, &self.addrs).ok()?;
        let inst = &mut leftovers[pos];
        let t = inst.last_now.map_or(now, |l| l.max(now));
        if link.index != inst.ifindex || primary != inst.primary {
            return None;
        }
        let actions = inst.router.reconfigure(router_config(cfg, primary), t)?;
        let mut inst = leftovers.remove(pos);
        inst.last_now = Some(t);
        if inst.cfg.checks != cfg.checks {
            let was_healthy = inst.healthy();
            self.rebuild_checks(&mut inst, cfg);
            let healthy = inst.healthy();
            if healthy != was_healthy {
                let more = inst.router.handle(Event::HealthChanged { healthy }, t);
                pending.push((new_idx, more, t));
            }
        }
        inst.strangers.forget_peers(&cfg.unicast_peers);
        inst.cfg = cfg.clone();
        info(&format!("reload: instance {} retuned in place", cfg.name));
        pending.push((new_idx, actions, t));
        Some(inst)
    }

    /// Starts the instances a reload added; returns how many started.
    fn add_instances(&mut self, cfgs: Vec<InstanceConfig>) -> usize {
        let mut added = 0;
        for cfg in cfgs {
            match self.add_instance(cfg) {
                Ok(()) => added += 1,
                Err(e) => error(&format!("reload: {e}")),
            }
        }
        added
    }

    /// Takes the reloaded config's order and settings, and opens or closes
    /// VRRP sockets to match.
    fn adopt_config(&mut self, new: AgentConfig) {
        self.instances.sort_by_key(|i| {
            new.instances
                .iter()
                .position(|c| c.name == i.cfg.name)
                .unwrap_or(usize::MAX)
        });
        self.config.pause_file = new.pause_file.clone();
        self.config.instances = new.instances;
        self.config.bgp = new.bgp;
        // Retuned instances keep their generation but show new settings.
        self.gate.mark_dirty();
        if let Err(e) = self.sync_sockets() {
            error(&format!("reload: {e:#}"));
        }
    }
}
