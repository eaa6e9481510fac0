//! Performs a [`Plan`] through the `system` seam and the hook tools. Each step
//! only happens when needed: files are written only when their content
//! changes, and services are reloaded or restarted only when a file they
//! depend on changed, so a second run with unchanged inputs does nothing.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use crate::juju::tools::{HookTools, LogLevel, Status as JujuStatus, StatusState};

use super::checked_write::{write_checked, CheckedWrite, Refusal};
use super::paths;
use super::system::System;
use super::types::{Plan, ServiceAction, ServiceOp, State, Status, SysctlOp, When};

/// What an apply changed (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// On-unit paths written or removed.
    pub changed: BTreeSet<String>,
    /// systemctl / sysctl / apt-get steps run, as text.
    pub commands: Vec<String>,
    /// New files their own program refused (the old ones stay in place).
    pub refused: Vec<Refusal>,
}

/// Converts our status to the hook tool's.
pub fn juju_status(s: &Status) -> JujuStatus {
    let state = match s.state {
        State::Active => StatusState::Active,
        State::Waiting => StatusState::Waiting,
        State::Maintenance => StatusState::Maintenance,
        State::Blocked => StatusState::Blocked,
    };
    JujuStatus::new(state, super::status::capped(&s.message))
}

/// Applies `plan`: packages, files, sysctls, services, removals, purges,
/// then what Juju is told (relation data, version, status).
pub fn apply(plan: &Plan, sys: &System, tools: &dyn HookTools) -> anyhow::Result<Applied> {
    let mut done = Applied::default();
    for line in &plan.logs {
        let _ = tools.juju_log(LogLevel::Info, line);
    }
    install_packages(plan, sys, tools, &mut done)?;
    write_files(plan, sys, &mut done)?;
    for r in &done.refused {
        let _ = tools.juju_log(
            LogLevel::Error,
            &format!(
                "{} refused by {}; the old file stays:\n{}",
                r.path, r.checker, r.output
            ),
        );
    }
    apply_sysctls(plan, sys, &mut done)?;
    let due: Vec<&ServiceOp> = plan
        .services
        .iter()
        .filter(|op| op_is_due(op, &done) && !held(plan, op, &done))
        .collect();
    apply_service_ops(&due, sys, tools, &mut done)?;
    run_commands(plan, sys, &mut done)?;
    remove_files(plan, sys, &mut done)?;
    if !plan.purge_packages.is_empty() {
        let mut args = vec!["purge", "-y"];
        args.extend(plan.purge_packages.iter().map(String::as_str));
        sys.run_ok("apt-get", &args)?;
        done.commands.push(format!("apt-get {}", args.join(" ")));
    }
    tell_juju(plan, tools, &done.refused)?;
    // Everything succeeded: what this run read and wrote holds for the next.
    tools.keep_facts();
    Ok(done)
}

/// Whether `op` waits because a file its service reads was refused.
fn held(plan: &Plan, op: &ServiceOp, done: &Applied) -> bool {
    plan.file_checks
        .iter()
        .any(|c| c.holds.contains(&op.unit) && done.refused.iter().any(|r| r.path == c.path))
}

/// `apt-get install` of the plan's packages, with a maintenance status meanwhile.
fn install_packages(
    plan: &Plan,
    sys: &System,
    tools: &dyn HookTools,
    done: &mut Applied,
) -> anyhow::Result<()> {
    if plan.install_packages.is_empty() {
        return Ok(());
    }
    let _ = tools.status_set(
        JujuStatus::new(
            StatusState::Maintenance,
            format!("installing {}", plan.install_packages.join(", ")),
        ),
        false,
    );
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(plan.install_packages.iter().map(String::as_str));
    sys.run_ok("apt-get", &args)?;
    done.commands.push(format!("apt-get {}", args.join(" ")));
    Ok(())
}

/// Writes copies, then files, whose content or mode differs (copies first:
/// a checker may run a copied binary); a file with a validator only once
/// its program accepts it.
fn write_files(plan: &Plan, sys: &System, done: &mut Applied) -> anyhow::Result<()> {
    for c in &plan.copies {
        if sys.copy_if_changed(&c.from, &c.to, c.mode)? {
            done.changed.insert(c.to.clone());
        }
    }
    for f in &plan.files {
        let check = plan.file_checks.iter().find(|c| c.path == f.path);
        let changed = match check {
            None => sys.write_if_changed(&f.path, f.content.as_bytes(), f.mode)?,
            Some(c) => match write_checked(sys, f, &c.validator)? {
                CheckedWrite::Unchanged => false,
                CheckedWrite::Written => true,
                CheckedWrite::Refused(r) => {
                    done.refused.push(r);
                    false
                }
            },
        };
        if changed {
            done.changed.insert(f.path.clone());
        }
    }
    Ok(())
}

