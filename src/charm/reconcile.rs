//! One reconcile: gather the world, plan, apply. What every hook runs, and
//! what the `pause` / `resume` actions run after changing the pause marker.

use crate::juju::context::HookContext;
use crate::juju::tools::HookTools;

use super::apply::{apply, Applied};
use super::gather::gather;
use super::plan::plan;
use super::system::System;

/// Gathers [`super::types::Inputs`], plans, and applies the plan.
pub fn reconcile(
    ctx: &HookContext,
    tools: &dyn HookTools,
    sys: &System,
) -> anyhow::Result<Applied> {
    let inputs = gather(ctx, tools, sys)?;
    let plan = plan(&inputs);
    apply(&plan, sys, tools)
}
