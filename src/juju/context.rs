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
mod types;

use std::path::PathBuf;

use names::{parse_unit_name, resolve_kind};
use relation::relation_ctx;
pub use types::{ContextError, HookContext, HookKind, RelationCtx};

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
