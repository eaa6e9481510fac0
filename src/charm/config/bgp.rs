//! The BGP options (`bgp-peers`, `bgp-asn`, `bgp-ecmp`, `bgp-bfd`,
//! `bgp-password`), validated together: in BGP mode FRR announces the VIPs
//! as host routes to the routers listed, so every value must be one FRR
//! takes, and a mistake blocks the unit here, naming the option, instead of
//! being found by FRR (or by a router) later. Every option is validated even
//! while `bgp-peers` is empty (BGP off), so a typo never waits silently for
//! the day BGP is switched on.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::model::{BgpOptions, BgpPeer, ConfigError, VipAgent};
use super::read::{bool_opt, err, int_opt, string_opt};
use crate::charm::types::VipSpec;

/// Most routers one unit peers with (a leaf pair, or a few route servers).
pub const MAX_BGP_PEERS: usize = 16;
/// Longest TCP-MD5 key Linux takes (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_PASSWORD_LEN: usize = 80;
/// The units' ASN by default: the first private 2-byte ASN (RFC 6996).
pub const DEFAULT_ASN: i64 = 64512;
/// AS_TRANS (RFC 6793): stands for a 4-byte ASN towards old speakers, never
/// anyone's own.
const AS_TRANS: i64 = 23456;

/// The five options; None while `bgp-peers` is empty (BGP off).
pub fn parse(
    map: &Map<String, Value>,
    vips: &[VipSpec],
    vip_agent: VipAgent,
) -> Result<Option<BgpOptions>, ConfigError> {
    let peers = parse_peers(&string_opt(map, "bgp-peers")?)?;
    let asn = asn(map)?;
    let ecmp = bool_opt(map, "bgp-ecmp", false)?;
    let bfd = bool_opt(map, "bgp-bfd", true)?;
    let password = password(map)?;
    if peers.is_empty() {
        return Ok(None);
    }
    if vip_agent == VipAgent::Keepalived {
        return Err(err(
            "bgp-peers",
            "BGP mode needs vip-agent=builtin (keepalived cannot tell FRR when to announce); set vip-agent=builtin or bgp-peers=\"\"",
        ));
    }
    check_against_vips(&peers, vips)?;
    Ok(Some(BgpOptions {
        peers,
        asn,
        ecmp,
        bfd,
        password,
    }))
}

/// `bgp-peers`: space-separated `ADDRESS[:ASN]`, `[IPV6]:ASN` for IPv6.
pub fn parse_peers(raw: &str) -> Result<Vec<BgpPeer>, ConfigError> {
    const OPT: &str = "bgp-peers";
    let words: Vec<&str> = raw.split_whitespace().collect();
    if words.len() > MAX_BGP_PEERS {
        return Err(err(
            OPT,
            format!(
                "{} routers given, at most {MAX_BGP_PEERS} are supported",
                words.len()
            ),
        ));
    }
    let mut peers: Vec<BgpPeer> = Vec::with_capacity(words.len());
    for word in words {
        let peer = parse_peer(word).map_err(|why| err(OPT, format!("{word:?}: {why}")))?;
        if let Some(bad) = unusable_peer_reason(peer.address) {
            return Err(err(
                OPT,
                format!(
                    "{} is {bad}; list the routers' addresses on the unit's networks",
                    peer.address
                ),
            ));
        }
        if peers.iter().any(|p| p.address == peer.address) {
            return Err(err(OPT, format!("{} is listed twice", peer.address)));
        }
        peers.push(peer);
    }
    Ok(peers)
}

