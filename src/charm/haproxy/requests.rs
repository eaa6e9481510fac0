//! The HAProxy planner's answers per request: each consumer request is
//! added to the model on its own, and a request that cannot be served is
//! refused alone (with the loadbalancer v1 error kind and the field at
//! fault), never blocking another request or the unit.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::from_request::RequestContext;
use super::model::LoadBalancerModel;
use super::ports::PortConflict;
use super::request::{HealthCheckRequest, LbRequest, RequestError};
use crate::charm::types::{ProxyNeed, Rejection, RejectionKind};

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

/// Refuses the needs whose frontend port another process holds.
pub fn refuse_conflicting(
    model: &LoadBalancerModel,
    conflicts: &[PortConflict],
    needs: &[ProxyNeed],
    rejected: &mut Rejected,
) {
    for f in &model.frontends {
        if let Some(c) = conflicts.iter().find(|c| c.wanted.port() == f.port) {
            for need in needs.iter().filter(|n| n.frontend_port == f.port) {
                reject(
                    rejected,
                    need,
                    RejectionKind::ProviderError,
                    "port_mapping",
                    format!("{c} on the load balancer unit"),
                );
            }
        }
    }
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

/// Groups the needs by request and adds each request to the model; a request
/// the model refuses is refused as a whole (all its ports).
pub fn add_requests(
    model: &mut LoadBalancerModel,
    needs: &[ProxyNeed],
    vips: &[IpAddr],
    rejected: &mut Rejected,
    logs: &mut Vec<String>,
) {
    let mut by_request: BTreeMap<(&str, &str), Vec<&ProxyNeed>> = BTreeMap::new();
    for need in needs {
        by_request
            .entry((need.relation_id.as_str(), need.request.as_str()))
            .or_default()
            .push(need);
    }
    for group in by_request.values() {
        let Some(first) = group.first() else { continue };
        let request = match request_of(group) {
            Ok(r) => r,
            Err((field, msg)) => {
                for need in group {
                    reject(
                        rejected,
                        need,
                        RejectionKind::ProviderError,
                        field,
                        msg.clone(),
                    );
                }
                continue;
            }
        };
        let ctx = RequestContext {
            vips,
            consumer_addresses: &[],
            direct_ports: &Default::default(),
        };
        if let Err(e) = model.add_request(&request, &ctx) {
            let fields = e.error_fields();
            let field = fields
                .keys()
                .next()
                .map(String::as_str)
                .unwrap_or("port_mapping");
            let field = field_name(field);
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
