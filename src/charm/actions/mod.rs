//! The charm's actions (`status`, `failover`, `pause`, `resume`), talking to
//! the running agent over its control socket. Every failure ends in an
//! `action-fail` message saying what to do next. `pause` and `resume` then
//! run the same reconcile as every hook, so the unit status follows.
//!
//! - [`agent_link`]: the control socket and the names of units and keys;
//! - [`status`], [`failover`], [`pause`]: one file per action.

pub mod agent_link;
pub mod failover;
pub mod pause;
pub mod status;

use anyhow::Context as _;
use serde_json::Value;

use crate::juju::context::HookContext;
use crate::juju::tools::HookTools;

use super::gather::gather;
use super::reconcile::reconcile;
use super::system::System;

/// Runs action `name`. Returns Err only for failures of the hook tools; the
/// action's own failures are reported with `action-fail`.
pub fn run(
    name: &str,
    ctx: &HookContext,
    tools: &dyn HookTools,
    sys: &System,
) -> anyhow::Result<()> {
    let inputs = gather(ctx, tools, sys)?;
    let outcome = match name {
        "status" => status::status(&inputs, sys),
        "failover" => {
            let params = tools
                .action_get()
                .context("reading the action parameters")?;
            let hold = match params.get("hold") {
                None | Some(Value::Null) => Ok(60),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| format!("hold must be a whole number of seconds, got {v}")),
            };
            match hold {
                Ok(hold) => failover::failover(&inputs, sys, hold),
                Err(e) => Err(e),
            }
        }
        "pause" => pause::pause_resume(&inputs, sys, true),
        "resume" => pause::pause_resume(&inputs, sys, false),
        other => Err(format!("unknown action {other:?}")),
    };
    match outcome {
        Ok(results) => tools.action_set(&results)?,
        Err(message) => tools.action_fail(&message)?,
    }
    if name == "pause" || name == "resume" {
        // The unit status (and keepalived, if that is the backend) follow the marker.
        reconcile(ctx, tools, sys)?;
    }
    Ok(())
}
