//! The hook context's types: what the environment says about a hook run
//! ([`HookContext`]) and why it may not describe one ([`ContextError`]). A
//! leaf: `context.rs` reads them from the environment with the helpers in
//! `names.rs` and `relation.rs`, which use these types without importing
//! `context.rs` back.

use std::path::PathBuf;

/// Why this process was started: a hook or an action, with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookKind {
    /// A hook such as `install` or `cluster-relation-changed`.
    Hook {
        /// The hook name without any `hooks/` prefix.
        name: String,
    },
    /// An action such as `failover`.
    Action {
        /// The action name without any `actions/` prefix.
        name: String,
    },
}

impl HookKind {
    /// The bare hook or action name.
    pub fn name(&self) -> &str {
        match self {
            HookKind::Hook { name } | HookKind::Action { name } => name,
        }
    }

    /// True for actions (which report through action-set/action-fail).
    pub fn is_action(&self) -> bool {
        matches!(self, HookKind::Action { .. })
    }
}

/// The relation a relation hook is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationCtx {
    /// The endpoint (relation name in metadata.yaml), e.g. `cluster`.
    pub endpoint: String,
    /// The relation id as hook tools take it, e.g. `cluster:3`.
    pub id: String,
    /// The remote unit that triggered the hook (absent in `-broken` and app-level changes).
    pub remote_unit: Option<String>,
    /// The remote application (always known on Juju >= 2.7).
    pub remote_app: Option<String>,
    /// The unit leaving the relation in `-departed` hooks.
    pub departing_unit: Option<String>,
}

/// Everything the environment says about this hook run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookContext {
    /// This unit, e.g. `k8s-vip/0`.
    pub unit_name: String,
    /// This unit's application, e.g. `k8s-vip`.
    pub app_name: String,
    /// This unit's number, e.g. `0`.
    pub unit_number: u32,
    /// The hook or action being run.
    pub kind: HookKind,
    /// Set in relation hooks only.
    pub relation: Option<RelationCtx>,
    /// The unpacked charm (the directory holding `dispatch`).
    pub charm_dir: PathBuf,
    /// The principal unit this subordinate is attached to, when Juju says.
    pub principal_unit: Option<String>,
    /// The model's name ("" when Juju did not say).
    pub model_name: String,
    /// The model's UUID ("" when Juju did not say).
    pub model_uuid: String,
    /// The Juju agent version ("" when Juju did not say).
    pub juju_version: String,
}

/// Why the environment does not describe a hook run we can handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// A variable Juju always sets is missing: we are probably not inside a hook.
    #[error("{var} is not set: run this through the charm's `dispatch` inside a Juju hook, or name the hook with `k8s-vip hook NAME` in a hook environment")]
    Missing {
        /// The missing variable.
        var: &'static str,
    },
    /// A variable is set but its value cannot be right.
    #[error("{var}={value:?} is invalid: {reason}")]
    Invalid {
        /// The offending variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing names the hook or action to run.
    #[error("cannot tell which hook or action to run: pass a name (`k8s-vip hook config-changed`) or set JUJU_DISPATCH_PATH (hooks/NAME or actions/NAME)")]
    NoHookName,
}
