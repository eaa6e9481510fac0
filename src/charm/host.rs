//! The host's share of the plan: the non-local-bind sysctls (so HAProxy and
//! the API server can listen on a VIP they do not hold), their pre-install
//! values saved for remove, and at stop/remove the restore and the cleanup
//! of the charm's own directories.

use super::paths;
use super::types::{Inputs, Part, SysctlOp};

/// The sysctl drop-in, loaded when it changes; the values as they were
/// before install are saved once.
pub fn plan(inputs: &Inputs) -> Part {
    let mut part = Part::default();
    if inputs.sysctl_before.is_none() {
        let saved: String = paths::SYSCTLS
            .iter()
            .filter_map(|(k, _)| inputs.sysctl_now.get(*k).map(|v| format!("{k}={v}\n")))
            .collect();
        part.file(paths::SYSCTL_BEFORE, saved, 0o644);
    }
    let sysctl_conf: String = std::iter::once("# Written by the k8s-vip charm.\n".to_string())
        .chain(paths::SYSCTLS.iter().map(|(k, _)| format!("{k}=1\n")))
        .collect();
    part.file(paths::SYSCTL_FILE, sysctl_conf, 0o644);
    part.sysctls
        .push(SysctlOp::LoadWhenChanged(paths::SYSCTL_FILE.to_string()));
    part
}

/// stop / remove: restore the saved sysctl values that differ now, delete
/// the drop-in and the charm's directories.
pub fn teardown(inputs: &Inputs) -> Part {
    let mut part = Part::default();
    if let Some(saved) = &inputs.sysctl_before {
        for line in saved.lines() {
            if let Some((k, v)) = line.split_once('=') {
                if inputs.sysctl_now.get(k.trim()).map(String::as_str) != Some(v.trim()) {
                    part.sysctls
                        .push(SysctlOp::Set(k.trim().into(), v.trim().into()));
                }
            }
        }
    }
    part.remove_files.push(paths::SYSCTL_FILE.into());
    part.remove_dirs
        .extend(paths::OWNED_DIRS.iter().map(|d| d.to_string()));
    part.remove_dirs.push("/run/k8s-vip".into());
    part
}
