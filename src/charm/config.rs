//! The charm's options (config.yaml), parsed and validated in one place so every
//! bad value becomes one `blocked` message that names the option and says how to
//! fix it, before anything is written to the unit.

use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::types::{HealthCheck, VipSpec};

/// Which program floats the VIPs on this unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VipAgent {
    /// Our own VRRP agent (`k8s-vip agent`), the default.
    Builtin,
    /// Debian/Ubuntu's keepalived, for sites that must run it.
    Keepalived,
}

/// VRRP protocol version on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpVersion {
    /// RFC 3768: IPv4 only, whole-second adverts (old keepalived peers).
    V2,
    /// RFC 5798: IPv4 and IPv6, centisecond adverts (the default).
    V3,
}

impl VrrpVersion {
    /// The number written into agent.yaml and keepalived.conf.
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// Every option of the charm this branch owns, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `virtual-ip`: the VIPs, IPv4 first then IPv6, each in the order given.
    pub vips: Vec<VipSpec>,
    /// `vip-hostname`: published to consumers instead of the address when set.
    pub vip_hostname: Option<String>,
    /// `port`: API port published on the legacy relations.
    pub port: u16,
    /// `virtual-router-id`: 0 = derive from model and application name.
    pub virtual_router_id: u8,
    /// `network-interface`: None = choose from the VIP's subnet or the default route.
    pub network_interface: Option<String>,
    /// `advert-interval` in centiseconds (whole seconds * 100 for VRRPv2).
    pub advert_interval_cs: u16,
    /// `vrrp-version`.
    pub vrrp_version: VrrpVersion,
    /// `preempt`.
    pub preempt: bool,
    /// `unicast`.
    pub unicast: bool,
    /// `health-check`.
    pub health_check: HealthCheck,
    /// `garp-refresh` seconds, 0 = off.
    pub garp_refresh_s: u32,
    /// `vip-agent`.
    pub vip_agent: VipAgent,
}

/// One invalid option: which one, and a sentence saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The option's name as the user types it (`virtual-ip`).
    pub option: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.option, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Largest number of VIPs one application may float (each is a VRRP instance).
pub const MAX_VIPS: usize = 16;
/// Largest VRRPv3 advert interval: 12 bits of centiseconds (RFC 5798 §5.2.7).
const MAX_ADVERT_CS_V3: u16 = 4095;
/// Largest VRRPv2 advert interval: 8 bits of seconds (RFC 3768 §5.3.7).
const MAX_ADVERT_S_V2: u16 = 255;

fn err(option: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        option,
        message: message.into(),
    }
}

/// Reads a string option; absent or null is the empty string.
fn string_opt(map: &Map<String, Value>, option: &'static str) -> Result<String, ConfigError> {
    match map.get(option) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(other) => Err(err(option, format!("expected a string, got {other}"))),
    }
}

/// Reads an integer option (Juju hands ints as JSON numbers; a numeric string
/// is accepted too because older clients stringify).
fn int_opt(
    map: &Map<String, Value>,
    option: &'static str,
    default: i64,
) -> Result<i64, ConfigError> {
    match map.get(option) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| err(option, format!("expected a whole number, got {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| err(option, format!("expected a whole number, got {s:?}"))),
        Some(other) => Err(err(option, format!("expected a whole number, got {other}"))),
    }
}

fn float_opt(
    map: &Map<String, Value>,
    option: &'static str,
    default: f64,
) -> Result<f64, ConfigError> {
    let value = match map.get(option) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| err(option, format!("expected a number of seconds, got {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| err(option, format!("expected a number of seconds, got {s:?}"))),
        Some(other) => Err(err(
            option,
            format!("expected a number of seconds, got {other}"),
        )),
    }?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(err(
            option,
            format!("expected a number of seconds, got {value}"),
        ))
    }
}

fn bool_opt(
    map: &Map<String, Value>,
    option: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match map.get(option) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(err(option, format!("expected true or false, got {other}"))),
    }
}

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

