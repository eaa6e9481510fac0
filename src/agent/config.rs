//! The agent's config file (`/etc/k8s-vip/agent.yaml`): schema, parsing and
//! validation.
//!
//! Why a separate module: the charm renders this file and the operator may edit
//! it, so every mistake must be reported with the exact key path
//! (`instances[0].garp.intervl-ms: unknown key`) or field name before anything
//! is applied. The file is parsed into `*File` structs that mirror the YAML
//! (kebab-case, unknown keys rejected), then validated into [`AgentConfig`],
//! the typed form the daemon runs with.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::vrrp::packet::Version;

/// Why a config file was rejected; the message names the key or field to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the agent config {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML does not match the schema (syntax, unknown key, wrong type).
    #[error("{path}: {message}")]
    Schema {
        /// Key path, e.g. `instances[0].garp.interval-ms`.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{field}: {message}")]
    Invalid {
        /// Field path, e.g. `instances[1].vrid`.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

// ===== the file, as written =====

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AgentFile {
    #[serde(default = "default_socket")]
    control_socket: PathBuf,
    #[serde(default = "default_state_file")]
    state_file: PathBuf,
    #[serde(default)]
    metrics_listen: Option<String>,
    #[serde(default = "default_pause_file")]
    pause_file: PathBuf,
    #[serde(default)]
    instances: Vec<InstanceFile>,
}

fn default_socket() -> PathBuf {
    PathBuf::from("/run/k8s-vip/agent.sock")
}
fn default_state_file() -> PathBuf {
    PathBuf::from("/run/k8s-vip/state.json")
}
fn default_pause_file() -> PathBuf {
    PathBuf::from("/var/lib/k8s-vip/paused")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct InstanceFile {
    name: String,
    interface: String,
    vrid: u32,
    #[serde(default = "default_version")]
    version: u32,
    #[serde(default = "default_priority")]
    priority: u32,
    #[serde(default = "default_advert_ms")]
    advert_interval_ms: u64,
    #[serde(default)]
    preempt: bool,
    #[serde(default)]
    preempt_delay_ms: u64,
    vips: Vec<String>,
    #[serde(default)]
    unicast_peers: Vec<String>,
    #[serde(default)]
    unicast_source: Option<String>,
    #[serde(default)]
    garp: GarpFile,
    #[serde(default)]
    checks: Vec<CheckFile>,
}

fn default_version() -> u32 {
    3
}
fn default_priority() -> u32 {
    100
}
fn default_advert_ms() -> u64 {
    1000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GarpFile {
    #[serde(default = "default_garp_repeat")]
    repeat: u32,
    #[serde(default = "default_garp_interval")]
    interval_ms: u64,
    #[serde(default = "default_garp_refresh")]
    refresh_s: u64,
}

impl Default for GarpFile {
    fn default() -> Self {
        GarpFile {
            repeat: default_garp_repeat(),
            interval_ms: default_garp_interval(),
            refresh_s: default_garp_refresh(),
        }
    }
}

fn default_garp_repeat() -> u32 {
    5
}
fn default_garp_interval() -> u64 {
    100
}
fn default_garp_refresh() -> u64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CheckFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tcp: Option<String>,
    #[serde(default)]
    http: Option<String>,
    #[serde(default)]
    exec: Option<Vec<String>>,
    #[serde(default)]
    insecure_tls: bool,
    #[serde(default = "default_check_interval")]
    interval_ms: u64,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default = "default_rise")]
    rise: u32,
    #[serde(default = "default_fall")]
    fall: u32,
}

fn default_check_interval() -> u64 {
    1000
}
fn default_rise() -> u32 {
    2
}
fn default_fall() -> u32 {
    3
}

// ===== the validated config =====

/// The whole validated agent config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// Unix socket for `status`, `step-down`, `pause`, `resume`, `handover`.
    pub control_socket: PathBuf,
    /// JSON status document, rewritten atomically on every change.
    pub state_file: PathBuf,
    /// Address of the Prometheus endpoint, if any.
    pub metrics_listen: Option<SocketAddr>,
    /// Marker file: exists = start paused; created by `pause`, removed by `resume`.
    pub pause_file: PathBuf,
    /// The VRRP instances.
    pub instances: Vec<InstanceConfig>,
}

