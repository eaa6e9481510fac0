//! The host's share of the plan: no host-wide settings.
//!
//! Older versions of the charm set `net.ipv4.ip_nonlocal_bind=1` and
//! `net.ipv6.ip_nonlocal_bind=1` (a drop-in in /etc/sysctl.d) so HAProxy
//! could listen on a VIP this unit does not hold. That let *any* local
//! process bind the VIP's ports on every unit, ready to receive the VIP's
//! traffic the moment it moves here. HAProxy now binds with `transparent`
//! (`IP_TRANSPARENT`, which needs CAP_NET_ADMIN, so only root can do it), and
//! the charm sets no sysctl at all.
//!
//! On the first hook after an upgrade from such a version (its saved
//! pre-install values are still on disk), the values the charm changed are
//! put back, and the drop-in and the saved values are deleted. The same
//! happens at stop/remove, for a unit removed before it ever upgraded.

use super::paths;
use super::types::{Inputs, Part, SysctlOp};

/// Undoes what an older charm set on the host, once (see the module docs).
pub fn plan(inputs: &Inputs) -> Part {
    let mut part = Part::default();
    if inputs.sysctl_before.is_some() {
        restore_saved(inputs, &mut part);
        part.remove_files.push(paths::SYSCTL_BEFORE.into());
    }
    part.remove_files.push(paths::SYSCTL_FILE.into());
    part
}

/// stop / remove: restore what an older charm changed (if not done yet),
/// delete the drop-in and the charm's directories.
pub fn teardown(inputs: &Inputs) -> Part {
    let mut part = Part::default();
    restore_saved(inputs, &mut part);
    part.remove_files.push(paths::SYSCTL_FILE.into());
    part.remove_dirs
        .extend(paths::OWNED_DIRS.iter().map(|d| d.to_string()));
    part.remove_dirs.push("/run/k8s-vip".into());
    part
}

/// Sets every saved sysctl that differs from its value now back to the
/// saved value (only the keys an older charm set).
fn restore_saved(inputs: &Inputs, part: &mut Part) {
    let Some(saved) = &inputs.sysctl_before else {
        return;
    };
    for line in saved.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if !paths::SYSCTLS.iter().any(|(known, _)| *known == k) {
            continue;
        }
        if inputs.sysctl_now.get(k).map(String::as_str) != Some(v) {
            part.sysctls.push(SysctlOp::Set(k.into(), v.into()));
        }
    }
}
