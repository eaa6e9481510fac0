//! bgpd's sessions as the operator sees them: `show bgp summary json`
//! parsed into [`BgpSession`]s, the unit status line ("BGP: 2/2 peers
//! established, announcing 192.0.2.100") and the `status` action's fields.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::select;
use crate::charm::config::BgpOptions;
use crate::charm::types::{BgpSession, BgpWorld, State, StatusDoc, TcpProbe};

/// The sessions of `show bgp summary json` (every address family; a
/// neighbour active in several is listed once).
pub fn parse(text: &str) -> Result<Vec<BgpSession>, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("bgpd's summary is not JSON: {e}"))?;
    let families = doc
        .as_object()
        .ok_or("bgpd's summary is not a JSON object")?;
    let mut out: Vec<BgpSession> = Vec::new();
    for family in families.values() {
        let Some(peers) = family.get("peers").and_then(Value::as_object) else {
            continue;
        };
        for (peer, p) in peers {
            if out.iter().any(|s| s.peer == *peer) {
                continue;
            }
            out.push(BgpSession {
                peer: peer.clone(),
                state: p["state"].as_str().unwrap_or("unknown").to_string(),
                remote_as: p["remoteAs"].as_u64(),
                prefixes_sent: p["pfxSnt"].as_u64(),
                uptime: p["peerUptime"].as_str().map(str::to_string),
                last_notification: None,
            });
        }
    }
    Ok(out)
}

/// The session bgpd reports for `address` (matched as an address, so any
/// spelling of an IPv6 address finds it).
fn session_of(sessions: &[BgpSession], address: IpAddr) -> Option<&BgpSession> {
    sessions
        .iter()
        .find(|s| s.peer.parse::<IpAddr>().ok() == Some(address))
}

