//! The `cluster` peer relation's planner: what this unit publishes to its
//! peers (its VRRP addresses and the peers it knows always, the VIP
//! interface once the instances are placed), as only the keys that change.

use std::collections::BTreeMap;

use super::addresses::my_addresses;
use super::instances::Instance;
use super::reldata;
use super::types::peers::{KEY_ADDRESS, KEY_ADDRESS_V6, KEY_INTERFACE, KEY_PEERS_SEEN};
use super::types::{Inputs, Part, RelationSet};

/// Our peer data: addresses always, the interface once `instances` are placed.
pub fn plan(inputs: &Inputs, instances: Option<&[Instance]>) -> Part {
    let mut part = Part::default();
    let Some(rel) = &inputs.cluster_relation else {
        return part;
    };
    let desired = desired(inputs, instances);
    let owned: &dyn Fn(&str) -> bool = match instances {
        Some(_) => &|k: &str| {
            matches!(
                k,
                KEY_ADDRESS | KEY_ADDRESS_V6 | KEY_INTERFACE | KEY_PEERS_SEEN
            )
        },
        None => &|k: &str| matches!(k, KEY_ADDRESS | KEY_ADDRESS_V6 | KEY_PEERS_SEEN),
    };
    let changes = reldata::diff(&inputs.own_cluster_data, &desired, owned);
    if !changes.is_empty() {
        part.relation_sets.push(RelationSet {
            relation_id: rel.clone(),
            app: false,
            data: changes,
        });
    }
    part
}

/// The whole peer data we want published.
fn desired(inputs: &Inputs, instances: Option<&[Instance]>) -> BTreeMap<String, String> {
    let mut desired = BTreeMap::new();
    let all = my_addresses(inputs);
    let primary = inputs
        .network
        .ingress
        .first()
        .copied()
        .or_else(|| all.first().copied());
    if let Some(a) = primary {
        desired.insert(KEY_ADDRESS.to_string(), a.to_string());
    }
    // An IPv6 VRRP source for IPv6 instances: the instance's local address,
    // else the first global IPv6 address.
    let v6 = instances
        .and_then(|list| {
            list.iter()
                .filter(|i| i.vip.is_ipv6())
                .find_map(|i| i.local_address)
        })
        .or_else(|| {
            inputs
                .network
                .ingress
                .iter()
                .chain(all.iter())
                .copied()
                .find(|a| a.is_ipv6())
        });
    if let Some(a) = v6.filter(|a| Some(*a) != primary) {
        desired.insert(KEY_ADDRESS_V6.to_string(), a.to_string());
    }
    let mut seen: Vec<&str> = inputs
        .peers
        .iter()
        .filter(|p| p.data.contains_key(KEY_ADDRESS) || p.data.contains_key(KEY_ADDRESS_V6))
        .map(|p| p.unit.as_str())
        .chain(std::iter::once(inputs.unit.as_str()))
        .collect();
    seen.sort();
    desired.insert(KEY_PEERS_SEEN.to_string(), seen.join(" "));
    if let Some(first) = instances.and_then(|list| list.first()) {
        desired.insert(KEY_INTERFACE.to_string(), first.interface.clone());
    }
    desired
}
