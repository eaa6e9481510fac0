//! From the file as written to the validated config: ranges, address
//! families, duplicates, each error naming its field.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::bfd::validate_bfd;
use super::bgp::validate_bgp;
use super::check::validate_check;
use super::error::{invalid, ConfigError};
use super::file::{AgentFile, GarpFile, InstanceFile};
use super::types::{AgentConfig, GarpConfig, InstanceConfig, Vip};
use crate::vrrp::packet::Version;

/// Validates the whole file.
pub(super) fn validate(mut file: AgentFile) -> Result<AgentConfig, ConfigError> {
    let metrics_listen = match file.metrics_listen.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "metrics-listen",
                format!("{s:?} is not ADDRESS:PORT (e.g. 127.0.0.1:9742)"),
            )
        })?),
    };
    let mut instances = Vec::new();
    let mut names = BTreeSet::new();
    let mut routers = BTreeSet::new();
    let instance_files = std::mem::take(&mut file.instances);
    for (i, inst) in instance_files.into_iter().enumerate() {
        let f = |k: &str| format!("instances[{i}].{k}");
        let cfg = validate_instance(inst, &f)?;
        if !names.insert(cfg.name.clone()) {
            return Err(invalid(
                f("name"),
                format!("{:?} is used by two instances", cfg.name),
            ));
        }
        if !routers.insert((cfg.interface.clone(), cfg.vrid, cfg.is_ipv6())) {
            return Err(invalid(
                f("vrid"),
                format!(
                    "VRID {} is used twice on {} for the same address family",
                    cfg.vrid, cfg.interface
                ),
            ));
        }
        instances.push(cfg);
    }
    let bgp = match &file.bgp {
        Some(b) => {
            let ifaces: Vec<&str> = instances.iter().map(|i| i.interface.as_str()).collect();
            Some(validate_bgp(b, &ifaces)?)
        }
        None => None,
    };
    Ok(AgentConfig {
        control_socket: file.control_socket,
        state_file: file.state_file,
        metrics_listen,
        pause_file: file.pause_file,
        instances,
        bgp,
    })
}

fn parse_vip(s: &str) -> Option<Vip> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (
            a.trim().parse::<IpAddr>().ok()?,
            Some(p.trim().parse::<u8>().ok()?),
        ),
        None => (s.trim().parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max && prefix > 0).then_some(Vip { addr, prefix })
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Validates instance `inst`; `f` turns a key into its full field path.
fn validate_instance(
    inst: InstanceFile,
    f: &dyn Fn(&str) -> String,
) -> Result<InstanceConfig, ConfigError> {
    let (name, interface) = identity(&inst, f)?;
    let (vrid, version, priority) = router_numbers(&inst, f)?;
    let advert_interval = advert_interval(version, inst.advert_interval_ms, f)?;
    let vips = vips(&inst.vips, f)?;
    let fam = vips[0].addr.is_ipv4();
    if version == Version::V2 && !fam {
        return Err(invalid(
            f("version"),
            "VRRPv2 is IPv4 only; use version 3 for IPv6 VIPs",
        ));
    }
    let unicast_peers = unicast_peers(&inst.unicast_peers, vips[0].addr, f)?;
    let unicast_source = unicast_source(inst.unicast_source.as_deref(), vips[0].addr, f)?;
    if inst.alone && !(inst.unicast && unicast_peers.is_empty()) {
        return Err(invalid(
            f("alone"),
            "only for a lone unit: needs unicast: true and no unicast-peers",
        ));
    }
    let garp = garp(&inst.garp, f)?;
    let bfd = match &inst.bfd {
        Some(_) if !inst.unicast && unicast_peers.is_empty() => {
            return Err(invalid(
                f("bfd"),
                "BFD runs to each unicast peer; list unicast-peers (or set unicast: true)",
            ))
        }
        Some(b) => Some(validate_bfd(b, f)?),
        None => None,
    };
    let mut checks = Vec::new();
    for (j, c) in inst.checks.into_iter().enumerate() {
        let cf = |k: &str| format!("{}[{j}].{k}", f("checks"));
        checks.push(validate_check(c, &cf, &format!("{}[{j}]", f("checks")))?);
    }
    Ok(InstanceConfig {
        name,
        interface,
        vrid,
        version,
        priority,
        advert_interval,
        preempt: inst.preempt,
        preempt_delay: Duration::from_millis(inst.preempt_delay_ms),
        vips,
        unicast: inst.unicast,
        unicast_peers,
        alone: inst.alone,
        unicast_source,
        garp,
        checks,
        bfd,
    })
}

/// The VRID, VRRP version and priority, each in range.
fn router_numbers(
    inst: &InstanceFile,
    f: &dyn Fn(&str) -> String,
) -> Result<(u8, Version, u8), ConfigError> {
    let vrid = match inst.vrid {
        1..=255 => inst.vrid as u8,
        v => {
            return Err(invalid(
                f("vrid"),
                format!("{v} is out of range; use 1..255"),
            ))
        }
    };
    let version = match inst.version {
        2 => Version::V2,
        3 => Version::V3,
        v => return Err(invalid(f("version"), format!("{v} is not 2 or 3"))),
    };
    let priority = match inst.priority {
        1..=255 => inst.priority as u8,
        p => {
            return Err(invalid(
                f("priority"),
                format!("{p} is out of range; use 1..254 (255 = address owner)"),
            ))
        }
    };
    Ok((vrid, version, priority))
}

