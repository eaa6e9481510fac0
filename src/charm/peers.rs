//! The `cluster` peer relation: what each unit publishes (its VRRP address and
//! interface) and the deterministic priorities derived from the sorted peer set.
//!
//! Priorities depend only on the set of unit names, never on leadership, so a
//! leader change changes nothing on the wire.

use std::cmp::Ordering;
use std::net::IpAddr;

use super::types::Peer;

/// Unit number of `app/N` (None when not of that form).
pub fn unit_number(unit: &str) -> Option<u64> {
    unit.rsplit_once('/').and_then(|(_, n)| n.parse().ok())
}

/// Orders unit names by unit number (so `app/10` follows `app/9`), then by name.
pub fn unit_order(a: &str, b: &str) -> Ordering {
    match (unit_number(a), unit_number(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        _ => a.cmp(b),
    }
}

/// Every unit of the application (this one and its peers), sorted, deduplicated.
pub fn sorted_units(me: &str, peers: &[Peer]) -> Vec<String> {
    let mut units: Vec<String> = peers.iter().map(|p| p.unit.clone()).collect();
    units.push(me.to_string());
    units.sort_by(|a, b| unit_order(a, b));
    units.dedup();
    units
}

/// Highest priority we hand out (255 is reserved for the address owner).
pub const TOP_PRIORITY: u8 = 200;

/// The priority of the unit at position `rank` (0-based, in [`sorted_units`]
/// order) of `n` units, for the `index`-th VIP of a family. The preferred
/// master of VIP `index` is the unit at rank `index mod n`; the others follow
/// in rank order after it, one priority step lower each. So with 3 units and 3
/// VIPs each unit normally holds one VIP, and priorities within one VIP are
/// distinct for up to 200 units.
pub fn priority(rank: usize, n: usize, index: usize) -> u8 {
    let n = n.max(1);
    let distance = (rank % n + n - index % n) % n;
    let p = usize::from(TOP_PRIORITY).saturating_sub(distance).max(1);
    // p <= TOP_PRIORITY.
    p as u8
}

/// The unit preferred to hold the `index`-th VIP of a family.
pub fn preferred_unit(units: &[String], index: usize) -> Option<&String> {
    if units.is_empty() {
        None
    } else {
        units.get(index % units.len())
    }
}

/// Maps an address seen by the agent (a master's source address) to a unit name.
pub fn unit_of_address<'a>(
    addr: IpAddr,
    me: &'a str,
    my_addrs: &[IpAddr],
    peers: &'a [Peer],
) -> Option<&'a str> {
    if my_addrs.contains(&addr) {
        return Some(me);
    }
    peers
        .iter()
        .find(|p| p.addresses().contains(&addr))
        .map(|p| p.unit.as_str())
}
