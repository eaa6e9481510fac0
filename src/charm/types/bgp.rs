//! [`BgpWorld`]: what a hook reads of FRR on the unit for BGP mode (the
//! `bgp-*` options): its files, package and service, and the BGP sessions
//! bgpd reports. Read only when BGP is configured or was configured by the
//! charm (its files or markers are there), so a unit without BGP pays
//! nothing for it.

use serde::{Deserialize, Serialize};

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
}
