//! The pure heart of every hook: `plan(&Inputs) -> Plan`.
//!
//! `Inputs` is everything a hook reads of the world (config, peers, relations,
//! network, service and file state), read once. `Plan` is everything the hook
//! should change: files, services, packages, sysctls, relation data, status.
//! The plan already knows what exists, so applying it a second time with
//! unchanged inputs changes nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::agent_state::StatusDoc;
use super::config::{self, Config, VipAgent};
use super::instances::{self, Instance};
use super::lb_consumers::{self, ConsumerRelation, ProviderContext};
use super::legacy::{self, UnitRelation};
use super::net::NetworkView;
use super::paths;
use super::peers::{self, Peer};
use super::proxy;
use super::reldata;
use super::render::{self, AgentPaths};
use super::status::{self, State, Status, StatusInputs};
use super::unit_file;

/// Whether a systemd unit is running / enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceState {
    /// `systemctl is-active` said active.
    pub active: bool,
    /// `systemctl is-enabled` said enabled.
    pub enabled: bool,
}

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
    /// The `cluster` relation id, once it exists.
    pub cluster_relation: Option<String>,
    /// Our unit data in `cluster` now.
    pub own_cluster_data: BTreeMap<String, String>,
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
}

/// A file to have on the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// On-unit absolute path.
    pub path: String,
    /// Exact content.
    pub content: String,
    /// Permission bits.
    pub mode: u32,
}

/// What to do to a systemd unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    /// `systemctl daemon-reload` (unit name ignored).
    DaemonReload,
    /// `systemctl enable`.
    Enable,
    /// `systemctl disable`.
    Disable,
    /// `systemctl start`.
    Start,
    /// `systemctl stop`.
    Stop,
    /// `systemctl restart`.
    Restart,
    /// `systemctl reload` (SIGHUP for the agent).
    Reload,
    /// Hitless restart: ask the agent to hand over (exit keeping its VIPs),
    /// then `systemctl restart` so the new binary adopts them.
    HandoverRestart,
}

/// When a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// Every time.
    Always,
    /// Only if one of `any_of` changed during this apply and none of `unless` did.
    Changed {
        /// Paths whose change triggers the step.
        any_of: Vec<String>,
        /// Paths whose change makes the step unnecessary (a restart covers a reload).
        unless: Vec<String>,
    },
}

impl When {
    /// Runs when `path` changed.
    pub fn changed(path: &str) -> When {
        When::Changed {
            any_of: vec![path.to_string()],
            unless: Vec::new(),
        }
    }
}

/// One systemd step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceOp {
    /// Unit name (`k8s-vip-agent.service`).
    pub unit: String,
    /// The action.
    pub action: ServiceAction,
    /// Its condition.
    pub when: When,
}

impl ServiceOp {
    fn new(unit: &str, action: ServiceAction, when: When) -> ServiceOp {
        ServiceOp {
            unit: unit.to_string(),
            action,
            when,
        }
    }
}

/// One sysctl step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysctlOp {
    /// `sysctl -p FILE` when FILE changed.
    LoadWhenChanged(String),
    /// `sysctl -w KEY=VALUE`.
    Set(String, String),
}

/// Relation data to set (only the keys that change; "" deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSet {
    /// Relation id.
    pub relation_id: String,
    /// Application bag (leader only) instead of unit bag.
    pub app: bool,
    /// Keys to set.
    pub data: BTreeMap<String, String>,
}

/// A file to copy from the charm onto the unit (the agent binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    /// Source (a real path in the charm directory).
    pub from: PathBuf,
    /// On-unit destination.
    pub to: String,
    /// Permission bits.
    pub mode: u32,
}

/// Everything a hook should change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Packages to `apt-get install`.
    pub install_packages: Vec<String>,
    /// Files to have (written only when different).
    pub files: Vec<FileSpec>,
    /// Files to copy (written only when different).
    pub copies: Vec<CopySpec>,
    /// Sysctl steps.
    pub sysctls: Vec<SysctlOp>,
    /// systemd steps, in order.
    pub services: Vec<ServiceOp>,
    /// Files to delete (after the services steps).
    pub remove_files: Vec<String>,
    /// Directories to delete recursively (after the files).
    pub remove_dirs: Vec<String>,
    /// `systemctl daemon-reload` after removing unit files.
    pub final_daemon_reload: bool,
    /// Packages to `apt-get purge`.
    pub purge_packages: Vec<String>,
    /// Relation data to set.
    pub relation_sets: Vec<RelationSet>,
    /// The unit status.
    pub unit_status: Status,
    /// The application status (leader only).
    pub app_status: Option<Status>,
    /// Lines for `juju-log`.
    pub logs: Vec<String>,
}

