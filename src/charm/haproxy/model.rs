//! The load balancer as data: which frontends HAProxy listens on, where each
//! one sends traffic, how backends are checked. Built from `loadbalancer` v1
//! requests and from the worker `ingress-ports` option; rendered by
//! [`super::render`]. Pure: no I/O, so the charm's plan can build it and tests
//! can assert on it.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::options::IngressPort;
use super::request::{HealthCheckRequest, LbRequest, RequestError};

/// Everything HAProxy needs to know, in one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerModel {
    /// Where HAProxy's files live on the unit (resolved under the unit root).
    pub paths: HaproxyPaths,
    /// Connection timeouts shared by every frontend.
    pub timeouts: Timeouts,
    /// Local HTTP endpoint (`GET /healthz`) answering 200 while HAProxy runs
    /// and every backend has a server up, 503 otherwise: the agent's health
    /// check for "this unit's load balancer works" (see [`MONITOR_URL`]).
    pub monitor: SocketAddr,
    /// One entry per listening port, sorted by port.
    pub frontends: Vec<Frontend>,
}

/// Where HAProxy's monitor endpoint listens on every unit.
pub const MONITOR_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9744);
/// The agent health check that follows HAProxy: an `http` check of this URL
/// fails when HAProxy is dead or sees no server up in some backend, so the
/// unit gives up the VIP.
pub const MONITOR_URL: &str = "http://127.0.0.1:9744/healthz";

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

/// What a `loadbalancer` request needs from the unit besides its JSON.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The VIP addresses to bind.
    pub vips: &'a [IpAddr],
    /// The consumer units' ingress addresses (backends when the request lists none).
    pub consumer_addresses: &'a [IpAddr],
    /// Frontend ports of this request the VIP serves directly (the charm's
    /// "direct" rule); no HAProxy frontend is made for them.
    pub direct_ports: &'a BTreeSet<u16>,
}

/// Why the `ingress-ports` frontends cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngressError {
    /// A port is already used by a consumer request's frontend.
    #[error("ingress-ports: port {port} is already load-balanced for {owner}; pick another port")]
    PortInUse {
        /// The clashing port.
        port: u16,
        /// Who holds it.
        owner: String,
    },
    /// No peer addresses are known yet.
    #[error("ingress-ports: no worker addresses known yet (peers have not published theirs)")]
    NoBackends,
    /// No VIP to bind the frontends on.
    #[error("ingress-ports: no virtual-ip to listen on")]
    NoVip,
}

/// Health check timing for `ingress-ports` and for requests without checks.
const DEFAULT_CHECK_INTERVAL_S: u32 = 2;
const DEFAULT_CHECK_FALL: u32 = 3;
const CHECK_RISE: u32 = 2;
const MAX_CHECK_TIMEOUT_S: u32 = 5;
const MAX_FAST_INTERVAL_S: u32 = 2;

// ===== impl LoadBalancerModel =====

impl LoadBalancerModel {
    /// An empty load balancer (no frontends yet).
    pub fn new(paths: HaproxyPaths, timeouts: Timeouts) -> LoadBalancerModel {
        LoadBalancerModel {
            paths,
            timeouts,
            monitor: MONITOR_ADDR,
            frontends: Vec::new(),
        }
    }

    /// True when HAProxy would have nothing to listen on.
    pub fn is_empty(&self) -> bool {
        self.frontends.is_empty()
    }

    /// Every `address:port` HAProxy binds (the monitor endpoint included),
    /// for port-conflict detection.
    pub fn bind_addresses(&self) -> Vec<SocketAddr> {
        std::iter::once(self.monitor)
            .chain(self.frontends.iter().flat_map(|f| f.binds.iter().copied()))
            .collect()
    }

