//! The `health-check` option: what decides whether this unit may hold the VIP.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::health_check::{parse_probe, Host, Probe, TcpTarget};

/// A health check in the charm's terms (rendered into agent.yaml or keepalived.conf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// `auto`: the local API server when the principal runs one, the HAProxy
    /// frontend when the load balancer runs, else nothing.
    Auto,
    /// `none`.
    None,
    /// `tcp:HOST:PORT`: a TCP connect. A host name is resolved by the
    /// charm at hook time ([`HealthCheck::with_address`]); the agent and
    /// keepalived only ever get the address.
    Tcp(TcpTarget),
    /// `http://...` or `https://...`: a GET expecting 2xx; TLS not verified.
    Http {
        /// The URL.
        url: String,
    },
    /// `exec:COMMAND`: exit status 0 = healthy. Split on whitespace, no shell.
    Exec {
        /// argv; `argv[0]` is an absolute path.
        argv: Vec<String>,
    },
}

/// Principal applications that run kube-apiserver on the unit.
pub const APISERVER_PRINCIPALS: &[&str] = &["kubernetes-control-plane", "kubernetes-master"];

/// The URL `auto` checks on API server units.
pub const APISERVER_LIVEZ: &str = "https://127.0.0.1:6443/livez";

impl HealthCheck {
    /// Parses the option with the parser the agent uses
    /// ([`crate::health_check::parse_probe`]); the error says which forms
    /// are accepted.
    pub fn parse(raw: &str) -> Result<HealthCheck, String> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "auto" {
            return Ok(HealthCheck::Auto);
        }
        if raw == "none" {
            return Ok(HealthCheck::None);
        }
        Ok(match parse_probe(raw)? {
            Probe::Tcp(target) => HealthCheck::Tcp(target),
            Probe::Http(url) => HealthCheck::Http { url },
            Probe::Exec(argv) => HealthCheck::Exec { argv },
        })
    }

    /// The host name a `tcp:` check must have resolved, if any.
    pub fn host_name(&self) -> Option<&str> {
        match self {
            HealthCheck::Tcp(TcpTarget {
                host: Host::Name(name),
                ..
            }) => Some(name),
            _ => None,
        }
    }

    /// This check with a `tcp:` host name replaced by its address from
    /// `resolved` (name -> addresses, first preferred); the error names the
    /// name that did not resolve.
    pub fn with_address(
        &self,
        resolved: &BTreeMap<String, Vec<IpAddr>>,
    ) -> Result<HealthCheck, String> {
        let (Some(name), HealthCheck::Tcp(target)) = (self.host_name(), self) else {
            return Ok(self.clone());
        };
        match resolved.get(name).and_then(|addrs| addrs.first()) {
            Some(addr) => Ok(HealthCheck::Tcp(TcpTarget {
                host: Host::Ip(*addr),
                port: target.port,
            })),
            None => Err(format!(
                "host name {name:?} in tcp:{target} does not resolve on this unit; use an IP address or a name the unit resolves"
            )),
        }
    }

    /// Resolves `auto` for a unit that runs kube-apiserver (`runs_apiserver`)
    /// or not. Returns None when no check applies. (When the load balancer
    /// runs, the lb part of the plan adds its frontend check itself.)
    pub fn resolve(&self, runs_apiserver: bool) -> Option<HealthCheck> {
        match self {
            HealthCheck::None => None,
            HealthCheck::Auto => runs_apiserver.then(|| HealthCheck::Http {
                url: APISERVER_LIVEZ.to_string(),
            }),
            other => Some(other.clone()),
        }
    }
}

/// Whether the principal application (by charm/app name) runs kube-apiserver.
pub fn is_apiserver_principal(app: &str) -> bool {
    APISERVER_PRINCIPALS
        .iter()
        .any(|p| app == *p || app.starts_with(&format!("{p}-")))
}

impl fmt::Display for HealthCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthCheck::Auto => write!(f, "auto"),
            HealthCheck::None => write!(f, "none"),
            HealthCheck::Tcp(target) => write!(f, "tcp:{target}"),
            HealthCheck::Http { url } => write!(f, "{url}"),
            HealthCheck::Exec { argv } => write!(f, "exec:{}", argv.join(" ")),
        }
    }
}