impl Plan {
    fn empty(status: Status) -> Plan {
        Plan {
            install_packages: Vec::new(),
            files: Vec::new(),
            copies: Vec::new(),
            sysctls: Vec::new(),
            services: Vec::new(),
            remove_files: Vec::new(),
            remove_dirs: Vec::new(),
            final_daemon_reload: false,
            purge_packages: Vec::new(),
            relation_sets: Vec::new(),
            unit_status: status,
            app_status: None,
            logs: Vec::new(),
        }
    }

    fn file(&mut self, path: &str, content: String, mode: u32) {
        self.files.push(FileSpec {
            path: path.to_string(),
            content,
            mode,
        });
    }
}

/// Hooks after which the unit must be left as it was before install.
pub fn is_teardown_hook(hook: &str) -> bool {
    matches!(hook, "stop" | "remove")
}

/// Every address of this unit (interfaces and ingress).
pub fn my_addresses(inputs: &Inputs) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = inputs.network.ingress.clone();
    for iface in &inputs.network.interfaces {
        out.extend(iface.addrs.iter().map(|a| a.addr));
    }
    out.sort();
    out.dedup();
    out
}

/// The on-unit path `p` as the agent will see it (under the root).
fn rooted(root: &std::path::Path, p: &str) -> String {
    if root.as_os_str().is_empty() || root == std::path::Path::new("/") {
        p.to_string()
    } else {
        root.join(p.trim_start_matches('/'))
            .to_string_lossy()
            .into_owned()
    }
}

/// Computes the plan.
pub fn plan(inputs: &Inputs) -> Plan {
    if is_teardown_hook(&inputs.hook) {
        return teardown(inputs);
    }
    let mut plan = Plan::empty(Status::new(State::Waiting, status::AGENT_STARTING));

    // Peer data: publish our addresses whatever the config (others need them).
    let cfg = match config::parse(&inputs.config, &inputs.app) {
        Ok(c) => c,
        Err(e) => {
            publish_peer_data(inputs, None, &mut plan);
            plan.unit_status = Status::new(State::Blocked, format!("{}: {}", e.option, e.message));
            plan.logs.push(format!("config: {e}; nothing changed"));
            return plan;
        }
    };
    let instances = match build_instances(inputs, &cfg) {
        Ok(i) => i,
        Err(e) => {
            publish_peer_data(inputs, None, &mut plan);
            plan.unit_status = Status::new(State::Blocked, format!("{}: {}", e.option, e.message));
            plan.logs.push(format!(
                "config: {}: {}; nothing changed",
                e.option, e.message
            ));
            return plan;
        }
    };
    publish_peer_data(inputs, Some(&instances), &mut plan);

    // The load balancer's seam: requests the VIP cannot serve directly.
    let my_addrs = my_addresses(inputs);
    let peer_addrs = peer_primary_addresses(&inputs.peers);
    let vips: Vec<IpAddr> = instances.iter().map(|i| i.vip).collect();
    let ctx = ProviderContext {
        vips: &vips,
        hostname: cfg.vip_hostname.as_deref(),
        my_addrs: &my_addrs,
        peer_addrs: &peer_addrs,
    };
    let proxy_outcome = proxy::plan_proxy(&lb_consumers::proxy_needs(&inputs.consumers, &ctx));

    plan_system(inputs, &cfg, &instances, &mut plan);
    plan.files.extend(proxy_outcome.files.iter().cloned());
    plan.services.extend(proxy_outcome.services.iter().cloned());
    plan_relations(inputs, &cfg, &ctx, &proxy_outcome, &mut plan);

    let my_addrs = my_addresses(inputs);
    plan.unit_status = match cfg.vip_agent {
        VipAgent::Builtin => status::unit_status(&StatusInputs {
            me: &inputs.unit,
            my_addrs: &my_addrs,
            peers: &inputs.peers,
            instances: &instances,
            service_active: inputs.agent_service.active,
            paused: inputs.paused,
            doc: inputs.agent_state.as_ref(),
        }),
        VipAgent::Keepalived => keepalived_status(inputs, &instances),
    };
    if inputs.leader {
        plan.app_status = Some(status::app_status(&instances, cfg.vip_hostname.as_deref()));
    }
    plan
}

