//! The HAProxy planner's answers per request: each consumer request is
//! added to the model on its own, and a request that cannot be served is
//! refused alone (with the loadbalancer v1 error kind and the field at
//! fault), never blocking another request or the unit.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::from_request::RequestContext;
use super::frontend::Origin;
use super::limits::MAX_PORTS_PER_RELATION;
use super::model::LoadBalancerModel;
use super::owners::order_key;
use super::ports::PortConflict;
use super::request::{HealthCheckRequest, LbRequest, RequestError};
use crate::charm::types::{PortOwners, ProxyNeed, Rejection, RejectionKind};

/// Requests refused so far, by (relation id, request name).
pub type Rejected = BTreeMap<(String, String), Rejection>;

/// `load-balancer=off`: every need is refused as unsupported, naming what
/// keeps it from being served directly.
pub fn refuse_all_without_proxy(needs: &[ProxyNeed], rejected: &mut Rejected) {
    for need in needs {
        // Same port on both sides: only the backends stop it being direct.
        let field = if need.frontend_port == need.backend_port {
            "backends"
        } else {
            "port_mapping"
        };
        reject(
            rejected,
            need,
            RejectionKind::Unsupported,
            field,
            format!(
                "port {} -> {} needs a proxy ({}), and this k8s-vip runs with load-balancer=off",
                need.frontend_port, need.backend_port, need.not_direct_because
            ),
        );
    }
}

/// Refuses the requests whose frontend port another process holds and
/// takes their frontends out of the model; hands back the conflicts that
/// are no request's (the monitor, `ingress-ports`): those block the unit.
pub fn refuse_conflicting(
    model: &mut LoadBalancerModel,
    conflicts: &[PortConflict],
    needs: &[ProxyNeed],
    rejected: &mut Rejected,
) -> Vec<PortConflict> {
    let mut blocking: Vec<PortConflict> = Vec::new();
    for c in conflicts {
        let port = c.wanted.port();
        let frontend = model.frontends.iter().find(|f| f.port == port);
        if frontend.is_none() && c.wanted != model.monitor {
            continue; // taken out already, with its request
        }
        let is_request = frontend.is_some_and(|f| matches!(f.origin, Origin::Request { .. }));
        let need = needs
            .iter()
            .find(|n| n.frontend_port == port && is_served(n, rejected));
        let Some(need) = need.filter(|_| is_request) else {
            if !blocking.iter().any(|b| b.wanted.port() == port) {
                blocking.push(c.clone());
            }
            continue;
        };
        let ports = ports_of(needs, &need.relation_id, &need.request);
        model.remove_ports(&ports);
        reject(
            rejected,
            need,
            RejectionKind::ProviderError,
            "port_mapping",
            format!("{c} on the load balancer unit; ask for another port"),
        );
    }
    blocking
}

/// Whether `need`'s request is still served (not refused so far): of the
/// needs sharing a port, the one that owns the frontend.
pub fn is_served(need: &ProxyNeed, rejected: &Rejected) -> bool {
    !rejected.contains_key(&(need.relation_id.clone(), need.request.clone()))
}

/// The frontend ports of one request.
pub fn ports_of(needs: &[ProxyNeed], relation: &str, request: &str) -> Vec<u16> {
    needs
        .iter()
        .filter(|n| n.relation_id == relation && n.request == request)
        .map(|n| n.frontend_port)
        .collect()
}

/// Refuses every need with `message` (the load balancer cannot be configured).
pub fn refuse_all(needs: &[ProxyNeed], rejected: &mut Rejected, message: &str) {
    for need in needs {
        reject(
            rejected,
            need,
            RejectionKind::ProviderError,
            "port_mapping",
            message.to_string(),
        );
    }
}

/// What every request is checked against besides its own JSON.
#[derive(Debug, Clone, Copy)]
pub struct AddContext<'a> {
    /// Our VIPs.
    pub vips: &'a [IpAddr],
    /// `lb-backends-any-address`.
    pub any_backend: bool,
    /// Port owners remembered from earlier hooks ([`super::owners`]).
    pub port_owners: &'a PortOwners,
}

