//! The optional top-level `bgp:` block: announce the VIPs as host routes
//! through the unit's routing daemon instead of holding them on the VRRP
//! interface.
//!
//! Why its own file: the block changes where VIPs go (a dummy interface the
//! agent owns, which FRR redistributes) and when (`ecmp`), and its interface
//! name is checked against the instances' (a VIP must never land on the
//! interface VRRP runs on). Absent = the L2 behaviour, unchanged.

use serde::Deserialize;

use super::error::{invalid, ConfigError};

/// The dummy interface used when `bgp.interface` is not given.
pub const DEFAULT_INTERFACE: &str = "k8s-vip-bgp";

/// `bgp:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct BgpFile {
    #[serde(default = "default_interface")]
    pub(super) interface: String,
    #[serde(default)]
    pub(super) ecmp: bool,
}

fn default_interface() -> String {
    DEFAULT_INTERFACE.to_string()
}

/// BGP mode, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpConfig {
    /// The dummy interface the agent creates (when absent) and puts the
    /// announced VIPs on, as /32 or /128.
    pub interface: String,
    /// false: only the VRRP master of an instance announces its VIPs;
    /// true: every unit whose health checks pass (and that is not paused)
    /// announces them, and the routers spread the traffic.
    pub ecmp: bool,
}

/// Validates the `bgp:` block against the instances' interfaces.
pub(super) fn validate_bgp(
    b: &BgpFile,
    instance_interfaces: &[&str],
) -> Result<BgpConfig, ConfigError> {
    let name = b.interface.trim();
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if name.is_empty() || name.len() > 15 || !valid_chars || name == "." || name == ".." {
        return Err(invalid(
            "bgp.interface",
            format!(
                "{:?} is not a valid interface name (1..15 characters of A-Z a-z 0-9 _ . -)",
                b.interface
            ),
        ));
    }
    if name == "lo" || instance_interfaces.contains(&name) {
        return Err(invalid(
            "bgp.interface",
            format!(
                "{name:?} is an interface the agent does not own; name a dummy interface of its own (default {DEFAULT_INTERFACE})"
            ),
        ));
    }
    Ok(BgpConfig {
        interface: name.to_string(),
        ecmp: b.ecmp,
    })
}
