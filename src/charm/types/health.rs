//! The `health-check` option: what decides whether this unit may hold the VIP.

use std::fmt;

/// A health check in the charm's terms (rendered into agent.yaml or keepalived.conf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// `auto`: the local API server when the principal runs one, the HAProxy
    /// frontend when the load balancer runs, else nothing.
    Auto,
    /// `none`.
    None,
    /// `tcp:HOST:PORT`: a TCP connect.
    Tcp {
        /// Host (an address or name; IPv6 in brackets in the option).
        host: String,
        /// Port.
        port: u16,
    },
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
    /// Parses the option; the error says which forms are accepted.
    pub fn parse(raw: &str) -> Result<HealthCheck, String> {
        const FORMS: &str =
            "use auto, none, tcp:HOST:PORT, http(s)://URL or exec:/ABSOLUTE/COMMAND ARGS";
        let raw = raw.trim();
        if raw.is_empty() || raw == "auto" {
            return Ok(HealthCheck::Auto);
        }
        if raw == "none" {
            return Ok(HealthCheck::None);
        }
        if let Some(rest) = raw.strip_prefix("tcp:") {
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| format!("{raw:?} has no port; {FORMS}"))?;
            let host = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            let port: u16 = port
                .parse()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{port:?} in {raw:?} is not a port 1..65535"))?;
            if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
                return Err(format!("{raw:?} has no valid host; {FORMS}"));
            }
            return Ok(HealthCheck::Tcp {
                host: host.to_string(),
                port,
            });
        }
        if let Some(rest) = raw
            .strip_prefix("http://")
            .or_else(|| raw.strip_prefix("https://"))
        {
            let authority = rest.split('/').next().unwrap_or("");
            if authority.is_empty() || raw.contains(char::is_whitespace) {
                return Err(format!("{raw:?} is not a URL with a host; {FORMS}"));
            }
            return Ok(HealthCheck::Http {
                url: raw.to_string(),
            });
        }
        if let Some(rest) = raw.strip_prefix("exec:") {
            let argv: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
            match argv.first() {
                Some(cmd) if cmd.starts_with('/') => return Ok(HealthCheck::Exec { argv }),
                Some(cmd) => {
                    return Err(format!(
                        "exec command {cmd:?} must be an absolute path; {FORMS}"
                    ))
                }
                None => return Err(format!("exec: needs a command; {FORMS}")),
            }
        }
        Err(format!("{raw:?} is not a health check; {FORMS}"))
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
            HealthCheck::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp:[{host}]:{port}")
            }
            HealthCheck::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            HealthCheck::Http { url } => write!(f, "{url}"),
            HealthCheck::Exec { argv } => write!(f, "exec:{}", argv.join(" ")),
        }
    }
}
