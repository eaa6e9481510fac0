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

#[cfg(test)]
mod tests {
    use crate::agent::config::parse;

    const ONE: &str = "instances:\n  - {name: api, interface: eth0, vrid: 51, vips: [\"192.0.2.100\"], unicast-peers: [\"198.51.100.18\"]}\n";

    fn with(bgp: &str) -> String {
        format!("{ONE}{bgp}")
    }

    #[test]
    fn absent_means_l2_mode() {
        assert_eq!(parse(ONE).unwrap().bgp, None);
    }

    #[test]
    fn defaults_and_explicit_values() {
        let b = parse(&with("bgp: {}\n")).unwrap().bgp.unwrap();
        assert_eq!((b.interface.as_str(), b.ecmp), ("k8s-vip-bgp", false));
        let b = parse(&with("bgp: {interface: vip0, ecmp: true}\n"))
            .unwrap()
            .bgp
            .unwrap();
        assert_eq!((b.interface.as_str(), b.ecmp), ("vip0", true));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (bgp, want) in [
            (
                "bgp: {interface: \"\"}\n",
                "bgp.interface: \"\" is not a valid",
            ),
            ("bgp: {interface: a-name-far-too-long}\n", "bgp.interface: "),
            ("bgp: {interface: \"a/b\"}\n", "bgp.interface: "),
            (
                "bgp: {interface: eth0}\n",
                "bgp.interface: \"eth0\" is an interface the agent does not own",
            ),
            ("bgp: {interface: lo}\n", "bgp.interface: \"lo\""),
            ("bgp: {ecmp: maybe}\n", "bgp.ecmp: "),
            ("bgp: {intrface: x}\n", "bgp.intrface: unknown key"),
        ] {
            let e = parse(&with(bgp)).unwrap_err().to_string();
            assert!(e.starts_with(want), "{bgp}: {e}");
        }
    }
}
