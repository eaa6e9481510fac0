//! What the kernel and the routers say about the routers of `bgp-peers`,
//! read by [`super::world::gather`]: how each is reached (only a directly
//! connected router can be a single-hop eBGP neighbour), why bgpd's
//! session is down (its last NOTIFICATION), and, when bgpd cannot even open
//! TCP, what a plain connection to port 179 meets. That last one is the
//! only clue to a TCP-MD5 mismatch: the router's kernel drops segments
//! whose signature is missing or wrong, without a word.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use super::bounded::run_bounded;
use crate::charm::types::{BgpSession, PeerRoute, TcpProbe};

/// How long `ip` may take.
const IP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a plain connection to port 179 may take to be answered.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// `ip -j route get ADDR` for every router; None when `ip` cannot be run
/// (then nothing is skipped).
pub fn routes(addresses: &[IpAddr]) -> Option<Vec<PeerRoute>> {
    let mut out = Vec::with_capacity(addresses.len());
    for a in addresses {
        let text = a.to_string();
        let answer = run_bounded("ip", &["-j", "route", "get", &text], IP_TIMEOUT);
        let route = match answer {
            Ok(json) => {
                let v: Value = serde_json::from_str(&json).unwrap_or_default();
                let first = &v[0];
                PeerRoute {
                    address: text,
                    gateway: first["gateway"].as_str().map(str::to_string),
                    error: first.is_null().then(|| "no route".to_string()),
                }
            }
            Err(e) if e.starts_with("cannot run") => return None,
            Err(e) => PeerRoute {
                address: text,
                gateway: None,
                error: Some(e),
            },
        };
        out.push(route);
    }
    Some(out)
}

/// Adds `show bgp neighbors json`'s last NOTIFICATION to every session
/// that is not established.
pub fn add_notifications(sessions: &mut [BgpSession], socket: &str) {
    if sessions.iter().all(|s| s.state == "Established") {
        return;
    }
    let args = ["--vty_socket", socket, "-c", "show bgp neighbors json"];
    let Ok(text) = run_bounded("vtysh", &args, IP_TIMEOUT) else {
        return;
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    for s in sessions.iter_mut().filter(|s| s.state != "Established") {
        s.last_notification = doc[&s.peer]["lastNotificationReason"]
            .as_str()
            .filter(|r| !r.is_empty())
            .map(str::to_string);
    }
}

/// Whether bgpd cannot open TCP to this session's router and no refused
/// OPEN explains it (an older NOTIFICATION, e.g. the router's restart,
/// says nothing about now).
pub fn needs_probe(s: &BgpSession) -> bool {
    matches!(s.state.as_str(), "Active" | "Connect" | "Idle")
        && !s
            .last_notification
            .as_deref()
            .is_some_and(super::summary::is_open_error)
}

/// A plain connection to `address`:179, then the kernel's neighbour entry
/// when nothing answered.
pub fn tcp_probe(address: IpAddr) -> TcpProbe {
    let target = SocketAddr::new(address, 179);
    match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
        Ok(_) => TcpProbe::Accepted,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => TcpProbe::Refused,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => match neighbour_state(address) {
            Some(state) if answers(&state) => TcpProbe::Silent,
            Some(state) => TcpProbe::Unreachable(format!("neighbour {state}")),
            None => TcpProbe::Unreachable("no answer".into()),
        },
        Err(e) => TcpProbe::Unreachable(e.to_string()),
    }
}

/// The kernel's ARP / ND state for `address` (`REACHABLE`, `FAILED`, ...).
fn neighbour_state(address: IpAddr) -> Option<String> {
    let text = address.to_string();
    let json = run_bounded("ip", &["-j", "neigh", "show", "to", &text], IP_TIMEOUT).ok()?;
    let v: Value = serde_json::from_str(&json).ok()?;
    v[0]["state"][0].as_str().map(str::to_string)
}

/// Whether a neighbour state means the host answered ARP / ND.
fn answers(state: &str) -> bool {
    matches!(
        state,
        "REACHABLE" | "STALE" | "DELAY" | "PROBE" | "PERMANENT" | "NOARP"
    )
}
