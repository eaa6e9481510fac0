//! The names of the k8s-vip HAProxy on the unit: its files, its systemd
//! unit, the distribution's package and service it replaces, and the paths
//! of one instance under a root ([`HaproxyPaths`]).

use std::path::PathBuf;

use serde::Serialize;

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

/// Files and sockets of the k8s-vip HAProxy instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaproxyPaths {
    /// The `haproxy` executable.
    pub binary: PathBuf,
    /// The rendered configuration (`/etc/k8s-vip/haproxy.cfg`).
    pub config: PathBuf,
    /// Runtime API (stats) socket of the worker (`/run/k8s-vip/haproxy.sock`).
    pub stats_socket: PathBuf,
    /// Master CLI socket, for reload diagnostics.
    pub master_socket: PathBuf,
    /// Pid file of the master process.
    pub pidfile: PathBuf,
}

impl HaproxyPaths {
    /// The on-unit paths of the contract, resolved under `root`
    /// (`$K8S_VIP_ROOT`, `/` on a real unit).
    pub fn under(root: &std::path::Path) -> HaproxyPaths {
        let at = |p: &str| root.join(p.trim_start_matches('/'));
        HaproxyPaths {
            binary: PathBuf::from("/usr/sbin/haproxy"),
            config: at("/etc/k8s-vip/haproxy.cfg"),
            stats_socket: at("/run/k8s-vip/haproxy.sock"),
            master_socket: at("/run/k8s-vip/haproxy-master.sock"),
            pidfile: at("/run/k8s-vip/haproxy.pid"),
        }
    }
}
