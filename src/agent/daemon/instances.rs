//! The glue around each VRRP instance: starting it (after its checks' first
//! verdicts), its check threads, and the verdicts they report.
//!
//! Why here and not in [`crate::agent::instance`]: starting an instance and
//! spawning its checks need the loop's resources (kernel state, the report
//! sink, the generation counter); that module holds what one instance *is*.

use std::io::Read;
use std::time::{Duration, Instant};

use super::state::{resolve, Daemon};
use crate::agent::checks::{self, CheckHandle, CheckReport};
use crate::agent::config::{CheckConfig, InstanceConfig};
use crate::agent::instance::{check_state, CheckState, Instance};
use crate::agent::log::{info, warn};
use crate::vrrp::router::Event;

/// Extra wait for first check verdicts beyond the longest check timeout.
const START_GRACE: Duration = Duration::from_millis(200);

impl Daemon {
    /// Resolves `cfg` on this host, spawns its checks and queues its start.
    pub(super) fn add_instance(&mut self, cfg: InstanceConfig) -> anyhow::Result<()> {
        let (link, primary) = resolve(&cfg, &self.links, &self.addrs)
            .map_err(|e| anyhow::anyhow!("instance {}: {e}", cfg.name))?;
        self.generation += 1;
        let mut inst = Instance::new(cfg, self.generation, link.index, link.mac, primary, link.up);
        for (i, c) in inst.cfg.checks.clone().iter().enumerate() {
            let (state, handle) = self.spawn_check(&inst.cfg.name, i, c);
            inst.checks.push(state);
            inst.handles.push(handle);
        }
        let wait = inst
            .cfg
            .checks
            .iter()
            .map(|c| c.timeout)
            .max()
            .unwrap_or_default();
        inst.start_by = Some(
            Instant::now()
                + if inst.cfg.checks.is_empty() {
                    Duration::ZERO
                } else {
                    wait + START_GRACE
                },
        );
        info(&format!("instance {}", describe(&inst)));
        self.instances.push(inst);
        Ok(())
    }

    /// Spawns the thread for check `index` of `instance`, with its own
    /// generation, and returns its fresh state and handle.
    fn spawn_check(
        &mut self,
        instance: &str,
        index: usize,
        cfg: &CheckConfig,
    ) -> (CheckState, CheckHandle) {
        self.generation += 1;
        let handle = checks::spawn(
            self.generation,
            instance,
            index,
            cfg.clone(),
            self.sink.clone(),
        );
        (check_state(cfg, self.generation), handle)
    }

    /// Replaces `inst`'s checks with `cfg`'s on a reload: a check whose
    /// settings did not change keeps its thread and verdict (a failing check
    /// stays failing, a healthy one healthy); a new or changed check starts
    /// fresh, presumed healthy until it fails `fall` times; a removed one stops.
    pub(super) fn rebuild_checks(&mut self, inst: &mut Instance, cfg: &InstanceConfig) {
        let mut old: Vec<Option<(CheckConfig, CheckState, CheckHandle)>> = inst
            .cfg
            .checks
            .iter()
            .cloned()
            .zip(std::mem::take(&mut inst.checks))
            .zip(std::mem::take(&mut inst.handles))
            .map(|((c, s), h)| Some((c, s, h)))
            .collect();
        for (k, c) in cfg.checks.iter().enumerate() {
            let kept = old
                .iter_mut()
                .find(|o| o.as_ref().is_some_and(|(oc, _, _)| oc == c))
                .and_then(Option::take);
            let (state, handle) = match kept {
                Some((_, state, handle)) => (state, handle),
                None => self.spawn_check(&cfg.name, k, c),
            };
            inst.checks.push(state);
            inst.handles.push(handle);
        }
        // What is left in `old` is dropped here, which stops those threads.
    }

    /// Starts instances whose checks have each reported their first probe (or
    /// whose wait, the longest check timeout + 200 ms, is over).
    ///
    /// Startup rule: a check is presumed healthy until it has failed `fall`
    /// times in a row ([`checks::Hysteresis`]). So an instance whose check
    /// failed its first probe with `fall` = 1 starts in FAULT; with a larger
    /// `fall` it starts as BACKUP and can only become master after the master
    /// down interval, during which further failures fault it. A check that
    /// has not answered at all delays the start by at most its timeout.
    pub(super) fn start_ready(&mut self, now: Instant) {
        for idx in 0..self.instances.len() {
            let inst = &self.instances[idx];
            let Some(by) = inst.start_by else { continue };
            if inst.checks_reported() || now >= by {
                self.start(idx, now);
            }
        }
    }

