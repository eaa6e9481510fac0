//! What the load balancer reads of the unit each hook ([`LbWorld`]): the
//! haproxy package and services, the listening sockets (port conflicts) and
//! HAProxy's view of its backends. Gathered by `charm::haproxy::world`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::service::ServiceState;

/// What the load balancer reads of the unit each hook, besides `Inputs`:
/// gathered by [`LbWorld::gather`] through the charm's system seam, carried
/// in `Inputs` so `plan` stays pure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct LbWorld {
    /// dpkg knows the haproxy package as installed.
    pub haproxy_installed: bool,
    /// The charm installed the package (marker present).
    pub haproxy_installed_by_us: bool,
    /// k8s-vip-haproxy.service.
    pub service: ServiceState,
    /// The distribution's haproxy.service.
    pub distro_service: ServiceState,
    /// Listening TCP sockets in the hook's network namespace.
    pub listeners: Vec<Listener>,
    /// HAProxy's backends as its runtime API reports them (None: not running).
    pub health: Option<Vec<BackendHealth>>,
    /// The HAProxy binary to check a new haproxy.cfg with (`haproxy -c`),
    /// when installed; none: files are written unchecked.
    pub haproxy_binary: Option<PathBuf>,
}

/// A process owning a socket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Short name (`/proc/PID/comm`), for messages only: any user can pick it.
    pub name: String,
    /// Full command line, arguments separated by spaces (messages only).
    pub cmdline: String,
    /// Real uid (`/proc/PID/status`), when readable.
    pub uid: Option<u32>,
    /// The executable (`/proc/PID/exe`), when readable.
    pub exe: Option<String>,
    /// The parent's real uid and executable (HAProxy's workers run as the
    /// `haproxy` user under a root master).
    pub parent_uid: Option<u32>,
    /// The parent's executable.
    pub parent_exe: Option<String>,
}

/// A listening TCP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// Local address it listens on (unspecified = every address).
    pub addr: SocketAddr,
    /// Processes holding it (empty when they could not be found).
    pub owners: Vec<Owner>,
}

/// Health of one backend as HAProxy sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendHealth {
    /// Backend (proxy) name.
    pub backend: String,
    /// Servers currently taking traffic.
    pub up: u32,
    /// All servers of the backend.
    pub total: u32,
    /// Names of the servers not up, for the status action.
    pub down: Vec<String>,
}