/// Groups the needs by request and adds each request to the model, owners
/// of their ports first ([`super::owners::order_key`]); a request the model
/// refuses is refused as a whole (all its ports), alone.
pub fn add_requests(
    model: &mut LoadBalancerModel,
    needs: &[ProxyNeed],
    add: &AddContext<'_>,
    rejected: &mut Rejected,
    logs: &mut Vec<String>,
) {
    let mut by_request: BTreeMap<_, Vec<&ProxyNeed>> = BTreeMap::new();
    for need in needs {
        let key = (
            order_key(need, needs, add.port_owners),
            need.relation_id.as_str(),
        );
        by_request.entry(key).or_default().push(need);
    }
    let mut per_relation: BTreeMap<&str, usize> = BTreeMap::new();
    for group in by_request.values() {
        let Some(first) = group.first() else { continue };
        let used = per_relation.entry(first.relation_id.as_str()).or_default();
        let result = if *used + group.len() > MAX_PORTS_PER_RELATION {
            Err(RequestError::invalid(
                "port_mapping",
                format!("this relation would need more than {MAX_PORTS_PER_RELATION} load-balanced ports"),
            ))
        } else {
            add_one(model, group, add)
        };
        match result {
            Ok(()) => *used += group.len(),
            Err(e) => {
                let field = field_name(e.error_fields().keys().next().map_or("", String::as_str));
                logs.push(format!(
                    "{}: request {}: {e}",
                    first.relation_id, first.request
                ));
                for need in group {
                    reject(rejected, need, rejection_kind(&e), field, e.to_string());
                }
            }
        }
    }
}

/// Adds one request (all its needs) to the model.
fn add_one(
    model: &mut LoadBalancerModel,
    group: &[&ProxyNeed],
    add: &AddContext<'_>,
) -> Result<(), RequestError> {
    let request = request_of(group).map_err(|(field, msg)| RequestError::invalid(field, msg))?;
    let units: Vec<IpAddr> = group
        .first()
        .map(|n| {
            n.consumer_units
                .iter()
                .filter_map(|u| u.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let served_here: std::collections::BTreeSet<u16> = group
        .iter()
        .filter(|n| n.served_here)
        .map(|n| n.frontend_port)
        .collect();
    let ctx = RequestContext {
        vips: add.vips,
        consumer_addresses: &units,
        any_backend: add.any_backend,
        direct_ports: &served_here,
    };
    model.add_request(&request, &ctx).map(|_| ())
}

/// Rebuilds the v1 request from its needs (one per proxied port).
fn request_of(group: &[&ProxyNeed]) -> Result<LbRequest, (&'static str, String)> {
    let first = group
        .first()
        .ok_or(("port_mapping", "no ports".to_string()))?;
    let health_checks = first
        .health_checks
        .iter()
        .map(|v| serde_json::from_value::<HealthCheckRequest>(v.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ("health_checks", format!("health check not understood: {e}")))?;
    Ok(LbRequest {
        name: first.request.clone(),
        protocol: first.protocol.clone(),
        backends: first.backends.clone(),
        port_mapping: group
            .iter()
            .map(|n| (n.frontend_port.to_string(), u32::from(n.backend_port)))
            .collect(),
        algorithm: first.algorithm.clone(),
        sticky: first.sticky,
        health_checks,
        public: true,
        tls_termination: false,
        id: None,
        sent_hash: None,
    })
}

/// The request field names as `&'static str` (error_fields keys).
fn field_name(field: &str) -> &'static str {
    match field {
        "protocol" => "protocol",
        "backends" => "backends",
        "algorithm" => "algorithm",
        "health_checks" => "health_checks",
        "tls_termination" => "tls_termination",
        "name" => "name",
        "ingress_address" => "ingress_address",
        "" => "",
        _ => "port_mapping",
    }
}

/// Refuses the request `need` belongs to (the first refusal of a request wins).
pub fn reject(
    rejected: &mut Rejected,
    need: &ProxyNeed,
    kind: RejectionKind,
    field: &str,
    message: String,
) {
    rejected
        .entry((need.relation_id.clone(), need.request.clone()))
        .or_insert(Rejection {
            kind,
            field: field.to_string(),
            message,
        });
}

/// The v1 error kind of a request the model refused.
fn rejection_kind(e: &RequestError) -> RejectionKind {
    match e {
        RequestError::Unsupported { .. } => RejectionKind::Unsupported,
        RequestError::Invalid { .. } | RequestError::Malformed { .. } => {
            RejectionKind::ProviderError
        }
    }
}