    /// Starts instance `idx`: what holds it back first, then Startup, or
    /// Adopt when its VIPs are already on the interface (the dummy in BGP
    /// mode; with `ecmp` nothing is adopted: every healthy unit announces).
    fn start(&mut self, idx: usize, now: Instant) {
        self.instances[idx].start_by = None;
        let mut pre = Vec::new();
        if self.paused {
            pre.push(Event::Pause);
        }
        if !self.instances[idx].link_up {
            pre.push(Event::LinkDown);
        }
        if !self.instances[idx].healthy() {
            pre.push(Event::HealthChanged { healthy: false });
        }
        let vip_if = self.vip_ifindex(idx);
        let found = self.instances[idx].cfg.vips.iter().any(|v| {
            self.addrs
                .iter()
                .any(|a| a.index == vip_if && a.addr == v.addr)
        });
        for ev in pre {
            self.feed(idx, ev, now);
        }
        // BGP mode: VIPs on the dummy at start were left by a hand-over
        // (stale ones are gone); they stay only if this unit still announces.
        let ecmp = self.bgp.as_ref().is_some_and(|b| b.cfg.ecmp);
        if self.bgp.is_some() {
            self.instances[idx].announced = found;
        }
        if found && !ecmp {
            info(&format!(
                "instance {}: VIPs found on {}; adopting them",
                self.instances[idx].cfg.name, self.instances[idx].cfg.interface
            ));
            self.feed(idx, Event::Adopt, now);
        } else {
            self.feed(idx, Event::Startup, now);
        }
    }

    /// True once instance `idx` has been started (its router runs).
    pub(super) fn started(&self, idx: usize) -> bool {
        self.instances[idx].start_by.is_none()
    }

    /// Feeds `event` to every started instance.
    pub(super) fn feed_started(&mut self, event: Event, now: Instant) {
        for idx in 0..self.instances.len() {
            if self.started(idx) {
                self.feed(idx, event.clone(), now);
            }
        }
    }

    /// Takes the verdicts the check threads reported and feeds each
    /// instance's new health to its router.
    pub(super) fn on_check_reports(&mut self, now: Instant) {
        let mut buf = [0u8; 256];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
        while let Ok(r) = self.reports.try_recv() {
            // Matched by the thread's generation, not by index: a reload may
            // keep a check at another position.
            let Some((idx, k)) = self.instances.iter().enumerate().find_map(|(i, inst)| {
                (inst.cfg.name == r.instance)
                    .then(|| {
                        inst.checks
                            .iter()
                            .position(|c| c.generation == r.generation)
                    })
                    .flatten()
                    .map(|k| (i, k))
            }) else {
                continue;
            };
            if self.apply_report(idx, k, &r) {
                self.gate.mark_dirty();
            }
            let healthy = self.instances[idx].healthy();
            if self.started(idx) {
                self.feed(idx, Event::HealthChanged { healthy }, now);
            }
        }
    }

    /// Records report `r` for check `k` of instance `idx` and logs what
    /// changed; true when the status document shows something new.
    fn apply_report(&mut self, idx: usize, k: usize, r: &CheckReport) -> bool {
        let inst = &mut self.instances[idx];
        let fall = inst.cfg.checks.get(k).map_or(1, |cc| cc.fall);
        let Some(c) = inst.checks.get_mut(k) else {
            return false;
        };
        let was = c.healthy;
        let had_error = c.last_error.is_some();
        let changed = was != Some(r.healthy) || c.last_error != r.last_error;
        c.healthy = Some(r.healthy);
        c.last_error = r.last_error.clone();
        let detail = r
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        if was != Some(r.healthy) && !(r.healthy && r.last_error.is_some()) {
            let line = format!(
                "instance {}: check {} is {}{detail}",
                inst.cfg.name,
                c.name,
                if r.healthy { "passing" } else { "FAILING" }
            );
            if r.healthy {
                info(&line)
            } else {
                warn(&line)
            }
        } else if r.healthy && r.last_error.is_some() && !had_error {
            // Failed, but fewer than `fall` times in a row (a new check
            // is presumed healthy): worth a line, not a fault.
            warn(&format!(
                "instance {}: check {} probe failed, still counted healthy until it fails {fall} times in a row{detail}",
                inst.cfg.name, c.name,
            ));
        }
        changed
    }
}

/// The start-up log line of an instance (after "instance ").
fn describe(inst: &Instance) -> String {
    let cfg = &inst.cfg;
    let join = |v: Vec<String>| v.join(",");
    format!(
        "{}: vrid {} v{} on {} from {} prio {} advert {} ms vips {} {}",
        cfg.name,
        cfg.vrid,
        cfg.version.number(),
        cfg.interface,
        inst.primary,
        cfg.priority,
        cfg.advert_interval.as_millis(),
        join(cfg.vips.iter().map(|v| v.to_string()).collect()),
        if cfg.held_for_peers() {
            "unicast, no peers yet: staying BACKUP and sending nothing until unicast-peers lists one"
                .to_string()
        } else if cfg.alone {
            "unicast, alone (the only unit): may take over, sending nothing".to_string()
        } else if cfg.multicast() {
            "multicast".to_string()
        } else {
            format!(
                "unicast to {}",
                join(cfg.unicast_peers.iter().map(|p| p.to_string()).collect())
            )
        }
    )
}
