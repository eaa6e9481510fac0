//! The first pass of the `lb-consumers` planner: which requested ports the
//! VIP can serve directly (the direct rule) and which need the load
//! balancer, as [`ProxyNeed`]s for the HAProxy planner.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::context::{ProviderContext, REQUEST_PREFIX};
use super::request::{parse_request, unsupported, Request};
use crate::charm::types::{ConsumerRelation, ProxyNeed};

/// First pass: the proxy needs of every request that the VIP cannot serve
/// directly (fed to the HAProxy planner).
pub fn proxy_needs(rels: &[ConsumerRelation], ctx: &ProviderContext<'_>) -> Vec<ProxyNeed> {
    let mut needs = Vec::new();
    for rel in rels
        .iter()
        .filter(|r| r.remote_app_data.contains_key("version"))
    {
        for (key, raw) in &rel.remote_app_data {
            let Some(name) = key.strip_prefix(REQUEST_PREFIX) else {
                continue;
            };
            let Ok(req) = parse_request(name, raw) else {
                continue;
            };
            if unsupported(&req).is_some() {
                continue;
            }
            let backends = backends_of(&req, rel);
            let consumer_units = unit_addresses(rel);
            for (front, back) in &req.port_mapping {
                if let Err(why) = direct(ctx, &backends, *front, *back) {
                    let served_here = served_here(ctx, &backends, *front, *back);
                    needs.push(ProxyNeed {
                        relation_id: rel.id.clone(),
                        request: req.name.clone(),
                        protocol: req.protocol.clone(),
                        frontend_port: *front,
                        backend_port: *back,
                        backends: backends.clone(),
                        algorithm: req.algorithm.clone(),
                        sticky: req.sticky,
                        health_checks: req.health_checks.clone(),
                        not_direct_because: why,
                        served_here,
                        raw: raw.clone(),
                        consumer_units: consumer_units.clone(),
                    });
                }
            }
        }
    }
    needs
}

/// The direct rule: the VIP can serve `front -> back` itself when the mapping
/// is identity and every unit the VIP can land on (this one and the peers we
/// know the address of) is one of the backends.
pub fn direct(
    ctx: &ProviderContext<'_>,
    backends: &[String],
    front: u16,
    back: u16,
) -> Result<(), String> {
    if front != back {
        return Err(format!("the ports differ ({front} -> {back})"));
    }
    let backend_ips = ip_set(backends);
    if !ctx.my_addrs.iter().any(|a| backend_ips.contains(a)) {
        return Err("this unit is not one of the backends".into());
    }
    if let Some(p) = ctx.peer_addrs.iter().find(|a| !backend_ips.contains(a)) {
        return Err(format!("peer {p} is not one of the backends"));
    }
    Ok(())
}

/// This unit's half of the direct rule: identity mapping and this unit is a
/// backend, so the local backend answers on the VIP here even while a peer
/// (e.g. one whose principal has not joined the relation yet) is not.
pub fn served_here(ctx: &ProviderContext<'_>, backends: &[String], front: u16, back: u16) -> bool {
    let backend_ips = ip_set(backends);
    front == back && ctx.my_addrs.iter().any(|a| backend_ips.contains(a))
}

fn ip_set(addresses: &[String]) -> BTreeSet<IpAddr> {
    addresses.iter().filter_map(|b| b.parse().ok()).collect()
}

/// The request's backends, or the consumer units' ingress addresses when empty.
pub fn backends_of(req: &Request, rel: &ConsumerRelation) -> Vec<String> {
    if !req.backends.is_empty() {
        return req.backends.clone();
    }
    unit_addresses(rel)
}

/// The consumer units' addresses (`ingress-address`, else
/// `private-address`), sorted and deduplicated.
pub fn unit_addresses(rel: &ConsumerRelation) -> Vec<String> {
    let mut out: Vec<String> = rel
        .remote_units
        .iter()
        .filter_map(|(_, d)| {
            d.get("ingress-address")
                .or_else(|| d.get("private-address"))
                .cloned()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
