//! The relation a relation hook is about, from `JUJU_RELATION*` and
//! `JUJU_REMOTE_*`, checked against the hook's name.

use super::types::{ContextError, HookKind, RelationCtx};

/// Hooks whose name says they are about a relation.
fn is_relation_hook(kind: &HookKind) -> bool {
    match kind {
        HookKind::Hook { name } => ["joined", "changed", "departed", "created", "broken"]
            .iter()
            .any(|suffix| name.ends_with(&format!("-relation-{suffix}"))),
        HookKind::Action { .. } => false,
    }
}

/// The relation context of a hook of `kind`: None outside relation hooks, an
/// error when a relation hook lacks its id or names another relation.
pub(super) fn relation_ctx(
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
    let endpoint = checked_endpoint(kind, &id, get)?;
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

/// The endpoint of relation `id` (`ENDPOINT:NUMBER`), which `JUJU_RELATION`
/// and a relation hook's name must agree with.
fn checked_endpoint(
    kind: &HookKind,
    id: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<String, ContextError> {
    let malformed = || ContextError::Invalid {
        var: "JUJU_RELATION_ID",
        value: id.to_string(),
        reason: "expected ENDPOINT:NUMBER, e.g. cluster:3".into(),
    };
    let (id_endpoint, number) = id.split_once(':').ok_or_else(malformed)?;
    if id_endpoint.is_empty() || number.parse::<u64>().is_err() {
        return Err(malformed());
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
    Ok(endpoint)
}
