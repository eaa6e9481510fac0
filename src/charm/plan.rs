//! The pure heart of every hook: `plan(&Inputs) -> Plan`, composed from one
//! planner per concern.
//!
//! `Inputs` is everything a hook reads of the world (config, peers, relations,
//! network, service and file state), read once. `Plan` is everything the hook
//! should change: files, services, packages, sysctls, relation data, status.
//! Each planner below hands back its [`Part`]; this file only decides which
//! planners run, in which order their parts join the plan, and the status.
//! The plan already knows what exists, so applying it a second time with
//! unchanged inputs changes nothing.
//!
//! Order of composition (a running unit):
//! 1. config (`config::parse`): a bad option blocks the unit, nothing else;
//! 2. `lb-consumers` first pass: the ports the VIP cannot serve directly;
//! 3. HAProxy (`haproxy::seam`): may block (port conflict), refuses requests;
//! 4. instances (placement, priorities), then peer data;
//! 5. host sysctls, then the VRRP speaker (`vip_agent` or `keepalived`);
//! 6. HAProxy's files and steps, its service steps around the speaker's;
//! 7. relation data (`lb-consumers`, `loadbalancer`, `website`), status.

use std::net::IpAddr;

use super::addresses::{my_addresses, peer_primary_addresses};
use super::bgp;
use super::config::{self, Config, VipAgent};
use super::cos_agent;
use super::haproxy::names::HAPROXY_SERVICE;
use super::haproxy::seam::{plan_proxy, teardown_proxy};
use super::host;
use super::instances::{self, Instance};
use super::keepalived;
use super::lb_consumers::{self, ProviderContext};
use super::legacy;
use super::peer_data;
use super::render::RenderFailure;
use super::status::{self, StatusInputs};
use super::types::{Part, ProxyOutcome, State, Status};
use super::vip_agent;

pub use super::types::{
    CopySpec, FileSpec, Inputs, Plan, RelationSet, ServiceAction, ServiceOp, ServiceState,
    SysctlOp, When,
};

/// Hooks after which the unit must be left as it was before install.
pub fn is_teardown_hook(hook: &str) -> bool {
    matches!(hook, "stop" | "remove")
}

/// Computes the plan.
/// `blocked` naming the option that is wrong; nothing is applied.
fn blocked_by_option(inputs: &Inputs, plan: Plan, option: &str, message: &str) -> Plan {
    let why = format!("{option}: {message}");
    let log = format!("config: {why}; nothing changed");
    blocked(inputs, plan, why, log)
}

pub fn plan(inputs: &Inputs) -> Plan {
    if is_teardown_hook(&inputs.hook) {
        return teardown(inputs);
    }
    let mut plan = Plan::empty(Status::new(State::Waiting, status::AGENT_STARTING));
    if matches!(inputs.hook.as_str(), "install" | "upgrade-charm") {
        plan.workload_version = Some(env!("CARGO_PKG_VERSION").to_string());
    }
    let cfg = match config::parse(&inputs.config, &inputs.app) {
        Ok(c) => c,
        Err(e) => {
            let log = format!("config: {e}; nothing changed");
            return blocked(inputs, plan, format!("{}: {}", e.option, e.message), log);
        }
    };
    let my_addrs = my_addresses(inputs);
    let peer_addrs = peer_primary_addresses(&inputs.peers);
    let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
    let port_owners = super::haproxy::owners::stored_owners(&inputs.cluster_app_data);
    let ctx = ProviderContext {
        vips: &vips,
        hostname: cfg.vip_hostname.as_deref(),
        my_addrs: &my_addrs,
        peer_addrs: &peer_addrs,
        port_owners: &port_owners,
        cluster_relation: inputs.cluster_relation.as_deref(),
    };
    let needs = lb_consumers::proxy_needs(&inputs.consumers, &ctx);
    let proxy = plan_proxy(&needs, inputs, &cfg, &inputs.lb);
    plan.logs.extend(proxy.logs.iter().cloned());
    if let Some(why) = &proxy.blocked {
        let log = format!("load balancer: {why}; nothing changed");
        return blocked(inputs, plan, why.clone(), log);
    }
    let instances = match instances::for_inputs(inputs, &cfg, &proxy.auto_checks) {
        Ok(i) => i,
        Err(e) => return blocked_by_option(inputs, plan, e.option, &e.message),
    };
    plan.add(peer_data::plan(inputs, Some(&instances)));
    let (speaker, frr) = match speakers(inputs, &cfg, &instances, &vips) {
        Ok(parts) => parts,
        Err(failure) => {
            // A template failed to render, or FRR is not ours to configure:
            // nothing is applied.
            plan.logs.push(failure.log);
            plan.unit_status = Status::new(State::Blocked, failure.status);
            return plan;
        }
    };
    plan.add(host::plan(inputs));
    plan.add(speaker);
    plan.add(frr);
    add_proxy(&mut plan, &proxy);
    plan.final_daemon_reload = true;
    add_relations(&mut plan, inputs, &cfg, &ctx, &proxy);
    plan.add(cos_agent::plan(inputs, &proxy));
    set_status(&mut plan, inputs, &cfg, &instances, &proxy);
    plan
}

