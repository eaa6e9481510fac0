//! `k8s-vip probe tcp:ADDR:PORT`: one TCP connect, exit 0 when it succeeds.
//!
//! Why: keepalived runs its `vrrp_script` checks itself; a `tcp:` check used
//! to go through `bash -c '</dev/tcp/...'`, a shell for every probe with the
//! option's text inside it. This probe runs no shell and takes only an
//! address, so keepalived mode checks exactly what the agent would.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::{parse_tcp, Host};

/// Default time one probe may take.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;

/// Parses `tcp:ADDR:PORT` (an address, not a name: the charm resolves names
/// before it renders the probe).
pub fn parse_target(spec: &str) -> Result<SocketAddr, String> {
    let rest = spec
        .trim()
        .strip_prefix("tcp:")
        .ok_or_else(|| format!("{spec:?}: give tcp:ADDR:PORT"))?;
    let target = parse_tcp(rest).map_err(|why| format!("{spec:?}: {why}"))?;
    match (&target.host, target.socket_addr()) {
        (_, Some(addr)) => Ok(addr),
        (Host::Name(name), None) => Err(format!(
            "{spec:?}: {name:?} is a host name; give an IP address"
        )),
        (Host::Ip(_), None) => Err(format!("{spec:?}: no address")),
    }
}

/// Connects to `spec` within `timeout_ms`; `Err` carries a one-line reason.
pub fn tcp(spec: &str, timeout_ms: u64) -> Result<(), String> {
    let addr = parse_target(spec)?;
    if !(1..=600_000).contains(&timeout_ms) {
        return Err(format!(
            "--timeout-ms {timeout_ms} is out of range; use 1..600000"
        ));
    }
    TcpStream::connect_timeout(&addr, Duration::from_millis(timeout_ms))
        .map(|_| ())
        .map_err(|e| format!("connect {addr}: {e}"))
}
