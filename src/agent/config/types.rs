//! The validated config: the typed form the daemon runs with.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::vrrp::packet::Version;

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
    /// BGP mode (None = the VIPs go on the VRRP interfaces, announced by
    /// gratuitous ARP / NA).
    pub bgp: Option<super::bgp::BgpConfig>,
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
///
/// Its protocol settings (`vrid` to `preempt_delay`) are the first fields of
/// the protocol core's `vrrp::router::RouterConfig` too, on purpose: this
/// type is an instance as the agent's file gives it (with its interface, VIP
/// prefixes, peers, checks, BFD), that one a router as the core runs it (with
/// its primary address). `agent::instance::router_config` turns one into the
/// other, so that `vrrp` knows nothing of the agent or its file.
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
    /// Unicast only, even with no peers listed (then the instance stays
    /// BACKUP and sends nothing: see [`InstanceConfig::held_for_peers`]).
    pub unicast: bool,
    /// Unicast peers (empty = multicast, unless `unicast`).
    pub unicast_peers: Vec<IpAddr>,
    /// This unit is its application's only unit (by Juju's goal state): a
    /// unicast instance with no peers may take over, sending nothing (there
    /// is nobody to send to). Only valid with `unicast` and no peers.
    pub alone: bool,
    /// Source address for adverts (None = the interface's primary address).
    pub unicast_source: Option<IpAddr>,
    /// GARP/NA schedule.
    pub garp: GarpConfig,
    /// Health checks.
    pub checks: Vec<CheckConfig>,
    /// BFD towards every unicast peer (None = no BFD: VRRP timers only).
    pub bfd: Option<super::bfd::BfdConfig>,
}

impl InstanceConfig {
    /// True for an IPv6 instance.
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.addr.is_ipv6())
    }

    /// True when adverts go to the multicast group: no peers listed and
    /// `unicast` not set.
    pub fn multicast(&self) -> bool {
        !self.unicast && self.unicast_peers.is_empty()
    }

    /// True for `unicast: true` with no peers listed (yet): the instance is
    /// held in BACKUP and sends no adverts, rather than falling back to
    /// multicast or making itself a master nobody hears. A reload that
    /// lists peers releases it in place.
    /// `alone: true` lifts the hold: it behaves as if its peers never answer.
    pub fn held_for_peers(&self) -> bool {
        self.unicast && self.unicast_peers.is_empty() && !self.alone
    }
}
