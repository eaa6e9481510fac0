//! The hook context: who we are and why we were started, read once from the
//! `JUJU_*` environment that the Juju unit agent sets for every hook and action.
//!
//! Everything the charm needs to know about the *event* comes from here; what it
//! needs to know about the *world* (config, relations, leadership) comes from the
//! hook tools in [`crate::juju::tools`].

mod names;
mod relation;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use names::{parse_unit_name, resolve_kind};
use relation::relation_ctx;

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

impl HookContext {
    /// Reads the context from this process's environment and argv[0].
    pub fn from_env() -> Result<HookContext, ContextError> {
        HookContext::from_env_named(None)
    }

    /// Like [`HookContext::from_env`], with the hook or action named explicitly
    /// (`config-changed`, `hooks/install`, `actions/failover`); the name wins over
    /// `JUJU_DISPATCH_PATH` and argv[0].
    pub fn from_env_named(name: Option<&str>) -> Result<HookContext, ContextError> {
        let argv0 = std::env::args_os()
            .next()
            .map(|a| a.to_string_lossy().into_owned());
        HookContext::from_lookup(name, argv0.as_deref(), |var| {
            std::env::var_os(var).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// Builds the context from any variable lookup (for tests and embedding).
    /// Empty values count as unset, as Juju never sets a meaningful empty one.
    pub fn from_lookup(
        name: Option<&str>,
        argv0: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<HookContext, ContextError> {
        let get = |var: &str| lookup(var).filter(|v| !v.is_empty());

        let kind = resolve_kind(name, argv0, &get)?;
        let unit_name = get("JUJU_UNIT_NAME").ok_or(ContextError::Missing {
            var: "JUJU_UNIT_NAME",
        })?;
        let (app_name, unit_number) =
            parse_unit_name(&unit_name).map_err(|reason| ContextError::Invalid {
                var: "JUJU_UNIT_NAME",
                value: unit_name.clone(),
                reason,
            })?;
        let charm_dir = get("JUJU_CHARM_DIR")
            .or_else(|| get("CHARM_DIR"))
            .map(PathBuf::from)
            .ok_or(ContextError::Missing {
                var: "JUJU_CHARM_DIR",
            })?;
        let relation = relation_ctx(&kind, &get)?;

        Ok(HookContext {
            unit_name,
            app_name,
            unit_number,
            kind,
            relation,
            charm_dir,
            principal_unit: get("JUJU_PRINCIPAL_UNIT"),
            model_name: get("JUJU_MODEL_NAME").unwrap_or_default(),
            model_uuid: get("JUJU_MODEL_UUID").unwrap_or_default(),
            juju_version: get("JUJU_VERSION").unwrap_or_default(),
        })
    }

    /// True when this run is a hook (not an action) named `name`.
    pub fn is_hook(&self, name: &str) -> bool {
        matches!(&self.kind, HookKind::Hook { name: n } if n == name)
    }
}
