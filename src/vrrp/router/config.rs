//! Settings of one virtual router instance and their validation.

use std::net::IpAddr;
use std::time::Duration;

use crate::vrrp::packet::{auth_type, Version, V3_MAX_ADVERT_INT_CS};

/// The settings of one virtual router instance.
///
/// The agent builds it from an instance of its config file
/// (`agent::config::InstanceConfig`, whose protocol fields read like the
/// first ones here, through `agent::instance::router_config`): the protocol
/// core keeps its own type so that it knows nothing of the agent or its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    /// Virtual router id, 1..=255; must match the peers.
    pub vrid: u8,
    /// Protocol version; must match the peers.
    pub version: Version,
    /// Base priority 1..=255 (255 = address owner: takes over at once, always preempts).
    pub priority: u8,
    /// Advert interval. v3: multiples of 10 ms up to 40.95 s; v2: whole seconds.
    pub advert_interval: Duration,
    /// Whether a higher-priority Backup takes over from a lower-priority Master.
    pub preempt: bool,
    /// A Backup preempts a lower-priority master only after hearing it for this
    /// long (keepalived `preempt_delay`), so a rebooting node can settle first.
    pub preempt_delay: Duration,
    /// The virtual addresses (one family, the family of `primary_addr`).
    pub vips: Vec<IpAddr>,
    /// The address adverts are sent from and elections compare: the interface's
    /// primary IPv4 address, or for IPv6 its link-local address as on the wire.
    pub primary_addr: IpAddr,
    /// RFC 5798 Accept_Mode: whether the master accepts packets addressed to the
    /// VIPs it does not own. Informational for the shell; the protocol core does
    /// not depend on it.
    pub accept_mode: bool,
    /// v2 authentication type ([`auth_type`]); ignored for v3.
    pub auth_type: u8,
    /// v2 authentication data (the password, zero padded); ignored for v3.
    pub auth_data: [u8; 8],
    /// While master, ask for a gratuitous ARP/NA round this often (switch caches
    /// age out); `None` = only when becoming master or re-asserting.
    pub garp_refresh: Option<Duration>,
    /// False holds the router in Backup: it never becomes master, by its
    /// timer, by adoption or as address owner. The shell sets it for a
    /// unicast instance that has no peers yet, where a master would be one
    /// nobody hears (and a second one appears wherever the same happens).
    pub may_take_over: bool,
}

impl RouterConfig {
    /// A v3 instance with the defaults: priority 100, 1 s adverts, preempt off,
    /// no preempt delay, accept mode off, no periodic gratuitous refresh.
    pub fn new(vrid: u8, primary_addr: IpAddr, vips: Vec<IpAddr>) -> RouterConfig {
        RouterConfig {
            vrid,
            version: Version::V3,
            priority: 100,
            advert_interval: Duration::from_secs(1),
            preempt: false,
            preempt_delay: Duration::ZERO,
            vips,
            primary_addr,
            accept_mode: false,
            auth_type: auth_type::NONE,
            auth_data: [0; 8],
            garp_refresh: None,
            may_take_over: true,
        }
    }

    /// The configured interval as it goes on the wire, in centiseconds
    /// (v2: whole seconds × 100).
    pub fn advert_interval_cs(&self) -> u16 {
        match self.version {
            Version::V3 => {
                let cs = self.advert_interval.as_millis() / 10;
                cs.clamp(1, u128::from(V3_MAX_ADVERT_INT_CS)) as u16
            }
            Version::V2 => {
                let s = (self.advert_interval.as_millis() + 500) / 1000;
                (s.clamp(1, 255) as u16) * 100
            }
        }
    }

    /// Check the settings against what the wire can carry; the message names
    /// the field to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.vrid == 0 {
            return Err("vrid: must be 1..255, not 0".into());
        }
        if self.priority == 0 {
            return Err("priority: must be 1..255 (0 is reserved for resigning)".into());
        }
        let ms = self.advert_interval.as_millis();
        match self.version {
            Version::V3 => {
                if ms < 10 || ms % 10 != 0 || ms > 40_950 {
                    return Err(format!(
                        "advert-interval: {ms} ms; VRRPv3 needs a multiple of 10 ms between 10 and 40950"
                    ));
                }
            }
            Version::V2 => {
                if ms < 1000 || ms % 1000 != 0 || ms > 255_000 {
                    return Err(format!(
                        "advert-interval: {ms} ms; VRRPv2 needs whole seconds between 1 and 255"
                    ));
                }
                if self.primary_addr.is_ipv6() {
                    return Err("version: VRRPv2 is IPv4 only; use version 3 for IPv6".into());
                }
            }
        }
        if self.vips.is_empty() {
            return Err("vips: at least one virtual address is needed".into());
        }
        if self.vips.len() > 255 {
            return Err("vips: at most 255 addresses fit in one advert".into());
        }
        if let Some(v) = self
            .vips
            .iter()
            .find(|v| v.is_ipv4() != self.primary_addr.is_ipv4())
        {
            return Err(format!(
                "vips: {v} is not of the same address family as the primary address {}",
                self.primary_addr
            ));
        }
        Ok(())
    }
}
