//! Validating one health check: exactly one probe kind, its target (parsed
//! by [`crate::health_check`], the parser the charm's `health-check` option
//! uses too, so what the charm renders the agent accepts), its timing and
//! hysteresis, and the name it is shown under.

use std::time::Duration;

use crate::health_check::{parse_exec, parse_tcp, parse_url};

use super::error::{invalid, ConfigError};
use super::file::CheckFile;
use super::types::{CheckConfig, CheckKind};

/// Validates one health check; `whole` is the check's own path.
pub(super) fn validate_check(
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
    let (interval_ms, timeout_ms, rise, fall) = (c.interval_ms, c.timeout_ms, c.rise, c.fall);
    let given_name = c.name.clone();
    let kind = check_kind(c, f)?;
    let timeout_ms = check_timing(interval_ms, timeout_ms, [rise, fall], f)?;
    let name = match given_name
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
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        rise,
        fall,
    })
}

/// What the check probes (exactly one of tcp, http, exec is set).
fn check_kind(c: CheckFile, f: &dyn Fn(&str) -> String) -> Result<CheckKind, ConfigError> {
    let kind = if let Some(t) = c.tcp {
        let target = parse_tcp(&t).map_err(|why| {
            invalid(
                f("tcp"),
                format!("{t:?} is not ADDRESS:PORT (IPv6: [ADDR]:PORT): {why}"),
            )
        })?;
        let addr = target.socket_addr().ok_or_else(|| {
            invalid(
                f("tcp"),
                format!("{t:?} names a host; give its address (the charm resolves host names)"),
            )
        })?;
        CheckKind::Tcp(addr)
    } else if let Some(u) = c.http {
        let url = parse_url(&u).map_err(|why| {
            invalid(
                f("http"),
                format!("{:?} is not an http:// or https:// URL: {why}", u.trim()),
            )
        })?;
        CheckKind::Http {
            url,
            insecure_tls: c.insecure_tls,
        }
    } else {
        let argv = parse_exec(c.exec.unwrap_or_default(), false).map_err(|_| {
            invalid(
                f("exec"),
                "needs a program and its arguments, e.g. [\"/usr/bin/pgrep\", \"-x\", \"haproxy\"]",
            )
        })?;
        CheckKind::Exec(argv)
    };
    if c.insecure_tls && !matches!(kind, CheckKind::Http { .. }) {
        return Err(invalid(f("insecure-tls"), "only applies to http checks"));
    }
    Ok(kind)
}

/// Checks the interval, rise and fall are in range; returns the timeout in
/// ms (default: the interval, at most a second).
fn check_timing(
    interval_ms: u64,
    timeout_ms: Option<u64>,
    [rise, fall]: [u32; 2],
    f: &dyn Fn(&str) -> String,
) -> Result<u64, ConfigError> {
    if !(10..=3_600_000).contains(&interval_ms) {
        return Err(invalid(
            f("interval-ms"),
            format!("{interval_ms} is out of range; use 10..3600000"),
        ));
    }
    let timeout_ms = timeout_ms.unwrap_or(interval_ms.min(1000));
    if timeout_ms == 0 || timeout_ms > 600_000 {
        return Err(invalid(
            f("timeout-ms"),
            format!("{timeout_ms} is out of range; use 1..600000"),
        ));
    }
    for (key, v) in [("rise", rise), ("fall", fall)] {
        if !(1..=100).contains(&v) {
            return Err(invalid(f(key), format!("{v} is out of range; use 1..100")));
        }
    }
    Ok(timeout_ms)
}
