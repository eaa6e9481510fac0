//! Which routers of `bgp-peers` this unit peers with: those directly
//! connected to it. Units on different subnets share one `bgp-peers` list
//! (one per application), but each is a single-hop eBGP neighbour of the
//! router on its own subnet only; a session to another subnet's router
//! would stay `Active` for ever (the router expects the unit on its own
//! interface, and eBGP's TTL of 1 does not cross a router anyway). A router
//! is kept when it lies in a subnet Juju lists for the unit, or the kernel
//! reaches it directly (`ip route get`: no gateway), or the kernel was not
//! asked; one the kernel reaches through a gateway, or not at all, is
//! skipped, and the status and the logs say which and why.

use std::net::IpAddr;

use crate::charm::config::BgpOptions;
use crate::charm::types::{BgpWorld, PeerRoute};

/// A router of `bgp-peers` this unit does not peer with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The router's address.
    pub address: IpAddr,
    /// Why (`reached via 198.51.100.1, not on this unit's subnets`).
    pub why: String,
}

/// The options with only the directly connected routers, and the others.
/// Without the kernel's answer (no `ip`), every router is kept.
pub fn select(bgp: &BgpOptions, world: &BgpWorld) -> (BgpOptions, Vec<Skipped>) {
    let mut kept = bgp.clone();
    let mut skipped = Vec::new();
    kept.peers.retain(|p| {
        let route = world
            .routes
            .iter()
            .find(|r| r.address.parse::<IpAddr>().ok() == Some(p.address));
        let in_subnet = world.subnets.iter().any(|s| s.contains(p.address));
        match route.filter(|_| !in_subnet).and_then(why_skipped) {
            Some(why) => {
                skipped.push(Skipped {
                    address: p.address,
                    why,
                });
                false
            }
            None => true,
        }
    });
    (kept, skipped)
}

fn why_skipped(route: &PeerRoute) -> Option<String> {
    if let Some(gw) = &route.gateway {
        return Some(format!("reached via {gw}, not on this unit's subnets"));
    }
    route
        .error
        .as_ref()
        .map(|e| format!("no route to it ({e})"))
}

/// "skipped 198.51.100.17, 198.51.100.33 (not on this unit's subnets)".
pub fn skipped_note(skipped: &[Skipped]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let list: Vec<String> = skipped.iter().map(|s| s.address.to_string()).collect();
    Some(format!(
        "skipped {} (not on this unit's subnets)",
        list.join(", ")
    ))
}
