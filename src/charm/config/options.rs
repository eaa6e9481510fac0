//! One validator per option (config.yaml order), each turning the raw
//! value into its typed form or a [`ConfigError`] that names the option and
//! says what would work.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::model::{ConfigError, VipAgent, VrrpVersion};
use super::read::{err, float_opt, int_opt, string_opt};
use crate::charm::types::{HealthCheck, VipSpec};

type Options = Map<String, Value>;

/// Largest number of VIPs one application may float (each is a VRRP instance).
pub const MAX_VIPS: usize = 16;
/// Largest VRRPv3 advert interval: 12 bits of centiseconds (RFC 5798 §5.2.7).
const MAX_ADVERT_CS_V3: u16 = 4095;
/// Largest VRRPv2 advert interval: 8 bits of seconds (RFC 3768 §5.3.7).
const MAX_ADVERT_S_V2: u16 = 255;

/// Parses `virtual-ip`: space- or comma-separated addresses with optional prefix.
/// `app` is the application name, used in the command the message suggests.
pub fn parse_vips(raw: &str, app: &str) -> Result<Vec<VipSpec>, ConfigError> {
    const OPT: &str = "virtual-ip";
    let words: Vec<&str> = raw
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err(err(
            OPT,
            format!("set virtual-ip (juju config {app} virtual-ip=ADDRESS)"),
        ));
    }
    if words.len() > MAX_VIPS {
        return Err(err(
            OPT,
            format!(
                "{} addresses given, at most {MAX_VIPS} are supported",
                words.len()
            ),
        ));
    }
    let mut vips: Vec<VipSpec> = Vec::with_capacity(words.len());
    for word in words {
        let vip: VipSpec = word
            .parse()
            .map_err(|why| err(OPT, format!("{word:?}: {why}")))?;
        if let Some(bad) = unusable_vip_reason(vip.addr) {
            return Err(err(
                OPT,
                format!(
                    "{} is {bad}; use a unicast address of the unit's network",
                    vip.addr
                ),
            ));
        }
        if vips.iter().any(|v| v.addr == vip.addr) {
            return Err(err(OPT, format!("{} is listed twice", vip.addr)));
        }
        vips.push(vip);
    }
    // IPv4 first, then IPv6, each family in the order the user gave.
    vips.sort_by_key(|v| v.addr.is_ipv6());
    Ok(vips)
}

/// Why an address can never be a VIP, or None when it can.
fn unusable_vip_reason(addr: IpAddr) -> Option<&'static str> {
    if addr.is_unspecified() {
        return Some("the unspecified address");
    }
    if addr.is_loopback() {
        return Some("a loopback address");
    }
    if addr.is_multicast() {
        return Some("a multicast address");
    }
    match addr {
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("a link-local address"),
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Some("an IPv4-mapped IPv6 address"),
        _ => None,
    }
}

/// A Linux interface name: 1..=15 bytes, no slash, whitespace, colon or NUL.
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0' || !c.is_ascii())
}

/// Turns seconds into centiseconds when `secs` is a whole number of them.
fn seconds_to_cs(secs: f64) -> Option<u16> {
    let cs = (secs * 100.0).round();
    if (secs * 100.0 - cs).abs() > 1e-6 || !(0.0..=f64::from(u16::MAX)).contains(&cs) {
        return None;
    }
    // In range and integral, checked above.
    Some(cs as u16)
}

/// `vrrp-version`: 3 (default) or 2.
pub fn vrrp_version(map: &Options) -> Result<VrrpVersion, ConfigError> {
    match int_opt(map, "vrrp-version", 3)? {
        2 => Ok(VrrpVersion::V2),
        3 => Ok(VrrpVersion::V3),
        other => Err(err(
            "vrrp-version",
            format!("{other} is not a VRRP version; use 3 (default) or 2 (to mix with old keepalived peers)"),
        )),
    }
}

/// `virtual-ip` under `version`: VRRPv2 cannot carry IPv6.
pub fn vips(map: &Options, app: &str, version: VrrpVersion) -> Result<Vec<VipSpec>, ConfigError> {
    let vips = parse_vips(&string_opt(map, "virtual-ip")?, app)?;
    if version == VrrpVersion::V2 {
        if let Some(v6) = vips.iter().find(|v| v.addr.is_ipv6()) {
            return Err(err(
                "virtual-ip",
                format!(
                    "{} is IPv6, which VRRPv2 cannot carry; set vrrp-version=3 or remove it",
                    v6.addr
                ),
            ));
        }
    }
    Ok(vips)
}

