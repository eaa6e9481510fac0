//! The charm's single entry point from the hook runtime: one call per hook or
//! action run. This first version only proves the runtime end to end (a status
//! from `virtual-ip`, actions echo their parameters); the charm logic replaces it.

use std::collections::BTreeMap;

use anyhow::Context;

use crate::juju::context::{HookContext, HookKind};
use crate::juju::tools::{HookTools, Status, StatusState};

/// Handles one hook or action run of this unit.
pub fn handle(ctx: &HookContext, tools: &dyn HookTools) -> anyhow::Result<()> {
    match &ctx.kind {
        HookKind::Hook { .. } => reconcile_status(tools),
        HookKind::Action { name } => echo_action(name, tools),
    }
}

/// Sets the unit status from the `virtual-ip` option.
fn reconcile_status(tools: &dyn HookTools) -> anyhow::Result<()> {
    let config = tools.config_get().context("reading the charm config")?;
    let vip = config
        .get("virtual-ip")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .trim();
    let status = if vip.is_empty() {
        Status::new(StatusState::Blocked, "set the virtual-ip option")
    } else {
        Status::new(StatusState::Active, format!("VIP {vip}"))
    };
    tools.status_set(status, false)?;
    Ok(())
}

/// Returns the action's parameters as its results.
fn echo_action(name: &str, tools: &dyn HookTools) -> anyhow::Result<()> {
    let params = tools
        .action_get()
        .context("reading the action parameters")?;
    let mut results = BTreeMap::from([("action".to_string(), name.to_string())]);
    for (key, value) in params {
        let text = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        results.insert(format!("params.{key}"), text);
    }
    tools.action_set(&results)?;
    Ok(())
}
