//! One running VRRP instance: the sans-IO [`Router`] plus what the shell keeps
//! around it (interface, primary address, timer, GARP schedule, checks, the
//! facts the status document reports).
//!
//! Why separate from the loop: the loop owns the sockets and decides *when*;
//! this type holds *what* one instance is and turns it into its status entry.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use crate::agent::checks::CheckHandle;
use crate::agent::config::{CheckConfig, InstanceConfig};
use crate::agent::netlink::Addr;
use crate::agent::publish::Observed;
use crate::agent::status::rfc3339;
use crate::agent::strangers::Strangers;
use crate::vrrp::packet::Version;
use crate::vrrp::router::{Router, RouterConfig};

/// Longest check error shown in the status document (a probe's error text
/// can quote what a remote server answered).
const MAX_ERROR_CHARS: usize = 200;

/// `s` cut to at most `max` characters, marked with `...` when cut.
fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &s[..end]),
        None => s.to_string(),
    }
}

/// Latest verdict of one health check.
#[derive(Debug, Clone)]
pub struct CheckState {
    /// Display name.
    pub name: String,
    /// None until the first probe reported (a pending check counts as
    /// healthy: see [`crate::agent::checks::Hysteresis`]).
    pub healthy: Option<bool>,
    /// Error of the latest failed probe.
    pub last_error: Option<String>,
    /// Identifies the thread probing it; its reports carry the same number.
    pub generation: u64,
}

impl CheckState {
    /// The verdict the instance acts on: a check that has not reported yet
    /// counts as healthy (it is presumed healthy until it fails `fall` times),
    /// so the status document and the metrics show it as healthy too.
    pub fn counts_healthy(&self) -> bool {
        self.healthy != Some(false)
    }
}

/// A running instance.
pub struct Instance {
    /// Its validated config (compared on reload).
    pub cfg: InstanceConfig,
    /// The protocol state machine.
    pub router: Router,
    /// Distinguishes this incarnation's check reports from a reloaded one's.
    pub generation: u64,
    /// Interface index.
    pub ifindex: u32,
    /// Interface MAC (for GARP/NA).
    pub mac: Option<[u8; 6]>,
    /// Source address of our adverts.
    pub primary: IpAddr,
    /// The router's armed deadline.
    pub deadline: Option<Instant>,
    /// GARP/NA rounds still to send in the current burst.
    pub garp_left: u32,
    /// When the next burst round is due.
    pub garp_next: Option<Instant>,
    /// Health check verdicts, in config order (filled by the daemon as it
    /// spawns each check; `handles` has the same order).
    pub checks: Vec<CheckState>,
    /// The check threads (stopped on drop).
    pub handles: Vec<CheckHandle>,
    /// Waiting for first check verdicts until this time; None = started.
    pub start_by: Option<Instant>,
    /// Link state as last seen.
    pub link_up: bool,
    /// State transitions so far.
    pub transitions: u64,
    /// Wall-clock time of the last transition.
    pub last_transition: Option<SystemTime>,
    /// Reason of the last transition.
    pub last_reason: Option<String>,
    /// Advert sources for our VRID that are not configured unicast peers
    /// (the newest few, and a count).
    pub strangers: Strangers,
    /// Last send error, to log each distinct error once.
    pub last_send_error: Option<String>,
    /// The latest time fed to the router (its clock never runs backwards).
    pub last_now: Option<Instant>,
    /// BFD instances: when each unicast peer's latest advert arrived and the
    /// priority it carried (bounded by the peer list).
    pub heard: BTreeMap<IpAddr, (Instant, u8)>,
    /// BFD: counters shown in status (`bfd-takeovers`, `bfd-contradicted`)
    /// and the master last taken over from on a BFD Down.
    pub bfd_events: BfdEvents,
    /// BGP mode: the VIPs are on the dummy interface (announced).
    pub announced: bool,
    /// BGP mode: times `announced` changed.
    pub announce_changes: u64,
}

