//! Plain values the hook tools take and return, typed so that a charm cannot
//! send Juju a status or log level it does not know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What Juju means this application to become (`goal-state --format=json`):
/// the units it is expected to have, so a unit can tell "alone for now, peers
/// still joining" from "alone by design". Relations are not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GoalState {
    /// This application's units (ourselves included) by name.
    #[serde(default)]
    pub units: BTreeMap<String, GoalUnit>,
}

/// One unit in [`GoalState`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GoalUnit {
    /// Its workload status, or `dying` once its life is dying.
    #[serde(default)]
    pub status: String,
}

impl GoalState {
    /// True when `me` is the only unit Juju expects of this application
    /// (dying units do not count): there are no peers to wait for.
    pub fn alone(&self, me: &str) -> bool {
        self.units.contains_key(me)
            && !self
                .units
                .iter()
                .any(|(name, u)| name != me && u.status != "dying")
    }
}

/// A workload status state that a charm may set (`status-set STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    /// The charm is doing something the operator should wait for.
    Maintenance,
    /// The charm needs the operator to do something (the message says what).
    Blocked,
    /// The charm waits for something outside the operator's hands (a relation, a peer).
    Waiting,
    /// Everything works.
    Active,
}

impl StatusState {
    /// The word `status-set` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Maintenance => "maintenance",
            StatusState::Blocked => "blocked",
            StatusState::Waiting => "waiting",
            StatusState::Active => "active",
        }
    }
}

impl std::fmt::Display for StatusState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit or application status: state plus the message the operator reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The state.
    pub state: StatusState,
    /// The message shown in `juju status`.
    pub message: String,
}

impl Status {
    /// A status with `state` and `message`.
    pub fn new(state: StatusState, message: impl Into<String>) -> Status {
        Status {
            state,
            message: message.into(),
        }
    }
}

/// A `juju-log` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Details for whoever debugs the charm.
    Debug,
    /// Normal progress.
    Info,
    /// Something odd the charm worked around.
    Warning,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// The word `juju-log --log-level` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

/// The transport protocol of an `open-port` / `close-port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// The suffix `open-port PORT/PROTO` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// What `network-get --format=json BINDING` says about one endpoint binding.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetworkInfo {
    /// The interfaces (and their addresses) the binding is on.
    #[serde(default)]
    pub bind_addresses: Vec<BindAddress>,
    /// The addresses other units should use to reach this one.
    #[serde(default)]
    pub ingress_addresses: Vec<String>,
    /// Subnets this unit's traffic comes from, as seen by others.
    #[serde(default)]
    pub egress_subnets: Vec<String>,
}

/// One interface of a binding.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BindAddress {
    /// The interface name on the machine, e.g. `eth0` (the VRRP interface).
    #[serde(default)]
    pub interface_name: String,
    /// The interface's MAC address.
    #[serde(default)]
    pub mac_address: String,
    /// The interface's addresses in this binding's spaces.
    #[serde(default)]
    pub addresses: Vec<InterfaceAddress>,
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InterfaceAddress {
    /// The address, e.g. `192.0.2.11`.
    #[serde(default)]
    pub value: String,
    /// Its subnet, e.g. `192.0.2.0/24`.
    #[serde(default)]
    pub cidr: String,
}

impl NetworkInfo {
    /// The first bound interface and address, the usual choice for VRRP.
    pub fn primary(&self) -> Option<(&BindAddress, &InterfaceAddress)> {
        self.bind_addresses
            .iter()
            .find_map(|b| b.addresses.first().map(|a| (b, a)))
    }
}

#[cfg(test)]
mod goal_tests {
    use super::GoalState;

    /// Juju's own shape: units with status and since; relations by endpoint.
    const JUJU: &str = r#"{"units":{"k8s-vip/0":{"status":"active","since":"2026-12-07 10:00:00Z"},
        "k8s-vip/1":{"status":"dying","since":"2026-12-07 10:01:00Z"}},
        "relations":{"cluster":{"k8s-vip/1":{"status":"departing","since":"2026-12-07 10:01:00Z"}}}}"#;

    #[test]
    fn alone_counts_living_units_of_the_application() {
        let g: GoalState = serde_json::from_str(JUJU).unwrap();
        assert!(g.alone("k8s-vip/0"), "a dying unit does not count");
        assert!(!g.alone("k8s-vip/2"), "not listed: not known to be alone");
        let mut two = g.clone();
        two.units.get_mut("k8s-vip/1").unwrap().status = "waiting".into();
        assert!(!two.alone("k8s-vip/0"));
    }
}
