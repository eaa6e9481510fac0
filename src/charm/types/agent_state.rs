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
    /// The VIP without its prefix length, for messages.
    pub fn vip_addresses(&self) -> Vec<&str> {
        self.vips
            .iter()
            .map(|v| v.split('/').next().unwrap_or(v))
            .collect()
    }
}
