//! [`Inputs`]: everything a hook reads of the world, once, before anything
//! is decided. Gathered by `charm::gather`, planned by `charm::plan`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::agent_state::StatusDoc;
use super::bgp::BgpWorld;
use super::lb::LbWorld;
use super::net::NetworkView;
use super::peers::Peer;
use super::relations::{ConsumerRelation, UnitRelation};
use super::service::ServiceState;

/// Everything a hook reads, once, before deciding anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Inputs {
    /// Hook name (`config-changed`, `upgrade-charm`, `stop`, ...).
    pub hook: String,
    /// This unit (`k8s-vip/0`).
    pub unit: String,
    /// This application (`k8s-vip`).
    pub app: String,
    /// Model name (part of the derived VRID).
    pub model: String,
    /// Model UUID (`JUJU_MODEL_UUID`): part of the Juju topology COS labels
    /// everything with.
    pub model_uuid: String,
    /// Whether this unit runs kube-apiserver (principal charm or snap present).
    pub runs_apiserver: bool,
    /// `config-get` output.
    pub config: Map<String, Value>,
    /// `is-leader`.
    pub leader: bool,
    /// Interfaces, addresses, default routes.
    pub network: NetworkView,
    /// Other units in the `cluster` peer relation with their data.
    pub peers: Vec<Peer>,
    /// Juju's goal state lists this unit as its application's only one
    /// (asked only when no peer is listed): with `unicast=true` the agent
    /// may then hold the VIPs with no peers instead of waiting for some.
    pub alone: bool,
    /// The `cluster` relation id, once it exists.
    pub cluster_relation: Option<String>,
    /// Our unit data in `cluster` now.
    pub own_cluster_data: BTreeMap<String, String>,
    /// Our application's data in `cluster` (every unit may read it; only
    /// the leader writes it): e.g. the lb-consumers port owners.
    pub cluster_app_data: BTreeMap<String, String>,
    /// `lb-consumers` relations.
    pub consumers: Vec<ConsumerRelation>,
    /// `loadbalancer` (public-address) relations.
    pub public_address: Vec<UnitRelation>,
    /// `website` (http) relations.
    pub website: Vec<UnitRelation>,
    /// The agent's systemd unit.
    pub agent_service: ServiceState,
    /// keepalived's systemd unit.
    pub keepalived_service: ServiceState,
    /// The agent's state file, when present and parseable.
    pub agent_state: Option<StatusDoc>,
    /// The pause marker exists.
    pub paused: bool,
    /// The agent binary exists at its on-unit path.
    pub agent_binary_present: bool,
    /// The keepalived binary exists.
    pub keepalived_installed: bool,
    /// The charm installed keepalived (marker present).
    pub keepalived_installed_by_us: bool,
    /// Content of the saved pre-install sysctl values, if saved.
    pub sysctl_before: Option<String>,
    /// Current sysctl values (key -> value), for saving before install.
    pub sysctl_now: BTreeMap<String, String>,
    /// The charm directory (the agent binary is copied from `bin/k8s-vip` there).
    pub charm_dir: PathBuf,
    /// Root the on-unit paths are resolved under (written into agent.yaml).
    pub root: PathBuf,
    /// What the load balancer needs to know of the unit.
    pub lb: LbWorld,
    /// `cos-agent` relations (at most one: the collector subordinate).
    pub cos_agent: Vec<UnitRelation>,
    /// Whether the agent's metrics endpoint (`metrics-port` on the unit's
    /// address) can be bound, tried before the agent is told to bind it.
    pub metrics_probe: PortProbe,
    /// Host names the options name (a `tcp:` health check), each with the
    /// addresses it resolved to at this hook (empty: it did not resolve).
    pub resolved_hosts: BTreeMap<String, Vec<std::net::IpAddr>>,
    /// FRR on the unit, for BGP mode (`bgp-peers`).
    pub bgp: BgpWorld,
}

/// What a test bind of the metrics endpoint's address found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortProbe {
    /// Not tried: the endpoint is off, the address unknown or not (yet) on
    /// this machine, or the hook tears the unit down.
    #[default]
    Unknown,
    /// Nothing listens there: the agent may bind it.
    Free,
    /// Our agent already serves its metrics there.
    Ours,
    /// Another program holds the port.
    Taken,
}
