//! Who owns each load-balanced port: first come, first served, remembered
//! across hooks.
//!
//! A port on the VIP belongs to the request that was given it, for as long
//! as that request keeps asking for it and can be served. Another request
//! for the same port is refused (for that request alone,
//! `error_fields: {port_mapping}`), whatever its relation id: ids are never
//! compared as text (where `lb-consumers:10` sorts before `lb-consumers:3`),
//! and a newcomer cannot take a port from an app that already has it. A
//! request that cannot be served (a bad backend, say) claims nothing.
//!
//! # Where the memory lives, and why
//!
//! In the `cluster` peer relation's *application* data, key
//! [`OWNERS_KEY`], written by the leader. That bag belongs to the
//! application, not to a unit: it survives the leader changing (the new
//! leader reads what the old one wrote), every unit can read it (each one
//! renders the same haproxy.cfg from it), and a unit added later learns the
//! same owners. A state file under the charm's state dir would be one
//! unit's memory: a new unit, or a new leader that missed a hook, would
//! re-derive the owners and could hand a port to someone else.
//!
//! Requests are added to the model owners first, then in a fixed order
//! (relation id as a number, then request name), so every unit agrees even
//! before the leader has written the new owners.

use std::collections::BTreeMap;

use super::frontend::Origin;
use super::model::LoadBalancerModel;
use crate::charm::types::{PortOwner, PortOwners, ProxyNeed, Rejection};

/// The peer application-data key holding the owners (JSON).
pub const OWNERS_KEY: &str = "lb-port-owners";

/// The owners as stored in the peer app data (garbage reads as none).
pub fn stored_owners(peer_app_data: &BTreeMap<String, String>) -> PortOwners {
    peer_app_data
        .get(OWNERS_KEY)
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or_default()
}

/// The owners serialized for the peer app data.
pub fn owners_json(owners: &PortOwners) -> String {
    serde_json::to_string(owners).unwrap_or_default()
}

/// The order requests are added in: those owning one of their ports in
/// `stored` first, then by relation number and request name.
pub fn order_key(
    need: &ProxyNeed,
    needs: &[ProxyNeed],
    stored: &PortOwners,
) -> (bool, u64, String) {
    let me = PortOwner {
        relation: need.relation_id.clone(),
        request: need.request.clone(),
    };
    let owns = needs
        .iter()
        .filter(|n| n.relation_id == me.relation && n.request == me.request)
        .any(|n| stored.get(&n.frontend_port) == Some(&me));
    (
        !owns,
        relation_number(&need.relation_id),
        need.request.clone(),
    )
}

/// The number of a relation id (`lb-consumers:10` → 10); ids without one
/// sort last.
pub fn relation_number(id: &str) -> u64 {
    id.rsplit_once(':')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// The owners after this hook: the request of every frontend `model` serves
/// (of the needs sharing a port, the one not `rejected`).
pub fn owners_of(
    model: &LoadBalancerModel,
    needs: &[ProxyNeed],
    rejected: &BTreeMap<(String, String), Rejection>,
) -> PortOwners {
    model
        .frontends
        .iter()
        .filter(|f| matches!(f.origin, Origin::Request { .. }))
        .filter_map(|f| {
            let n = needs.iter().find(|n| {
                n.frontend_port == f.port
                    && !rejected.contains_key(&(n.relation_id.clone(), n.request.clone()))
            })?;
            Some((
                f.port,
                PortOwner {
                    relation: n.relation_id.clone(),
                    request: n.request.clone(),
                },
            ))
        })
        .collect()
}
