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
    /// The raw request JSON (for fields this seam does not model).
    pub raw: String,
}

/// The loadbalancer-interface v1 `error` value of a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The request asks for a feature this provider does not offer (or has
    /// switched off, e.g. `load-balancer=off`): `"error": "unsupported"`.
    Unsupported,
    /// The request's values cannot be served (a bad port, a backend that is
    /// not an IP, a port held by another process): `"error": "provider error"`.
    ProviderError,
}

impl RejectionKind {
    /// The v1 response's `error` string.
    pub fn code(self) -> &'static str {
        match self {
            RejectionKind::Unsupported => "unsupported",
            RejectionKind::ProviderError => "provider error",
        }
    }
}

/// Why the load balancer refused one request: the v1 `error` value, and the
/// `error_fields` entry (request field at fault, message). Carried whole so a
/// consumer can tell a feature it must not ask for from a value it must fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `unsupported` or `provider error`.
    pub kind: RejectionKind,
    /// The request field at fault, as the interface spells it.
    pub field: String,
    /// What is wrong and what would work.
    pub message: String,
}

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
}
