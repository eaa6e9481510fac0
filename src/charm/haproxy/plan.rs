//! The HAProxy planner: from the proxy needs of the `lb-consumers` planner
//! ([`ProxyNeed`]), the load-balancer options and what the unit reports
//! (package, services, listening sockets, HAProxy's runtime stats), decide
//! the files, package and systemd steps, which requests are refused, and the
//! status text. Pure; `charm::plan` folds the result into its `Plan` through
//! [`super::seam`].

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::frontend::Timeouts;
use super::model::{LoadBalancerModel, MONITOR_URL};
use super::names::HaproxyPaths;
use super::names::{
    HAPROXY_CONFIG, HAPROXY_INSTALLED_MARKER, HAPROXY_PACKAGE, HAPROXY_SERVICE, HAPROXY_UNIT_FILE,
};
use super::options::{LbOptions, LoadBalancerMode};
use super::owners::owners_of;
use super::ports::{blocked_message, find_conflicts, is_our_haproxy};
use super::render::render_haproxy_unit;
use super::requests::{add_requests, refuse_all, refuse_all_without_proxy, refuse_conflicting};
use super::services::{rollout, Installed};
use super::stats::status_fragment;
use super::validated::checked_config;
use crate::charm::types::{
    BackendHealth, HealthCheck, Listener, PortOwners, ProxyNeed, ProxyOutcome, ServiceOp,
    ServiceState,
};

/// What the load balancer reads of the world, gathered once by the hook.
#[derive(Debug, Clone, Copy)]
pub struct LbInputs<'a> {
    /// The validated options.
    pub options: &'a LbOptions,
    /// The VIPs (HAProxy binds each of them).
    pub vips: &'a [IpAddr],
    /// Every unit's address, this one included (worker-ingress backends).
    pub unit_addresses: &'a [IpAddr],
    /// `$K8S_VIP_ROOT` (`/` on a unit).
    pub root: &'a Path,
    /// `/usr/sbin/haproxy` exists.
    pub haproxy_installed: bool,
    /// The charm installed the package (marker present).
    pub haproxy_installed_by_us: bool,
    /// k8s-vip-haproxy.service.
    pub service: ServiceState,
    /// The distribution's haproxy.service.
    pub distro_service: ServiceState,
    /// Listening TCP sockets on the unit ([`super::ports::read_listeners`]).
    pub listeners: &'a [Listener],
    /// HAProxy's view of its backends, when its stats socket answered.
    pub health: Option<&'a [BackendHealth]>,
    /// Where to serve the Prometheus exporter, if anywhere.
    pub exporter: Option<SocketAddr>,
    /// The HAProxy binary every new haproxy.cfg is checked with
    /// (`haproxy -c`) before it is planned; none: unchecked.
    pub check_with: Option<&'a Path>,
    /// Port owners remembered from earlier hooks ([`super::owners`]).
    pub port_owners: &'a PortOwners,
}

/// The load balancer's share of the hook's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LbPlan {
    /// Refused requests, files and services, in the charm's proxy-seam terms.
    pub outcome: ProxyOutcome,
    /// Packages to install (before the files and services).
    pub install_packages: Vec<String>,
    /// Packages to purge (teardown).
    pub purge_packages: Vec<String>,
    /// Files to delete.
    pub remove_files: Vec<String>,
    /// Why the unit must be `blocked` (port conflict, bad ingress-ports).
    pub blocked: Option<String>,
    /// Text to append to the active status, e.g. `3/3 API servers up`.
    pub status_suffix: Option<String>,
    /// The agent health check to add while HAProxy runs (`health-check=auto`).
    pub agent_check_url: Option<&'static str>,
    /// Lines for `juju-log`.
    pub logs: Vec<String>,
}