/// The VIPs the agent says this unit announces now.
pub fn announced(doc: Option<&StatusDoc>) -> Vec<String> {
    doc.map(|d| {
        d.instances
            .iter()
            .filter(|i| i.announced == Some(true))
            .flat_map(|i| i.vip_addresses().into_iter().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

/// "BGP: 2/2 peers established, announcing 192.0.2.100", or why not, with
/// the state it warrants: `blocked` when a session is down for a reason
/// only the operator can fix (the router refused our OPEN, or the TCP-MD5
/// passwords differ: [`why_down`]); `waiting` while FRR is not running or
/// answering, or no session is up for a reason that passes by itself (the
/// router not there or not listening yet). Routers not on this unit's
/// subnets are not peered with and named as skipped ([`select`]).
pub fn status_line(bgp: &BgpOptions, world: &BgpWorld, doc: Option<&StatusDoc>) -> (State, String) {
    if !world.service.active {
        return (State::Waiting, "BGP: frr.service is not running".into());
    }
    let Some(sessions) = &world.sessions else {
        let why = world.query_error.as_deref().unwrap_or("no answer");
        return (State::Waiting, format!("BGP: bgpd not answering ({why})"));
    };
    let (bgp, skipped) = select::select(bgp, world);
    let total = bgp.peers.len();
    let mut up = 0;
    let mut down = Vec::new();
    let mut blocked = false;
    for p in &bgp.peers {
        match session_of(sessions, p.address) {
            Some(s) if s.state == "Established" => up += 1,
            Some(s) => {
                let (config_error, why) = why_down(&bgp, p.address, s, world);
                blocked |= config_error;
                down.push(format!("{}: {why}", p.address));
            }
            None => down.push(format!("{}: not configured in bgpd", p.address)),
        }
    }
    let mut text = format!("BGP: {up}/{total} peers established");
    if !down.is_empty() {
        text.push_str(&format!(" ({})", down.join(", ")));
    }
    let vips = announced(doc);
    if vips.is_empty() {
        text.push_str(", announcing nothing");
    } else {
        text.push_str(&format!(", announcing {}", vips.join(" ")));
    }
    if let Some(note) = select::skipped_note(&skipped) {
        text.push_str(&format!("; {note}"));
    }
    let state = if blocked {
        State::Blocked
    } else if up == 0 {
        State::Waiting
    } else {
        State::Active
    };
    (state, text)
}

/// How long bgpd has to open a session with the right password before
/// silence from the router counts as a password mismatch.
const PASSWORD_GRACE_SECS: u64 = 30;

/// Why `s` (to `address`) is down, and whether only the operator can fix
/// it. The router's NOTIFICATION to an OPEN (wrong ASN, bad identifier) is
/// a configuration error. TCP-MD5 has no NOTIFICATION: a router with a key
/// for this unit silently drops unsigned or wrongly signed segments, one
/// without a key drops signed ones; a plain connection to its port 179
/// tells which (see [`TcpProbe`]). A router not there, or not listening,
/// is waited for.
fn why_down(bgp: &BgpOptions, address: IpAddr, s: &BgpSession, world: &BgpWorld) -> (bool, String) {
    let state = &s.state;
    if let Some(n) = s.last_notification.as_ref().filter(|n| is_open_error(n)) {
        let check = if n.contains("Bad Peer AS") {
            let listed = match address {
                IpAddr::V6(a) => format!("[{a}]:ASN"),
                IpAddr::V4(a) => format!("{a}:ASN"),
            };
            format!(
                "check the router's ASN in bgp-peers ({listed}) and bgp-asn ({}) against the router's neighbour settings",
                bgp.asn
            )
        } else {
            "check bgp-asn and the router's neighbour settings".to_string()
        };
        return (true, format!("{state}, OPEN refused: {n}; {check}"));
    }
    let probe = world
        .probes
        .iter()
        .find(|(peer, _)| peer.parse::<IpAddr>().ok() == Some(address))
        .map(|(_, p)| p);
    let has_password = bgp.password.is_some();
    let settled = world
        .config_age_secs
        .is_some_and(|age| age >= PASSWORD_GRACE_SECS);
    match probe {
        Some(TcpProbe::Silent) if !has_password || settled => (
            true,
            format!(
                "{state}, no TCP session: the router answers ARP/ND but drops our TCP to port 179; check that bgp-password matches the router's TCP-MD5 password for this unit, and any filter"
            ),
        ),
        Some(TcpProbe::Accepted) if has_password => (
            true,
            format!(
                "{state}, no TCP session: the router takes TCP without a password but bgp-password is set; set the same password on the router or clear bgp-password"
            ),
        ),
        Some(TcpProbe::Refused) => (
            false,
            format!("{state}, the router refuses TCP port 179 (bgpd not running there yet?)"),
        ),
        Some(TcpProbe::Unreachable(why)) => (
            false,
            format!("{state}, the router is not reachable ({why})"),
        ),
        _ => match &s.last_notification {
            Some(n) => (false, format!("{state}, last NOTIFICATION: {n}")),
            None => (false, state.clone()),
        },
    }
}

/// A NOTIFICATION refusing our OPEN (RFC 4271 error code 2): a setting
/// that differs between the two ends, which retrying never fixes.
pub fn is_open_error(notification: &str) -> bool {
    notification.starts_with("OPEN Message Error")
}

/// The `status` action's `bgp.*` fields: every configured router's session
/// and what this unit announces.
pub fn action_fields(
    bgp: &BgpOptions,
    world: &BgpWorld,
    doc: Option<&StatusDoc>,
    key: &dyn Fn(&str) -> String,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("bgp.asn".into(), bgp.asn.to_string());
    out.insert("bgp.ecmp".into(), bgp.ecmp.to_string());
    out.insert("bgp.bfd".into(), bgp.bfd.to_string());
    out.insert("bgp.announcing".into(), announced(doc).join(" "));
    let (_, line) = status_line(bgp, world, doc);
    out.insert("bgp.summary".into(), line);
    let (kept, skipped) = select::select(bgp, world);
    for s in &skipped {
        out.insert(
            format!("bgp.peers.{}", key(&s.address.to_string())),
            format!("skipped: {}", s.why),
        );
    }
    for p in &kept.peers {
        let remote = p.asn.map_or("external".to_string(), |a| a.to_string());
        let session = world
            .sessions
            .as_deref()
            .and_then(|s| session_of(s, p.address));
        let text = match session {
            Some(s) if s.state != "Established" => {
                format!("AS {remote}, {}", why_down(&kept, p.address, s, world).1)
            }
            Some(s) => describe(s, &remote),
            None => format!("AS {remote}, no session"),
        };
        out.insert(format!("bgp.peers.{}", key(&p.address.to_string())), text);
    }
    out
}

/// `AS 65000, Established for 00:01:02, 1 prefix sent`.
fn describe(s: &BgpSession, remote: &str) -> String {
    // bgpd says 0 until an `external` neighbour's OPEN told it the ASN.
    let asn = s
        .remote_as
        .filter(|a| *a != 0)
        .map_or(remote.to_string(), |a| a.to_string());
    let mut text = format!("AS {asn}, {}", s.state);
    if let Some(up) = s.uptime.as_ref().filter(|u| *u != "never") {
        text.push_str(&format!(" for {up}"));
    }
    if let Some(n) = s.prefixes_sent {
        text.push_str(&format!(
            ", {n} prefix{} sent",
            if n == 1 { "" } else { "es" }
        ));
    }
    text
}
