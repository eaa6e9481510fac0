//! The values the load balancer model is made of: frontends, their
//! backends and servers, balance algorithms, health checks, timeouts.
//! Plain data, rendered into haproxy.cfg by [`super::render`].

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

/// Timeouts, in whole seconds (HAProxy's `s` unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// TCP connect to a backend.
    pub connect_s: u64,
    /// Idle time on an established connection (client and server side); long
    /// so Kubernetes watches and `kubectl logs -f` are not cut (`lb-timeout`).
    pub idle_s: u64,
    /// Half-closed connections.
    pub fin_s: u64,
    /// Old workers after a reload keep established connections this long.
    pub hard_stop_after_s: u64,
}

impl Timeouts {
    /// Defaults with the idle timeout from `lb-timeout`.
    pub fn with_idle(idle: Duration) -> Timeouts {
        let idle_s = idle.as_secs().max(1);
        Timeouts {
            connect_s: 5,
            idle_s,
            fin_s: 30,
            hard_stop_after_s: idle_s.max(3600),
        }
    }
}

/// One listening port: the VIP addresses it binds and its backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frontend {
    /// HAProxy proxy name, unique, e.g. `api-server-external-443`.
    pub name: String,
    /// The port clients connect to.
    pub port: u16,
    /// `VIP:port` for every VIP (HAProxy binds non-local addresses, so backups
    /// are ready the moment the VIP lands).
    pub binds: Vec<SocketAddr>,
    /// Where the traffic goes.
    pub backend: Backend,
    /// What asked for this frontend, for status and error messages.
    pub origin: Origin,
}

/// What a frontend was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// A `loadbalancer` v1 request of that name.
    Request {
        /// The request name.
        name: String,
    },
    /// The worker `ingress-ports` option.
    Ingress,
}

/// The servers behind a frontend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backend {
    /// HAProxy proxy name (same as the frontend's).
    pub name: String,
    /// What to call the servers in the status line ("API servers", "workers").
    pub label: String,
    /// How connections are spread.
    pub balance: Balance,
    /// Servers, sorted and unique.
    pub servers: Vec<Server>,
    /// The active health check every server gets.
    pub check: HealthCheck,
}

/// HAProxy `balance` algorithms we offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Balance {
    /// Each server in turn (default).
    RoundRobin,
    /// The server with the fewest connections (good for long watches).
    LeastConn,
    /// Hash of the client address: a client stays on one server (`sticky`).
    Source,
}

/// One backend server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Server {
    /// HAProxy server name (the address), shown by `show stat`.
    pub name: String,
    /// Where to connect.
    pub addr: SocketAddr,
}

/// An active health check: steps run in order, all must pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// What to check.
    pub steps: Vec<CheckStep>,
    /// Seconds between checks.
    pub interval_s: u32,
    /// Seconds between checks while a server is changing state (≤ interval),
    /// so a failing server leaves within interval × fall.
    pub fast_interval_s: u32,
    /// Consecutive failures that take a server out.
    pub fall: u32,
    /// Consecutive successes that bring it back.
    pub rise: u32,
    /// Seconds a single check may take.
    pub timeout_s: u32,
    /// True when any step is HTTP.
    pub http: bool,
    /// True when HTTP and TCP steps are mixed: HAProxy's `http-check` rules
    /// cannot hold a bare connect, so the whole sequence becomes `tcp-check`
    /// rules that speak HTTP themselves.
    pub mixed: bool,
}

/// One step of a health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CheckStep {
    /// TCP connect to the port.
    Tcp {
        /// Port on the server.
        port: u16,
    },
    /// HTTP GET expecting 2xx, over TLS without certificate verification when
    /// `tls` (the API server answers /livez only over TLS).
    Http {
        /// Port on the server.
        port: u16,
        /// Path to GET.
        path: String,
        /// Speak TLS (not verified).
        tls: bool,
    },
}
