//! The charm's options as values: [`Config`], validated, and
//! [`ConfigError`], the one bad option and what to do about it.

use std::fmt;
use std::net::IpAddr;

use crate::charm::types::{HealthCheck, VipSpec};

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
    /// `fast-failover-interval` and `fast-failover-multiplier`: BFD between
    /// units, None when the interval is 0 (off).
    pub fast_failover: Option<FastFailover>,
    /// The `bgp-*` options: BGP mode (routed networks), None when
    /// `bgp-peers` is empty.
    pub bgp: Option<BgpOptions>,
}

/// Fast peer liveness (BFD between units): a dead VIP holder is noticed after
/// `multiplier` × `interval_ms` instead of three missed VRRP adverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastFailover {
    /// BFD transmit/receive interval in milliseconds (10..10000).
    pub interval_ms: u32,
    /// Packets missed before a peer is declared down (2..255).
    pub multiplier: u8,
}

impl FastFailover {
    /// The detection time in milliseconds: multiplier × interval.
    pub fn detection_ms(&self) -> u32 {
        self.interval_ms * u32::from(self.multiplier)
    }
}

/// One router to peer with: `ADDRESS[:ASN]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BgpPeer {
    /// The router's address on a network this unit reaches.
    pub address: IpAddr,
    /// Its ASN; None = `remote-as external` (any ASN but ours).
    pub asn: Option<u32>,
}

/// BGP mode, validated: on when `bgp-peers` lists at least one router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpOptions {
    /// `bgp-peers`, in the order given.
    pub peers: Vec<BgpPeer>,
    /// `bgp-asn`: the units' own ASN.
    pub asn: u32,
    /// `bgp-ecmp`: every unit whose checks pass announces, not only the master.
    pub ecmp: bool,
    /// `bgp-bfd`: FRR's bfdd on the BGP sessions.
    pub bfd: bool,
    /// `bgp-password`: the TCP-MD5 key, None when empty.
    pub password: Option<String>,
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
