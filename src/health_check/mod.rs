//! Health-check targets, parsed once for the charm and the agent.
//!
//! Why a room of its own: the charm's `health-check` option and the agent's
//! `checks:` entries describe the same probes, and a value the charm accepts
//! must be one the agent accepts (else the unit runs until the agent restarts,
//! then has no VIP agent). Both import this module; it imports neither, so
//! neither imports the other for it.
//!
//! - [`parse_probe`]: the one-string form of the option
//!   (`tcp:HOST:PORT`, `http(s)://URL`, `exec:/ABSOLUTE/COMMAND ARGS`);
//! - [`parse_tcp`], [`parse_url`], [`parse_exec`]: each kind's target, as
//!   both forms share them;
//! - [`probe`]: the shell-free TCP probe behind `k8s-vip probe`.

pub mod probe;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The forms the option accepts, quoted by every error of [`parse_probe`].
pub const FORMS: &str =
    "use auto, none, tcp:HOST:PORT, http(s)://URL or exec:/ABSOLUTE/COMMAND ARGS";

/// The host of a TCP check: an address, or a name only the charm resolves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// An IP address (brackets removed for IPv6).
    Ip(IpAddr),
    /// A DNS host name, resolved by the charm at hook time.
    Name(String),
}

/// `HOST:PORT` of a TCP check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TcpTarget {
    /// The host.
    pub host: Host,
    /// The port, 1..65535.
    pub port: u16,
}

impl TcpTarget {
    /// The socket address when the host is an address (the agent's form).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match &self.host {
            Host::Ip(ip) => Some(SocketAddr::new(*ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for TcpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]:{}", self.port),
            Host::Ip(ip) => write!(f, "{ip}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

/// One probe as both the charm and the agent run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// TCP connect.
    Tcp(TcpTarget),
    /// HTTP(S) GET expecting 2xx.
    Http(String),
    /// A program; exit 0 = healthy.
    Exec(Vec<String>),
}

/// Parses the one-string form (`tcp:HOST:PORT`, `http(s)://URL`,
/// `exec:/ABSOLUTE/COMMAND ARGS`); the error says which forms are accepted.
pub fn parse_probe(raw: &str) -> Result<Probe, String> {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix("tcp:") {
        return parse_tcp(rest)
            .map(Probe::Tcp)
            .map_err(|why| format!("{raw:?}: {why}; {FORMS}"));
    }
    if raw.starts_with("http://") || raw.starts_with("https://") {
        return parse_url(raw)
            .map(Probe::Http)
            .map_err(|why| format!("{raw:?}: {why}; {FORMS}"));
    }
    if let Some(rest) = raw.strip_prefix("exec:") {
        let argv: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
        return parse_exec(argv, true)
            .map(Probe::Exec)
            .map_err(|why| format!("{raw:?}: {why}; {FORMS}"));
    }
    Err(format!("{raw:?} is not a health check; {FORMS}"))
}

/// Parses `HOST:PORT` (`[ADDR]:PORT` for IPv6): the host an address or a
/// DNS name, the port 1..65535.
pub fn parse_tcp(text: &str) -> Result<TcpTarget, String> {
    let text = text.trim();
    let (host, port) = text
        .rsplit_once(':')
        .ok_or("no port (give HOST:PORT, IPv6 as [ADDR]:PORT)")?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{port:?} is not a port 1..65535"))?;
    if host.is_empty() {
        return Err("no host (give HOST:PORT)".into());
    }
    let host = if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("unclosed [ in the host")?;
        let v6: std::net::Ipv6Addr = inner
            .parse()
            .map_err(|_| format!("[{inner}] is not an IPv6 address"))?;
        Host::Ip(IpAddr::V6(v6))
    } else if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        Host::Ip(IpAddr::V4(ip))
    } else if host.contains(':') {
        return Err(format!(
            "{host:?}: write an IPv6 host in brackets, [ADDR]:PORT"
        ));
    } else if host
        .rsplit('.')
        .next()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("{host:?} is not an IPv4 address"));
    } else if valid_hostname(host) {
        Host::Name(host.to_ascii_lowercase())
    } else {
        return Err(format!("{host:?} is neither an IP address nor a host name"));
    };
    Ok(TcpTarget { host, port })
}

/// Checks an `http://` or `https://` URL with a host and no whitespace.
pub fn parse_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("not an http:// or https:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err("the URL has no host".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL contains spaces or control characters".into());
    }
    Ok(url.to_string())
}

/// Checks a command's argv: a program first (an absolute path when
/// `absolute`), no empty word, no NUL.
pub fn parse_exec(argv: Vec<String>, absolute: bool) -> Result<Vec<String>, String> {
    let Some(program) = argv.first() else {
        return Err("needs a command".into());
    };
    if program.trim().is_empty() {
        return Err("needs a program and its arguments".into());
    }
    if absolute && !program.starts_with('/') {
        return Err(format!("command {program:?} must be an absolute path"));
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err("the command contains a NUL byte".into());
    }
    Ok(argv)
}

/// A DNS host name: labels of letters, digits and '-', at most 253 bytes.
pub fn valid_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests;
