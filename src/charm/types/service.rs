//! [`ServiceState`]: what a hook reads of one systemd unit.

use serde::{Deserialize, Serialize};

/// Whether a systemd unit is running / enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceState {
    /// `systemctl is-active` said active.
    pub active: bool,
    /// `systemctl is-enabled` said enabled.
    pub enabled: bool,
}
