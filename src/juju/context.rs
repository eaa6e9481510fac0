//! The hook context: who we are and why we were started, read once from the
//! `JUJU_*` environment that the Juju unit agent sets for every hook and action.
//!
//! Everything the charm needs to know about the *event* comes from here; what it
//! needs to know about the *world* (config, relations, leadership) comes from the
//! hook tools in [`crate::juju::tools`].

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

/// Program names that are this binary itself, not a hook symlink.
const SELF_NAMES: &[&str] = &["k8s-vip", "dispatch"];

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

/// Decides hook vs action and its name: explicit name, then JUJU_DISPATCH_PATH,
/// then argv[0] (a hook symlink), then JUJU_ACTION_NAME / JUJU_HOOK_NAME.
fn resolve_kind(
    name: Option<&str>,
    argv0: Option<&str>,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<HookKind, ContextError> {
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        return kind_from_path(name, get).ok_or_else(|| ContextError::Invalid {
            var: "hook name",
            value: name.to_string(),
            reason: "expected NAME, hooks/NAME or actions/NAME".into(),
        });
    }
    if let Some(path) = get("JUJU_DISPATCH_PATH") {
        return kind_from_path(&path, get).ok_or_else(|| ContextError::Invalid {
            var: "JUJU_DISPATCH_PATH",
            value: path.clone(),
            reason: "expected hooks/NAME or actions/NAME".into(),
        });
    }
    if let Some(base) = argv0.and_then(basename) {
        if !SELF_NAMES.contains(&base) {
            return Ok(HookKind::Hook { name: base.into() });
        }
    }
    if let Some(name) = get("JUJU_ACTION_NAME") {
        return Ok(HookKind::Action { name });
    }
    if let Some(name) = get("JUJU_HOOK_NAME") {
        return Ok(HookKind::Hook { name });
    }
    Err(ContextError::NoHookName)
}

/// `hooks/NAME`, `actions/NAME` (possibly behind an absolute charm path), or a
/// bare NAME (an action if JUJU_ACTION_NAME says so, else a hook).
fn kind_from_path(path: &str, get: &impl Fn(&str) -> Option<String>) -> Option<HookKind> {
    let mut parts = path.rsplit('/');
    let name = parts.next().filter(|n| valid_event_name(n))?.to_string();
    match parts.next() {
        Some("actions") => Some(HookKind::Action { name }),
        Some("hooks") => Some(HookKind::Hook { name }),
        None if get("JUJU_ACTION_NAME").as_deref() == Some(name.as_str()) => {
            Some(HookKind::Action { name })
        }
        None => Some(HookKind::Hook { name }),
        Some(_) => None,
    }
}

/// Hook and action names are lowercase words joined by dashes (Juju enforces it).
fn valid_event_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn basename(path: &str) -> Option<&str> {
    path.rsplit('/').next().filter(|b| !b.is_empty())
}

/// `app/N` → (`app`, N).
fn parse_unit_name(unit: &str) -> Result<(String, u32), String> {
    let (app, number) = unit
        .split_once('/')
        .ok_or_else(|| "expected APP/NUMBER, e.g. k8s-vip/0".to_string())?;
    if app.is_empty() {
        return Err("the application part before '/' is empty".into());
    }
    let n = number
        .parse::<u32>()
        .map_err(|_| format!("unit number {number:?} is not a non-negative integer"))?;
    Ok((app.to_string(), n))
}

/// Hooks whose name says they are about a relation.
fn is_relation_hook(kind: &HookKind) -> bool {
    match kind {
        HookKind::Hook { name } => ["joined", "changed", "departed", "created", "broken"]
            .iter()
            .any(|suffix| name.ends_with(&format!("-relation-{suffix}"))),
        HookKind::Action { .. } => false,
    }
}

