//! The small pure computations the state machine needs: saturating
//! deadlines, interval units, the RFC's address order.

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// `now + d` without the panic on overflow an absurd hold or delay (from a
/// control-socket request or config) would cause: saturates about a century out.
pub(super) fn later(now: Instant, d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d.min(CENTURY))
        .or_else(|| now.checked_add(Duration::from_secs(3600)))
        .unwrap_or(now)
}

/// A wire interval in centiseconds as a Duration.
pub(super) fn interval_of_cs(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

/// The earlier of two optional deadlines.
pub(super) fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// `a > b` comparing addresses as unsigned integers (RFC 5798 §6.4.3 tie-break).
/// Addresses of different families compare IPv6 above IPv4 (never on the wire:
/// decode rejects mixed families).
pub fn addr_gt(a: IpAddr, b: IpAddr) -> bool {
    fn key(a: IpAddr) -> (u8, u128) {
        match a {
            IpAddr::V4(v) => (4, u128::from(u32::from(v))),
            IpAddr::V6(v) => (6, u128::from(v)),
        }
    }
    key(a) > key(b)
}

/// A hold as an operator reads it in a log line (`60s`, `1500ms`).
pub(super) fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
