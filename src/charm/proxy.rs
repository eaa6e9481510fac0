//! The seam between the VIP part of the plan and the load balancer (HAProxy,
//! owned by the lb branch in `charm::haproxy`).
//!
//! Every hook, the plan calls [`plan_proxy`] with the `lb-consumers` requests
//! the VIP cannot serve "direct" (as [`ProxyNeed`]s), the whole [`Inputs`]
//! (for the load balancer's own options, the peers for worker ingress, ...)
//! and the validated [`Config`]. The answer ([`ProxyOutcome`]) joins the plan:
//! files, packages and services are applied with the VIP's, refused requests
//! are answered with the [`Rejection`]'s error (`unsupported` for a feature we
//! do not offer, `provider error` for a value we cannot serve) naming the field, `auto_checks`
//! join the agent's health checks when `health-check=auto`, `blocked` stops
//! the whole hook before anything is applied (e.g. a port conflict), and
//! `status_note` is appended to the unit status. At stop/remove,
//! [`teardown_proxy`] says what to stop and delete.
//!
//! The load balancer itself is `charm::haproxy::plan` (lb branch), which
//! provides the bodies of both functions.

use std::collections::BTreeMap;

use super::config::Config;
use super::haproxy;
use super::health::HealthCheck;
use super::plan::{FileSpec, Inputs, ServiceOp};

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

/// Plans the load balancer (`charm::haproxy`) for `needs` and the
/// load-balancer options, from the unit as `Inputs.lb` describes it.
pub fn plan_proxy(needs: &[ProxyNeed], inputs: &Inputs, cfg: &Config) -> ProxyOutcome {
    haproxy::plan::plan_proxy(needs, inputs, cfg, &inputs.lb)
}

/// What the load balancer leaves behind at stop/remove.
pub fn teardown_proxy(inputs: &Inputs) -> ProxyOutcome {
    haproxy::plan::teardown_proxy(inputs, &inputs.lb)
}
