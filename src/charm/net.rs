//! Addresses, subnets and the choice of the interface a VIP lives on.
//!
//! The interface is chosen once per VIP, from what Juju's `network-get` reports
//! for the unit (interface names with their CIDRs) and the kernel's default
//! routes, so the same inputs always pick the same interface.

use std::net::IpAddr;

use super::types::net::max_prefix;
use super::types::{Interface, NetworkView, VipSpec};

/// Where a VIP will live: interface, prefix and this unit's own address there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Interface name.
    pub interface: String,
    /// Prefix length the VIP is added with.
    pub prefix: u8,
    /// This unit's address of the VIP's family on that interface (VRRP source).
    pub local: Option<IpAddr>,
}

/// Picks the interface for `vip`: `forced` (the `network-interface` option)
/// when set, else the interface holding an address in the VIP's subnet, else
/// the default-route interface of the VIP's family, else the interface of the
/// unit's ingress address. The VIP must lie in a
/// subnet of the chosen interface (the error names the interface and its
/// addresses otherwise).
pub fn place(vip: &VipSpec, net: &NetworkView, forced: Option<&str>) -> Result<Placement, String> {
    let chosen = match forced {
        Some(name) => forced_interface(net, name)?,
        None => match subnet_interface(vip, net) {
            Some(iface) => iface,
            None => route_interface(vip, net)?,
        },
    };
    let in_subnet = chosen
        .addrs
        .iter()
        .filter(|a| a.addr.is_ipv4() == vip.addr.is_ipv4())
        .find(|a| a.contains(vip.addr));
    match (in_subnet, vip.prefix) {
        (Some(a), prefix) => Ok(Placement {
            interface: chosen.name.clone(),
            prefix: prefix.unwrap_or(a.prefix),
            local: Some(a.addr),
        }),
        (None, _) => {
            let list: Vec<String> = chosen.addrs.iter().map(|a| a.to_string()).collect();
            Err(format!(
                "{} is in no subnet of {} ({}); use a VIP in one of those subnets or set network-interface",
                vip.addr,
                chosen.name,
                if list.is_empty() { "no addresses".to_string() } else { list.join(", ") }
            ))
        }
    }
}

/// BGP mode (routed networks): the VIP is announced as a host route, never
/// put on a shared subnet, so it needs no subnet of its own. VRRP between
/// the units runs from `forced` (the `network-interface` option), else the
/// default-route interface of the VIP's family (else the ingress one), from
/// this unit's address of that family there; the prefix is a host route's.
pub fn place_routed(
    vip: &VipSpec,
    net: &NetworkView,
    forced: Option<&str>,
) -> Result<Placement, String> {
    let chosen = match forced {
        Some(name) => forced_interface(net, name)?,
        None => route_interface(vip, net)?,
    };
    let local = chosen
        .addrs
        .iter()
        .map(|a| a.addr)
        .find(|a| a.is_ipv4() == vip.addr.is_ipv4())
        .ok_or_else(|| {
            format!(
                "{} has no {} address to run VRRP for {} from; set network-interface",
                chosen.name,
                if vip.addr.is_ipv4() { "IPv4" } else { "IPv6" },
                vip.addr
            )
        })?;
    Ok(Placement {
        interface: chosen.name.clone(),
        prefix: max_prefix(vip.addr),
        local: Some(local),
    })
}

/// The `network-interface` the operator named, if the unit has it.
fn forced_interface<'a>(net: &'a NetworkView, name: &str) -> Result<&'a Interface, String> {
    net.interfaces.iter().find(|i| i.name == name).ok_or_else(|| {
        let known: Vec<&str> = net.interfaces.iter().map(|i| i.name.as_str()).collect();
        format!(
            "network-interface {name:?} has no address in the unit's network (known: {}); set network-interface to one of them or leave it empty",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )
    })
}

/// The interface with an address in the VIP's subnet (one with the VIP's
/// own prefix length first).
fn subnet_interface<'a>(vip: &VipSpec, net: &'a NetworkView) -> Option<&'a Interface> {
    net.interfaces
        .iter()
        .find(|i| {
            i.addrs
                .iter()
                .any(|a| a.contains(vip.addr) && vip.prefix.map_or(true, |p| p == a.prefix))
        })
        .or_else(|| {
            net.interfaces
                .iter()
                .find(|i| i.addrs.iter().any(|a| a.contains(vip.addr)))
        })
}

/// The default-route interface of the VIP's family; without one, the
/// interface of the unit's ingress address (Juju's choice for this binding).
fn route_interface<'a>(vip: &VipSpec, net: &'a NetworkView) -> Result<&'a Interface, String> {
    let default = if vip.addr.is_ipv4() {
        &net.default_v4
    } else {
        &net.default_v6
    };
    let ingress_iface = || {
        net.ingress.iter().find_map(|a| {
            net.interfaces
                .iter()
                .find(|i| i.addrs.iter().any(|x| x.addr == *a))
        })
    };
    default
        .as_deref()
        .and_then(|d| net.interfaces.iter().find(|i| i.name == d))
        .or_else(ingress_iface)
        .ok_or_else(|| {
            format!(
                "no interface has an address in the subnet of {} and there is no {} default route; set network-interface",
                vip.addr,
                if vip.addr.is_ipv4() { "IPv4" } else { "IPv6" }
            )
        })
}

/// Parses /proc/net/route: the interface of the IPv4 default route with the lowest metric.
pub fn default_route_v4(proc_net_route: &str) -> Option<String> {
    proc_net_route
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            let (iface, dest, metric, mask) = (f.first()?, f.get(1)?, f.get(6)?, f.get(7)?);
            (*dest == "00000000" && *mask == "00000000")
                .then(|| (metric.parse::<u64>().unwrap_or(u64::MAX), iface.to_string()))
        })
        .min()
        .map(|(_, iface)| iface)
}

/// Parses /proc/net/ipv6_route: the interface of the IPv6 default route (::/0, not `lo`).
pub fn default_route_v6(proc_net_ipv6_route: &str) -> Option<String> {
    proc_net_ipv6_route
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // dest destlen src srclen nexthop metric refcnt use flags iface
            let (dest, len, metric, iface) = (f.first()?, f.get(1)?, f.get(5)?, f.get(9)?);
            (dest.chars().all(|c| c == '0') && *len == "00" && *iface != "lo").then(|| {
                (
                    u64::from_str_radix(metric, 16).unwrap_or(u64::MAX),
                    iface.to_string(),
                )
            })
        })
        .min()
        .map(|(_, iface)| iface)
}