fn relation_ctx(
    kind: &HookKind,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<RelationCtx>, ContextError> {
    let id = match get("JUJU_RELATION_ID") {
        Some(id) => id,
        None if is_relation_hook(kind) => {
            return Err(ContextError::Missing {
                var: "JUJU_RELATION_ID",
            })
        }
        None => return Ok(None),
    };
    let (id_endpoint, number) = id.split_once(':').ok_or_else(|| ContextError::Invalid {
        var: "JUJU_RELATION_ID",
        value: id.clone(),
        reason: "expected ENDPOINT:NUMBER, e.g. cluster:3".into(),
    })?;
    if id_endpoint.is_empty() || number.parse::<u64>().is_err() {
        return Err(ContextError::Invalid {
            var: "JUJU_RELATION_ID",
            value: id.clone(),
            reason: "expected ENDPOINT:NUMBER, e.g. cluster:3".into(),
        });
    }
    let endpoint = get("JUJU_RELATION").unwrap_or_else(|| id_endpoint.to_string());
    if endpoint != id_endpoint {
        return Err(ContextError::Invalid {
            var: "JUJU_RELATION",
            value: endpoint,
            reason: format!("does not match JUJU_RELATION_ID {id:?}"),
        });
    }
    if let HookKind::Hook { name } = kind {
        if is_relation_hook(kind) && !name.starts_with(&format!("{endpoint}-relation-")) {
            return Err(ContextError::Invalid {
                var: "JUJU_RELATION",
                value: endpoint,
                reason: format!("hook {name:?} is about another relation"),
            });
        }
    }
    let remote_unit = get("JUJU_REMOTE_UNIT");
    let remote_app = get("JUJU_REMOTE_APP").or_else(|| {
        remote_unit
            .as_deref()
            .and_then(|u| u.split_once('/'))
            .map(|(app, _)| app.to_string())
    });
    Ok(Some(RelationCtx {
        endpoint,
        id,
        remote_unit,
        remote_app,
        departing_unit: get("JUJU_DEPARTING_UNIT"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut base: HashMap<String, String> = [
            ("JUJU_UNIT_NAME", "k8s-vip/2"),
            (
                "JUJU_CHARM_DIR",
                "/var/lib/juju/agents/unit-k8s-vip-2/charm",
            ),
            ("JUJU_MODEL_NAME", "k8s"),
            ("JUJU_MODEL_UUID", "5a1c0b38-0d5e-4f3b-8b0a-1c2d3e4f5a6b"),
            ("JUJU_VERSION", "3.4.2"),
            ("JUJU_PRINCIPAL_UNIT", "kubernetes-control-plane/2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            base.insert(k.to_string(), v.to_string());
        }
        base
    }

    fn parse(
        name: Option<&str>,
        argv0: Option<&str>,
        vars: &HashMap<String, String>,
    ) -> Result<HookContext, ContextError> {
        HookContext::from_lookup(name, argv0, |k| vars.get(k).cloned())
    }

    #[test]
    fn plain_hook_from_dispatch_path() {
        let vars = env(&[("JUJU_DISPATCH_PATH", "hooks/config-changed")]);
        let ctx = parse(None, Some("./bin/k8s-vip"), &vars).unwrap();
        assert_eq!(
            ctx.kind,
            HookKind::Hook {
                name: "config-changed".into()
            }
        );
        assert_eq!(ctx.unit_name, "k8s-vip/2");
        assert_eq!(ctx.app_name, "k8s-vip");
        assert_eq!(ctx.unit_number, 2);
        assert_eq!(
            ctx.charm_dir,
            PathBuf::from("/var/lib/juju/agents/unit-k8s-vip-2/charm")
        );
        assert_eq!(
            ctx.principal_unit.as_deref(),
            Some("kubernetes-control-plane/2")
        );
        assert_eq!(ctx.model_name, "k8s");
        assert_eq!(ctx.juju_version, "3.4.2");
        assert!(ctx.relation.is_none());
        assert!(ctx.is_hook("config-changed"));
    }

    #[test]
    fn absolute_dispatch_path_from_old_juju_hook_symlink() {
        let vars = env(&[(
            "JUJU_DISPATCH_PATH",
            "/var/lib/juju/agents/unit-k8s-vip-2/charm/hooks/install",
        )]);
        let ctx = parse(None, Some("./bin/k8s-vip"), &vars).unwrap();
        assert_eq!(
            ctx.kind,
            HookKind::Hook {
                name: "install".into()
            }
        );
    }

    #[test]
    fn action_from_dispatch_path() {
        let vars = env(&[
            ("JUJU_DISPATCH_PATH", "actions/failover"),
            ("JUJU_ACTION_NAME", "failover"),
        ]);
        let ctx = parse(None, Some("./bin/k8s-vip"), &vars).unwrap();
        assert_eq!(
            ctx.kind,
            HookKind::Action {
                name: "failover".into()
            }
        );
        assert!(ctx.kind.is_action());
        assert!(!ctx.is_hook("failover"));
    }

    #[test]
    fn explicit_name_wins_over_dispatch_path() {
        let vars = env(&[("JUJU_DISPATCH_PATH", "hooks/install")]);
        let ctx = parse(Some("actions/status"), None, &vars).unwrap();
        assert_eq!(
            ctx.kind,
            HookKind::Action {
                name: "status".into()
            }
        );
        let ctx = parse(Some("update-status"), None, &vars).unwrap();
        assert!(ctx.is_hook("update-status"));
    }

    #[test]
    fn bare_explicit_name_is_an_action_when_juju_says_so() {
        let vars = env(&[("JUJU_ACTION_NAME", "pause")]);
        let ctx = parse(Some("pause"), None, &vars).unwrap();
        assert!(ctx.kind.is_action());
    }

    #[test]
    fn argv0_basename_names_the_hook_without_dispatch() {
        let vars = env(&[]);
        let ctx = parse(None, Some("/charm/hooks/start"), &vars).unwrap();
        assert!(ctx.is_hook("start"));
    }

    #[test]
    fn the_binary_own_name_is_not_a_hook() {
        let vars = env(&[]);
        let err = parse(None, Some("/charm/bin/k8s-vip"), &vars).unwrap_err();
        assert_eq!(err, ContextError::NoHookName);
        let vars = env(&[("JUJU_HOOK_NAME", "stop")]);
        assert!(parse(None, Some("k8s-vip"), &vars).unwrap().is_hook("stop"));
    }

    #[test]
    fn relation_hook_fields() {
        let vars = env(&[
            ("JUJU_DISPATCH_PATH", "hooks/cluster-relation-departed"),
            ("JUJU_RELATION", "cluster"),
            ("JUJU_RELATION_ID", "cluster:3"),
            ("JUJU_REMOTE_UNIT", "k8s-vip/1"),
            ("JUJU_REMOTE_APP", "k8s-vip"),
            ("JUJU_DEPARTING_UNIT", "k8s-vip/1"),
        ]);
        let rel = parse(None, None, &vars).unwrap().relation.unwrap();
        assert_eq!(
            rel,
            RelationCtx {
                endpoint: "cluster".into(),
                id: "cluster:3".into(),
                remote_unit: Some("k8s-vip/1".into()),
                remote_app: Some("k8s-vip".into()),
                departing_unit: Some("k8s-vip/1".into()),
            }
        );
    }

    #[test]
    fn remote_app_falls_back_to_the_remote_unit_and_broken_has_none() {
        let vars = env(&[
            ("JUJU_DISPATCH_PATH", "hooks/lb-consumers-relation-changed"),
            ("JUJU_RELATION", "lb-consumers"),
            ("JUJU_RELATION_ID", "lb-consumers:7"),
            ("JUJU_REMOTE_UNIT", "kubernetes-control-plane/0"),
        ]);
        let rel = parse(None, None, &vars).unwrap().relation.unwrap();
        assert_eq!(rel.remote_app.as_deref(), Some("kubernetes-control-plane"));

        let vars = env(&[
            ("JUJU_DISPATCH_PATH", "hooks/website-relation-broken"),
            ("JUJU_RELATION", "website"),
            ("JUJU_RELATION_ID", "website:1"),
        ]);
        let rel = parse(None, None, &vars).unwrap().relation.unwrap();
        assert_eq!(rel.remote_unit, None);
        assert_eq!(rel.remote_app, None);
    }

    #[test]
    fn missing_unit_name_is_a_clear_error() {
        let mut vars = env(&[("JUJU_DISPATCH_PATH", "hooks/install")]);
        vars.remove("JUJU_UNIT_NAME");
        let err = parse(None, None, &vars).unwrap_err();
        assert_eq!(
            err,
            ContextError::Missing {
                var: "JUJU_UNIT_NAME"
            }
        );
        assert!(err.to_string().contains("JUJU_UNIT_NAME is not set"));
    }

    #[test]
    fn empty_variables_count_as_missing() {
        let vars = env(&[
            ("JUJU_DISPATCH_PATH", "hooks/install"),
            ("JUJU_UNIT_NAME", ""),
        ]);
        assert!(matches!(
            parse(None, None, &vars),
            Err(ContextError::Missing {
                var: "JUJU_UNIT_NAME"
            })
        ));
    }

    #[test]
    fn charm_dir_falls_back_to_charm_dir_and_is_required() {
        let mut vars = env(&[("JUJU_DISPATCH_PATH", "hooks/install")]);
        vars.remove("JUJU_CHARM_DIR");
        assert_eq!(
            parse(None, None, &vars).unwrap_err(),
            ContextError::Missing {
                var: "JUJU_CHARM_DIR"
            }
        );
        vars.insert("CHARM_DIR".into(), "/charm".into());
        assert_eq!(
            parse(None, None, &vars).unwrap().charm_dir,
            PathBuf::from("/charm")
        );
    }

    #[test]
    fn bad_unit_names_are_rejected_with_the_reason() {
        for bad in ["k8s-vip", "k8s-vip/x", "/0", "k8s-vip/-1"] {
            let vars = env(&[
                ("JUJU_DISPATCH_PATH", "hooks/install"),
                ("JUJU_UNIT_NAME", bad),
            ]);
            match parse(None, None, &vars) {
                Err(ContextError::Invalid { var, value, .. }) => {
                    assert_eq!(var, "JUJU_UNIT_NAME");
                    assert_eq!(value, bad);
                }
                other => panic!("{bad}: expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn bad_dispatch_paths_are_rejected() {
        for bad in ["bin/install", "hooks/Install", "hooks/"] {
            let vars = env(&[("JUJU_DISPATCH_PATH", bad)]);
            assert!(
                matches!(
                    parse(None, None, &vars),
                    Err(ContextError::Invalid {
                        var: "JUJU_DISPATCH_PATH",
                        ..
                    })
                ),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn relation_hook_without_relation_id_is_an_error() {
        let vars = env(&[("JUJU_DISPATCH_PATH", "hooks/cluster-relation-changed")]);
        assert_eq!(
            parse(None, None, &vars).unwrap_err(),
            ContextError::Missing {
                var: "JUJU_RELATION_ID"
            }
        );
    }

    #[test]
    fn malformed_or_inconsistent_relation_ids_are_errors() {
        for (rel, id) in [
            ("cluster", "cluster"),
            ("cluster", "cluster:x"),
            ("cluster", ":3"),
            ("website", "cluster:3"),
        ] {
            let vars = env(&[
                ("JUJU_DISPATCH_PATH", "hooks/cluster-relation-changed"),
                ("JUJU_RELATION", rel),
                ("JUJU_RELATION_ID", id),
            ]);
            assert!(
                matches!(parse(None, None, &vars), Err(ContextError::Invalid { .. })),
                "{rel} {id} accepted"
            );
        }
    }

    #[test]
    fn no_name_anywhere_is_an_error() {
        let vars = env(&[]);
        assert_eq!(
            parse(None, None, &vars).unwrap_err(),
            ContextError::NoHookName
        );
    }
}