/// A plan that changes nothing but our peer addresses and blocks the unit
/// with `why`.
fn blocked(inputs: &Inputs, mut plan: Plan, why: String, log: String) -> Plan {
    plan.add(peer_data::plan(inputs, None));
    plan.unit_status = Status::new(State::Blocked, why);
    plan.logs.push(log);
    plan
}

/// The VRRP speaker's part: the built-in agent or keepalived, never both.
fn vrrp_speaker(
    inputs: &Inputs,
    cfg: &Config,
    instances: &[Instance],
) -> Result<Part, RenderFailure> {
    match cfg.vip_agent {
        VipAgent::Builtin => vip_agent::plan(inputs, instances, cfg.bgp.as_ref()),
        VipAgent::Keepalived => keepalived::plan(inputs, instances),
    }
}

/// The parts that make the VIPs reachable: the VRRP speaker's and FRR's
/// (BGP mode, or what withdraws an earlier one). Err blocks the unit.
fn speakers(
    inputs: &Inputs,
    cfg: &Config,
    instances: &[Instance],
    vips: &[IpAddr],
) -> Result<(Part, Part), RenderFailure> {
    let frr = bgp_part(inputs, cfg, vips).map_err(|why| RenderFailure {
        log: format!("BGP: {why}; nothing changed"),
        status: why,
    })?;
    Ok((vrrp_speaker(inputs, cfg, instances)?, frr))
}

/// FRR's part: BGP mode when `bgp-peers` is set, else what withdraws an
/// earlier BGP mode (nothing when there was none). Err: the blocked status.
fn bgp_part(inputs: &Inputs, cfg: &Config, vips: &[IpAddr]) -> Result<Part, String> {
    match &cfg.bgp {
        Some(options) => bgp::plan(inputs, options, vips),
        None => Ok(bgp::withdraw(inputs)),
    }
}

/// HAProxy's packages, files and removals, and its service steps merged
/// around the speaker's ([`order_proxy_services`]).
fn add_proxy(plan: &mut Plan, proxy: &ProxyOutcome) {
    plan.add(Part {
        install_packages: proxy.install_packages.clone(),
        files: proxy.files.clone(),
        remove_files: proxy.remove_files.clone(),
        ..Part::default()
    });
    order_proxy_services(&mut plan.services, &proxy.services);
}

