//! The charm options of the load balancer (`load-balancer`, `lb-timeout`,
//! `ingress-ports`, `lb-backends-any-address`), parsed and validated with
//! errors that name the option and say what to set instead (the unit goes
//! `blocked` with that text).

use std::time::Duration;

use serde_json::{Map, Value};

/// Default of `lb-timeout`.
pub const DEFAULT_LB_TIMEOUT: &str = "1h";
/// Shortest idle timeout accepted: Kubernetes watches and `kubectl logs -f`
/// streams sit idle for minutes and must not be cut.
pub const MIN_LB_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest idle timeout accepted (HAProxy timers are 32-bit milliseconds).
pub const MAX_LB_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// A charm option value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}: {message}")]
pub struct OptionError {
    /// The option name as `juju config` spells it.
    pub option: &'static str,
    /// What is wrong and what to set instead.
    pub message: String,
}

fn bad(option: &'static str, message: String) -> OptionError {
    OptionError { option, message }
}

/// `load-balancer`: whether HAProxy runs on the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadBalancerMode {
    /// Run HAProxy only when a consumer request or `ingress-ports` needs it.
    #[default]
    Auto,
    /// Always run HAProxy (even with nothing to balance yet).
    On,
    /// Never run HAProxy; requests that need a proxy get an error response.
    Off,
}

impl LoadBalancerMode {
    /// Parses the `load-balancer` option.
    pub fn parse(value: &str) -> Result<LoadBalancerMode, OptionError> {
        match value.trim() {
            "" | "auto" => Ok(LoadBalancerMode::Auto),
            "on" => Ok(LoadBalancerMode::On),
            "off" => Ok(LoadBalancerMode::Off),
            other => Err(bad(
                "load-balancer",
                format!("{other:?} is not one of auto, on, off"),
            )),
        }
    }

    /// Whether HAProxy should be installed and running, given whether any
    /// frontend is wanted.
    pub fn haproxy_wanted(self, has_frontends: bool) -> bool {
        match self {
            LoadBalancerMode::Auto => has_frontends,
            LoadBalancerMode::On => true,
            LoadBalancerMode::Off => false,
        }
    }
}

/// Parses `lb-timeout`: seconds (`3600`) or a number with `s`, `m`, `h`
/// (`90m`, `1h`); between 10 minutes and 24 hours.
pub fn parse_lb_timeout(value: &str) -> Result<Duration, OptionError> {
    let v = value.trim();
    let v = if v.is_empty() { DEFAULT_LB_TIMEOUT } else { v };
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(bad(
                "lb-timeout",
                format!("{v:?} is not a duration; use e.g. 3600, 90m or 1h"),
            ))
        }
    };
    let n: u64 = digits.parse().map_err(|_| {
        bad(
            "lb-timeout",
            format!("{v:?} is not a duration; use e.g. 3600, 90m or 1h"),
        )
    })?;
    let d = Duration::from_secs(n.saturating_mul(scale));
    if d < MIN_LB_TIMEOUT {
        return Err(bad(
            "lb-timeout",
            format!(
                "{v} is shorter than 10m; idle Kubernetes watches and log streams would be cut"
            ),
        ));
    }
    if d > MAX_LB_TIMEOUT {
        return Err(bad("lb-timeout", format!("{v} is longer than 24h")));
    }
    Ok(d)
}

/// One `ingress-ports` entry: VIP port → NodePort on every worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IngressPort {
    /// Port on the VIP.
    pub port: u16,
    /// NodePort on each worker.
    pub node_port: u16,
}

/// Parses `ingress-ports` (`"80:30080 443:30443"`, space or comma separated).
pub fn parse_ingress_ports(value: &str) -> Result<Vec<IngressPort>, OptionError> {
    let mut out: Vec<IngressPort> = Vec::new();
    for item in value
        .split([' ', ',', '\t', '\n'])
        .filter(|s| !s.is_empty())
    {
        let (a, b) = item.split_once(':').ok_or_else(|| {
            bad(
                "ingress-ports",
                format!("{item:?} is not VIP-PORT:NODE-PORT (e.g. 80:30080)"),
            )
        })?;
        let port = parse_port(a, item)?;
        let node_port = parse_port(b, item)?;
        if out.iter().any(|p| p.port == port) {
            return Err(bad("ingress-ports", format!("port {port} is listed twice")));
        }
        out.push(IngressPort { port, node_port });
    }
    out.sort();
    Ok(out)
}

fn parse_port(s: &str, item: &str) -> Result<u16, OptionError> {
    s.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
        bad(
            "ingress-ports",
            format!("{item:?}: {s:?} is not a port number 1-65535"),
        )
    })
}

/// The three load-balancer options, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbOptions {
    /// `load-balancer`.
    pub mode: LoadBalancerMode,
    /// `lb-timeout`, seconds of idle time allowed on a connection.
    pub idle_timeout: std::time::Duration,
    /// `ingress-ports`.
    pub ingress_ports: Vec<IngressPort>,
    /// `lb-backends-any-address`: consumers may name any routable address
    /// as a backend, not only their own units (see `haproxy::backends`).
    pub any_backend_address: bool,
}

impl LbOptions {
    /// Reads the options from `config-get` output (absent = default).
    pub fn from_config(config: &Map<String, Value>) -> Result<LbOptions, OptionError> {
        let text = |key: &'static str| -> Result<String, OptionError> {
            match config.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(other) => Err(OptionError {
                    option: key,
                    message: format!("{other} is not a string"),
                }),
            }
        };
        Ok(LbOptions {
            mode: LoadBalancerMode::parse(&text("load-balancer")?)?,
            idle_timeout: parse_lb_timeout(&text("lb-timeout")?)?,
            ingress_ports: parse_ingress_ports(&text("ingress-ports")?)?,
            any_backend_address: flag(config, "lb-backends-any-address")?,
        })
    }
}

/// A boolean option (absent = false; `juju config` may hand it as a string).
fn flag(config: &Map<String, Value>, key: &'static str) -> Result<bool, OptionError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(other) => Err(bad(key, format!("{other} is not true or false"))),
    }
}
