//! bgpd's sessions as the operator sees them: `show bgp summary json`
//! parsed into [`BgpSession`]s, the unit status line ("BGP: 2/2 peers
//! established, announcing 192.0.2.100") and the `status` action's fields.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use crate::charm::config::BgpOptions;
use crate::charm::types::{BgpSession, BgpWorld, State, StatusDoc};

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
/// the state it warrants: waiting while FRR is not running or answering,
/// or no session is established (nothing can reach the VIPs through us).
pub fn status_line(bgp: &BgpOptions, world: &BgpWorld, doc: Option<&StatusDoc>) -> (State, String) {
    if !world.service.active {
        return (State::Waiting, "BGP: frr.service is not running".into());
    }
    let Some(sessions) = &world.sessions else {
        let why = world.query_error.as_deref().unwrap_or("no answer");
        return (State::Waiting, format!("BGP: bgpd not answering ({why})"));
    };
    let total = bgp.peers.len();
    let mut up = 0;
    let mut down = Vec::new();
    for p in &bgp.peers {
        match session_of(sessions, p.address) {
            Some(s) if s.state == "Established" => up += 1,
            Some(s) => down.push(format!("{}: {}", p.address, s.state)),
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
    let state = if up == 0 {
        State::Waiting
    } else {
        State::Active
    };
    (state, text)
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
    for p in &bgp.peers {
        let remote = p.asn.map_or("external".to_string(), |a| a.to_string());
        let session = world
            .sessions
            .as_deref()
            .and_then(|s| session_of(s, p.address));
        let text = match session {
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
