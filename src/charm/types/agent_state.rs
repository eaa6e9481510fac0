//! The agent's status document (state file, `status` reply), as the charm reads
//! it. Parsing is lenient (unknown keys ignored, missing ones defaulted) so a
//! newer agent never breaks an older charm's status.

use serde::{Deserialize, Serialize};

/// The whole status document.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct StatusDoc {
    /// Agent process id.
    pub pid: Option<u64>,
    /// When the document was written (RFC 3339).
    pub updated: Option<String>,
    /// Whether the agent is paused.
    pub paused: bool,
    /// One entry per VRRP instance.
    pub instances: Vec<InstanceState>,
}

/// One VRRP instance's state.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct InstanceState {
    /// Instance name.
    pub name: String,
    /// VRID.
    pub vrid: u8,
    /// INIT | BACKUP | MASTER | FAULT | PAUSED.
    pub state: String,
    /// Configured priority.
    pub priority: u8,
    /// Priority after health checks.
    pub effective_priority: Option<u8>,
    /// Our address.
    pub address: Option<String>,
    /// Current master's address (self when MASTER, None when unknown).
    pub master: Option<String>,
    /// VIPs with prefix.
    pub vips: Vec<String>,
    /// Number of state transitions.
    pub transitions: u64,
    /// Time of the last transition.
    pub last_transition: Option<String>,
    /// Why the last transition happened.
    pub last_transition_reason: Option<String>,
    /// Health check results.
    pub checks: Vec<CheckState>,
    /// Sources of adverts for our VRID that are not configured peers.
    pub foreign_routers: Vec<String>,
    /// `multicast` or `unicast`: where the instance sends its adverts.
    pub mode: Option<String>,
    /// What a held instance waits for (`unicast peers`), else None.
    pub waiting_for: Option<String>,
    /// One BFD session per unicast peer; empty when BFD is off.
    pub bfd: Vec<BfdPeerState>,
    /// Takeovers decided by BFD (the master's session went Down).
    pub bfd_takeovers: Option<u64>,
    /// BFD said Down while the master's adverts still arrived (not acted on).
    pub bfd_contradicted: Option<u64>,
    /// BGP mode: whether this unit announces the instance's VIPs now (the
    /// agent has them on its BGP interface); None without BGP.
    pub announced: Option<bool>,
}

/// One BFD session to a unicast peer, as the agent reports it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct BfdPeerState {
    /// The peer's address.
    pub peer: String,
    /// `up`, `down`, `init`, `admin-down`, or `none` (no session yet).
    pub state: String,
    /// Detection time in force, milliseconds (remote multiplier × agreed interval).
    pub detection_ms: Option<f64>,
    /// Number of state changes.
    pub changes: u64,
}

impl BfdPeerState {
    /// `up, detection 60 ms` for the `status` action.
    pub fn describe(&self) -> String {
        match self.detection_ms {
            Some(ms) => format!("{}, detection {}", self.state, millis(ms)),
            None => self.state.clone(),
        }
    }
}

/// Milliseconds for messages: whole numbers without decimals, else one.
pub fn millis(ms: f64) -> String {
    if (ms - ms.round()).abs() < 0.05 {
        format!("{} ms", ms.round())
    } else {
        format!("{ms:.1} ms")
    }
}

/// One health check's result.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct CheckState {
    /// Human-readable name of the check.
    pub name: String,
    /// Whether it currently passes.
    pub healthy: bool,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

impl StatusDoc {
    /// Parses a status document (state file content or a control-socket reply).
    pub fn parse(text: &str) -> Result<StatusDoc, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Parses from a JSON value (the control socket's reply object).
    pub fn from_value(value: &serde_json::Value) -> Result<StatusDoc, serde_json::Error> {
        StatusDoc::deserialize(value)
    }
}

impl InstanceState {
    /// `BFD 2/2 up, 60 ms` (sessions Up of all, the longest detection time in
    /// force among them) for the unit status; None when BFD is off.
    pub fn bfd_summary(&self) -> Option<String> {
        if self.bfd.is_empty() {
            return None;
        }
        let up = self.bfd.iter().filter(|b| b.state == "up").count();
        let mut text = format!("BFD {up}/{} up", self.bfd.len());
        let detection = self
            .bfd
            .iter()
            .filter(|b| b.state == "up")
            .filter_map(|b| b.detection_ms)
            .fold(None, |acc: Option<f64>, ms| {
                Some(acc.map_or(ms, |a| a.max(ms)))
            });
        if let Some(ms) = detection {
            text.push_str(&format!(", {}", millis(ms)));
        }
        Some(text)
    }

    /// The VIP without its prefix length, for messages.
    pub fn vip_addresses(&self) -> Vec<&str> {
        self.vips
            .iter()
            .map(|v| v.split('/').next().unwrap_or(v))
            .collect()
    }
}