/// Loads changed sysctl files and sets single values.
fn apply_sysctls(plan: &Plan, sys: &System, done: &mut Applied) -> anyhow::Result<()> {
    for op in &plan.sysctls {
        match op {
            SysctlOp::LoadWhenChanged(file) if done.changed.contains(file) => {
                // sysctl reads its files itself; under a test root a shim re-roots it.
                sys.run_ok("sysctl", &["-p", file.as_str()])?;
                done.commands.push(format!("sysctl -p {file}"));
            }
            SysctlOp::LoadWhenChanged(_) => {}
            SysctlOp::Set(k, v) => {
                sys.run_ok("sysctl", &["-w", &format!("{k}={v}")])?;
                done.commands.push(format!("sysctl -w {k}={v}"));
            }
        }
    }
    Ok(())
}

/// Whether a service step runs, given what changed so far.
fn op_is_due(op: &ServiceOp, done: &Applied) -> bool {
    match &op.when {
        When::Always => true,
        When::Changed { any_of, unless } => {
            any_of.iter().any(|p| done.changed.contains(p))
                && !unless.iter().any(|p| done.changed.contains(p))
        }
    }
}

/// Runs the due service steps in order, one systemctl call per step except
/// that an enable next to a start of the same unit is one `enable --now`, and
/// a stop next to a disable one `disable --now` (systemctl enables, then
/// starts; disables, then stops), one round trip to systemd instead of two.
/// A daemon-reload is left out when an enable or disable comes right after it
/// or already ran: `systemctl enable` and `disable` reload the manager's
/// configuration themselves (before the `--now` start or stop), and no unit
/// file is written while the steps run.
fn apply_service_ops(
    ops: &[&ServiceOp],
    sys: &System,
    tools: &dyn HookTools,
    done: &mut Applied,
) -> anyhow::Result<()> {
    let mut rest = ops;
    let mut reloaded = false;
    while let Some((first, after)) = rest.split_first() {
        if first.action == ServiceAction::DaemonReload && (reloaded || reloads_first(after)) {
            rest = after;
            continue;
        }
        reloaded |= reloads(&first.action);
        if let Some(verb) = after.first().and_then(|second| now_verb(first, second)) {
            systemctl(sys, done, &[verb, "--now", first.unit.as_str()])?;
            reloaded = true;
            rest = &after[1..];
            continue;
        }
        apply_service_op(first, sys, tools, done)?;
        rest = after;
    }
    Ok(())
}

/// Whether systemctl reloads the manager's configuration when doing `action`.
fn reloads(action: &ServiceAction) -> bool {
    matches!(
        action,
        ServiceAction::DaemonReload | ServiceAction::Enable | ServiceAction::Disable
    )
}

/// Whether the first of `ops` reloads the manager's configuration before it
/// starts or stops anything: an enable or disable, alone or with `--now`.
fn reloads_first(ops: &[&ServiceOp]) -> bool {
    match ops {
        [first, second, ..] if now_verb(first, second).is_some() => true,
        [first, ..] => matches!(first.action, ServiceAction::Enable | ServiceAction::Disable),
        [] => false,
    }
}

/// The `--now` verb doing both steps, when `a` then `b` are an enable and a
/// start, or a stop and a disable, of one unit (in either order).
fn now_verb(a: &ServiceOp, b: &ServiceOp) -> Option<&'static str> {
    if a.unit != b.unit {
        return None;
    }
    match (&a.action, &b.action) {
        (ServiceAction::Enable, ServiceAction::Start)
        | (ServiceAction::Start, ServiceAction::Enable) => Some("enable"),
        (ServiceAction::Stop, ServiceAction::Disable)
        | (ServiceAction::Disable, ServiceAction::Stop) => Some("disable"),
        _ => None,
    }
}

/// One systemctl step.
fn apply_service_op(
    op: &ServiceOp,
    sys: &System,
    tools: &dyn HookTools,
    done: &mut Applied,
) -> anyhow::Result<()> {
    let unit = op.unit.as_str();
    let verb = match op.action {
        ServiceAction::DaemonReload => return systemctl(sys, done, &["daemon-reload"]),
        ServiceAction::Enable => "enable",
        ServiceAction::Disable => "disable",
        ServiceAction::Start => "start",
        ServiceAction::Stop => "stop",
        ServiceAction::Restart => "restart",
        ServiceAction::Reload => "reload",
        // After a handover the old agent is gone with its VIPs still in
        // place: `start` brings up the new binary (a no-op if systemd's
        // Restart= already did) and never stops an agent that adopted the
        // VIPs. Without a handover, a plain (graceful) restart.
        ServiceAction::HandoverRestart if handover(sys, tools) => "start",
        ServiceAction::HandoverRestart => "restart",
    };
    systemctl(sys, done, &[verb, unit])
}