/// Relation data for consumers: lb-consumers (leader, app data), loadbalancer
/// and website (every unit, unit data).
fn add_relations(
    plan: &mut Plan,
    inputs: &Inputs,
    cfg: &Config,
    ctx: &ProviderContext<'_>,
    proxy: &ProxyOutcome,
) {
    let Some(first_vip) = ctx.vips.first().map(|v| v.to_string()) else {
        return;
    };
    let published = cfg
        .vip_hostname
        .clone()
        .unwrap_or_else(|| first_vip.clone());
    if inputs.leader {
        plan.add(lb_consumers::part(&inputs.consumers, ctx, proxy));
    }
    plan.add(legacy::public_address_part(
        &inputs.public_address,
        &published,
        cfg.port,
    ));
    plan.add(legacy::website_part(
        &inputs.website,
        &published,
        &first_vip,
        cfg.port,
    ));
}

/// The unit status from the speaker (with the load balancer's note when
/// active) and, on the leader, the application status.
fn set_status(
    plan: &mut Plan,
    inputs: &Inputs,
    cfg: &Config,
    instances: &[Instance],
    proxy: &ProxyOutcome,
) {
    let my_addrs = my_addresses(inputs);
    plan.unit_status = match cfg.vip_agent {
        VipAgent::Builtin => status::unit_status(&StatusInputs {
            me: &inputs.unit,
            my_addrs: &my_addrs,
            peers: &inputs.peers,
            instances,
            service_active: inputs.agent_service.active,
            paused: inputs.paused,
            doc: inputs.agent_state.as_ref(),
        }),
        VipAgent::Keepalived => keepalived::unit_status(inputs, instances),
    };
    if let Some(options) = &cfg.bgp {
        add_bgp_status(&mut plan.unit_status, options, inputs);
    }
    if let Some(note) = &proxy.status_note {
        if plan.unit_status.state == State::Active {
            plan.unit_status.message = format!("{}, {note}", plan.unit_status.message);
        }
    }
    plan.unit_status = cos_agent::blocked_status(inputs).unwrap_or(plan.unit_status.clone());
    if inputs.leader {
        plan.app_status = Some(status::app_status(instances, cfg.vip_hostname.as_deref()));
    }
}

/// Appends BGP's line ([`bgp::summary::status_line`]) to a running unit's
/// status; the worse of the two states wins.
fn add_bgp_status(status: &mut Status, options: &config::BgpOptions, inputs: &Inputs) {
    if matches!(status.state, State::Maintenance | State::Blocked) {
        return;
    }
    let (state, line) =
        bgp::summary::status_line(options, &inputs.bgp, inputs.agent_state.as_ref());
    status.state = status.state.max(state);
    status.message = status::capped(&format!("{}; {line}", status.message));
}

/// stop / remove: stop everything (the agent releases the VIP on SIGTERM),
/// remove what we wrote, restore sysctls, purge what we installed.
fn teardown(inputs: &Inputs) -> Plan {
    let mut plan = Plan::empty(Status::new(State::Maintenance, "removing: VIP released"));
    let ours_keepalived = inputs.keepalived_installed_by_us
        || config::parse(&inputs.config, &inputs.app)
            .is_ok_and(|c| c.vip_agent == VipAgent::Keepalived);
    plan.add(vip_agent::teardown(inputs));
    plan.add(bgp::teardown(inputs));
    plan.add(keepalived::teardown(inputs, ours_keepalived));
    plan.add(host::teardown(inputs));
    let lb = teardown_proxy(inputs, &inputs.lb);
    plan.add(Part {
        services: lb.services,
        remove_files: lb.remove_files,
        purge_packages: lb.purge_packages,
        logs: lb.logs,
        ..Part::default()
    });
    plan.final_daemon_reload = true;
    plan
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
        op.unit == HAPROXY_SERVICE
            && matches!(op.action, ServiceAction::Stop | ServiceAction::Disable)
    };
    let mut merged: Vec<ServiceOp> = proxy.iter().filter(|op| !takes_down(op)).cloned().collect();
    merged.append(agent);
    merged.extend(proxy.iter().filter(|op| takes_down(op)).cloned());
    *agent = merged;
}
