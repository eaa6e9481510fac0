//! VRRP instances: one per VIP, each with its own VRID, placement, priority
//! and unicast peers, backend-neutral so agent.yaml and keepalived.conf are
//! rendered from the same values.

use std::net::IpAddr;

use super::config::{Config, VipAgent, VrrpVersion};
use super::net::{place, place_routed, Placement};
use super::peers::{preferred_unit, priority, sorted_units};
use super::types::{HealthCheck, Inputs, NetworkView, Peer, VipSpec};
use super::vrid;

/// One VRRP instance this unit runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Instance name (`v4-1`, `v4-2`, `v6-1`): family and 1-based index.
    pub name: String,
    /// Interface the VIP is added to.
    pub interface: String,
    /// Virtual router ID.
    pub vrid: u8,
    /// VRRP version.
    pub version: VrrpVersion,
    /// This unit's priority (distinct per unit, see [`priority`]).
    pub priority: u8,
    /// Advert interval in centiseconds.
    pub advert_interval_cs: u16,
    /// Whether a higher priority backup takes over from a lower master.
    pub preempt: bool,
    /// The VIP.
    pub vip: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// `unicast=true`: adverts only ever go to the peers listed; with none
    /// known yet the agent holds the instance in BACKUP rather than falling
    /// back to multicast.
    pub unicast: bool,
    /// Unicast peers (empty = multicast, unless `unicast`).
    pub unicast_peers: Vec<IpAddr>,
    /// `unicast` with no peers on a unit Juju expects to be its
    /// application's only one: the agent may take over, sending nothing.
    pub alone: bool,
    /// Our source address for unicast (and this unit's address on the interface).
    pub local_address: Option<IpAddr>,
    /// Periodic GARP/NA refresh while master, seconds (0 = off).
    pub garp_refresh_s: u32,
    /// Health checks (all must pass to hold the VIP).
    pub checks: Vec<HealthCheck>,
    /// The unit that normally holds this VIP.
    pub preferred_unit: String,
    /// Fast peer liveness (BFD) to the unicast peers, None when off, in
    /// keepalived mode, or with no unicast peer yet.
    pub bfd: Option<Bfd>,
}

/// An instance's BFD settings as agent.yaml carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bfd {
    /// BFD interval, milliseconds.
    pub interval_ms: u32,
    /// Detection multiplier.
    pub multiplier: u8,
    /// Each unicast peer's priority for this instance, so a backup knows
    /// which live unit wins the election when the master's session goes Down
    /// (without them, 3+ units get no fast takeover).
    pub peer_priorities: Vec<(IpAddr, u8)>,
}

/// An instance that could not be built: which option and why (a
/// `network-interface` or `virtual-ip` problem, or a `health-check` host
/// name that does not resolve, for the user to fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementError {
    /// The option to change.
    pub option: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Builds every instance for this unit.
#[allow(clippy::too_many_arguments)]
pub fn build(
    cfg: &Config,
    model: &str,
    app: &str,
    me: &str,
    peers: &[Peer],
    net: &NetworkView,
    checks: &[HealthCheck],
) -> Result<Vec<Instance>, PlacementError> {
    let units = sorted_units(me, peers);
    let rank = units.iter().position(|u| u == me).unwrap_or(0);
    let base = vrid::base(cfg.virtual_router_id, model, app);
    let mut out = Vec::with_capacity(cfg.vips.len());
    let (mut n4, mut n6) = (0usize, 0usize);
    for vip in &cfg.vips {
        let counter = if vip.addr.is_ipv4() { &mut n4 } else { &mut n6 };
        let index = *counter;
        *counter += 1;
        let placement = placement(cfg, vip, net)?;
        let unicast_peers = if cfg.unicast {
            unicast_peers(me, peers, vip.addr, placement.local)
        } else {
            Vec::new()
        };
        let bfd = bfd(cfg, &units, peers, vip.addr, index, &unicast_peers);
        out.push(Instance {
            name: format!("v{}-{}", if vip.addr.is_ipv4() { 4 } else { 6 }, index + 1),
            interface: placement.interface,
            vrid: vrid::for_index(base, index),
            version: cfg.vrrp_version,
            priority: priority(rank, units.len(), index),
            advert_interval_cs: cfg.advert_interval_cs,
            preempt: cfg.preempt,
            vip: vip.addr,
            prefix: placement.prefix,
            unicast: cfg.unicast,
            unicast_peers,
            alone: false,
            local_address: placement.local,
            garp_refresh_s: cfg.garp_refresh_s,
            checks: checks.to_vec(),
            preferred_unit: preferred_unit(&units, index)
                .cloned()
                .unwrap_or_else(|| me.to_string()),
            bfd,
        });
    }
    Ok(out)
}

