//! Addresses, subnets and the choice of the interface a VIP lives on.
//!
//! The interface is chosen once per VIP, from what Juju's `network-get` reports
//! for the unit (interface names with their CIDRs) and the kernel's default
//! routes, so the same inputs always pick the same interface.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One VIP as the user wrote it: an address and an optional prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VipSpec {
    /// The virtual address.
    pub addr: IpAddr,
    /// The prefix length, when given (`/24`); else taken from the interface subnet.
    pub prefix: Option<u8>,
}

impl FromStr for VipSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr_part, prefix_part) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_part
            .parse()
            .map_err(|_| format!("{addr_part:?} is not an IPv4 or IPv6 address"))?;
        let prefix = match prefix_part {
            None => None,
            Some(p) => {
                let max = max_prefix(addr);
                let len: u8 = p
                    .parse()
                    .ok()
                    .filter(|l| *l <= max && *l > 0)
                    .ok_or_else(|| format!("prefix length {p:?} is not in 1..{max}"))?;
                Some(len)
            }
        };
        Ok(VipSpec { addr, prefix })
    }
}

impl fmt::Display for VipSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix {
            Some(p) => write!(f, "{}/{}", self.addr, p),
            None => write!(f, "{}", self.addr),
        }
    }
}

/// 32 for IPv4, 128 for IPv6.
pub fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// An address configured on an interface, with its prefix length.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct IfaceAddr {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
}

impl IfaceAddr {
    /// Parses Juju's `cidr` + `value` pair, or a plain `ADDR/LEN`.
    pub fn parse(value: &str, cidr: &str) -> Option<IfaceAddr> {
        let addr: IpAddr = value.parse().ok()?;
        let prefix: u8 = cidr.split_once('/')?.1.parse().ok()?;
        (prefix <= max_prefix(addr)).then_some(IfaceAddr { addr, prefix })
    }

    /// Whether `other` lies in this address's subnet.
    pub fn contains(&self, other: IpAddr) -> bool {
        same_subnet(self.addr, other, self.prefix)
    }
}

impl fmt::Display for IfaceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether `a` and `b` share their first `prefix` bits (false across families).
pub fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            (u32::from(a) & mask) == (u32::from(b) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            (u128::from(a) & mask) == (u128::from(b) & mask)
        }
        _ => false,
    }
}

/// A network interface of the unit with its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Interface {
    /// Kernel name (`eth0`).
    pub name: String,
    /// Addresses with prefix lengths.
    pub addrs: Vec<IfaceAddr>,
}

/// What the unit knows of its own network.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct NetworkView {
    /// Interfaces and their addresses (from `network-get cluster`).
    pub interfaces: Vec<Interface>,
    /// The binding's ingress addresses, preferred first.
    pub ingress: Vec<IpAddr>,
    /// Interface of the IPv4 default route, if any.
    pub default_v4: Option<String>,
    /// Interface of the IPv6 default route, if any.
    pub default_v6: Option<String>,
}

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
    let family_addrs = |iface: &Interface| -> Vec<IfaceAddr> {
        iface
            .addrs
            .iter()
            .filter(|a| a.addr.is_ipv4() == vip.addr.is_ipv4())
            .copied()
            .collect()
    };
    let chosen: &Interface = if let Some(name) = forced {
        match net.interfaces.iter().find(|i| i.name == name) {
            Some(iface) => iface,
            None => {
                let known: Vec<&str> = net.interfaces.iter().map(|i| i.name.as_str()).collect();
                return Err(format!(
                    "network-interface {name:?} has no address in the unit's network (known: {}); set network-interface to one of them or leave it empty",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ));
            }
        }
    } else if let Some(iface) = net
        .interfaces
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
    {
        iface
    } else {
        let default = if vip.addr.is_ipv4() {
            &net.default_v4
        } else {
            &net.default_v6
        };
        // Without a default route of the family, the interface of the unit's
        // ingress address (Juju's choice for this binding).
        let ingress_iface = || {
            net.ingress.iter().find_map(|a| {
                net.interfaces
                    .iter()
                    .find(|i| i.addrs.iter().any(|x| x.addr == *a))
            })
        };
        match default
            .as_deref()
            .and_then(|d| net.interfaces.iter().find(|i| i.name == d))
            .or_else(ingress_iface)
        {
            Some(iface) => iface,
            None => {
                return Err(format!(
                    "no interface has an address in the subnet of {} and there is no {} default route; set network-interface",
                    vip.addr,
                    if vip.addr.is_ipv4() { "IPv4" } else { "IPv6" }
                ))
            }
        }
    };
    let addrs = family_addrs(chosen);
    let in_subnet = addrs.iter().find(|a| a.contains(vip.addr));
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
