//! The load balancer as data: which frontends HAProxy listens on, where each
//! one sends traffic, how backends are checked. Built from `loadbalancer` v1
//! requests and from the worker `ingress-ports` option; rendered by
//! [`super::render`]. Pure: no I/O, so the charm's plan can build it and tests
//! can assert on it.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::from_request::{binds, default_check, frontends_for_request, servers, RequestContext};
use super::frontend::{Backend, Balance, Frontend, Origin, Timeouts};
use super::names::HaproxyPaths;
use super::options::IngressPort;
use super::request::{LbRequest, RequestError};

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
    /// HAProxy's Prometheus exporter (`GET /metrics`), while COS scrapes it.
    pub exporter: Option<SocketAddr>,
}

/// Where HAProxy's monitor endpoint listens on every unit.
pub const MONITOR_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9744);
/// The agent health check that follows HAProxy: an `http` check of this URL
/// fails when HAProxy is dead or sees no server up in some backend, so the
/// unit gives up the VIP.
pub const MONITOR_URL: &str = "http://127.0.0.1:9744/healthz";

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

impl LoadBalancerModel {
    /// An empty load balancer (no frontends yet).
    pub fn new(paths: HaproxyPaths, timeouts: Timeouts) -> LoadBalancerModel {
        LoadBalancerModel {
            paths,
            timeouts,
            monitor: MONITOR_ADDR,
            frontends: Vec::new(),
            exporter: None,
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
            .chain(self.exporter)
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

    /// Whether a frontend listens on `port`.
    pub fn has_port(&self, port: u16) -> bool {
        self.frontends.iter().any(|f| f.port == port)
    }

    /// Takes the frontends on `ports` out (a refused request's).
    pub fn remove_ports(&mut self, ports: &[u16]) {
        self.frontends.retain(|f| !ports.contains(&f.port));
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