    /// Adds the frontends one `loadbalancer` v1 request needs. On error
    /// nothing is added, and the error says which request field is at fault
    /// (the charm answers the request with it). Returns the ports added.
    pub fn add_request(
        &mut self,
        request: &LbRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<Vec<u16>, RequestError> {
        let new = frontends_for_request(request, ctx)?;
        for frontend in &new {
            if let Some(owner) = self.owner_of(frontend.port) {
                return Err(RequestError::invalid(
                    "port_mapping",
                    format!(
                        "port {} is already load-balanced for {owner}",
                        frontend.port
                    ),
                ));
            }
        }
        let ports = new.iter().map(|f| f.port).collect();
        self.insert(new);
        Ok(ports)
    }

    /// Adds worker-ingress frontends: each VIP port forwards to the NodePort
    /// on every peer (this unit included), with TCP checks.
    pub fn add_ingress(
        &mut self,
        ports: &[IngressPort],
        peers: &[IpAddr],
        vips: &[IpAddr],
    ) -> Result<(), IngressError> {
        if ports.is_empty() {
            return Ok(());
        }
        if peers.is_empty() {
            return Err(IngressError::NoBackends);
        }
        if vips.is_empty() {
            return Err(IngressError::NoVip);
        }
        for p in ports {
            if let Some(owner) = self.owner_of(p.port) {
                return Err(IngressError::PortInUse {
                    port: p.port,
                    owner,
                });
            }
        }
        let new = ports
            .iter()
            .map(|p| {
                let name = format!("ingress-{}", p.port);
                Frontend {
                    name: name.clone(),
                    port: p.port,
                    binds: binds(vips, p.port),
                    backend: Backend {
                        name,
                        label: "workers".into(),
                        balance: Balance::RoundRobin,
                        servers: servers(peers, p.node_port),
                        check: default_check(p.node_port),
                    },
                    origin: Origin::Ingress,
                }
            })
            .collect();
        self.insert(new);
        Ok(())
    }

    fn owner_of(&self, port: u16) -> Option<String> {
        self.frontends
            .iter()
            .find(|f| f.port == port)
            .map(|f| match &f.origin {
                Origin::Request { name } => format!("request {name}"),
                Origin::Ingress => "ingress-ports".to_string(),
            })
    }

    fn insert(&mut self, new: Vec<Frontend>) {
        self.frontends.extend(new);
        self.frontends.sort_by_key(|f| f.port);
    }
}

// ===== request → frontends =====

/// The frontends a request needs, validated; no state touched.
fn frontends_for_request(
    request: &LbRequest,
    ctx: &RequestContext<'_>,
) -> Result<Vec<Frontend>, RequestError> {
    if ctx.vips.is_empty() {
        return Err(RequestError::invalid(
            "ingress_address",
            "this load balancer has no virtual-ip to listen on yet",
        ));
    }
    match request.protocol.as_str() {
        "tcp" | "http" | "https" => {}
        "udp" => {
            return Err(RequestError::unsupported(
                "protocol",
                "udp is not load-balanced; use tcp",
            ))
        }
        other => {
            return Err(RequestError::unsupported(
                "protocol",
                format!("unknown protocol {other:?}; use tcp, http or https"),
            ))
        }
    }
    if request.tls_termination {
        return Err(RequestError::unsupported(
            "tls_termination",
            "TLS is passed through to the backends, not terminated; set tls_termination false",
        ));
    }
    let base = proxy_name(&request.name)
        .ok_or_else(|| RequestError::invalid("name", "request name has no usable characters"))?;
    let mapping = port_mapping(request)?;
    let balance = balance(request)?;
    let addresses = backend_addresses(request, ctx)?;
    let mut frontends = Vec::new();
    for (port, backend_port) in mapping {
        if ctx.direct_ports.contains(&port) {
            continue;
        }
        let check = health_check(request, backend_port)?;
        let name = format!("{base}-{port}");
        frontends.push(Frontend {
            name: name.clone(),
            port,
            binds: binds(ctx.vips, port),
            backend: Backend {
                name,
                label: label_for(&request.name),
                balance,
                servers: servers(&addresses, backend_port),
                check,
            },
            origin: Origin::Request {
                name: request.name.clone(),
            },
        });
    }
    Ok(frontends)
}

fn port_mapping(request: &LbRequest) -> Result<Vec<(u16, u16)>, RequestError> {
    if request.port_mapping.is_empty() {
        return Err(RequestError::invalid("port_mapping", "no ports requested"));
    }
    let mut out = Vec::new();
    for (from, to) in &request.port_mapping {
        let from_port = from
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                RequestError::invalid(
                    "port_mapping",
                    format!("frontend port {from:?} is not a port number 1-65535"),
                )
            })?;
        let to_port = u16::try_from(*to).ok().filter(|p| *p != 0).ok_or_else(|| {
            RequestError::invalid(
                "port_mapping",
                format!("backend port {to} is not a port number 1-65535"),
            )
        })?;
        out.push((from_port, to_port));
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(RequestError::invalid(
            "port_mapping",
            "a frontend port appears twice",
        ));
    }
    Ok(out)
}

/// `algorithm` is a list in order of preference: the first one HAProxy
/// offers wins; a non-empty list with none we offer is unsupported.
/// `sticky` asks for source hashing whatever the algorithm.
fn balance(request: &LbRequest) -> Result<Balance, RequestError> {
    if request.sticky {
        return Ok(Balance::Source);
    }
    if request.algorithm.is_empty() {
        return Ok(Balance::RoundRobin);
    }
    request
        .algorithm
        .iter()
        .find_map(|a| parse_algorithm(a))
        .ok_or_else(|| {
            RequestError::unsupported(
                "algorithm",
                format!(
                    "none of {:?} is offered; use roundrobin, leastconn or source",
                    request.algorithm
                ),
            )
        })
}

fn parse_algorithm(name: &str) -> Option<Balance> {
    match name
        .trim()
        .to_ascii_lowercase()
        .replace(['_', '-'], "")
        .as_str()
    {
        "roundrobin" => Some(Balance::RoundRobin),
        "leastconn" | "leastconnections" => Some(Balance::LeastConn),
        "source" | "sourceip" => Some(Balance::Source),
        _ => None,
    }
}

