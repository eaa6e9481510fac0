//! Gathering [`BgpWorld`] through the charm's system seam, once a hook.
//!
//! A unit without BGP pays nothing: frr.conf and the charm's markers are
//! plain file reads, and only when BGP is configured (`bgp-peers`), or the
//! charm's BGP is still in place (our frr.conf, FRR started by the charm),
//! or the unit is removed after the charm installed FRR, are systemd and
//! dpkg asked about FRR, one call each, and bgpd about its sessions (only
//! while BGP is configured and FRR runs; bounded in time). While BGP is
//! configured the kernel is also asked how it reaches each router, and a
//! session that is down is explained ([`super::probe`]): its last
//! NOTIFICATION, and for a directly connected router bgpd cannot reach, a
//! plain connection to its port 179.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Map, Value};

use super::bounded::run_bounded;
use super::names::{
    FRR_CONF, FRR_DAEMONS, FRR_PACKAGE, FRR_RELOAD, FRR_RUN_DIR, FRR_SERVICE, INSTALLED_MARKER,
    STARTED_MARKER,
};
use super::{frr_conf, probe, summary};
use crate::charm::system::System;
use crate::charm::types::{BgpSession, BgpWorld, NetworkView, PeerRoute, ServiceState};

/// How long bgpd may take to list its sessions.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the options turn BGP on (`bgp-peers` lists something).
pub fn wanted(config: &Map<String, Value>) -> bool {
    config
        .get("bgp-peers")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

/// Reads FRR's state on the unit for hook `hook` (see the module docs for
/// what is asked when).
pub fn gather(sys: &System, config: &Map<String, Value>, hook: &str) -> BgpWorld {
    let frr_conf = sys.read(FRR_CONF);
    let installed_by_us = sys.exists(INSTALLED_MARKER);
    let started_by_us = sys.exists(STARTED_MARKER);
    let ours = frr_conf.as_deref().is_some_and(frr_conf::is_ours);
    let wanted = wanted(config);
    let mut world = BgpWorld {
        frr_conf,
        installed_by_us,
        started_by_us,
        reload_program: reload_program(sys),
        ..BgpWorld::default()
    };
    // The package the charm installed matters again only at removal (purge).
    let removing = installed_by_us && matches!(hook, "stop" | "remove");
    if !(wanted || ours || started_by_us || removing) {
        return world;
    }
    sys.learn_services(&[FRR_SERVICE]);
    sys.learn_packages(&[FRR_PACKAGE]);
    world.service = ServiceState {
        active: sys.is_active(FRR_SERVICE),
        enabled: sys.is_enabled(FRR_SERVICE),
    };
    world.frr_installed = sys.package_installed(FRR_PACKAGE);
    world.daemons = sys.read(FRR_DAEMONS);
    if !wanted {
        return world;
    }
    let routers = routers(config);
    world.routes = probe::routes(&routers).unwrap_or_default();
    if world.service.active {
        match sessions(sys) {
            Ok(s) => world.sessions = Some(s),
            Err(e) => world.query_error = Some(e),
        }
    }
    if let Some(sessions) = world.sessions.as_mut() {
        probe::add_notifications(sessions, &sys.path(FRR_RUN_DIR).display().to_string());
        world.probes = sessions
            .iter()
            .filter(|s| probe::needs_probe(s))
            .filter_map(|s| s.peer.parse::<IpAddr>().ok().map(|a| (s.peer.clone(), a)))
            .filter(|(_, a)| on_link(&world.routes, *a))
            .map(|(peer, a)| (peer, probe::tcp_probe(a)))
            .collect();
        world.config_age_secs = config_age(sys);
    }
    world
}

/// Records the subnets Juju lists for the unit: routers in them are
/// directly connected (see [`super::select`]).
pub fn learn_subnets(world: &mut BgpWorld, network: &NetworkView) {
    world.subnets = network
        .interfaces
        .iter()
        .flat_map(|i| i.addrs.iter().copied())
        .collect();
}

/// Seconds since the younger of frr.conf and bgpd's pid file was written.
fn config_age(sys: &System) -> Option<u64> {
    let pid = format!("{FRR_RUN_DIR}/bgpd.pid");
    [FRR_CONF, pid.as_str()]
        .iter()
        .filter_map(|p| std::fs::metadata(sys.path(p)).ok()?.modified().ok())
        .filter_map(|t| t.elapsed().ok())
        .map(|d| d.as_secs())
        .min()
}

/// Whether the kernel reaches `address` directly: only such a router is
/// probed (a probe never leaves the unit's own links).
fn on_link(routes: &[PeerRoute], address: IpAddr) -> bool {
    routes.iter().any(|r| {
        r.address.parse::<IpAddr>().ok() == Some(address)
            && r.gateway.is_none()
            && r.error.is_none()
    })
}

/// The routers `bgp-peers` lists (bad words are the config check's business).
fn routers(config: &Map<String, Value>) -> Vec<IpAddr> {
    let raw = config
        .get("bgp-peers")
        .and_then(Value::as_str)
        .unwrap_or("");
    crate::charm::config::bgp::parse_peers(raw)
        .map(|peers| peers.into_iter().map(|p| p.address).collect())
        .unwrap_or_default()
}

/// `frr-reload.py` under the system root when it is there (a test unit's
/// own), else the distribution's (on a unit both are the same file).
fn reload_program(sys: &System) -> String {
    if sys.exists(FRR_RELOAD) {
        sys.path(FRR_RELOAD).display().to_string()
    } else {
        FRR_RELOAD.to_string()
    }
}

/// bgpd's sessions: `vtysh --vty_socket <run dir> -c 'show bgp summary json'`.
fn sessions(sys: &System) -> Result<Vec<BgpSession>, String> {
    let socket = sys.path(FRR_RUN_DIR);
    let socket = socket.display().to_string();
    let args = ["--vty_socket", &socket, "-c", "show bgp summary json"];
    let text = run_bounded("vtysh", &args, QUERY_TIMEOUT)?;
    // Not JSON: vtysh's own words (`% Unknown command`, bgpd not running).
    summary::parse(&text).map_err(|why| {
        let said = text.lines().map(str::trim).find(|l| !l.is_empty());
        said.map_or(why, |l| l.chars().take(200).collect())
    })
}