/// Plans HAProxy for `needs` (the requests the VIP cannot serve directly)
/// and the `ingress-ports` option. A request that cannot be served (bad
/// values, a port another process holds, a config HAProxy refuses) is
/// refused alone; the others keep their frontends.
pub fn plan_load_balancer(needs: &[ProxyNeed], lb: &LbInputs<'_>) -> LbPlan {
    let mut out = LbPlan::default();
    let paths = HaproxyPaths::under(lb.root);
    let mut model = build_model(needs, lb, &paths, &mut out);
    // A request whose port another process holds is refused alone; the
    // monitor or an ingress port held blocks the unit, and nothing is written.
    let ours = |l: &Listener| is_our_haproxy(l, &paths.config);
    let conflicts = find_conflicts(&model.bind_addresses(), lb.listeners, &ours);
    let blocking = refuse_conflicting(&mut model, &conflicts, needs, &mut out.outcome.rejected);
    if !blocking.is_empty() {
        let msg = blocked_message(&blocking);
        out.logs.push(msg.clone());
        out.blocked = Some(msg);
        return out;
    }
    out.outcome.port_owners = Some(owners_of(&model, needs, &out.outcome.rejected));
    if !lb.options.mode.haproxy_wanted(!model.is_empty()) {
        remove_haproxy(lb, &mut out);
        return out;
    }
    let cfg = match checked_config(&mut model, needs, lb.check_with, &mut out.outcome.rejected) {
        Ok(cfg) => cfg,
        Err(why) => {
            // The running haproxy.cfg stays as it is; so do the owners.
            out.outcome.port_owners = None;
            out.logs.push(why);
            return out;
        }
    };
    out.outcome.port_owners = Some(owners_of(&model, needs, &out.outcome.rejected));
    let unit = match render_haproxy_unit(&paths) {
        Ok(u) => u,
        Err(e) => {
            out.blocked = Some(format!("internal error rendering HAProxy config: {e}"));
            out.logs
                .push(format!("rendering the HAProxy unit failed: {e:#}"));
            refuse_all(
                needs,
                &mut out.outcome.rejected,
                "the load balancer could not be configured",
            );
            return out;
        }
    };
    let r = rollout(&installed(lb), cfg, unit);
    out.install_packages = r.install_packages;
    out.outcome.files = r.files;
    out.outcome.services = r.services;
    out.agent_check_url = Some(MONITOR_URL);
    if let Some(h) = lb.health {
        let fragment = status_fragment(&model, h);
        if !fragment.is_empty() {
            out.status_suffix = Some(fragment);
        }
    }
    out
}

/// The model of the requests HAProxy can serve and of the ingress ports.
/// Requests are refused one by one into `out` (under `load-balancer=off`
/// every one of them); ingress ports that cannot be served set `out.blocked`.
fn build_model(
    needs: &[ProxyNeed],
    lb: &LbInputs<'_>,
    paths: &HaproxyPaths,
    out: &mut LbPlan,
) -> LoadBalancerModel {
    let mut model =
        LoadBalancerModel::new(paths.clone(), Timeouts::with_idle(lb.options.idle_timeout));
    model.exporter = lb.exporter;
    if lb.options.mode == LoadBalancerMode::Off {
        refuse_all_without_proxy(needs, &mut out.outcome.rejected);
        if !lb.options.ingress_ports.is_empty() {
            out.blocked = Some(
                "ingress-ports needs the load balancer: set load-balancer=auto (or on), or unset ingress-ports"
                    .to_string(),
            );
        }
    } else {
        let ctx = super::requests::AddContext {
            vips: lb.vips,
            any_backend: lb.options.any_backend_address,
            port_owners: lb.port_owners,
        };
        add_requests(
            &mut model,
            needs,
            &ctx,
            &mut out.outcome.rejected,
            &mut out.logs,
        );
        if let Err(e) = model.add_ingress(&lb.options.ingress_ports, lb.unit_addresses, lb.vips) {
            out.blocked = Some(e.to_string());
            out.logs.push(format!("load balancer: {e}"));
        }
    }
    model
}

fn installed(lb: &LbInputs<'_>) -> Installed {
    Installed {
        package: lb.haproxy_installed,
        by_us: lb.haproxy_installed_by_us,
        service: lb.service,
        distro_service: lb.distro_service,
    }
}

/// stop / remove: stop and disable our HAProxy, delete its files, purge the
/// package when the charm installed it.
pub fn teardown_load_balancer(lb: &LbInputs<'_>) -> LbPlan {
    let mut out = LbPlan::default();
    remove_haproxy(lb, &mut out);
    if lb.haproxy_installed_by_us {
        if lb.haproxy_installed {
            out.purge_packages.push(HAPROXY_PACKAGE.into());
        }
        out.remove_files.push(HAPROXY_INSTALLED_MARKER.into());
    }
    out
}

fn remove_haproxy(lb: &LbInputs<'_>, out: &mut LbPlan) {
    out.outcome
        .services
        .extend(ServiceOp::take_out_of_use(HAPROXY_SERVICE, &lb.service));
    out.remove_files.push(HAPROXY_CONFIG.into());
    out.remove_files.push(HAPROXY_UNIT_FILE.into());
}

impl LbPlan {
    /// The plan in the charm's proxy-seam terms.
    pub fn into_outcome(self) -> ProxyOutcome {
        let mut o = self.outcome;
        o.install_packages = self.install_packages;
        o.purge_packages = self.purge_packages;
        o.remove_files.extend(self.remove_files);
        o.blocked = self.blocked;
        o.status_note = self.status_suffix;
        o.auto_checks = self
            .agent_check_url
            .map(|url| HealthCheck::Http { url: url.into() })
            .into_iter()
            .collect();
        o.logs.extend(self.logs);
        o
    }
}