/// What BFD made an instance do, for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BfdEvents {
    /// Takeovers on BFD Down.
    pub takeovers: u64,
    /// BFD said the master was down while its adverts still arrived.
    pub contradicted: u64,
    /// The master taken over from on the last BFD Down, until it is heard
    /// again or the instance leaves Master.
    pub took_from: Option<IpAddr>,
}

/// Picks the address adverts are sent from: `unicast-source`, else the
/// interface's primary IPv4 address, else (IPv6 multicast) its link-local
/// address, else (IPv6 unicast) its first global address; never a VIP.
pub fn pick_primary(cfg: &InstanceConfig, ifindex: u32, addrs: &[Addr]) -> Option<IpAddr> {
    if let Some(src) = cfg.unicast_source {
        return Some(src);
    }
    let is_vip = |ip: &IpAddr| cfg.vips.iter().any(|v| v.addr == *ip);
    let mine = addrs
        .iter()
        .filter(|a| a.index == ifindex && !is_vip(&a.addr));
    if !cfg.is_ipv6() {
        let v4: Vec<&Addr> = mine.filter(|a| a.addr.is_ipv4()).collect();
        return v4
            .iter()
            .find(|a| !a.secondary)
            .or(v4.first())
            .map(|a| a.addr);
    }
    let v6: Vec<&Addr> = mine.filter(|a| a.addr.is_ipv6() && !a.tentative).collect();
    let link_local =
        |a: &&&Addr| matches!(a.addr, IpAddr::V6(x) if x.segments()[0] & 0xffc0 == 0xfe80);
    if cfg.multicast() {
        v6.iter().find(link_local).map(|a| a.addr)
    } else {
        v6.iter().find(|a| !link_local(a)).map(|a| a.addr)
    }
}

/// The router settings for an instance config sending from `primary`.
pub fn router_config(cfg: &InstanceConfig, primary: IpAddr) -> RouterConfig {
    let mut rc = RouterConfig::new(cfg.vrid, primary, cfg.vips.iter().map(|v| v.addr).collect());
    rc.version = cfg.version;
    rc.priority = cfg.priority;
    rc.advert_interval = cfg.advert_interval;
    rc.preempt = cfg.preempt;
    rc.preempt_delay = cfg.preempt_delay;
    rc.garp_refresh = cfg.garp.refresh;
    rc.may_take_over = !cfg.held_for_peers();
    rc
}

/// A fresh (not yet reported) state for a check whose thread reports with
/// `generation`.
pub fn check_state(cfg: &CheckConfig, generation: u64) -> CheckState {
    CheckState {
        name: cfg.name.clone(),
        healthy: None,
        last_error: None,
        generation,
    }
}

impl Instance {
    /// Builds the router for `cfg` (not started yet).
    pub fn new(
        cfg: InstanceConfig,
        generation: u64,
        ifindex: u32,
        mac: Option<[u8; 6]>,
        primary: IpAddr,
        link_up: bool,
    ) -> Instance {
        let rc = router_config(&cfg, primary);
        Instance {
            router: Router::new(rc),
            cfg,
            generation,
            ifindex,
            mac,
            primary,
            deadline: None,
            garp_left: 0,
            garp_next: None,
            checks: Vec::new(),
            handles: Vec::new(),
            start_by: None,
            link_up,
            transitions: 0,
            last_transition: None,
            last_reason: None,
            strangers: Strangers::default(),
            last_send_error: None,
            last_now: None,
            heard: BTreeMap::new(),
            bfd_events: BfdEvents::default(),
            announced: false,
            announce_changes: 0,
        }
    }

