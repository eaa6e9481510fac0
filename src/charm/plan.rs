//! The pure heart of every hook: `plan(&Inputs) -> Plan`.
//!
//! `Inputs` is everything a hook reads of the world (config, peers, relations,
//! network, service and file state), read once. `Plan` is everything the hook
//! should change: files, services, packages, sysctls, relation data, status.
//! The plan already knows what exists, so applying it a second time with
//! unchanged inputs changes nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::config::{self, Config, VipAgent};
use super::health::HealthCheck;
use super::instances::{self, Instance};
use super::lb_consumers::{self, ProviderContext};
use super::legacy;
use super::peers::{self, Peer};
use super::proxy;
use super::reldata;
use super::status::{self, State, Status, StatusInputs};
use super::system_plan::plan_system;
use super::teardown::teardown;

pub use super::plan_types::{
    CopySpec, FileSpec, Inputs, Plan, RelationSet, ServiceAction, ServiceOp, ServiceState,
    SysctlOp, When,
};

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
pub(super) fn rooted(root: &std::path::Path, p: &str) -> String {
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
    if matches!(inputs.hook.as_str(), "install" | "upgrade-charm") {
        plan.workload_version = Some(env!("CARGO_PKG_VERSION").to_string());
    }

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
    // The load balancer's seam: requests the VIP cannot serve directly, and
    // whatever else the load balancer wants (it sees all inputs).
    let my_addrs = my_addresses(inputs);
    let peer_addrs = peer_primary_addresses(&inputs.peers);
    let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
    let ctx = ProviderContext {
        vips: &vips,
        hostname: cfg.vip_hostname.as_deref(),
        my_addrs: &my_addrs,
        peer_addrs: &peer_addrs,
    };
    let needs = lb_consumers::proxy_needs(&inputs.consumers, &ctx);
    let proxy_outcome = proxy::plan_proxy(&needs, inputs, &cfg);
    plan.logs.extend(proxy_outcome.logs.iter().cloned());
    if let Some(why) = &proxy_outcome.blocked {
        publish_peer_data(inputs, None, &mut plan);
        plan.unit_status = Status::new(State::Blocked, why.clone());
        plan.logs
            .push(format!("load balancer: {why}; nothing changed"));
        return plan;
    }

    let instances = match build_instances_with(inputs, &cfg, &proxy_outcome.auto_checks) {
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

    plan_system(inputs, &cfg, &instances, &mut plan);
    if plan.unit_status.state == State::Blocked {
        // A template failed to render: nothing is applied.
        plan.install_packages.clear();
        plan.files.clear();
        plan.copies.clear();
        plan.sysctls.clear();
        plan.services.clear();
        return plan;
    }
    for pkg in &proxy_outcome.install_packages {
        if !plan.install_packages.contains(pkg) {
            plan.install_packages.push(pkg.clone());
        }
    }
    plan.files.extend(proxy_outcome.files.iter().cloned());
    order_proxy_services(&mut plan.services, &proxy_outcome.services);
    plan.remove_files
        .extend(proxy_outcome.remove_files.iter().cloned());
    plan.final_daemon_reload = true;
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
    if let Some(note) = &proxy_outcome.status_note {
        if plan.unit_status.state == State::Active {
            plan.unit_status.message = format!("{}, {note}", plan.unit_status.message);
        }
    }
    if inputs.leader {
        plan.app_status = Some(status::app_status(&instances, cfg.vip_hostname.as_deref()));
    }
    plan
}

/// The VRRP instances this unit runs for `cfg` (also used by the status action).
pub fn build_instances(
    inputs: &Inputs,
    cfg: &Config,
) -> Result<Vec<Instance>, instances::PlacementError> {
    build_instances_with(inputs, cfg, &[])
}

/// The instances, with the load balancer's checks added under `health-check=auto`.
fn build_instances_with(
    inputs: &Inputs,
    cfg: &Config,
    auto_checks: &[HealthCheck],
) -> Result<Vec<Instance>, instances::PlacementError> {
    let mut checks: Vec<_> = cfg
        .health_check
        .resolve(inputs.runs_apiserver)
        .into_iter()
        .collect();
    if cfg.health_check == HealthCheck::Auto {
        checks.extend(auto_checks.iter().cloned());
    }
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
pub(super) fn publish_peer_data(
    inputs: &Inputs,
    instances: Option<&Vec<Instance>>,
    plan: &mut Plan,
) {
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

/// Merges the load balancer's service steps with the VIP agent's (`agent`).
///
/// Why the order matters: the agent's config names HAProxy's monitor as a
/// health check when HAProxy is in use. Steps that bring HAProxy up (start,
/// restart, reload, enable, daemon-reload, stopping the distro's instance
/// that would hold its ports) run BEFORE the agent is started or reloaded, so
/// the agent's new check finds HAProxy listening. Steps that take our HAProxy
/// down (stop, disable) run AFTER, so the agent has already dropped that
/// check when HAProxy goes away.
pub fn order_proxy_services(agent: &mut Vec<ServiceOp>, proxy: &[ServiceOp]) {
    let takes_down = |op: &ServiceOp| {
        op.unit == crate::charm::haproxy::plan::HAPROXY_SERVICE
            && matches!(op.action, ServiceAction::Stop | ServiceAction::Disable)
    };
    let mut merged: Vec<ServiceOp> = proxy.iter().filter(|op| !takes_down(op)).cloned().collect();
    merged.append(agent);
    merged.extend(proxy.iter().filter(|op| takes_down(op)).cloned());
    *agent = merged;
}
