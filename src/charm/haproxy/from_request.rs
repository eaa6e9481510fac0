//! A `loadbalancer` v1 request turned into frontends: every field checked
//! (protocol, ports, algorithm, backends, health checks), an error naming
//! the field at fault otherwise. No state: [`super::model`] adds the result.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use super::backends::{backend_addresses, BackendRules};
use super::frontend::{Backend, Balance, CheckStep, Frontend, HealthCheck, Origin, Server};
use super::limits::{
    MAX_CHECK_INTERVAL_S, MAX_CHECK_PATH_LEN, MAX_CHECK_RETRIES, MAX_HEALTH_CHECKS_PER_REQUEST,
    MAX_NAME_LEN, MAX_PORTS_PER_REQUEST,
};
use super::request::{HealthCheckRequest, LbRequest, RequestError};

/// What a `loadbalancer` request needs from the unit besides its JSON.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The VIP addresses to bind.
    pub vips: &'a [IpAddr],
    /// The consumer units' ingress addresses (backends when the request
    /// lists none, and the only backends allowed unless `any_backend`).
    pub consumer_addresses: &'a [IpAddr],
    /// `lb-backends-any-address`: any routable address may be a backend
    /// (see [`super::backends`]).
    pub any_backend: bool,
    /// Frontend ports of this request the VIP serves directly (the charm's
    /// "direct" rule); no HAProxy frontend is made for them.
    pub direct_ports: &'a BTreeSet<u16>,
}

/// Health check timing for `ingress-ports` and for requests without checks.
const DEFAULT_CHECK_INTERVAL_S: u32 = 2;
const DEFAULT_CHECK_FALL: u32 = 3;
const CHECK_RISE: u32 = 2;
const MAX_CHECK_TIMEOUT_S: u32 = 5;
const MAX_FAST_INTERVAL_S: u32 = 2;

/// The frontends a request needs, validated; no state touched.
pub fn frontends_for_request(
    request: &LbRequest,
    ctx: &RequestContext<'_>,
) -> Result<Vec<Frontend>, RequestError> {
    if ctx.vips.is_empty() {
        return Err(RequestError::invalid(
            "ingress_address",
            "this load balancer has no virtual-ip to listen on yet",
        ));
    }
    offered(request)?;
    if request.name.len() > MAX_NAME_LEN {
        return Err(RequestError::invalid(
            "name",
            format!("request name is longer than {MAX_NAME_LEN} characters"),
        ));
    }
    let base = proxy_name(&request.name)
        .ok_or_else(|| RequestError::invalid("name", "request name has no usable characters"))?;
    let mapping = port_mapping(request)?;
    let balance = balance(request)?;
    let rules = BackendRules {
        vips: ctx.vips,
        units: ctx.consumer_addresses,
        any_address: ctx.any_backend,
    };
    let addresses = backend_addresses(request, &rules)?;
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

/// Refuses the protocols and features this load balancer does not offer.
fn offered(request: &LbRequest) -> Result<(), RequestError> {
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
    Ok(())
}

fn port_mapping(request: &LbRequest) -> Result<Vec<(u16, u16)>, RequestError> {
    if request.port_mapping.is_empty() {
        return Err(RequestError::invalid("port_mapping", "no ports requested"));
    }
    if request.port_mapping.len() > MAX_PORTS_PER_REQUEST {
        return Err(RequestError::invalid(
            "port_mapping",
            format!(
                "{} ports requested; at most {MAX_PORTS_PER_REQUEST} per request",
                request.port_mapping.len()
            ),
        ));
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

/// The request's checks as one HAProxy check sequence. Timing: the shortest
/// interval and the fewest retries among them, so every check's
/// interval × retries bound holds.
fn health_check(request: &LbRequest, backend_port: u16) -> Result<HealthCheck, RequestError> {
    if request.health_checks.is_empty() {
        return Ok(default_check(backend_port));
    }
    if request.health_checks.len() > MAX_HEALTH_CHECKS_PER_REQUEST {
        return Err(RequestError::invalid(
            "health_checks",
            format!("at most {MAX_HEALTH_CHECKS_PER_REQUEST} health checks per request"),
        ));
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
    if let Some(hc) = request.health_checks.iter().find(|h| {
        !(1..=MAX_CHECK_INTERVAL_S).contains(&h.interval)
            || !(1..=MAX_CHECK_RETRIES).contains(&h.retries)
    }) {
        return Err(RequestError::invalid(
            "health_checks",
            format!(
                "interval {} / retries {}: interval must be 1-{MAX_CHECK_INTERVAL_S} seconds \
                 and retries 1-{MAX_CHECK_RETRIES}",
                hc.interval, hc.retries
            ),
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
            if !path.starts_with('/')
                || path.len() > MAX_CHECK_PATH_LEN
                || !path.chars().all(is_safe_path_char)
            {
                return Err(RequestError::invalid(
                    "health_checks",
                    format!(
                        "path {path:?} must start with /, use only URL characters \
                         and be at most {MAX_CHECK_PATH_LEN} long"
                    ),
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

/// The TCP check of `port` used when a request asks for none (and for ingress).
pub fn default_check(port: u16) -> HealthCheck {
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

/// `vip:port` for every VIP.
pub fn binds(vips: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    vips.iter().map(|ip| SocketAddr::new(*ip, port)).collect()
}

/// One server per address, on `port`.
pub fn servers(addresses: &[IpAddr], port: u16) -> Vec<Server> {
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
