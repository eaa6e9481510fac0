//! The built-in VIP agent's share of the plan (`vip-agent=builtin`): its
//! binary, agent.yaml and systemd unit, and the systemd steps that run it,
//! with keepalived taken out of use first so two VRRP speakers never overlap.
//! agent.yaml replaces the old one only once `k8s-vip agent --check` accepts it.

use super::bgp::names::BGP_INTERFACE;
use super::config::BgpOptions;
use super::instances::Instance;
use super::metrics_endpoint;
use super::paths;
use super::render::{self, AgentBgp, AgentPaths, RenderFailure};
use super::types::{CopySpec, Inputs, Part, ServiceAction, ServiceOp, Validator, When};
use super::unit_file;

/// Files, copies and systemd steps for the agent to float `instances`, or
/// to announce them through FRR in BGP mode (`bgp`).
pub fn plan(
    inputs: &Inputs,
    instances: &[Instance],
    bgp: Option<&BgpOptions>,
) -> Result<Part, RenderFailure> {
    let mut part = Part::default();
    let agent_paths = AgentPaths {
        control_socket: paths::rooted(&inputs.root, paths::CONTROL_SOCKET),
        state_file: paths::rooted(&inputs.root, paths::STATE_FILE),
        pause_file: paths::rooted(&inputs.root, paths::PAUSE_FILE),
        metrics_listen: metrics_endpoint::listen(inputs).map(|a| a.to_string()),
        bgp: bgp.map(|b| AgentBgp {
            interface: BGP_INTERFACE.into(),
            ecmp: b.ecmp,
        }),
    };
    let text = render::agent_yaml(instances, &agent_paths).map_err(|e| RenderFailure {
        status: format!("internal error rendering agent.yaml: {e}"),
        log: format!("rendering agent.yaml failed: {e:#}"),
    })?;
    part.checked_file(
        paths::AGENT_CONFIG,
        text,
        0o644,
        Validator::agent(),
        &[paths::AGENT_SERVICE],
    );
    let marker = metrics_endpoint::marker_content(inputs);
    part.file(metrics_endpoint::LISTEN_MARKER, marker, 0o644);
    part.file(
        paths::AGENT_UNIT_FILE,
        unit_file::agent_unit(&inputs.root),
        0o644,
    );
    part.copies.extend(binary_copy(inputs));
    // The other backend goes first, so two VRRP speakers never overlap.
    part.services.extend(ServiceOp::take_out_of_use(
        paths::KEEPALIVED_SERVICE,
        &inputs.keepalived_service,
    ));
    part.services.extend(service_steps(inputs));
    Ok(part)
}

/// The charm's binary copied to its on-unit path, at install and upgrade
/// or when missing: the agent runs it, and keepalived runs its `probe`.
pub fn binary_copy(inputs: &Inputs) -> Option<CopySpec> {
    let due =
        inputs.hook == "install" || inputs.hook == "upgrade-charm" || !inputs.agent_binary_present;
    due.then(|| CopySpec {
        from: inputs.charm_dir.join("bin").join("k8s-vip"),
        to: paths::AGENT_BINARY.to_string(),
        mode: 0o755,
    })
}

/// daemon-reload when the unit file changed, enable, then a hitless restart
/// for a new binary or unit file, a reload for a new config, or a start.
fn service_steps(inputs: &Inputs) -> Vec<ServiceOp> {
    let agent = paths::AGENT_SERVICE;
    let mut steps = vec![ServiceOp::new(
        agent,
        ServiceAction::DaemonReload,
        When::changed(paths::AGENT_UNIT_FILE),
    )];
    if !inputs.agent_service.enabled {
        steps.push(ServiceOp::new(agent, ServiceAction::Enable, When::Always));
    }
    if inputs.agent_service.active {
        steps.push(ServiceOp::new(
            agent,
            ServiceAction::HandoverRestart,
            When::Changed {
                any_of: vec![
                    paths::AGENT_BINARY.into(),
                    paths::AGENT_UNIT_FILE.into(),
                    // The agent binds its metrics endpoint only at start.
                    metrics_endpoint::LISTEN_MARKER.into(),
                ],
                unless: Vec::new(),
            },
        ));
        steps.push(ServiceOp::new(
            agent,
            ServiceAction::Reload,
            When::Changed {
                any_of: vec![paths::AGENT_CONFIG.into()],
                unless: vec![
                    paths::AGENT_BINARY.into(),
                    paths::AGENT_UNIT_FILE.into(),
                    metrics_endpoint::LISTEN_MARKER.into(),
                ],
            },
        ));
    } else {
        steps.push(ServiceOp::new(agent, ServiceAction::Start, When::Always));
    }
    steps
}

/// stop / remove: stop and disable the agent (it releases the VIPs on
/// SIGTERM) and delete its files.
pub fn teardown(inputs: &Inputs) -> Part {
    let mut part = Part::default();
    part.services.extend(ServiceOp::take_out_of_use(
        paths::AGENT_SERVICE,
        &inputs.agent_service,
    ));
    part.remove_files.extend(
        [
            paths::AGENT_UNIT_FILE,
            paths::AGENT_CONFIG,
            paths::AGENT_BINARY,
            metrics_endpoint::LISTEN_MARKER,
        ]
        .iter()
        .map(|p| p.to_string()),
    );
    part
}
