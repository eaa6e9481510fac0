//! The charm's single entry point from the hook runtime: every hook runs the
//! same reconcile (read the world, plan, apply); actions go to
//! [`super::actions`].

use crate::juju::context::{HookContext, HookKind};
use crate::juju::tools::HookTools;

use super::apply::{apply, Applied};
use super::gather::gather;
use super::plan::plan;
use super::system::System;

/// Handles one hook or action run of this unit.
pub fn handle(ctx: &HookContext, tools: &dyn HookTools) -> anyhow::Result<()> {
    let sys = System::from_env();
    match &ctx.kind {
        HookKind::Hook { .. } => reconcile(ctx, tools, &sys).map(|_| ()),
        HookKind::Action { name } => super::actions::run(name, ctx, tools, &sys),
    }
}

/// One reconcile: gather, plan, apply.
pub fn reconcile(
    ctx: &HookContext,
    tools: &dyn HookTools,
    sys: &System,
) -> anyhow::Result<Applied> {
    let inputs = gather(ctx, tools, sys)?;
    let plan = plan(&inputs);
    apply(&plan, sys, tools)
}