fn build_instances(
    inputs: &Inputs,
    cfg: &Config,
) -> Result<Vec<Instance>, instances::PlacementError> {
    let checks: Vec<_> = cfg
        .health_check
        .resolve(inputs.runs_apiserver)
        .into_iter()
        .collect();
    instances::build(
        cfg,
        &inputs.model,
        &inputs.app,
        &inputs.unit,
        &inputs.peers,
        &inputs.network,
        &checks,
    )
}

fn keepalived_status(inputs: &Inputs, instances: &[Instance]) -> Status {
    if inputs.paused {
        return Status::new(State::Maintenance, status::PAUSED);
    }
    // The plan starts keepalived when it is not running (a failed start fails the hook).
    let vips: Vec<String> = instances
        .iter()
        .map(|i| format!("{} (vrid {}, priority {})", i.vip, i.vrid, i.priority))
        .collect();
    Status::new(State::Active, format!("keepalived: {}", vips.join(", ")))
}

/// Our peer data: addresses always, the interface once instances are placed.
fn publish_peer_data(inputs: &Inputs, instances: Option<&Vec<Instance>>, plan: &mut Plan) {
    let Some(rel) = &inputs.cluster_relation else {
        return;
    };
    let mut desired = BTreeMap::new();
    let all = my_addresses(inputs);
    let primary = inputs
        .network
        .ingress
        .first()
        .copied()
        .or_else(|| all.first().copied());
    if let Some(a) = primary {
        desired.insert(peers::KEY_ADDRESS.to_string(), a.to_string());
    }
    // An IPv6 VRRP source for IPv6 instances: the instance's local address,
    // else the first global IPv6 address.
    let v6 = instances
        .and_then(|list| {
            list.iter()
                .filter(|i| i.vip.is_ipv6())
                .find_map(|i| i.local_address)
        })
        .or_else(|| {
            inputs
                .network
                .ingress
                .iter()
                .chain(all.iter())
                .copied()
                .find(|a| a.is_ipv6())
        });
    if let Some(a) = v6.filter(|a| Some(*a) != primary) {
        desired.insert(peers::KEY_ADDRESS_V6.to_string(), a.to_string());
    }
    let owned: &dyn Fn(&str) -> bool = match instances {
        Some(list) => {
            if let Some(first) = list.first() {
                desired.insert(peers::KEY_INTERFACE.to_string(), first.interface.clone());
            }
            &|k: &str| {
                matches!(
                    k,
                    peers::KEY_ADDRESS | peers::KEY_ADDRESS_V6 | peers::KEY_INTERFACE
                )
            }
        }
        None => &|k: &str| matches!(k, peers::KEY_ADDRESS | peers::KEY_ADDRESS_V6),
    };
    let changes = reldata::diff(&inputs.own_cluster_data, &desired, owned);
    if !changes.is_empty() {
        plan.relation_sets.push(RelationSet {
            relation_id: rel.clone(),
            app: false,
            data: changes,
        });
    }
}

