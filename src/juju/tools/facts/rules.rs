//! Which remembered facts a hook makes stale: the table in the module docs
//! of [`super`], as code.

use crate::juju::context::{HookContext, HookKind, RelationCtx};

use super::model::Facts;

/// How long facts may go without a full read (seconds).
pub const FULL_READ_EVERY: u64 = 3600;

/// Hooks after which everything is read fresh: the unit's charm or series
/// changed, so nothing remembered is trusted.
///
/// Not `install`: on a new unit there are no facts yet, so it reads
/// everything anyway; facts it does find were kept by this very unit's
/// earlier hooks ([`Facts::unit`]), within the hour, so `install` run again
/// on a unit that is up reads no more than any other hook, and changes
/// nothing. Not `start`: it follows `install` or a reboot, and Juju keeps
/// the hooks a rebooted unit is owed, so what it announces still arrives.
const FULL_READ_HOOKS: &[&str] = &["upgrade-charm", "post-series-upgrade"];

/// Whether no remote unit of any relation has joined this unit yet, so
/// `relation-list` can only answer none: during `install`, the unit's first
/// hook (Juju lists a remote unit from its `-joined` hook on, and runs
/// those after `install`).
pub fn nobody_joined(ctx: &HookContext) -> bool {
    matches!(&ctx.kind, HookKind::Hook { name } if name == "install")
}

/// What a run may take from remembered facts.
#[derive(Debug, Clone, PartialEq)]
pub enum Recall {
    /// Nothing: read everything fresh.
    Nothing,
    /// These facts (the stale ones already forgotten).
    These(Box<Facts>),
}

/// The kind of a relation hook (`cluster-relation-joined` → `joined`).
fn relation_kind(name: &str) -> Option<&str> {
    ["created", "joined", "changed", "departed", "broken"]
        .into_iter()
        .find(|kind| name.ends_with(&format!("-relation-{kind}")))
}

/// The facts of `remembered` that a run of `ctx` at `now` (seconds since the
/// Unix epoch) may use.
pub fn forget(mut remembered: Facts, ctx: &HookContext, now: u64) -> Recall {
    let age = now.checked_sub(remembered.full_read_at);
    if !age.is_some_and(|a| a < FULL_READ_EVERY) || remembered.unit != ctx.unit_name {
        return Recall::Nothing;
    }
    let name = match &ctx.kind {
        HookKind::Action { .. } => return Recall::These(Box::new(remembered)),
        HookKind::Hook { name } => name.as_str(),
    };
    if FULL_READ_HOOKS.contains(&name) {
        return Recall::Nothing;
    }
    match name {
        "config-changed" => remembered.config = None,
        "leader-elected" => remembered.forget_leader_facts(&ctx.app_name),
        _ => {}
    }
    let (Some(kind), Some(rel)) = (relation_kind(name), &ctx.relation) else {
        return Recall::These(Box::new(remembered));
    };
    let facts = &mut remembered;
    let id = rel.id.as_str();
    if kind != "changed" {
        forget_ids(facts, rel, kind);
        facts.relation_list.remove(id);
    }
    match kind {
        "created" => {
            let ours = facts.bag(id, &ctx.unit_name, false).cloned();
            facts.forget_relation(id);
            known_at_creation(facts, ctx, ours);
        }
        "broken" => facts.forget_relation(id),
        "joined" => {
            if let Some(unit) = &rel.remote_unit {
                facts.forget_bag(id, unit, false);
            }
            forget_remote_app_bag(facts, ctx);
        }
        "changed" => {
            if let Some(unit) = &rel.remote_unit {
                facts.forget_bag(id, unit, false);
            }
            forget_remote_app_bag(facts, ctx);
        }
        _ => {
            for unit in [&rel.remote_unit, &rel.departing_unit]
                .into_iter()
                .flatten()
            {
                facts.forget_bag(id, unit, false);
            }
        }
    }
    Recall::These(Box::new(remembered))
}

/// Forgets the relation ids of the endpoint of `rel` when a hook of `kind`
/// (not `-changed`) may have changed them. Juju changes neither ids nor
/// members in a `-changed`: ids come with `-created` and `-broken`, members
/// with `-joined` and `-departed`. A `-joined` or `-departed` of a relation
/// the known ids do not list reads them again all the same (a Juju before
/// 2.8 runs no `-created`, so a new relation first shows in its `-joined`).
fn forget_ids(facts: &mut Facts, rel: &RelationCtx, kind: &str) {
    let listed = facts
        .relation_ids
        .get(&rel.endpoint)
        .is_some_and(|ids| ids.contains(&rel.id));
    if matches!(kind, "created" | "broken") || !listed {
        facts.relation_ids.remove(&rel.endpoint);
    }
}

/// What Juju guarantees in a relation's `-created` hook without asking: no
/// remote unit has joined yet (its `-joined` hooks follow), and our
/// application has written nothing to a relation with another application
/// that was just created. Our unit bag, `ours` if known, stays known (only
/// we write it; a peer relation exists from `install` on).
fn known_at_creation(
    facts: &mut Facts,
    ctx: &HookContext,
    ours: Option<crate::juju::tools::hook_tools::Bag>,
) {
    let Some(rel) = &ctx.relation else { return };
    if let Some(bag) = ours {
        facts
            .unit_bags
            .entry(rel.id.clone())
            .or_default()
            .insert(ctx.unit_name.clone(), bag);
    }
    facts.relation_list.insert(rel.id.clone(), Vec::new());
    let peer = rel.remote_app.as_deref() == Some(ctx.app_name.as_str());
    if !peer {
        facts
            .app_bags
            .entry(rel.id.clone())
            .or_default()
            .insert(ctx.app_name.clone(), Default::default());
    }
}

/// Forgets the remote application's bag in the hook's relation (every
/// application bag but ours when the hook does not name the application).
fn forget_remote_app_bag(facts: &mut Facts, ctx: &HookContext) {
    let Some(rel) = &ctx.relation else { return };
    match &rel.remote_app {
        Some(app) => facts.forget_bag(&rel.id, app, true),
        None => {
            if let Some(bags) = facts.app_bags.get_mut(&rel.id) {
                bags.retain(|app, _| *app == ctx.app_name);
            }
        }
    }
}

/// Trims what a successful run of `ctx` knows to what the next run may
/// believe: nothing of a relation its `-broken` hook ended (Juju still lists
/// it during that hook), and nothing only the leader writes when this run saw
/// the unit not lead.
pub fn after_run(facts: &mut Facts, ctx: &HookContext, leader: Option<bool>) {
    if let (HookKind::Hook { name }, Some(rel)) = (&ctx.kind, &ctx.relation) {
        if relation_kind(name) == Some("broken") {
            facts.relation_ids.remove(&rel.endpoint);
            facts.forget_relation(&rel.id);
        }
    }
    if leader == Some(false) {
        facts.forget_leader_facts(&ctx.app_name);
    }
}

#[cfg(test)]
mod tests;
