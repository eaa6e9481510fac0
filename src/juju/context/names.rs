//! Which event a process run is, from an explicit name, `JUJU_DISPATCH_PATH`,
//! argv[0] or the `JUJU_*_NAME` variables, and which unit runs it.

use super::types::{ContextError, HookKind};

/// Program names that are this binary itself, not a hook symlink.
const SELF_NAMES: &[&str] = &["k8s-vip", "dispatch"];

/// Decides hook vs action and its name: explicit name, then JUJU_DISPATCH_PATH,
/// then argv[0] (a hook symlink), then JUJU_ACTION_NAME / JUJU_HOOK_NAME.
pub(super) fn resolve_kind(
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
pub(super) fn parse_unit_name(unit: &str) -> Result<(String, u32), String> {
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