/// Files, packages, sysctls and services for a valid config.
fn plan_system(inputs: &Inputs, cfg: &Config, instances: &[Instance], plan: &mut Plan) {
    // Non-local bind lets HAProxy and the API server listen on a VIP they do not hold.
    if inputs.sysctl_before.is_none() {
        let saved: String = paths::SYSCTLS
            .iter()
            .filter_map(|(k, _)| inputs.sysctl_now.get(*k).map(|v| format!("{k}={v}\n")))
            .collect();
        plan.file(paths::SYSCTL_BEFORE, saved, 0o644);
    }
    let sysctl_conf: String = std::iter::once("# Written by the k8s-vip charm.\n".to_string())
        .chain(paths::SYSCTLS.iter().map(|(k, _)| format!("{k}=1\n")))
        .collect();
    plan.file(paths::SYSCTL_FILE, sysctl_conf, 0o644);
    plan.sysctls
        .push(SysctlOp::LoadWhenChanged(paths::SYSCTL_FILE.to_string()));

    let agent = paths::AGENT_SERVICE;
    let kad = paths::KEEPALIVED_SERVICE;
    match cfg.vip_agent {
        VipAgent::Builtin => {
            let agent_paths = AgentPaths {
                control_socket: rooted(&inputs.root, paths::CONTROL_SOCKET),
                state_file: rooted(&inputs.root, paths::STATE_FILE),
                pause_file: rooted(&inputs.root, paths::PAUSE_FILE),
            };
            match render::agent_yaml(instances, &agent_paths) {
                Ok(text) => plan.file(paths::AGENT_CONFIG, text, 0o644),
                Err(e) => {
                    plan.logs
                        .push(format!("rendering agent.yaml failed: {e:#}"));
                    plan.unit_status = Status::new(
                        State::Blocked,
                        format!("internal error rendering agent.yaml: {e}"),
                    );
                    return;
                }
            }
            plan.file(
                paths::AGENT_UNIT_FILE,
                unit_file::agent_unit(&inputs.root),
                0o644,
            );
            if inputs.hook == "install"
                || inputs.hook == "upgrade-charm"
                || !inputs.agent_binary_present
            {
                plan.copies.push(CopySpec {
                    from: inputs.charm_dir.join("bin").join("k8s-vip"),
                    to: paths::AGENT_BINARY.to_string(),
                    mode: 0o755,
                });
            }
            // The other backend goes first, so two VRRP speakers never overlap.
            if inputs.keepalived_service.active {
                plan.services
                    .push(ServiceOp::new(kad, ServiceAction::Stop, When::Always));
            }
            if inputs.keepalived_service.enabled {
                plan.services
                    .push(ServiceOp::new(kad, ServiceAction::Disable, When::Always));
            }
            plan.services.push(ServiceOp::new(
                agent,
                ServiceAction::DaemonReload,
                When::changed(paths::AGENT_UNIT_FILE),
            ));
            if !inputs.agent_service.enabled {
                plan.services
                    .push(ServiceOp::new(agent, ServiceAction::Enable, When::Always));
            }
            if inputs.agent_service.active {
                plan.services.push(ServiceOp::new(
                    agent,
                    ServiceAction::HandoverRestart,
                    When::Changed {
                        any_of: vec![paths::AGENT_BINARY.into(), paths::AGENT_UNIT_FILE.into()],
                        unless: Vec::new(),
                    },
                ));
                plan.services.push(ServiceOp::new(
                    agent,
                    ServiceAction::Reload,
                    When::Changed {
                        any_of: vec![paths::AGENT_CONFIG.into()],
                        unless: vec![paths::AGENT_BINARY.into(), paths::AGENT_UNIT_FILE.into()],
                    },
                ));
            } else {
                plan.services
                    .push(ServiceOp::new(agent, ServiceAction::Start, When::Always));
            }
        }
        VipAgent::Keepalived => {
            if !inputs.keepalived_installed {
                plan.install_packages.push("keepalived".into());
            }
            if !inputs.keepalived_installed || inputs.keepalived_installed_by_us {
                plan.file(
                    paths::KEEPALIVED_INSTALLED_MARKER,
                    "keepalived\n".into(),
                    0o644,
                );
            }
            match render::keepalived_conf(instances, &inputs.unit) {
                Ok(text) => plan.file(paths::KEEPALIVED_CONFIG, text, 0o644),
                Err(e) => {
                    plan.logs
                        .push(format!("rendering keepalived.conf failed: {e:#}"));
                    plan.unit_status = Status::new(
                        State::Blocked,
                        format!("internal error rendering keepalived.conf: {e}"),
                    );
                    return;
                }
            }
            if inputs.agent_service.active {
                plan.services
                    .push(ServiceOp::new(agent, ServiceAction::Stop, When::Always));
            }
            if inputs.agent_service.enabled {
                plan.services
                    .push(ServiceOp::new(agent, ServiceAction::Disable, When::Always));
            }
            if !inputs.keepalived_service.enabled && !inputs.paused {
                plan.services
                    .push(ServiceOp::new(kad, ServiceAction::Enable, When::Always));
            }
            match (inputs.paused, inputs.keepalived_service.active) {
                (true, true) => {
                    plan.services
                        .push(ServiceOp::new(kad, ServiceAction::Stop, When::Always))
                }
                (true, false) => {}
                (false, true) => plan.services.push(ServiceOp::new(
                    kad,
                    ServiceAction::Reload,
                    When::changed(paths::KEEPALIVED_CONFIG),
                )),
                (false, false) => {
                    plan.services
                        .push(ServiceOp::new(kad, ServiceAction::Start, When::Always))
                }
            }
        }
    }
}