/// One `ADDRESS`, `ADDRESS:ASN`, `[IPV6]` or `[IPV6]:ASN`.
fn parse_peer(word: &str) -> Result<BgpPeer, String> {
    if let Ok(address) = word.parse::<IpAddr>() {
        return Ok(BgpPeer { address, asn: None });
    }
    if let Some(rest) = word.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address in brackets needs its closing ']'")?;
        let address: IpAddr = addr
            .parse()
            .ok()
            .filter(IpAddr::is_ipv6)
            .ok_or("not an IPv6 address in brackets")?;
        let asn = match after {
            "" => None,
            _ => Some(parse_asn(
                after.strip_prefix(':').ok_or("expected :ASN after ']'")?,
            )?),
        };
        return Ok(BgpPeer { address, asn });
    }
    let (addr, asn) = word
        .rsplit_once(':')
        .ok_or("not an IP address (ADDRESS or ADDRESS:ASN)")?;
    let address: IpAddr = addr.parse().map_err(|_| {
        if addr.contains(':') {
            "write an IPv6 router with an ASN as [ADDRESS]:ASN".to_string()
        } else {
            "not an IP address (ADDRESS or ADDRESS:ASN)".to_string()
        }
    })?;
    if address.is_ipv6() {
        return Err("write an IPv6 router with an ASN as [ADDRESS]:ASN".into());
    }
    Ok(BgpPeer {
        address,
        asn: Some(parse_asn(asn)?),
    })
}

/// An ASN: a whole number 1..4294967295 (4-byte ASNs, RFC 6793), not AS_TRANS.
fn parse_asn(text: &str) -> Result<u32, String> {
    let n: i64 = text
        .parse()
        .map_err(|_| format!("ASN {text:?} is not a whole number 1..4294967295"))?;
    check_asn(n)
}

fn check_asn(n: i64) -> Result<u32, String> {
    if n == AS_TRANS {
        return Err("ASN 23456 is AS_TRANS (RFC 6793), which no router may use as its own".into());
    }
    u32::try_from(n)
        .ok()
        .filter(|a| *a != 0)
        .ok_or_else(|| format!("ASN {n} is out of range; use 1..4294967295"))
}

/// Why an address can never be a BGP neighbour, or None when it can.
fn unusable_peer_reason(addr: IpAddr) -> Option<&'static str> {
    match addr {
        a if a.is_unspecified() => Some("the unspecified address"),
        a if a.is_loopback() => Some("a loopback address"),
        a if a.is_multicast() => Some("a multicast address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
            Some("a link-local address (it would need an interface)")
        }
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Some("an IPv4-mapped IPv6 address"),
        _ => None,
    }
}

/// `bgp-asn`: the units' ASN.
fn asn(map: &Map<String, Value>) -> Result<u32, ConfigError> {
    let n = int_opt(map, "bgp-asn", DEFAULT_ASN)?;
    check_asn(n).map_err(|why| err("bgp-asn", format!("{why} (default 64512, a private ASN)")))
}

/// `bgp-password`: empty (None) or printable ASCII without spaces, at most
/// 80 characters: FRR takes it as one word, Linux keys TCP-MD5 with at most
/// 80 bytes. Read untrimmed, so a stray space is refused, not dropped.
fn password(map: &Map<String, Value>) -> Result<Option<String>, ConfigError> {
    const OPT: &str = "bgp-password";
    let raw = match map.get(OPT) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(err(OPT, format!("expected a string, got {other}"))),
    };
    if raw.is_empty() {
        return Ok(None);
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(err(
            OPT,
            "use printable ASCII characters only, without spaces or line breaks (FRR takes the password as one word)",
        ));
    }
    if raw.len() > MAX_PASSWORD_LEN {
        return Err(err(
            OPT,
            format!(
                "{} characters is too long; TCP-MD5 keys have at most {MAX_PASSWORD_LEN}",
                raw.len()
            ),
        ));
    }
    Ok(Some(raw.to_string()))
}

/// No router may be a VIP, and every VIP needs a router of its family to be
/// announced to (IPv4 routes go over IPv4 sessions, IPv6 over IPv6).
fn check_against_vips(peers: &[BgpPeer], vips: &[VipSpec]) -> Result<(), ConfigError> {
    if let Some(p) = peers
        .iter()
        .find(|p| vips.iter().any(|v| v.addr == p.address))
    {
        return Err(err(
            "bgp-peers",
            format!(
                "{} is a virtual IP; list the routers' own addresses",
                p.address
            ),
        ));
    }
    for v in vips {
        if !peers
            .iter()
            .any(|p| p.address.is_ipv6() == v.addr.is_ipv6())
        {
            let family = if v.addr.is_ipv6() { "IPv6" } else { "IPv4" };
            return Err(err(
                "bgp-peers",
                format!(
                    "the VIP {} is {family} but no {family} router is listed to announce it to",
                    v.addr
                ),
            ));
        }
    }
    Ok(())
}
