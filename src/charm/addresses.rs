//! Which addresses are this unit's and its peers', from [`Inputs`]: shared by
//! the planners (peer data, the `lb-consumers` direct rule, worker-ingress
//! backends) and the actions (naming the unit that holds a VIP).

use std::net::IpAddr;

use super::types::peers::KEY_ADDRESS;
use super::types::{Inputs, Peer};

/// Every address of this unit (interfaces and ingress), sorted.
pub fn my_addresses(inputs: &Inputs) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = inputs.network.ingress.clone();
    for iface in &inputs.network.interfaces {
        out.extend(iface.addrs.iter().map(|a| a.addr));
    }
    out.sort();
    out.dedup();
    out
}

/// This unit's primary address: the first ingress address, else the lowest
/// of [`my_addresses`].
pub fn primary_address(inputs: &Inputs) -> Option<IpAddr> {
    inputs
        .network
        .ingress
        .first()
        .copied()
        .or_else(|| my_addresses(inputs).first().copied())
}

/// The addresses the peers published as their primary one.
pub fn peer_primary_addresses(list: &[Peer]) -> Vec<IpAddr> {
    list.iter()
        .filter_map(|p| p.data.get(KEY_ADDRESS))
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// This unit's and every peer's primary address, sorted (worker-ingress
/// backends).
pub fn unit_addresses(inputs: &Inputs) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = primary_address(inputs)
        .into_iter()
        .chain(peer_primary_addresses(&inputs.peers))
        .collect();
    out.sort();
    out.dedup();
    out
}
