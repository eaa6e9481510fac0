//! The unit's network as values: VIPs as the user wrote them, interface
//! addresses with prefixes, and the [`NetworkView`] a hook reads.

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