/// One VIP with its prefix length, as it goes on the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length on the interface (default /32 or /128).
    pub prefix: u8,
}

impl std::fmt::Display for Vip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Gratuitous ARP / unsolicited NA schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// Rounds sent on becoming master.
    pub repeat: u32,
    /// Gap between those rounds.
    pub interval: Duration,
    /// Refresh period while master (None = off).
    pub refresh: Option<Duration>,
}

/// What a health check probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// TCP connect to this address.
    Tcp(SocketAddr),
    /// HTTP(S) GET expecting 2xx.
    Http {
        /// The URL.
        url: String,
        /// Skip TLS certificate verification.
        insecure_tls: bool,
    },
    /// Run a program; exit 0 = healthy.
    Exec(Vec<String>),
}

/// One health check with its timing and hysteresis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// Display name (given, or derived from the probe).
    pub name: String,
    /// The probe.
    pub kind: CheckKind,
    /// Time between probes.
    pub interval: Duration,
    /// Time one probe may take.
    pub timeout: Duration,
    /// Consecutive successes to become healthy.
    pub rise: u32,
    /// Consecutive failures to become unhealthy.
    pub fall: u32,
}

/// One VRRP instance, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Instance name (unique).
    pub name: String,
    /// Interface the instance runs on.
    pub interface: String,
    /// Virtual router id 1..=255.
    pub vrid: u8,
    /// VRRP version.
    pub version: Version,
    /// Base priority 1..=255.
    pub priority: u8,
    /// Advert interval.
    pub advert_interval: Duration,
    /// Preempt a lower-priority master.
    pub preempt: bool,
    /// Delay before preempting after becoming eligible.
    pub preempt_delay: Duration,
    /// Virtual addresses (one family).
    pub vips: Vec<Vip>,
    /// Unicast peers (empty = multicast).
    pub unicast_peers: Vec<IpAddr>,
    /// Source address for adverts (None = the interface's primary address).
    pub unicast_source: Option<IpAddr>,
    /// GARP/NA schedule.
    pub garp: GarpConfig,
    /// Health checks.
    pub checks: Vec<CheckConfig>,
}

impl InstanceConfig {
    /// True for an IPv6 instance.
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.addr.is_ipv6())
    }
}

// ===== parsing and validation =====

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text)
}

/// Parses and validates config text.
pub fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
    let de = serde_yaml::Deserializer::from_str(text);
    let file: AgentFile = serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        schema_error(path, inner)
    })?;
    validate(file)
}

/// Turns serde's wording into ours: `unknown field `x`, expected ...` becomes
/// `PATH.x: unknown key (expected ...)`.
fn schema_error(path: String, message: String) -> ConfigError {
    let path = if path == "." { String::new() } else { path };
    // yaml_serde may prefix the message with its own path and end it with a position.
    let position = message.rfind(" at line ").map(|i| message[i..].to_string());
    if let Some(rest) = message.split_once("unknown field `").map(|(_, r)| r) {
        if let Some((key, tail)) = rest.split_once('`') {
            // serde_path_to_error's path may or may not already end with the key.
            let full = if path.ends_with(key) {
                path.clone()
            } else if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            let expected = tail.trim_start_matches(',').trim();
            let expected = expected.split(" at line").next().unwrap_or(expected);
            return ConfigError::Schema {
                path: full,
                message: format!("unknown key ({expected}){}", position.unwrap_or_default()),
            };
        }
    }
    // Drop a leading copy of the path that yaml_serde adds itself.
    let message = match message.strip_prefix(&format!("{path}: ")) {
        Some(m) if !path.is_empty() => m.to_string(),
        _ => message,
    };
    ConfigError::Schema {
        path: if path.is_empty() {
            "config".into()
        } else {
            path
        },
        message,
    }
}

