//! The seam between the VIP part of the plan and the load balancer (HAProxy,
//! owned by the lb branch in `charm::haproxy`).
//!
//! Every hook, the plan calls [`plan_proxy`] with the `lb-consumers` requests
//! the VIP cannot serve "direct" (as [`ProxyNeed`]s), the whole [`Inputs`]
//! (for the load balancer's own options, the peers for worker ingress, ...)
//! and the validated [`Config`]. The answer ([`ProxyOutcome`]) joins the plan:
//! files, packages and services are applied with the VIP's, refused requests
//! are answered with an `unsupported` error naming the field, `auto_checks`
//! join the agent's health checks when `health-check=auto`, `blocked` stops
//! the whole hook before anything is applied (e.g. a port conflict), and
//! `status_note` is appended to the unit status. At stop/remove,
//! [`teardown_proxy`] says what to stop and delete.
//!
//! The load balancer itself is `charm::haproxy::plan` (lb branch); this file
//! only translates between the two.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::config::Config;
use super::haproxy::options::LoadBalancerMode;
use super::haproxy::plan::{
    plan_load_balancer, teardown_load_balancer, LbInputs, LbOptions, LbPlan,
};
use super::health::HealthCheck;
use super::peers;
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

/// What the load balancer answers for a hook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyOutcome {
    /// Requests (relation id, name) refused: field name -> message for `error_fields`.
    pub rejected: BTreeMap<(String, String), (String, String)>,
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
/// load-balancer options.
pub fn plan_proxy(needs: &[ProxyNeed], inputs: &Inputs, cfg: &Config) -> ProxyOutcome {
    let options = match LbOptions::from_config(&inputs.config) {
        Ok(o) => o,
        Err(e) => {
            let mut out = refuse_all(needs, "the load balancer options are invalid");
            out.blocked = Some(format!("{}: {}", e.option, e.message));
            return out;
        }
    };
    let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
    let units = unit_addresses(inputs);
    let lb = lb_inputs(inputs, &options, &vips, &units);
    from_lb_plan(plan_load_balancer(needs, &lb))
}

/// What the load balancer leaves behind at stop/remove.
pub fn teardown_proxy(inputs: &Inputs) -> ProxyOutcome {
    let options = LbOptions::from_config(&inputs.config).unwrap_or(LbOptions {
        mode: LoadBalancerMode::Auto,
        idle_timeout: std::time::Duration::from_secs(600),
        ingress_ports: Vec::new(),
    });
    let units = unit_addresses(inputs);
    let lb = lb_inputs(inputs, &options, &[], &units);
    from_lb_plan(teardown_load_balancer(&lb))
}

/// This unit's primary address and every peer's, sorted (worker-ingress backends).
fn unit_addresses(inputs: &Inputs) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = inputs
        .network
        .ingress
        .first()
        .copied()
        .into_iter()
        .collect();
    out.extend(
        inputs
            .peers
            .iter()
            .filter_map(|p| p.data.get(peers::KEY_ADDRESS))
            .filter_map(|a| a.parse::<IpAddr>().ok()),
    );
    out.sort();
    out.dedup();
    out
}

fn lb_inputs<'a>(
    inputs: &'a Inputs,
    options: &'a LbOptions,
    vips: &'a [IpAddr],
    units: &'a [IpAddr],
) -> LbInputs<'a> {
    LbInputs {
        options,
        vips,
        unit_addresses: units,
        root: &inputs.root,
        haproxy_installed: inputs.lb.haproxy_installed,
        haproxy_installed_by_us: inputs.lb.haproxy_installed_by_us,
        service: inputs.lb.service,
        distro_service: inputs.lb.distro_service,
        listeners: &inputs.lb.listeners,
        health: inputs.lb.health.as_deref(),
    }
}

fn from_lb_plan(lb: LbPlan) -> ProxyOutcome {
    let mut out = lb.outcome;
    out.install_packages.extend(lb.install_packages);
    out.purge_packages.extend(lb.purge_packages);
    out.remove_files.extend(lb.remove_files);
    out.blocked = out.blocked.or(lb.blocked);
    out.status_note = out.status_note.or(lb.status_suffix);
    if let Some(url) = lb.agent_check_url {
        out.auto_checks.push(HealthCheck::Http {
            url: url.to_string(),
        });
    }
    out.logs.extend(lb.logs);
    out
}

fn refuse_all(needs: &[ProxyNeed], why: &str) -> ProxyOutcome {
    let mut out = ProxyOutcome::default();
    for need in needs {
        let key = (need.relation_id.clone(), need.request.clone());
        let msg = format!(
            "port {} -> {} needs a proxy ({}), but {why}",
            need.frontend_port, need.backend_port, need.not_direct_because
        );
        out.rejected
            .entry(key)
            .or_insert(("port_mapping".to_string(), msg));
    }
    out
}