/// `vip-hostname`: empty (None) or a DNS name.
pub fn vip_hostname(map: &Options) -> Result<Option<String>, ConfigError> {
    let hostname = string_opt(map, "vip-hostname")?;
    if hostname.is_empty() {
        Ok(None)
    } else if crate::health_check::valid_hostname(&hostname) {
        Ok(Some(hostname))
    } else {
        Err(err(
            "vip-hostname",
            format!(
                "{hostname:?} is not a DNS name (letters, digits, '-' and '.'), or set it to \"\""
            ),
        ))
    }
}

/// `port`: 1..65535, default 6443.
pub fn port(map: &Options) -> Result<u16, ConfigError> {
    let port = int_opt(map, "port", 6443)?;
    u16::try_from(port).ok().filter(|p| *p != 0).ok_or_else(|| {
        err(
            "port",
            format!("{port} is not a TCP port; use 1..65535 (default 6443)"),
        )
    })
}

/// `virtual-router-id`: 0 (derive) or 1..255.
pub fn virtual_router_id(map: &Options) -> Result<u8, ConfigError> {
    let vrid = int_opt(map, "virtual-router-id", 0)?;
    u8::try_from(vrid).map_err(|_| {
        err(
            "virtual-router-id",
            format!("{vrid} is out of range; use 1..255, or 0 to derive it from the model and application name"),
        )
    })
}

/// `network-interface`: empty (None: choose) or an interface name.
pub fn network_interface(map: &Options) -> Result<Option<String>, ConfigError> {
    let iface = string_opt(map, "network-interface")?;
    if iface.is_empty() {
        Ok(None)
    } else if valid_ifname(&iface) {
        Ok(Some(iface))
    } else {
        Err(err(
            "network-interface",
            format!("{iface:?} is not an interface name (at most 15 characters, no '/', ':' or spaces); or leave it empty to choose automatically"),
        ))
    }
}

/// `advert-interval` in centiseconds, as `version` can carry it.
pub fn advert_interval_cs(map: &Options, version: VrrpVersion) -> Result<u16, ConfigError> {
    let secs = float_opt(map, "advert-interval", 0.25)?;
    match version {
        VrrpVersion::V3 => match seconds_to_cs(secs) {
            Some(cs) if (1..=MAX_ADVERT_CS_V3).contains(&cs) => Ok(cs),
            _ => Err(err(
                "advert-interval",
                format!("{secs} s is not allowed for VRRPv3; use a multiple of 0.01 between 0.01 and 40.95"),
            )),
        },
        VrrpVersion::V2 => match seconds_to_cs(secs) {
            Some(cs) if cs % 100 == 0 && (1..=MAX_ADVERT_S_V2).contains(&(cs / 100)) => Ok(cs),
            _ => Err(err(
                "advert-interval",
                format!("{secs} s is not allowed for VRRPv2; use whole seconds 1..255, or vrrp-version=3 for sub-second adverts"),
            )),
        },
    }
}

/// `health-check`.
pub fn health_check(map: &Options) -> Result<HealthCheck, ConfigError> {
    let raw = string_opt(map, "health-check")?;
    HealthCheck::parse(&raw).map_err(|why| err("health-check", why))
}

/// `garp-refresh`: seconds 0..86400.
pub fn garp_refresh_s(map: &Options) -> Result<u32, ConfigError> {
    let garp = int_opt(map, "garp-refresh", 60)?;
    u32::try_from(garp)
        .ok()
        .filter(|g| *g <= 86_400)
        .ok_or_else(|| {
            err(
                "garp-refresh",
                format!("{garp} is out of range; use seconds 0..86400 (0 = off)"),
            )
        })
}

/// `vip-agent`: builtin (default) or keepalived.
pub fn vip_agent(map: &Options) -> Result<VipAgent, ConfigError> {
    match string_opt(map, "vip-agent")?.as_str() {
        "" | "builtin" => Ok(VipAgent::Builtin),
        "keepalived" => Ok(VipAgent::Keepalived),
        other => Err(err(
            "vip-agent",
            format!("{other:?} is not a VIP agent; use builtin (default) or keepalived"),
        )),
    }
}