fn validate(file: AgentFile) -> Result<AgentConfig, ConfigError> {
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
    for (i, inst) in file.instances.into_iter().enumerate() {
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
    Ok(AgentConfig {
        control_socket: file.control_socket,
        state_file: file.state_file,
        metrics_listen,
        pause_file: file.pause_file,
        instances,
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

fn validate_instance(
    inst: InstanceFile,
    f: &dyn Fn(&str) -> String,
) -> Result<InstanceConfig, ConfigError> {
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
    let ms = inst.advert_interval_ms;
    match version {
        Version::V3 if !(10..=40_950).contains(&ms) || ms % 10 != 0 => {
            return Err(invalid(
                f("advert-interval-ms"),
                format!("{ms} ms; VRRPv3 needs a multiple of 10 ms between 10 and 40950"),
            ))
        }
        Version::V2 if !(1000..=255_000).contains(&ms) || ms % 1000 != 0 => {
            return Err(invalid(
                f("advert-interval-ms"),
                format!("{ms} ms; VRRPv2 needs whole seconds (1000..255000 ms)"),
            ))
        }
        _ => {}
    }
    if inst.vips.is_empty() {
        return Err(invalid(f("vips"), "at least one virtual address is needed"));
    }
    let mut vips = Vec::new();
    for (j, s) in inst.vips.iter().enumerate() {
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
    if version == Version::V2 && !fam {
        return Err(invalid(
            f("version"),
            "VRRPv2 is IPv4 only; use version 3 for IPv6 VIPs",
        ));
    }
    if vips.len() > 255 {
        return Err(invalid(
            f("vips"),
            "at most 255 addresses fit in one advert",
        ));
    }
    let mut unicast_peers = Vec::new();
    for (j, s) in inst.unicast_peers.iter().enumerate() {
        let field = format!("{}[{j}]", f("unicast-peers"));
        let ip: IpAddr = s
            .trim()
            .parse()
            .map_err(|_| invalid(&field, format!("{s:?} is not an IP address")))?;
        if ip.is_ipv4() != fam {
            return Err(invalid(
                &field,
                format!(
                    "{ip} is {} but the VIPs are {}",
                    family(ip),
                    family(vips[0].addr)
                ),
            ));
        }
        if !unicast_peers.contains(&ip) {
            unicast_peers.push(ip);
        }
    }
    let unicast_source = match inst.unicast_source.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let ip: IpAddr = s
                .parse()
                .map_err(|_| invalid(f("unicast-source"), format!("{s:?} is not an IP address")))?;
            if ip.is_ipv4() != fam {
                return Err(invalid(
                    f("unicast-source"),
                    format!(
                        "{ip} is {} but the VIPs are {}",
                        family(ip),
                        family(vips[0].addr)
                    ),
                ));
            }
            Some(ip)
        }
    };
    let garp = GarpConfig {
        repeat: match inst.garp.repeat {
            1..=100 => inst.garp.repeat,
            r => {
                return Err(invalid(
                    f("garp.repeat"),
                    format!("{r} is out of range; use 1..100"),
                ))
            }
        },
        interval: match inst.garp.interval_ms {
            1..=60_000 => Duration::from_millis(inst.garp.interval_ms),
            v => {
                return Err(invalid(
                    f("garp.interval-ms"),
                    format!("{v} is out of range; use 1..60000"),
                ))
            }
        },
        refresh: match inst.garp.refresh_s {
            0 => None,
            s if s <= 86_400 => Some(Duration::from_secs(s)),
            s => {
                return Err(invalid(
                    f("garp.refresh-s"),
                    format!("{s} is out of range; use 0 (off)..86400"),
                ))
            }
        },
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
        advert_interval: Duration::from_millis(ms),
        preempt: inst.preempt,
        preempt_delay: Duration::from_millis(inst.preempt_delay_ms),
        vips,
        unicast_peers,
        unicast_source,
        garp,
        checks,
    })
}

fn validate_check(
    c: CheckFile,
    f: &dyn Fn(&str) -> String,
    whole: &str,
) -> Result<CheckConfig, ConfigError> {
    let kinds = usize::from(c.tcp.is_some())
        + usize::from(c.http.is_some())
        + usize::from(c.exec.is_some());
    if kinds != 1 {
        return Err(invalid(whole, "give exactly one of tcp, http or exec"));
    }
    let kind = if let Some(t) = c.tcp {
        let addr: SocketAddr = t.trim().parse().map_err(|_| {
            invalid(
                f("tcp"),
                format!("{t:?} is not ADDRESS:PORT (IPv6: [ADDR]:PORT)"),
            )
        })?;
        CheckKind::Tcp(addr)
    } else if let Some(u) = c.http {
        let u = u.trim().to_string();
        let rest = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"));
        if rest.map_or(true, |r| r.is_empty()) {
            return Err(invalid(
                f("http"),
                format!("{u:?} is not an http:// or https:// URL"),
            ));
        }
        CheckKind::Http {
            url: u,
            insecure_tls: c.insecure_tls,
        }
    } else {
        let argv = c.exec.unwrap_or_default();
        if argv.first().map_or(true, |p| p.trim().is_empty()) {
            return Err(invalid(
                f("exec"),
                "needs a program and its arguments, e.g. [\"/usr/bin/pgrep\", \"-x\", \"haproxy\"]",
            ));
        }
        CheckKind::Exec(argv)
    };
    if c.insecure_tls && !matches!(kind, CheckKind::Http { .. }) {
        return Err(invalid(f("insecure-tls"), "only applies to http checks"));
    }
    if !(10..=3_600_000).contains(&c.interval_ms) {
        return Err(invalid(
            f("interval-ms"),
            format!("{} is out of range; use 10..3600000", c.interval_ms),
        ));
    }
    let timeout_ms = c.timeout_ms.unwrap_or(c.interval_ms.min(1000));
    if timeout_ms == 0 || timeout_ms > 600_000 {
        return Err(invalid(
            f("timeout-ms"),
            format!("{timeout_ms} is out of range; use 1..600000"),
        ));
    }
    if !(1..=100).contains(&c.rise) {
        return Err(invalid(
            f("rise"),
            format!("{} is out of range; use 1..100", c.rise),
        ));
    }
    if !(1..=100).contains(&c.fall) {
        return Err(invalid(
            f("fall"),
            format!("{} is out of range; use 1..100", c.fall),
        ));
    }
    let name = match c
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
    {
        Some(n) => n,
        None => match &kind {
            CheckKind::Tcp(a) => format!("tcp {a}"),
            CheckKind::Http { url, .. } => format!("http {url}"),
            CheckKind::Exec(argv) => format!("exec {}", argv.join(" ")),
        },
    };
    Ok(CheckConfig {
        name,
        kind,
        interval: Duration::from_millis(c.interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        rise: c.rise,
        fall: c.fall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
control-socket: /run/k8s-vip/agent.sock
state-file: /run/k8s-vip/state.json
metrics-listen: 127.0.0.1:9742
instances:
  - name: api
    interface: eth0
    vrid: 51
    version: 3
    priority: 100
    advert-interval-ms: 1000
    preempt: false
    preempt-delay-ms: 0
    vips: ["10.0.0.100/24"]
    unicast-peers: []
    unicast-source: null
    garp: {repeat: 5, interval-ms: 100, refresh-s: 60}
    checks:
      - {tcp: "127.0.0.1:6443", interval-ms: 1000, timeout-ms: 500, rise: 2, fall: 3}
      - {http: "https://127.0.0.1:6443/livez", insecure-tls: true, interval-ms: 1000, timeout-ms: 800, rise: 2, fall: 3}
      - {exec: ["/usr/bin/pgrep", "-x", "haproxy"], interval-ms: 2000, rise: 1, fall: 2}
"#;

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn issue_example_parses() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.pause_file, PathBuf::from("/var/lib/k8s-vip/paused"));
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9742".parse().unwrap()));
        let i = &c.instances[0];
        assert_eq!((i.vrid, i.priority, i.version), (51, 100, Version::V3));
        assert_eq!(i.vips[0].to_string(), "10.0.0.100/24");
        assert_eq!(i.garp.refresh, Some(Duration::from_secs(60)));
        assert_eq!(i.checks.len(), 3);
        assert_eq!(i.checks[0].name, "tcp 127.0.0.1:6443");
        assert_eq!(i.checks[2].timeout, Duration::from_millis(1000));
    }

    #[test]
    fn unknown_key_names_its_path() {
        let text = GOOD.replace("interval-ms: 100,", "intervl-ms: 100,");
        let e = err(&text);
        assert!(
            e.starts_with("instances[0].garp.intervl-ms: unknown key"),
            "{e}"
        );
        let e = err("instancez: []\n");
        assert!(e.starts_with("instancez: unknown key"), "{e}");
    }

    #[test]
    fn wrong_type_names_its_path() {
        let e = err(&GOOD.replace("priority: 100", "priority: high"));
        assert!(e.starts_with("instances[0].priority: "), "{e}");
    }

    #[test]
    fn bad_values_name_the_field() {
        for (from, to, want) in [
            (
                "vrid: 51",
                "vrid: 0",
                "instances[0].vrid: 0 is out of range",
            ),
            ("vrid: 51", "vrid: 256", "instances[0].vrid: 256"),
            (
                "version: 3",
                "version: 4",
                "instances[0].version: 4 is not 2 or 3",
            ),
            ("priority: 100", "priority: 0", "instances[0].priority: 0"),
            (
                "advert-interval-ms: 1000",
                "advert-interval-ms: 5",
                "instances[0].advert-interval-ms: 5 ms",
            ),
            (
                "advert-interval-ms: 1000",
                "advert-interval-ms: 105",
                "instances[0].advert-interval-ms: 105 ms",
            ),
            (
                "version: 3",
                "version: 2\n    unicast-peers: []\n    x: 1",
                "x: unknown key",
            ),
            (
                "[\"10.0.0.100/24\"]",
                "[\"10.0.0.100/24\", \"fd00::1/64\"]",
                "instances[0].vips[1]: fd00::1/64 is IPv6",
            ),
            (
                "[\"10.0.0.100/24\"]",
                "[\"10.0.0.300/24\"]",
                "instances[0].vips[0]: ",
            ),
            (
                "[\"10.0.0.100/24\"]",
                "[]",
                "instances[0].vips: at least one",
            ),
            (
                "unicast-peers: []",
                "unicast-peers: [\"fd00::2\"]",
                "instances[0].unicast-peers[0]: fd00::2 is IPv6",
            ),
            ("repeat: 5", "repeat: 0", "instances[0].garp.repeat: 0"),
            (
                "{tcp: \"127.0.0.1:6443\"",
                "{tcp: \"127.0.0.1\"",
                "instances[0].checks[0].tcp: ",
            ),
            (
                "{tcp: \"127.0.0.1:6443\",",
                "{tcp: \"127.0.0.1:6443\", exec: [x],",
                "instances[0].checks[0]: give exactly one",
            ),
            ("rise: 1", "rise: 0", "instances[0].checks[2].rise: 0"),
            (
                "metrics-listen: 127.0.0.1:9742",
                "metrics-listen: nowhere",
                "metrics-listen: ",
            ),
        ] {
            let text = GOOD.replacen(from, to, 1);
            assert_ne!(text, GOOD, "replacement {from} not applied");
            let e = err(&text);
            assert!(e.contains(want), "for {to}: got {e:?}, want {want:?}");
        }
    }

    #[test]
    fn v2_needs_whole_seconds_and_ipv4() {
        let v2 = GOOD.replace("version: 3", "version: 2");
        assert!(parse(&v2).is_ok());
        let e = err(&v2.replace("advert-interval-ms: 1000", "advert-interval-ms: 500"));
        assert!(e.contains("advert-interval-ms: 500 ms; VRRPv2"), "{e}");
        let e = err(&v2.replace("10.0.0.100/24", "fd00::100/64"));
        assert!(
            e.contains("instances[0].version: VRRPv2 is IPv4 only"),
            "{e}"
        );
    }

    #[test]
    fn duplicates_are_rejected() {
        let two = format!("{GOOD}{}", &GOOD[GOOD.find("  - name").unwrap()..]);
        let e = err(&two);
        assert!(
            e.contains("instances[1].name: \"api\" is used by two"),
            "{e}"
        );
        let two = two.replacen("name: api", "name: api6", 1);
        let e = err(&two);
        assert!(
            e.contains("instances[1].vrid: VRID 51 is used twice"),
            "{e}"
        );
    }

    #[test]
    fn defaults_apply() {
        let c = parse(
            "instances:\n  - {name: a, interface: eth0, vrid: 7, vips: [\"2001:db8::100\"]}\n",
        )
        .unwrap();
        let i = &c.instances[0];
        assert_eq!(i.vips[0].prefix, 128);
        assert_eq!(i.version, Version::V3);
        assert_eq!(i.advert_interval, Duration::from_secs(1));
        assert_eq!(i.garp.repeat, 5);
        assert!(!i.preempt);
        assert_eq!(c.control_socket, PathBuf::from("/run/k8s-vip/agent.sock"));
    }

    #[test]
    fn empty_file_is_valid_but_has_no_instances() {
        assert!(parse("{}").unwrap().instances.is_empty());
    }
}
