//! The paths, unit and package names of BGP mode (FRR on the unit).

/// The dummy interface the agent owns and puts announced VIPs on.
pub const BGP_INTERFACE: &str = "k8s-vip-bgp";
/// FRR's configuration directory.
pub const FRR_DIR: &str = "/etc/frr";
/// FRR's integrated configuration.
pub const FRR_CONF: &str = "/etc/frr/frr.conf";
/// Which daemons `frr.service` starts.
pub const FRR_DAEMONS: &str = "/etc/frr/daemons";
/// Where FRR's daemons keep their sockets.
pub const FRR_RUN_DIR: &str = "/run/frr";
/// FRR's systemd unit.
pub const FRR_SERVICE: &str = "frr.service";
/// The distribution's package.
pub const FRR_PACKAGE: &str = "frr";
/// FRR's in-place reload (applies the difference, keeps sessions up).
pub const FRR_RELOAD: &str = "/usr/lib/frr/frr-reload.py";
/// Marker: the charm installed `frr` (purged at removal).
pub const INSTALLED_MARKER: &str = "/var/lib/k8s-vip/installed-frr";
/// Marker: the charm started `frr.service` (stopped when BGP goes off).
pub const STARTED_MARKER: &str = "/var/lib/k8s-vip/started-frr";