/// A DNS name as consumers will put it in URLs and certificates.
fn valid_hostname(name: &str) -> bool {
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

/// Turns seconds into centiseconds when `secs` is a whole number of them.
fn seconds_to_cs(secs: f64) -> Option<u16> {
    let cs = (secs * 100.0).round();
    if (secs * 100.0 - cs).abs() > 1e-6 || !(0.0..=f64::from(u16::MAX)).contains(&cs) {
        return None;
    }
    // In range and integral, checked above.
    Some(cs as u16)
}

/// Validates the whole option map. `app` is the application name (for the
/// `juju config APP ...` hints in messages). The first invalid option wins, in
/// the order of config.yaml, so the message is stable.
pub fn parse(map: &Map<String, Value>, app: &str) -> Result<Config, ConfigError> {
    let vrrp_version = match int_opt(map, "vrrp-version", 3)? {
        2 => VrrpVersion::V2,
        3 => VrrpVersion::V3,
        other => {
            return Err(err(
                "vrrp-version",
                format!("{other} is not a VRRP version; use 3 (default) or 2 (to mix with old keepalived peers)"),
            ))
        }
    };
    let vips = parse_vips(&string_opt(map, "virtual-ip")?, app)?;
    if vrrp_version == VrrpVersion::V2 {
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

    let hostname = string_opt(map, "vip-hostname")?;
    let vip_hostname = if hostname.is_empty() {
        None
    } else if valid_hostname(&hostname) {
        Some(hostname)
    } else {
        return Err(err(
            "vip-hostname",
            format!(
                "{hostname:?} is not a DNS name (letters, digits, '-' and '.'), or set it to \"\""
            ),
        ));
    };

    let port = int_opt(map, "port", 6443)?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            err(
                "port",
                format!("{port} is not a TCP port; use 1..65535 (default 6443)"),
            )
        })?;

    let vrid = int_opt(map, "virtual-router-id", 0)?;
    let virtual_router_id = u8::try_from(vrid).map_err(|_| {
        err(
            "virtual-router-id",
            format!("{vrid} is out of range; use 1..255, or 0 to derive it from the model and application name"),
        )
    })?;

    let iface = string_opt(map, "network-interface")?;
    let network_interface = if iface.is_empty() {
        None
    } else if valid_ifname(&iface) {
        Some(iface)
    } else {
        return Err(err(
            "network-interface",
            format!("{iface:?} is not an interface name (at most 15 characters, no '/', ':' or spaces); or leave it empty to choose automatically"),
        ));
    };

    let secs = float_opt(map, "advert-interval", 0.25)?;
    let advert_interval_cs = match vrrp_version {
        VrrpVersion::V3 => match seconds_to_cs(secs) {
            Some(cs) if (1..=MAX_ADVERT_CS_V3).contains(&cs) => cs,
            _ => {
                return Err(err(
                    "advert-interval",
                    format!("{secs} s is not allowed for VRRPv3; use a multiple of 0.01 between 0.01 and 40.95"),
                ))
            }
        },
        VrrpVersion::V2 => match seconds_to_cs(secs) {
            Some(cs) if cs % 100 == 0 && (1..=MAX_ADVERT_S_V2).contains(&(cs / 100)) => cs,
            _ => {
                return Err(err(
                    "advert-interval",
                    format!("{secs} s is not allowed for VRRPv2; use whole seconds 1..255, or vrrp-version=3 for sub-second adverts"),
                ))
            }
        },
    };

    let preempt = bool_opt(map, "preempt", false)?;
    let unicast = bool_opt(map, "unicast", true)?;

    let health_raw = string_opt(map, "health-check")?;
    let health_check = HealthCheck::parse(&health_raw).map_err(|why| err("health-check", why))?;

    let garp = int_opt(map, "garp-refresh", 60)?;
    let garp_refresh_s = u32::try_from(garp)
        .ok()
        .filter(|g| *g <= 86_400)
        .ok_or_else(|| {
            err(
                "garp-refresh",
                format!("{garp} is out of range; use seconds 0..86400 (0 = off)"),
            )
        })?;

    let vip_agent = match string_opt(map, "vip-agent")?.as_str() {
        "" | "builtin" => VipAgent::Builtin,
        "keepalived" => VipAgent::Keepalived,
        other => {
            return Err(err(
                "vip-agent",
                format!("{other:?} is not a VIP agent; use builtin (default) or keepalived"),
            ))
        }
    };

    Ok(Config {
        vips,
        vip_hostname,
        port,
        virtual_router_id,
        network_interface,
        advert_interval_cs,
        vrrp_version,
        preempt,
        unicast,
        health_check,
        garp_refresh_s,
        vip_agent,
    })
}