/// Runs the plan's due programs (after the systemd steps), unless held
/// like their unit's steps.
fn run_commands(plan: &Plan, sys: &System, done: &mut Applied) -> anyhow::Result<()> {
    for c in &plan.commands {
        let op = ServiceOp::new(&c.unit, ServiceAction::Reload, c.when.clone());
        if op_is_due(&op, done) && !held(plan, &op, done) {
            sys.run_ok(&c.program, &c.args)?;
            done.commands
                .push(format!("{} {}", c.program, c.args.join(" ")));
        }
    }
    Ok(())
}

/// Removes files and directories, then has systemd forget a removed unit.
fn remove_files(plan: &Plan, sys: &System, done: &mut Applied) -> anyhow::Result<()> {
    let mut removed = Vec::new();
    for f in &plan.remove_files {
        if sys.remove_file(f)? {
            removed.push(f);
        }
    }
    for d in &plan.remove_dirs {
        if sys.remove_dir_all(d)? {
            removed.push(d);
        }
    }
    done.changed.extend(removed.iter().map(|p| p.to_string()));
    // Written unit files were reloaded by the plan's own DaemonReload steps;
    // only a removed one still needs systemd to forget it.
    let unit_removed = removed
        .iter()
        .any(|p| p.starts_with("/etc/systemd/system/"));
    if plan.final_daemon_reload && unit_removed {
        systemctl(sys, done, &["daemon-reload"])?;
    }
    Ok(())
}

/// Relation data, workload version and statuses (blocked, naming the file
/// and its checker's first error line, when a new file was refused).
fn tell_juju(plan: &Plan, tools: &dyn HookTools, refused: &[Refusal]) -> anyhow::Result<()> {
    for set in &plan.relation_sets {
        tools
            .relation_set(&set.relation_id, &set.data, set.app)
            .with_context(|| format!("publishing data on {}", set.relation_id))?;
    }
    if let Some(v) = &plan.workload_version {
        tools.application_version_set(v)?;
    }
    let unit_status = match refused.first() {
        Some(r) => Status::new(
            State::Blocked,
            format!(
                "{} refused by {}: {} (old file kept)",
                r.path, r.checker, r.first_line
            ),
        ),
        None => plan.unit_status.clone(),
    };
    tools.status_set(juju_status(&unit_status), false)?;
    if let Some(app) = &plan.app_status {
        tools.status_set(juju_status(app), true)?;
    }
    Ok(())
}

fn systemctl(sys: &System, done: &mut Applied, args: &[&str]) -> anyhow::Result<()> {
    sys.run_ok("systemctl", args)?;
    done.commands.push(format!("systemctl {}", args.join(" ")));
    Ok(())
}

/// Asks the running agent to exit keeping its VIPs and waits (up to 5 s) for
/// its process to be gone. Returns whether it handed over; an agent that does
/// not answer or refuses is left to a normal restart.
fn handover(sys: &System, tools: &dyn HookTools) -> bool {
    let socket = sys.path(paths::CONTROL_SOCKET);
    let timeout = Duration::from_secs(2);
    let old_pid = crate::agent::client::request(&socket, &json!({"cmd": "status"}), timeout)
        .ok()
        .and_then(|r| r["pid"].as_u64());
    match crate::agent::client::request(&socket, &json!({"cmd": "handover"}), timeout) {
        Ok(reply) if reply["ok"].as_bool() == Some(true) => {
            let gone = || match old_pid {
                Some(pid) => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                None => std::os::unix::net::UnixStream::connect(&socket).is_err(),
            };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && !gone() {
                std::thread::sleep(Duration::from_millis(10));
            }
            if !gone() {
                let _ = tools.juju_log(
                    LogLevel::Warning,
                    "the agent accepted the handover but is still running after 5 s; restarting it",
                );
                return false;
            }
            true
        }
        Ok(reply) => {
            let _ = tools.juju_log(
                LogLevel::Warning,
                &format!("agent refused handover: {reply}; restarting"),
            );
            false
        }
        Err(e) => {
            let _ = tools.juju_log(LogLevel::Info, &format!("no handover ({e:#}); restarting"));
            false
        }
    }
}