/// The instance's name and interface, trimmed.
fn identity(
    inst: &InstanceFile,
    f: &dyn Fn(&str) -> String,
) -> Result<(String, String), ConfigError> {
    let name = inst.name.trim().to_string();
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            f("name"),
            "must be a non-empty word without spaces",
        ));
    }
    let interface = inst.interface.trim().to_string();
    if interface.is_empty() || interface.len() > 15 || interface.contains('/') {
        return Err(invalid(
            f("interface"),
            format!("{:?} is not a valid interface name", inst.interface),
        ));
    }
    Ok((name, interface))
}

/// The advert interval, in the steps `version` can carry on the wire.
fn advert_interval(
    version: Version,
    ms: u64,
    f: &dyn Fn(&str) -> String,
) -> Result<Duration, ConfigError> {
    match version {
        Version::V3 if !(10..=40_950).contains(&ms) || ms % 10 != 0 => Err(invalid(
            f("advert-interval-ms"),
            format!("{ms} ms; VRRPv3 needs a multiple of 10 ms between 10 and 40950"),
        )),
        Version::V2 if !(1000..=255_000).contains(&ms) || ms % 1000 != 0 => Err(invalid(
            f("advert-interval-ms"),
            format!("{ms} ms; VRRPv2 needs whole seconds (1000..255000 ms)"),
        )),
        _ => Ok(Duration::from_millis(ms)),
    }
}

/// The VIPs: at least one, at most 255, real unicast addresses of one family.
fn vips(list: &[String], f: &dyn Fn(&str) -> String) -> Result<Vec<Vip>, ConfigError> {
    if list.is_empty() {
        return Err(invalid(f("vips"), "at least one virtual address is needed"));
    }
    let mut vips = Vec::new();
    for (j, s) in list.iter().enumerate() {
        let vip = parse_vip(s).ok_or_else(|| {
            invalid(
                format!("{}[{j}]", f("vips")),
                format!("{s:?} is not an address with an optional prefix (e.g. 192.0.2.100/24)"),
            )
        })?;
        if vip.addr.is_unspecified() || vip.addr.is_multicast() || vip.addr.is_loopback() {
            return Err(invalid(
                format!("{}[{j}]", f("vips")),
                format!("{s:?} cannot be a virtual address"),
            ));
        }
        vips.push(vip);
    }
    let fam = vips[0].addr.is_ipv4();
    if let Some((j, v)) = vips
        .iter()
        .enumerate()
        .find(|(_, v)| v.addr.is_ipv4() != fam)
    {
        return Err(invalid(
            format!("{}[{j}]", f("vips")),
            format!(
                "{v} is {} but {} is {}; use one address family per instance",
                family(v.addr),
                vips[0],
                family(vips[0].addr)
            ),
        ));
    }
    if vips.len() > 255 {
        return Err(invalid(
            f("vips"),
            "at most 255 addresses fit in one advert",
        ));
    }
    Ok(vips)
}

/// An address of the same family as the VIP `vip`, or the error at `field`.
fn same_family(ip: IpAddr, vip: IpAddr, field: &str) -> Result<IpAddr, ConfigError> {
    if ip.is_ipv4() != vip.is_ipv4() {
        return Err(invalid(
            field,
            format!("{ip} is {} but the VIPs are {}", family(ip), family(vip)),
        ));
    }
    Ok(ip)
}

/// The unicast peers, without duplicates, of the VIPs' family.
fn unicast_peers(
    list: &[String],
    vip: IpAddr,
    f: &dyn Fn(&str) -> String,
) -> Result<Vec<IpAddr>, ConfigError> {
    let mut peers = Vec::new();
    for (j, s) in list.iter().enumerate() {
        let field = format!("{}[{j}]", f("unicast-peers"));
        let ip: IpAddr = s
            .trim()
            .parse()
            .map_err(|_| invalid(&field, format!("{s:?} is not an IP address")))?;
        let ip = same_family(ip, vip, &field)?;
        if !peers.contains(&ip) {
            peers.push(ip);
        }
    }
    Ok(peers)
}

/// The advert source address, if set, of the VIPs' family.
fn unicast_source(
    source: Option<&str>,
    vip: IpAddr,
    f: &dyn Fn(&str) -> String,
) -> Result<Option<IpAddr>, ConfigError> {
    match source.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => {
            let ip: IpAddr = s
                .parse()
                .map_err(|_| invalid(f("unicast-source"), format!("{s:?} is not an IP address")))?;
            same_family(ip, vip, &f("unicast-source")).map(Some)
        }
    }
}

/// The gratuitous ARP / NA schedule.
fn garp(g: &GarpFile, f: &dyn Fn(&str) -> String) -> Result<GarpConfig, ConfigError> {
    Ok(GarpConfig {
        repeat: match g.repeat {
            1..=100 => g.repeat,
            r => {
                return Err(invalid(
                    f("garp.repeat"),
                    format!("{r} is out of range; use 1..100"),
                ))
            }
        },
        interval: match g.interval_ms {
            1..=60_000 => Duration::from_millis(g.interval_ms),
            v => {
                return Err(invalid(
                    f("garp.interval-ms"),
                    format!("{v} is out of range; use 1..60000"),
                ))
            }
        },
        refresh: match g.refresh_s {
            0 => None,
            s if s <= 86_400 => Some(Duration::from_secs(s)),
            s => {
                return Err(invalid(
                    f("garp.refresh-s"),
                    format!("{s} is out of range; use 0 (off)..86400"),
                ))
            }
        },
    })
}
