//! The seam between the VIP part of the plan and the load balancer (HAProxy,
//! owned by the lb branch in `charm::haproxy`).
//!
//! The `lb-consumers` provider hands every request that the VIP cannot serve
//! "direct" to [`plan_proxy`] as [`ProxyNeed`]s. Until the load balancer plugs
//! in here (turning the needs into a `LoadBalancerModel`, calling
//! `render_haproxy_cfg`, and returning the files and services it wants), every
//! such need is rejected with a clear error response, so a consumer is never
//! told an address that would not answer.

use std::collections::BTreeMap;

use super::plan::{FileSpec, ServiceOp};

/// One frontend a consumer request needs from a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyNeed {
    /// Relation id (`lb-consumers:7`).
    pub relation_id: String,
    /// Request name (`api-server-external`).
    pub request: String,
    /// Request protocol (tcp | http | https).
    pub protocol: String,
    /// Port on the VIP.
    pub frontend_port: u16,
    /// Port on the backends.
    pub backend_port: u16,
    /// Backend addresses (the request's, or the consumer units' ingress addresses).
    pub backends: Vec<String>,
    /// Requested algorithms, most preferred first.
    pub algorithm: Vec<String>,
    /// Whether clients should stick to one backend.
    pub sticky: bool,
    /// The request's health checks, as JSON objects.
    pub health_checks: Vec<serde_json::Value>,
    /// Why the VIP cannot serve this port directly (for messages).
    pub not_direct_because: String,
}

/// What the load balancer answers for a set of needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyOutcome {
    /// Requests (relation id, name) refused: field name -> message for `error_fields`.
    pub rejected: BTreeMap<(String, String), (String, String)>,
    /// Files the load balancer wants written.
    pub files: Vec<FileSpec>,
    /// Services it wants started or reloaded.
    pub services: Vec<ServiceOp>,
}

/// Plans the proxy for `needs`. Today no proxy is available in this build, so
/// every need is refused naming the port mapping it would have required.
pub fn plan_proxy(needs: &[ProxyNeed]) -> ProxyOutcome {
    let mut out = ProxyOutcome::default();
    for need in needs {
        let key = (need.relation_id.clone(), need.request.clone());
        let field = if need.frontend_port == need.backend_port {
            "backends"
        } else {
            "port_mapping"
        };
        let msg = format!(
            "port {} -> {} needs a proxy ({}), and no load balancer runs in this k8s-vip",
            need.frontend_port, need.backend_port, need.not_direct_because
        );
        out.rejected.entry(key).or_insert((field.to_string(), msg));
    }
    out
}