    /// True when no check is failing (a check that has not reported yet, or
    /// has failed fewer than `fall` times, is not failing).
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(CheckState::counts_healthy)
    }

    /// True when every check has reported at least once.
    pub fn checks_reported(&self) -> bool {
        self.checks.iter().all(|c| c.healthy.is_some())
    }

    /// What the status publisher compares on every loop turn.
    pub fn observed(&self) -> Observed {
        Observed {
            generation: self.generation,
            state: self.router.state(),
            priority: self.router.effective_priority(),
            master: self.router.master(),
            transitions: self.transitions,
        }
    }

    /// This instance's entry in the status document. A check's `healthy` is
    /// the verdict the instance acts on; `reported` is false until its first
    /// probe has answered (it then counts as healthy, presumed so until it
    /// fails `fall` times).
    pub fn status(&self) -> Value {
        let version = match self.cfg.version {
            Version::V2 => 2,
            Version::V3 => 3,
        };
        json!({
            "name": self.cfg.name,
            "vrid": self.cfg.vrid,
            "version": version,
            "interface": self.cfg.interface,
            "state": self.router.state().as_str(),
            "priority": self.cfg.priority,
            "effective-priority": self.router.effective_priority(),
            "address": self.primary.to_string(),
            "master": self.router.master().map(|m| m.to_string()),
            "vips": self.cfg.vips.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            "advert-interval-ms": self.cfg.advert_interval.as_millis() as u64,
            "transitions": self.transitions,
            "last-transition": self.last_transition.map(rfc3339),
            "last-transition-reason": self.last_reason,
            "checks": self.checks.iter().map(|c| json!({
                "name": c.name,
                "healthy": c.counts_healthy(),
                "reported": c.healthy.is_some(),
                "last-error": c.last_error.as_deref().map(|e| bounded(e, MAX_ERROR_CHARS)),
            })).collect::<Vec<_>>(),
            "foreign-routers": self.strangers.newest().map(|a| a.to_string()).collect::<Vec<_>>(),
            "foreign-adverts": self.strangers.refused(),
            "mode": if self.cfg.multicast() { "multicast" } else { "unicast" },
            "waiting-for": self.cfg.held_for_peers().then_some("unicast peers"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::config;

    fn instance_with_two_checks() -> Instance {
        let cfg = config::parse(
            "instances:\n  - name: api\n    interface: eth0\n    vrid: 51\n    \
             vips: [\"192.0.2.100/24\"]\n    checks:\n      \
             - {tcp: \"127.0.0.1:6443\"}\n      - {tcp: \"127.0.0.1:6444\"}\n",
        )
        .expect("valid config");
        let icfg = cfg.instances[0].clone();
        let mut inst = Instance::new(
            icfg.clone(),
            1,
            2,
            None,
            "192.0.2.11".parse().unwrap(),
            true,
        );
        for (g, c) in icfg.checks.iter().enumerate() {
            inst.checks.push(check_state(c, g as u64));
        }
        inst
    }

    fn check_entries(inst: &Instance) -> Vec<Value> {
        inst.status()["checks"].as_array().unwrap().clone()
    }

    #[test]
    fn a_check_that_has_not_reported_shows_the_healthy_verdict_it_counts_as() {
        let inst = instance_with_two_checks();
        assert!(inst.healthy(), "pending checks count as healthy");
        for c in check_entries(&inst) {
            assert_eq!(c["healthy"], true, "{c}");
            assert_eq!(c["reported"], false, "{c}");
            assert_eq!(c["last-error"], Value::Null, "{c}");
        }
    }

    #[test]
    fn reported_checks_show_their_verdict() {
        let mut inst = instance_with_two_checks();
        inst.checks[0].healthy = Some(true);
        inst.checks[1].healthy = Some(false);
        inst.checks[1].last_error = Some("connection refused".into());
        assert!(!inst.healthy());
        let c = check_entries(&inst);
        assert_eq!(c[0]["healthy"], true);
        assert_eq!(c[0]["reported"], true);
        assert_eq!(c[1]["healthy"], false);
        assert_eq!(c[1]["reported"], true);
        assert_eq!(c[1]["last-error"], "connection refused");
    }

    #[test]
    fn observed_follows_the_status_the_document_shows() {
        let mut inst = instance_with_two_checks();
        let before = inst.observed();
        assert_eq!(before, inst.observed());
        inst.transitions += 1;
        assert_ne!(before, inst.observed());
    }
}
