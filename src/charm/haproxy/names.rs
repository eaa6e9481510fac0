//! The names of the k8s-vip HAProxy on the unit: its files, its systemd
//! unit, the distribution's package and service it replaces.

/// On-unit path of the rendered haproxy.cfg (CONTRACTS.md).
pub const HAPROXY_CONFIG: &str = "/etc/k8s-vip/haproxy.cfg";
/// On-unit path of our HAProxy systemd unit file.
pub const HAPROXY_UNIT_FILE: &str = "/etc/systemd/system/k8s-vip-haproxy.service";
/// Our HAProxy systemd unit.
pub const HAPROXY_SERVICE: &str = "k8s-vip-haproxy.service";
/// The distribution's HAProxy unit, which the package starts on install.
pub const DISTRO_HAPROXY_SERVICE: &str = "haproxy.service";
/// The Debian/Ubuntu package.
pub const HAPROXY_PACKAGE: &str = "haproxy";
/// The binary the package ships (the systemd unit runs it).
pub const HAPROXY_BINARY: &str = "/usr/sbin/haproxy";
/// Marker: the charm installed the haproxy package (purged at remove).
pub const HAPROXY_INSTALLED_MARKER: &str = "/var/lib/k8s-vip/installed-haproxy";