fn backend_addresses(
    request: &LbRequest,
    ctx: &RequestContext<'_>,
) -> Result<Vec<IpAddr>, RequestError> {
    let addresses: Vec<IpAddr> = if request.backends.is_empty() {
        ctx.consumer_addresses.to_vec()
    } else {
        request
            .backends
            .iter()
            .map(|b| {
                b.trim().parse::<IpAddr>().map_err(|_| {
                    RequestError::invalid("backends", format!("{b:?} is not an IP address"))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if addresses.is_empty() {
        return Err(RequestError::invalid(
            "backends",
            "no backends: the request lists none and no consumer unit has an ingress-address yet",
        ));
    }
    Ok(addresses)
}

/// The request's checks as one HAProxy check sequence. Timing: the shortest
/// interval and the fewest retries among them, so every check's
/// interval × retries bound holds.
fn health_check(request: &LbRequest, backend_port: u16) -> Result<HealthCheck, RequestError> {
    if request.health_checks.is_empty() {
        return Ok(default_check(backend_port));
    }
    let mut steps = Vec::new();
    for hc in &request.health_checks {
        steps.push(check_step(hc, &request.protocol)?);
    }
    let interval_s = request
        .health_checks
        .iter()
        .map(|h| h.interval)
        .min()
        .unwrap_or(DEFAULT_CHECK_INTERVAL_S);
    let fall = request
        .health_checks
        .iter()
        .map(|h| h.retries)
        .min()
        .unwrap_or(DEFAULT_CHECK_FALL);
    if interval_s == 0 {
        return Err(RequestError::invalid(
            "health_checks",
            "interval must be at least 1 second",
        ));
    }
    if fall == 0 {
        return Err(RequestError::invalid(
            "health_checks",
            "retries must be at least 1",
        ));
    }
    let http = steps.iter().any(|s| matches!(s, CheckStep::Http { .. }));
    let mixed = http && steps.iter().any(|s| matches!(s, CheckStep::Tcp { .. }));
    Ok(HealthCheck {
        steps,
        interval_s,
        fast_interval_s: interval_s.min(MAX_FAST_INTERVAL_S),
        fall,
        rise: CHECK_RISE,
        timeout_s: interval_s.min(MAX_CHECK_TIMEOUT_S),
        http,
        mixed,
    })
}

fn check_step(hc: &HealthCheckRequest, request_protocol: &str) -> Result<CheckStep, RequestError> {
    let port = u16::try_from(hc.port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            RequestError::invalid(
                "health_checks",
                format!("port {} is not a port number 1-65535", hc.port),
            )
        })?;
    match hc.protocol.as_str() {
        "tcp" => Ok(CheckStep::Tcp { port }),
        "http" | "https" => {
            let path = hc.path.clone().unwrap_or_else(|| "/".to_string());
            if !path.starts_with('/') || !path.chars().all(is_safe_path_char) {
                return Err(RequestError::invalid(
                    "health_checks",
                    format!("path {path:?} must start with / and use only URL characters"),
                ));
            }
            // A tcp (or https) service is passed through untouched, so its
            // backends speak TLS when they speak HTTP at all: that is how
            // kubernetes-control-plane asks for /livez on kube-apiserver,
            // which answers only over TLS.
            let tls = hc.protocol == "https" || request_protocol != "http";
            Ok(CheckStep::Http { port, path, tls })
        }
        other => Err(RequestError::unsupported(
            "health_checks",
            format!("health check protocol {other:?} is not offered; use tcp, http or https"),
        )),
    }
}

/// Characters allowed in a check path: URL characters that are inert in
/// haproxy.cfg (no quotes, `#`, `$`, `\` or spaces).
fn is_safe_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!&()*+,;=:@/?%".contains(c)
}

fn default_check(port: u16) -> HealthCheck {
    HealthCheck {
        steps: vec![CheckStep::Tcp { port }],
        interval_s: DEFAULT_CHECK_INTERVAL_S,
        fast_interval_s: DEFAULT_CHECK_INTERVAL_S.min(MAX_FAST_INTERVAL_S),
        fall: DEFAULT_CHECK_FALL,
        rise: CHECK_RISE,
        timeout_s: DEFAULT_CHECK_INTERVAL_S.min(MAX_CHECK_TIMEOUT_S),
        http: false,
        mixed: false,
    }
}

fn label_for(request_name: &str) -> String {
    if request_name.starts_with("api-server") {
        "API servers".into()
    } else {
        "backends".into()
    }
}

fn binds(vips: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    vips.iter().map(|ip| SocketAddr::new(*ip, port)).collect()
}

fn servers(addresses: &[IpAddr], port: u16) -> Vec<Server> {
    let unique: BTreeSet<IpAddr> = addresses.iter().copied().collect();
    unique
        .into_iter()
        .map(|ip| Server {
            name: ip.to_string(),
            addr: SocketAddr::new(ip, port),
        })
        .collect()
}

/// A HAProxy proxy name from a request name: `[A-Za-z0-9._-]`, others → `_`.
fn proxy_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '_') {
        None
    } else {
        Some(cleaned)
    }
}