/// Where `vip` lives on this unit ([`place`]), or in BGP mode, where it is
/// announced as a host route in no shared subnet, where VRRP for it runs
/// ([`place_routed`]); an error names the option to change.
fn placement(cfg: &Config, vip: &VipSpec, net: &NetworkView) -> Result<Placement, PlacementError> {
    let place = if cfg.bgp.is_some() {
        place_routed
    } else {
        place
    };
    place(vip, net, cfg.network_interface.as_deref()).map_err(|message| PlacementError {
        option: if cfg.network_interface.is_some() {
            "network-interface"
        } else {
            "virtual-ip"
        },
        message,
    })
}

/// The instances for this hook's `inputs` under `cfg`: the configured health
/// check (with `auto` resolved for this unit and a `tcp:` host name replaced
/// by the address it resolved to at this hook), plus `extra_auto_checks` (the
/// load balancer's) when `health-check=auto`.
pub fn for_inputs(
    inputs: &Inputs,
    cfg: &Config,
    extra_auto_checks: &[HealthCheck],
) -> Result<Vec<Instance>, PlacementError> {
    let configured = cfg
        .health_check
        .with_address(&inputs.resolved_hosts)
        .map_err(|message| PlacementError {
            option: "health-check",
            message,
        })?;
    let mut checks: Vec<_> = configured
        .resolve(inputs.runs_apiserver)
        .into_iter()
        .collect();
    if cfg.health_check == HealthCheck::Auto {
        checks.extend(extra_auto_checks.iter().cloned());
    }
    let mut out = build(
        cfg,
        &inputs.model,
        &inputs.app,
        &inputs.unit,
        &inputs.peers,
        &inputs.network,
        &checks,
    )?;
    for i in &mut out {
        i.alone = inputs.alone && i.unicast && i.unicast_peers.is_empty();
    }
    Ok(out)
}

/// The addresses of `vip`'s family of the peers that know us (`me`), sorted,
/// without our own `local`. A peer that does not know us yet would drop our
/// adverts as a stranger's; until it does, we do not count on it (and with
/// no such peer, `unicast` holds the instance in BACKUP).
fn unicast_peers(me: &str, peers: &[Peer], vip: IpAddr, local: Option<IpAddr>) -> Vec<IpAddr> {
    let mut addrs: Vec<IpAddr> = peers
        .iter()
        .filter(|p| p.knows(me))
        .filter_map(|p| p.address_like(vip))
        .collect();
    addrs.sort();
    addrs.dedup();
    addrs.retain(|a| Some(*a) != local);
    addrs
}

/// BFD for the `index`-th VIP of its family: on when `fast-failover-interval`
/// is not 0, the builtin agent floats the VIPs and there are unicast peers
/// (BFD runs over their addresses). Each peer's priority is the one the
/// peer computes for itself from the same sorted unit list.
fn bfd(
    cfg: &Config,
    units: &[String],
    peers: &[Peer],
    vip: IpAddr,
    index: usize,
    unicast_peers: &[IpAddr],
) -> Option<Bfd> {
    let ff = cfg.fast_failover?;
    // With bgp-bfd, FRR's bfdd holds the BFD ports on the wildcard address;
    // the agent binds the unit's own address beside it (SO_REUSEADDR).
    if cfg.vip_agent != VipAgent::Builtin || unicast_peers.is_empty() {
        return None;
    }
    let mut peer_priorities: Vec<(IpAddr, u8)> = peers
        .iter()
        .filter_map(|p| {
            let addr = p.address_like(vip).filter(|a| unicast_peers.contains(a))?;
            let rank = units.iter().position(|u| *u == p.unit)?;
            Some((addr, priority(rank, units.len(), index)))
        })
        .collect();
    peer_priorities.sort();
    peer_priorities.dedup_by_key(|(a, _)| *a);
    Some(Bfd {
        interval_ms: ff.interval_ms,
        multiplier: ff.multiplier,
        peer_priorities,
    })
}
