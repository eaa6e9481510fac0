//! [`BgpWorld`]: what a hook reads of FRR on the unit for BGP mode (the
//! `bgp-*` options): its files, package and service, and the BGP sessions
//! bgpd reports. Read only when BGP is configured or was configured by the
//! charm (its files or markers are there), so a unit without BGP pays
//! nothing for it.

use serde::{Deserialize, Serialize};

use super::net::IfaceAddr;
use super::service::ServiceState;

/// FRR on the unit, as one hook sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct BgpWorld {
    /// `/etc/frr/frr.conf`, when present and readable.
    pub frr_conf: Option<String>,
    /// `/etc/frr/daemons`, when present and readable (asked only for BGP).
    pub daemons: Option<String>,
    /// dpkg knows the `frr` package as installed (asked only for BGP).
    pub frr_installed: bool,
    /// The charm installed `frr` (its marker exists): purged at removal.
    pub installed_by_us: bool,
    /// The charm started `frr.service` (its marker exists): stopped when BGP
    /// is turned off or the charm removed.
    pub started_by_us: bool,
    /// `frr.service` (asked only for BGP).
    pub service: ServiceState,
    /// The program that reloads FRR's configuration in place (`frr-reload.py`).
    pub reload_program: String,
    /// bgpd's sessions (`show bgp summary json`), None when not asked (BGP
    /// off, FRR not running) or when the question failed.
    pub sessions: Option<Vec<BgpSession>>,
    /// Why bgpd could not be asked, when it was and could not be.
    pub query_error: Option<String>,
    /// How the kernel reaches each listed router (`ip route get`), asked
    /// while BGP is configured; empty when not asked or `ip` is missing
    /// (then every router listed is peered with).
    pub routes: Vec<PeerRoute>,
    /// What a plain TCP connection to port 179 of a router whose session
    /// is down (and not refused by a NOTIFICATION) met.
    pub probes: Vec<(String, TcpProbe)>,
    /// Seconds since bgpd last took a configuration (the younger of
    /// frr.conf and bgpd's pid file), when known: how long it has had to
    /// open its sessions.
    pub config_age_secs: Option<u64>,
    /// The subnets Juju lists for the unit (`network-get`): a router in
    /// one of them is directly connected whatever the kernel says.
    pub subnets: Vec<IfaceAddr>,
}

/// How the kernel reaches one router of `bgp-peers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct PeerRoute {
    /// The router's address as listed.
    pub address: String,
    /// The next hop when the router is not directly connected.
    pub gateway: Option<String>,
    /// Why the kernel has no route to it, when it has none.
    pub error: Option<String>,
}

/// What a plain TCP connection to a router's port 179 met: the only clue
/// to a TCP-MD5 mismatch, which the router's kernel answers with silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpProbe {
    /// Connected: the router listens and wants no password from us.
    Accepted,
    /// Refused (RST): the host is up, nothing listens on port 179.
    Refused,
    /// No answer from a host that answers ARP / ND: its kernel drops our
    /// segments (a TCP-MD5 key it expects, or a filter).
    Silent,
    /// No answer and no link-layer neighbour: the router is not there.
    Unreachable(String),
}

/// One BGP session as bgpd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct BgpSession {
    /// The neighbour's address, as bgpd prints it.
    pub peer: String,
    /// The BGP FSM state (`Established`, `Active`, `Connect`, `Idle`, ...).
    pub state: String,
    /// The neighbour's ASN, when known.
    pub remote_as: Option<u64>,
    /// Prefixes sent to it, when established.
    pub prefixes_sent: Option<u64>,
    /// How long the session has been in its state (bgpd's `peerUptime`).
    pub uptime: Option<String>,
    /// The last NOTIFICATION sent or received (`show bgp neighbors json`
    /// `lastNotificationReason`, e.g. `OPEN Message Error/Bad Peer AS`),
    /// asked only while the session is down.
    pub last_notification: Option<String>,
}
