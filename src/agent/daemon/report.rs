//! What the agent shows: the status document (control socket `status`, the
//! state file) and the metrics gauges, rebuilt only when something they show
//! changed ([`StatusGate`](crate::agent::publish::StatusGate)).

use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use super::receive::log_strangers;
use super::state::Daemon;
use crate::agent::bgp_metrics::BgpGauges;
use crate::agent::instance::Instance;
use crate::agent::log::warn;
use crate::agent::status::{rfc3339, write_atomic};

impl Daemon {
    /// The status document of every instance.
    pub(super) fn status_doc(&self) -> Value {
        let mut doc = json!({
            "pid": std::process::id(),
            "updated": rfc3339(SystemTime::now()),
            "paused": self.paused,
            "instances": (0..self.instances.len()).map(|i| self.instance_status(i)).collect::<Vec<_>>(),
        });
        if let (Some(ep), Some(obj)) = (&self.metrics_endpoint, doc.as_object_mut()) {
            obj.insert("metrics".into(), ep.shown().into());
        }
        if let (Some(b), Some(obj)) = (&self.bgp, doc.as_object_mut()) {
            let bgp = json!({"interface": b.cfg.interface, "ecmp": b.cfg.ecmp});
            obj.insert("bgp".into(), bgp);
        }
        doc
    }

    /// One instance's status entry, with its BFD peers when it runs BFD.
    fn instance_status(&self, idx: usize) -> Value {
        let mut v = self.instances[idx].status();
        if let (Some(bfd), Some(obj)) = (self.bfd_status(idx), v.as_object_mut()) {
            let ev = self.instances[idx].bfd_events;
            obj.insert("bfd".into(), bfd);
            obj.insert("bfd-takeovers".into(), ev.takeovers.into());
            obj.insert("bfd-contradicted".into(), ev.contradicted.into());
        }
        if let (true, Some(obj)) = (self.bgp.is_some(), v.as_object_mut()) {
            obj.insert("announced".into(), self.instances[idx].announced.into());
        }
        v
    }

    /// Rewrites the state file and refreshes the metrics gauges when
    /// something the status document shows changed (see
    /// [`StatusGate`](crate::agent::publish::StatusGate)); on a turn where
    /// nothing did, this compares a few numbers and returns.
    pub(super) fn publish(&mut self, now: Instant) {
        for inst in &mut self.instances {
            if let Some(line) = inst.strangers.flush(now) {
                log_strangers(&inst.cfg.name, inst.cfg.vrid, &line);
            }
            if inst.strangers.take_publish(now) {
                self.gate.mark_dirty();
            }
        }
        if self.bfd.take_changed() {
            self.gate.mark_dirty();
        }
        if self
            .metrics_endpoint
            .as_ref()
            .is_some_and(|e| e.take_changed())
        {
            self.gate.mark_dirty();
        }
        if self.bfd.gauges_due(now) {
            self.refresh_bfd_gauges();
        }
        let observed = self.instances.iter().map(Instance::observed);
        if !self.gate.should_publish(self.paused, observed) {
            return;
        }
        if let Err(e) = write_atomic(&self.config.state_file, &self.status_doc()) {
            warn(&format!(
                "cannot write the state file {}: {e}",
                self.config.state_file.display()
            ));
        }
        self.refresh_gauges();
    }

    /// Copies what each instance shows into the metrics gauges.
    fn refresh_gauges(&self) {
        let Ok(mut m) = self.metrics.lock() else {
            return;
        };
        m.status_publishes = self.gate.publishes();
        drop(m);
        self.refresh_bfd_gauges();
        let Ok(mut m) = self.metrics.lock() else {
            return;
        };
        let names: Vec<String> = self.instances.iter().map(|i| i.cfg.name.clone()).collect();
        m.instances.retain(|k, _| names.contains(k));
        for inst in &self.instances {
            let im = m.instances.entry(inst.cfg.name.clone()).or_default();
            im.state = inst.router.state().as_str().to_string();
            im.priority = inst.router.effective_priority();
            im.transitions = inst.transitions;
            im.adverts.vrid = inst.cfg.vrid;
            im.adverts.advert_interval = inst.router.master_adver_interval().as_secs_f64();
            im.checks = inst
                .checks
                .iter()
                .map(|c| (c.name.clone(), c.counts_healthy()))
                .collect();
            im.bgp = self.bgp.as_ref().map(|_| BgpGauges {
                vips: inst.cfg.vips.iter().map(|v| v.addr.to_string()).collect(),
                announced: inst.announced,
                changes: inst.announce_changes,
            });
        }
    }
}
