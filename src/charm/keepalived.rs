//! keepalived's share of the plan (`vip-agent=keepalived`): the package
//! (remembered as ours when the charm installed it), keepalived.conf from
//! the same instances as agent.yaml, and the systemd steps, with the
//! built-in agent taken out of use first. keepalived.conf replaces the old
//! one only once `keepalived --config-test` accepts it; its `tcp:` checks
//! run `k8s-vip probe` (the charm's binary, installed as for the agent), no
//! shell. Also its unit status, which has no
//! state file to read.

use super::instances::Instance;
use super::paths;
use super::render::{self, RenderFailure};
use super::status;
use super::types::{Inputs, Part, ServiceAction, ServiceOp, State, Status, Validator, When};
use super::vip_agent;

/// The Debian/Ubuntu package.
pub const PACKAGE: &str = "keepalived";

/// Package, marker, keepalived.conf and systemd steps for `instances`.
pub fn plan(inputs: &Inputs, instances: &[Instance]) -> Result<Part, RenderFailure> {
    let mut part = Part::default();
    if !inputs.keepalived_installed {
        part.install_packages.push(PACKAGE.into());
    }
    if !inputs.keepalived_installed || inputs.keepalived_installed_by_us {
        part.file(
            paths::KEEPALIVED_INSTALLED_MARKER,
            format!("{PACKAGE}\n"),
            0o644,
        );
    }
    let probe = paths::rooted(&inputs.root, paths::AGENT_BINARY);
    let text =
        render::keepalived_conf(instances, &inputs.unit, &probe).map_err(|e| RenderFailure {
            status: format!("internal error rendering keepalived.conf: {e}"),
            log: format!("rendering keepalived.conf failed: {e:#}"),
        })?;
    // keepalived runs `k8s-vip probe` for tcp: checks.
    part.copies.extend(vip_agent::binary_copy(inputs));
    part.checked_file(
        paths::KEEPALIVED_CONFIG,
        text,
        0o644,
        Validator::keepalived(),
        &[paths::KEEPALIVED_SERVICE],
    );
    part.services.extend(ServiceOp::take_out_of_use(
        paths::AGENT_SERVICE,
        &inputs.agent_service,
    ));
    part.services.extend(service_steps(inputs));
    Ok(part)
}

/// Enable unless paused; stop when paused, reload on a new config, or start.
fn service_steps(inputs: &Inputs) -> Vec<ServiceOp> {
    let kad = paths::KEEPALIVED_SERVICE;
    let mut steps = Vec::new();
    if !inputs.keepalived_service.enabled && !inputs.paused {
        steps.push(ServiceOp::new(kad, ServiceAction::Enable, When::Always));
    }
    match (inputs.paused, inputs.keepalived_service.active) {
        (true, true) => steps.push(ServiceOp::new(kad, ServiceAction::Stop, When::Always)),
        (true, false) => {}
        (false, true) => steps.push(ServiceOp::new(
            kad,
            ServiceAction::Reload,
            When::changed(paths::KEEPALIVED_CONFIG),
        )),
        (false, false) => steps.push(ServiceOp::new(kad, ServiceAction::Start, When::Always)),
    }
    steps
}

/// stop / remove: take keepalived out of use and delete its config when it
/// is ours (`ours`: the charm installed it or runs it), purge the package
/// when the charm installed it.
pub fn teardown(inputs: &Inputs, ours: bool) -> Part {
    let mut part = Part::default();
    if ours {
        part.services.extend(ServiceOp::take_out_of_use(
            paths::KEEPALIVED_SERVICE,
            &inputs.keepalived_service,
        ));
        part.remove_files.push(paths::KEEPALIVED_CONFIG.into());
    }
    if inputs.keepalived_installed_by_us && inputs.keepalived_installed {
        part.purge_packages.push(PACKAGE.into());
    }
    part
}

/// The unit status under keepalived: paused, or the VIPs it floats (the
/// plan starts keepalived when it is not running; a failed start fails the
/// hook).
pub fn unit_status(inputs: &Inputs, instances: &[Instance]) -> Status {
    if inputs.paused {
        return Status::new(State::Maintenance, status::PAUSED);
    }
    let vips: Vec<String> = instances
        .iter()
        .map(|i| format!("{} (vrid {}, priority {})", i.vip, i.vrid, i.priority))
        .collect();
    Status::new(State::Active, format!("keepalived: {}", vips.join(", ")))
}
