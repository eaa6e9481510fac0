//! Gathering [`LbWorld`] (what the HAProxy planner reads of the unit) through
//! the charm's system seam, once per hook. The type itself is plain data in
//! `charm::types::lb`; this is its one reader.

use super::names::HaproxyPaths;
use super::names::{
    DISTRO_HAPROXY_SERVICE, HAPROXY_INSTALLED_MARKER, HAPROXY_PACKAGE, HAPROXY_SERVICE,
};
use crate::charm::system::System;
use crate::charm::types::{LbWorld, ServiceState};

impl LbWorld {
    /// Reads the package, services, listening sockets (port conflicts) and
    /// HAProxy's backend health (status). Everything goes through the
    /// charm's system seam: the package comes from dpkg (the simulated
    /// model's apt-get shim installs no binary) and `/proc/net` is read
    /// under the system root (`/` on a unit), in the hook's network namespace.
    pub fn gather(sys: &System) -> LbWorld {
        let paths = HaproxyPaths::under(sys.root());
        let health = if paths.stats_socket.exists() {
            super::stats::backend_health(&paths.stats_socket, std::time::Duration::from_secs(2))
                .ok()
        } else {
            None
        };
        LbWorld {
            haproxy_installed: sys.package_installed(HAPROXY_PACKAGE),
            haproxy_installed_by_us: sys.exists(HAPROXY_INSTALLED_MARKER),
            service: ServiceState {
                active: sys.is_active(HAPROXY_SERVICE),
                enabled: sys.is_enabled(HAPROXY_SERVICE),
            },
            distro_service: ServiceState {
                active: sys.is_active(DISTRO_HAPROXY_SERVICE),
                enabled: sys.is_enabled(DISTRO_HAPROXY_SERVICE),
            },
            listeners: super::ports::read_listeners(&sys.path("/proc/net"), &sys.path("/proc"))
                .unwrap_or_default(),
            health,
            haproxy_binary: Some(sys.path(super::ports::HAPROXY_EXE)).filter(|p| p.exists()),
        }
    }
}
