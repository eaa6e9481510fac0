//! The per-instance `bfd:` block: fast peer liveness (RFC 5880/5881, or
//! RFC 5883 multihop with `multihop: true`) towards every unicast peer of
//! the instance.
//!
//! Why its own file: the bounds are BFD's, not VRRP's, and the block is
//! optional (absent = no BFD, the instance behaves exactly as without it).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use super::error::{invalid, ConfigError};

/// Smallest and largest `interval-ms` accepted.
pub const INTERVAL_MS: std::ops::RangeInclusive<u64> = 10..=10_000;
/// Smallest and largest `multiplier` accepted.
pub const MULTIPLIER: std::ops::RangeInclusive<u64> = 2..=255;

/// `bfd:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct BfdFile {
    #[serde(default = "default_interval")]
    pub(super) interval_ms: u64,
    #[serde(default = "default_multiplier")]
    pub(super) multiplier: u64,
    #[serde(default)]
    pub(super) peer_priorities: BTreeMap<String, u64>,
    #[serde(default)]
    pub(super) multihop: bool,
}

fn default_interval() -> u64 {
    20
}
fn default_multiplier() -> u64 {
    3
}

/// BFD timing of one instance, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdConfig {
    /// Desired Min TX and Required Min RX once Up.
    pub interval: Duration,
    /// Detect Mult: packets missed before the peer is declared down.
    pub multiplier: u8,
    /// The VRRP priority of each peer, as far as the renderer knows it: who
    /// would win the election among the live units is decided from these
    /// (a priority heard in an advert overrides it). A live peer whose
    /// priority is unknown is assumed to outrank this unit, so nothing acts
    /// before the VRRP timers.
    pub peer_priorities: BTreeMap<IpAddr, u8>,
    /// Multihop BFD (RFC 5883: UDP 4784, accepted from a listed peer at any
    /// TTL) for peers behind routers; false = single hop (RFC 5881: UDP
    /// 3784, TTL 255 required), which cannot cross a router.
    pub multihop: bool,
}

impl BfdConfig {
    /// The detection time this unit asks its peers to use for it
    /// (`multiplier × interval`), before negotiation.
    pub fn detection_time(&self) -> Duration {
        self.interval * u32::from(self.multiplier)
    }
}

/// Validates the `bfd:` block; `f` turns a key into its full field path.
pub(super) fn validate_bfd(
    b: &BfdFile,
    f: &dyn Fn(&str) -> String,
) -> Result<BfdConfig, ConfigError> {
    if !INTERVAL_MS.contains(&b.interval_ms) {
        return Err(invalid(
            f("bfd.interval-ms"),
            format!(
                "{} is out of range; use {}..{} ms",
                b.interval_ms,
                INTERVAL_MS.start(),
                INTERVAL_MS.end()
            ),
        ));
    }
    if !MULTIPLIER.contains(&b.multiplier) {
        return Err(invalid(
            f("bfd.multiplier"),
            format!(
                "{} is out of range; use {}..{}",
                b.multiplier,
                MULTIPLIER.start(),
                MULTIPLIER.end()
            ),
        ));
    }
    let mut peer_priorities = BTreeMap::new();
    for (addr, prio) in &b.peer_priorities {
        let field = f(&format!("bfd.peer-priorities.{addr}"));
        let ip: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| invalid(&field, format!("{addr:?} is not an IP address")))?;
        let p = u8::try_from(*prio)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| invalid(&field, format!("{prio} is out of range; use 1..255")))?;
        peer_priorities.insert(ip, p);
    }
    Ok(BfdConfig {
        interval: Duration::from_millis(b.interval_ms),
        multiplier: b.multiplier as u8,
        peer_priorities,
        multihop: b.multihop,
    })
}
