//! `fast-failover-interval` and `fast-failover-multiplier`: BFD between units,
//! in the ranges the agent accepts (`bfd.interval-ms` 10..10000,
//! `bfd.multiplier` 2..255), so a bad value blocks the unit here instead of
//! failing `agent --check`.

use serde_json::{Map, Value};

use super::model::{ConfigError, FastFailover};
use super::read::{err, int_opt};

/// Default BFD interval, milliseconds.
pub const DEFAULT_INTERVAL_MS: i64 = 20;
/// Default BFD detection multiplier.
pub const DEFAULT_MULTIPLIER: i64 = 3;

/// Both options; None when `fast-failover-interval` is 0 (off). The
/// multiplier is validated even when off, so a typo never waits silently for
/// the day fast failover is switched on.
pub fn parse(map: &Map<String, Value>) -> Result<Option<FastFailover>, ConfigError> {
    let interval = int_opt(map, "fast-failover-interval", DEFAULT_INTERVAL_MS)?;
    let multiplier = int_opt(map, "fast-failover-multiplier", DEFAULT_MULTIPLIER)?;
    if interval != 0 && !(10..=10_000).contains(&interval) {
        return Err(err(
            "fast-failover-interval",
            format!("{interval} is out of range; use milliseconds 10..10000, or 0 to turn fast failover off"),
        ));
    }
    let multiplier = u8::try_from(multiplier)
        .ok()
        .filter(|m| *m >= 2)
        .ok_or_else(|| {
            err(
                "fast-failover-multiplier",
                format!("{multiplier} is out of range; use 2..255 (missed BFD packets before a peer counts as down)"),
            )
        })?;
    // 0 (off) or 10..=10000: fits in u32.
    Ok(u32::try_from(interval)
        .ok()
        .filter(|ms| *ms != 0)
        .map(|interval_ms| FastFailover {
            interval_ms,
            multiplier,
        }))
}
