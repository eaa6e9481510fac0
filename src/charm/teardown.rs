//! stop / remove: the plan that leaves the unit as it was before install.

use super::config::{self, VipAgent};
use super::paths;
use super::plan_types::{Inputs, Plan, ServiceOp, SysctlOp};
use super::proxy;
use super::status::{State, Status};

/// stop / remove: stop everything (the agent releases the VIP on SIGTERM),
/// remove what we wrote, restore sysctls, purge what we installed.
pub(super) fn teardown(inputs: &Inputs) -> Plan {
    let mut plan = Plan::empty(Status::new(State::Maintenance, "removing: VIP released"));
    let agent = paths::AGENT_SERVICE;
    let kad = paths::KEEPALIVED_SERVICE;
    plan.services
        .extend(ServiceOp::take_out_of_use(agent, &inputs.agent_service));
    let ours_keepalived = inputs.keepalived_installed_by_us
        || config::parse(&inputs.config, &inputs.app)
            .is_ok_and(|c| c.vip_agent == VipAgent::Keepalived);
    if ours_keepalived {
        plan.services
            .extend(ServiceOp::take_out_of_use(kad, &inputs.keepalived_service));
        plan.remove_files.push(paths::KEEPALIVED_CONFIG.into());
    }
    if inputs.keepalived_installed_by_us && inputs.keepalived_installed {
        plan.purge_packages.push("keepalived".into());
    }
    if let Some(saved) = &inputs.sysctl_before {
        for line in saved.lines() {
            if let Some((k, v)) = line.split_once('=') {
                if inputs.sysctl_now.get(k.trim()).map(String::as_str) != Some(v.trim()) {
                    plan.sysctls
                        .push(SysctlOp::Set(k.trim().into(), v.trim().into()));
                }
            }
        }
    }
    plan.remove_files.extend(
        [
            paths::AGENT_UNIT_FILE,
            paths::AGENT_CONFIG,
            paths::AGENT_BINARY,
            paths::SYSCTL_FILE,
        ]
        .iter()
        .map(|p| p.to_string()),
    );
    // The load balancer's share of the teardown.
    let lb = proxy::teardown_proxy(inputs);
    plan.services.extend(lb.services);
    plan.remove_files.extend(lb.remove_files);
    plan.purge_packages.extend(lb.purge_packages);
    plan.logs.extend(lb.logs);
    plan.remove_dirs
        .extend(paths::OWNED_DIRS.iter().map(|d| d.to_string()));
    plan.remove_dirs.push("/run/k8s-vip".into());
    plan.final_daemon_reload = true;
    plan
}
