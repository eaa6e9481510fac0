//! The system part of the plan for a valid config: sysctls, the VIP agent or
//! keepalived (files, packages, services), so exactly one VRRP speaker runs.

use super::config::{Config, VipAgent};
use super::instances::Instance;
use super::paths;
use super::plan::rooted;
use super::plan_types::{CopySpec, Inputs, Plan, ServiceAction, ServiceOp, SysctlOp, When};
use super::render::{self, AgentPaths};
use super::status::{State, Status};
use super::unit_file;

/// Files, packages, sysctls and services for a valid config.
pub(super) fn plan_system(inputs: &Inputs, cfg: &Config, instances: &[Instance], plan: &mut Plan) {
    // Non-local bind lets HAProxy and the API server listen on a VIP they do not hold.
    if inputs.sysctl_before.is_none() {
        let saved: String = paths::SYSCTLS
            .iter()
            .filter_map(|(k, _)| inputs.sysctl_now.get(*k).map(|v| format!("{k}={v}\n")))
            .collect();
        plan.file(paths::SYSCTL_BEFORE, saved, 0o644);
    }
    let sysctl_conf: String = std::iter::once("# Written by the k8s-vip charm.\n".to_string())
        .chain(paths::SYSCTLS.iter().map(|(k, _)| format!("{k}=1\n")))
        .collect();
    plan.file(paths::SYSCTL_FILE, sysctl_conf, 0o644);
    plan.sysctls
        .push(SysctlOp::LoadWhenChanged(paths::SYSCTL_FILE.to_string()));

    let agent = paths::AGENT_SERVICE;
    let kad = paths::KEEPALIVED_SERVICE;
    match cfg.vip_agent {
        VipAgent::Builtin => {
            let agent_paths = AgentPaths {
                control_socket: rooted(&inputs.root, paths::CONTROL_SOCKET),
                state_file: rooted(&inputs.root, paths::STATE_FILE),
                pause_file: rooted(&inputs.root, paths::PAUSE_FILE),
            };
            match render::agent_yaml(instances, &agent_paths) {
                Ok(text) => plan.file(paths::AGENT_CONFIG, text, 0o644),
                Err(e) => {
                    plan.logs
                        .push(format!("rendering agent.yaml failed: {e:#}"));
                    plan.unit_status = Status::new(
                        State::Blocked,
                        format!("internal error rendering agent.yaml: {e}"),
                    );
                    return;
                }
            }
            plan.file(
                paths::AGENT_UNIT_FILE,
                unit_file::agent_unit(&inputs.root),
                0o644,
            );
            if inputs.hook == "install"
                || inputs.hook == "upgrade-charm"
                || !inputs.agent_binary_present
            {
                plan.copies.push(CopySpec {
                    from: inputs.charm_dir.join("bin").join("k8s-vip"),
                    to: paths::AGENT_BINARY.to_string(),
                    mode: 0o755,
                });
            }
            // The other backend goes first, so two VRRP speakers never overlap.
            plan.services
                .extend(ServiceOp::take_out_of_use(kad, &inputs.keepalived_service));
            plan.services.push(ServiceOp::new(
                agent,
                ServiceAction::DaemonReload,
                When::changed(paths::AGENT_UNIT_FILE),
            ));
            if !inputs.agent_service.enabled {
                plan.services
                    .push(ServiceOp::new(agent, ServiceAction::Enable, When::Always));
            }
            if inputs.agent_service.active {
                plan.services.push(ServiceOp::new(
                    agent,
                    ServiceAction::HandoverRestart,
                    When::Changed {
                        any_of: vec![paths::AGENT_BINARY.into(), paths::AGENT_UNIT_FILE.into()],
                        unless: Vec::new(),
                    },
                ));
                plan.services.push(ServiceOp::new(
                    agent,
                    ServiceAction::Reload,
                    When::Changed {
                        any_of: vec![paths::AGENT_CONFIG.into()],
                        unless: vec![paths::AGENT_BINARY.into(), paths::AGENT_UNIT_FILE.into()],
                    },
                ));
            } else {
                plan.services
                    .push(ServiceOp::new(agent, ServiceAction::Start, When::Always));
            }
        }
        VipAgent::Keepalived => {
            if !inputs.keepalived_installed {
                plan.install_packages.push("keepalived".into());
            }
            if !inputs.keepalived_installed || inputs.keepalived_installed_by_us {
                plan.file(
                    paths::KEEPALIVED_INSTALLED_MARKER,
                    "keepalived\n".into(),
                    0o644,
                );
            }
            match render::keepalived_conf(instances, &inputs.unit) {
                Ok(text) => plan.file(paths::KEEPALIVED_CONFIG, text, 0o644),
                Err(e) => {
                    plan.logs
                        .push(format!("rendering keepalived.conf failed: {e:#}"));
                    plan.unit_status = Status::new(
                        State::Blocked,
                        format!("internal error rendering keepalived.conf: {e}"),
                    );
                    return;
                }
            }
            plan.services
                .extend(ServiceOp::take_out_of_use(agent, &inputs.agent_service));
            if !inputs.keepalived_service.enabled && !inputs.paused {
                plan.services
                    .push(ServiceOp::new(kad, ServiceAction::Enable, When::Always));
            }
            match (inputs.paused, inputs.keepalived_service.active) {
                (true, true) => {
                    plan.services
                        .push(ServiceOp::new(kad, ServiceAction::Stop, When::Always))
                }
                (true, false) => {}
                (false, true) => plan.services.push(ServiceOp::new(
                    kad,
                    ServiceAction::Reload,
                    When::changed(paths::KEEPALIVED_CONFIG),
                )),
                (false, false) => {
                    plan.services
                        .push(ServiceOp::new(kad, ServiceAction::Start, When::Always))
                }
            }
        }
    }
}
