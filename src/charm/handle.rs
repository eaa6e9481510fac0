//! The charm's entry point from the hook runtime, handed to
//! `juju::dispatch::run` by `main.rs`: a hook runs the reconcile, an action
//! goes to [`super::actions`].

use crate::juju::context::{HookContext, HookKind};
use crate::juju::tools::HookTools;

use super::actions;
use super::reconcile::reconcile;
use super::system::System;

/// Handles one hook or action run of this unit.
pub fn handle(ctx: &HookContext, tools: &dyn HookTools) -> anyhow::Result<()> {
    let sys = System::from_env();
    match &ctx.kind {
        HookKind::Hook { .. } => reconcile(ctx, tools, &sys).map(|_| ()),
        HookKind::Action { name } => actions::run(name, ctx, tools, &sys),
    }
}
