//! The seam between the `lb-consumers` planner and the HAProxy planner:
//! [`ProxyNeed`]s (requests the VIP cannot serve directly) go in, a
//! [`ProxyOutcome`] (files, services, refused requests, status note) comes out.

use std::collections::BTreeMap;

use super::health::HealthCheck;
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
    /// The mapping is identity and this unit is one of the backends, so on
    /// this unit the local backend answers on the VIP itself and HAProxy must
    /// leave the port alone (the backend, e.g. kube-apiserver on `*:6443`,
    /// holds it). Only peers that are not backends proxy it; with
    /// `load-balancer=off` the need is still refused, since on those peers
    /// nothing would answer.
    pub served_here: bool,
    /// The raw request JSON (for fields this seam does not model).
    pub raw: String,
    /// The requesting app's units' addresses (`ingress-address`): the only
    /// backends allowed unless `lb-backends-any-address` is set.
    pub consumer_units: Vec<String>,
}

/// The loadbalancer-interface v1 `error` value of a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The request asks for a feature this provider does not offer (or has
    /// switched off, e.g. `load-balancer=off`): `"error": "unsupported"`.
    Unsupported,
    /// The request's values cannot be served (a bad port, a backend that is
    /// not an IP, a port held by another process): `"error": "provider_error"`.
    ProviderError,
}

impl RejectionKind {
    /// The v1 response's `error` string: the *name* of the library's
    /// `ErrorTypes` enum member (`provider_error`), which is what
    /// loadbalancer-interface reads (its `EnumField` is not `by_value`; the
    /// value form `"provider error"` fails its validation).
    pub fn code(self) -> &'static str {
        match self {
            RejectionKind::Unsupported => "unsupported",
            RejectionKind::ProviderError => "provider_error",
        }
    }
}

/// Why the load balancer refused one request: the v1 `error` value, and the
/// `error_fields` entry (request field at fault, message). Carried whole so a
/// consumer can tell a feature it must not ask for from a value it must fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `unsupported` or `provider_error`.
    pub kind: RejectionKind,
    /// The request field at fault, as the interface spells it.
    pub field: String,
    /// What is wrong and what would work.
    pub message: String,
}

/// The request that owns a load-balanced port (see `haproxy::owners`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct PortOwner {
    /// Relation id (`lb-consumers:3`).
    pub relation: String,
    /// Request name (`api-server-external`).
    pub request: String,
}

/// Frontend port → the request that owns it.
pub type PortOwners = BTreeMap<u16, PortOwner>;

/// What the load balancer answers for a hook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyOutcome {
    /// Requests (relation id, name) refused, with the v1 error to answer.
    pub rejected: BTreeMap<(String, String), Rejection>,
    /// Packages to install first (only when missing).
    pub install_packages: Vec<String>,
    /// Files the load balancer wants written.
    pub files: Vec<FileSpec>,
    /// Services it wants started, reloaded, stopped (after the VIP agent's steps).
    pub services: Vec<ServiceOp>,
    /// Files to delete (after the services steps).
    pub remove_files: Vec<String>,
    /// Packages to purge (teardown).
    pub purge_packages: Vec<String>,
    /// When set, the unit is blocked with this message and nothing is applied.
    pub blocked: Option<String>,
    /// Checks the VIP agent adds when `health-check=auto` (e.g. the HAProxy frontend).
    pub auto_checks: Vec<HealthCheck>,
    /// Appended to the unit status message (e.g. "3/3 API servers up").
    pub status_note: Option<String>,
    /// Lines for `juju-log`.
    pub logs: Vec<String>,
    /// Who owns each served port after this hook, when the load balancer
    /// was planned (the leader remembers it in the peer app data).
    pub port_owners: Option<PortOwners>,
}