fn peer_primary_addresses(list: &[Peer]) -> Vec<IpAddr> {
    list.iter()
        .filter_map(|p| p.data.get(peers::KEY_ADDRESS))
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// Relation data for consumers: lb-consumers (leader, app data), loadbalancer
/// and website (every unit, unit data).
fn plan_relations(
    inputs: &Inputs,
    cfg: &Config,
    ctx: &ProviderContext<'_>,
    outcome: &proxy::ProxyOutcome,
    plan: &mut Plan,
) {
    let Some(first_vip) = ctx.vips.first().map(|v| v.to_string()) else {
        return;
    };
    let published = cfg
        .vip_hostname
        .clone()
        .unwrap_or_else(|| first_vip.clone());

    if inputs.leader {
        for rel in &inputs.consumers {
            let answer = lb_consumers::answer(rel, ctx, outcome);
            plan.logs.extend(answer.logs);
            let changes = reldata::diff(
                &rel.our_app_data,
                &answer.app_data,
                &lb_consumers::owned_key,
            );
            if !changes.is_empty() {
                plan.relation_sets.push(RelationSet {
                    relation_id: rel.id.clone(),
                    app: true,
                    data: changes,
                });
            }
        }
    }
    for rel in &inputs.public_address {
        let desired = legacy::public_address_data(&published, cfg.port);
        let changes = reldata::diff(&rel.our_unit_data, &desired, &legacy::public_address_owned);
        if !changes.is_empty() {
            plan.relation_sets.push(RelationSet {
                relation_id: rel.id.clone(),
                app: false,
                data: changes,
            });
        }
    }
    for rel in &inputs.website {
        let desired = legacy::website_data(&published, &first_vip, cfg.port);
        let changes = reldata::diff(&rel.our_unit_data, &desired, &legacy::website_owned);
        if !changes.is_empty() {
            plan.relation_sets.push(RelationSet {
                relation_id: rel.id.clone(),
                app: false,
                data: changes,
            });
        }
    }
}

/// stop / remove: stop everything (the agent releases the VIP on SIGTERM),
/// remove what we wrote, restore sysctls, purge what we installed.
fn teardown(inputs: &Inputs) -> Plan {
    let mut plan = Plan::empty(Status::new(State::Maintenance, "removing: VIP released"));
    let agent = paths::AGENT_SERVICE;
    let kad = paths::KEEPALIVED_SERVICE;
    if inputs.agent_service.active {
        plan.services
            .push(ServiceOp::new(agent, ServiceAction::Stop, When::Always));
    }
    if inputs.agent_service.enabled {
        plan.services
            .push(ServiceOp::new(agent, ServiceAction::Disable, When::Always));
    }
    let ours_keepalived = inputs.keepalived_installed_by_us
        || config::parse(&inputs.config, &inputs.app)
            .is_ok_and(|c| c.vip_agent == VipAgent::Keepalived);
    if ours_keepalived {
        if inputs.keepalived_service.active {
            plan.services
                .push(ServiceOp::new(kad, ServiceAction::Stop, When::Always));
        }
        if inputs.keepalived_service.enabled {
            plan.services
                .push(ServiceOp::new(kad, ServiceAction::Disable, When::Always));
        }
        plan.remove_files.push(paths::KEEPALIVED_CONFIG.into());
    }
    if inputs.keepalived_installed_by_us && inputs.keepalived_installed {
        plan.purge_packages.push("keepalived".into());
    }
    if let Some(saved) = &inputs.sysctl_before {
        for line in saved.lines() {
            if let Some((k, v)) = line.split_once('=') {
                if inputs.sysctl_now.get(k.trim()).map(String::as_str) != Some(v.trim()) {
                    plan.sysctls
                        .push(SysctlOp::Set(k.trim().into(), v.trim().into()));
                }
            }
        }
    }
    plan.remove_files.extend(
        [
            paths::AGENT_UNIT_FILE,
            paths::AGENT_CONFIG,
            paths::AGENT_BINARY,
            paths::SYSCTL_FILE,
        ]
        .iter()
        .map(|p| p.to_string()),
    );
    plan.remove_dirs
        .extend(paths::OWNED_DIRS.iter().map(|d| d.to_string()));
    plan.remove_dirs.push("/run/k8s-vip".into());
    plan.final_daemon_reload = true;
    plan
}
