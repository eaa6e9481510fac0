//! Reads the world once into [`Inputs`]: hook tools for Juju's view (config,
//! leadership, network, relations) and the `system` seam for the unit's
//! (services, files, the agent's state file).
//!
//! Each call is a round trip (to the Juju unit agent, or to systemd over
//! D-Bus), so every fact is read once a hook: one `systemctl show` for the
//! four services and one `dpkg-query` for the two packages the plan looks at,
//! `relation-ids` once per endpoint, `relation-list` once per relation, one
//! `relation-get` per bag (the [`crate::juju::tools::CachedTools`] the
//! dispatcher wraps the tools in answers repeats). Since every hook
//! reconciles everything, a hook still reads every bag the plan compares or
//! derives from: with peers, lb-consumers (three units) and loadbalancer
//! related, the leader would make about 22 calls a hook, so the tools are
//! first told to start from the facts earlier hooks kept in [`FACTS_FILE`]
//! (`crate::juju::tools::facts` says which facts survive which hooks): a
//! hook then reads only what its kind says may have changed, plus what can
//! change without a hook (leadership, addresses, services, packages).

mod network;

use std::collections::BTreeMap;

use anyhow::Context as _;

use crate::juju::context::HookContext;
use crate::juju::tools::{HookTools, LogLevel};

use super::cos_agent;
use super::haproxy::names::{DISTRO_HAPROXY_SERVICE, HAPROXY_PACKAGE, HAPROXY_SERVICE};
use super::lb_consumers;
use super::legacy;
use super::metrics_probe;
use super::paths;
use super::system::System;
use super::types::health::is_apiserver_principal;
use super::types::{
    ConsumerRelation, Inputs, LbWorld, Peer, PortProbe, ServiceState, StatusDoc, UnitRelation,
};
use network::gather_network;

/// The peer endpoint.
pub const PEER_ENDPOINT: &str = "cluster";

/// Where the hook tools keep facts between hooks (in the charm's state
/// directory, so teardown removes it with the rest).
pub const FACTS_FILE: &str = "/var/lib/k8s-vip/hook-facts.json";

/// Relation ids of `endpoint`, minus the one being broken in this hook.
fn live_relation_ids(
    ctx: &HookContext,
    tools: &dyn HookTools,
    endpoint: &str,
) -> anyhow::Result<Vec<String>> {
    let mut ids = tools
        .relation_ids(endpoint)
        .with_context(|| format!("listing {endpoint} relations"))?;
    if let Some(rel) = &ctx.relation {
        if ctx.kind.name().ends_with("-relation-broken") {
            ids.retain(|id| *id != rel.id);
        }
    }
    Ok(ids)
}

/// Reads everything the plan needs, each fact once: one `systemctl show` for
/// every service and one `dpkg-query` for every package the plan looks at,
/// `relation-ids` once per endpoint, `relation-list` once per relation and
/// one `relation-get` per bag.
pub fn gather(ctx: &HookContext, tools: &dyn HookTools, sys: &System) -> anyhow::Result<Inputs> {
    tools.recall_facts(ctx, &sys.path(FACTS_FILE));
    sys.learn_services(&[
        paths::AGENT_SERVICE,
        paths::KEEPALIVED_SERVICE,
        HAPROXY_SERVICE,
        DISTRO_HAPROXY_SERVICE,
    ]);
    sys.learn_packages(&[KEEPALIVED_PACKAGE, HAPROXY_PACKAGE]);
    let config = tools.config_get().context("reading the charm config")?;
    let resolved_hosts = super::config::resolve_host_names(&config);
    let leader = tools
        .is_leader()
        .context("asking whether this unit leads")?;
    let cluster = gather_peers(ctx, tools)?;
    let sysctl_before = sys.read(paths::SYSCTL_BEFORE);
    let consumers = gather_consumers(ctx, tools, leader)?;
    let cluster_app_data = peer_app_data(ctx, tools, &cluster, !consumers.is_empty());
    let mut inputs = Inputs {
        hook: ctx.kind.name().to_string(),
        unit: ctx.unit_name.clone(),
        app: ctx.app_name.clone(),
        model: ctx.model_name.clone(),
        model_uuid: ctx.model_uuid.clone(),
        runs_apiserver: runs_apiserver(ctx, sys),
        bgp: super::bgp::world::gather(sys, &config, ctx.kind.name()),
        config,
        leader,
        network: gather_network(tools, sys, PEER_ENDPOINT),
        alone: cluster.peers.is_empty() && alone(ctx, tools),
        peers: cluster.peers,
        cluster_relation: cluster.relation,
        own_cluster_data: cluster.own_data,
        cluster_app_data,
        consumers,
        public_address: unit_relations(ctx, tools, legacy::PUBLIC_ADDRESS_ENDPOINT)?,
        website: unit_relations(ctx, tools, legacy::WEBSITE_ENDPOINT)?,
        agent_service: service_state(sys, paths::AGENT_SERVICE),
        keepalived_service: service_state(sys, paths::KEEPALIVED_SERVICE),
        agent_state: sys
            .read(paths::STATE_FILE)
            .and_then(|t| StatusDoc::parse(&t).ok()),
        paused: sys.exists(paths::PAUSE_FILE),
        agent_binary_present: sys.exists(paths::AGENT_BINARY),
        keepalived_installed: sys.package_installed(KEEPALIVED_PACKAGE),
        keepalived_installed_by_us: sys.exists(paths::KEEPALIVED_INSTALLED_MARKER),
        sysctl_now: sysctls_to_restore(sys, sysctl_before.is_some()),
        sysctl_before,
        charm_dir: ctx.charm_dir.clone(),
        root: sys.root().to_path_buf(),
        lb: LbWorld::gather(sys),
        cos_agent: unit_relations(ctx, tools, cos_agent::ENDPOINT)?,
        metrics_probe: PortProbe::Unknown,
        resolved_hosts,
    };
    super::bgp::world::learn_subnets(&mut inputs.bgp, &inputs.network);
    // Needs the network and config above: the endpoint is on our address.
    inputs.metrics_probe = metrics_probe::probe_for(&inputs);
    Ok(inputs)
}

/// The current sysctl values, read only to restore what an older charm set
/// (it saved them before changing them; this charm changes none).
fn sysctls_to_restore(sys: &System, saved: bool) -> BTreeMap<String, String> {
    if saved {
        current_sysctls(sys)
    } else {
        BTreeMap::new()
    }
}

/// Our application's peer data (the lb-consumers port owners), read only
/// when `wanted` (there are consumers); unreadable = empty.
fn peer_app_data(
    ctx: &HookContext,
    tools: &dyn HookTools,
    cluster: &Cluster,
    wanted: bool,
) -> BTreeMap<String, String> {
    match &cluster.relation {
        Some(rel) if wanted => tools
            .relation_get(rel, &ctx.app_name, true)
            .unwrap_or_default(),
        _ => BTreeMap::new(),
    }
}

/// The package of the keepalived backend.
const KEEPALIVED_PACKAGE: &str = "keepalived";

/// What systemd says of `unit` (learnt in one batch at the start of gather).
fn service_state(sys: &System, unit: &str) -> ServiceState {
    ServiceState {
        active: sys.is_active(unit),
        enabled: sys.is_enabled(unit),
    }
}

/// The peer relation as this unit sees it.
#[derive(Default)]
struct Cluster {
    /// The relation, when this hook may read and write its data.
    relation: Option<String>,
    peers: Vec<Peer>,
    own_data: BTreeMap<String, String>,
}

/// Whether Juju lets this hook read and write the peer relation's data: not
/// in `install`, though the relation exists then (Juju refuses it; the ops
/// framework's docs say so too). Install sets the unit up without it; the
/// peer relation's own hooks (`-created` comes next), `leader-elected` and
/// `config-changed` read our peer data and publish it.
fn peer_data_reachable(ctx: &HookContext) -> bool {
    ctx.kind.name() != "install"
}

/// The other units of the peer relation (minus one departing in this hook)
/// with their data, and our own peer data. In `install` no peer has joined
/// yet and our own data is out of reach: the relation is left out.
fn gather_peers(ctx: &HookContext, tools: &dyn HookTools) -> anyhow::Result<Cluster> {
    let Some(rel) = live_relation_ids(ctx, tools, PEER_ENDPOINT)?
        .into_iter()
        .next()
    else {
        return Ok(Cluster::default());
    };
    let departing = ctx.relation.as_ref().and_then(|r| r.departing_unit.clone());
    let mut peers = Vec::new();
    for unit in tools.relation_list(&rel).context("listing peers")? {
        if Some(&unit) == departing.as_ref() || unit == ctx.unit_name {
            continue;
        }
        // A peer leaving between relation-list and relation-get must not
        // fail the hook: it is simply seen without data this time.
        let data = match tools.relation_get(&rel, &unit, false) {
            Ok(d) => d,
            Err(e) => {
                let _ = tools.juju_log(
                    LogLevel::Warning,
                    &format!("reading {unit}'s peer data failed: {e}"),
                );
                BTreeMap::new()
            }
        };
        peers.push(Peer { unit, data });
    }
    if !peer_data_reachable(ctx) {
        return Ok(Cluster {
            relation: None,
            peers,
            own_data: BTreeMap::new(),
        });
    }
    let own_data = tools
        .relation_get(&rel, &ctx.unit_name, false)
        .context("reading our peer data")?;
    Ok(Cluster {
        relation: Some(rel),
        peers,
        own_data,
    })
}

/// Whether Juju's goal state lists this unit as the only (living) unit of
/// its application. Asked only when the peer relation shows no other unit;
/// a failed `goal-state` is logged and taken as "not alone" (wait for peers).
fn alone(ctx: &HookContext, tools: &dyn HookTools) -> bool {
    match tools.goal_state() {
        Ok(goal) => goal.alone(&ctx.unit_name),
        Err(e) => {
            let _ = tools.juju_log(LogLevel::Warning, &format!("goal-state failed: {e}"));
            false
        }
    }
}

/// Every lb-consumers relation: the remote application's bag, its units'
/// bags and (leader only: only the leader may read it) our application bag.
fn gather_consumers(
    ctx: &HookContext,
    tools: &dyn HookTools,
    leader: bool,
) -> anyhow::Result<Vec<ConsumerRelation>> {
    let mut consumers = Vec::new();
    for id in live_relation_ids(ctx, tools, lb_consumers::ENDPOINT)? {
        let units = tools.relation_list(&id).unwrap_or_default();
        let remote_app = remote_app_of(ctx, tools, &id, &units);
        let remote_app_data = match &remote_app {
            Some(app) => tools.relation_get(&id, app, true).unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let remote_units = units
            .into_iter()
            .map(|unit| {
                let data = tools.relation_get(&id, &unit, false).unwrap_or_default();
                (unit, data)
            })
            .collect();
        let our_app_data = if leader {
            tools
                .relation_get(&id, &ctx.app_name, true)
                .unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        consumers.push(ConsumerRelation {
            id,
            remote_app,
            remote_app_data,
            remote_units,
            our_app_data,
        });
    }
    Ok(consumers)
}

/// The remote application of relation `id` without asking Juju when it is
/// already known: from the hook's own environment when the hook is about this
/// relation, else from the remote units' names (`APP/N`), else `relation-list --app`.
fn remote_app_of(
    ctx: &HookContext,
    tools: &dyn HookTools,
    id: &str,
    units: &[String],
) -> Option<String> {
    let from_hook = ctx
        .relation
        .as_ref()
        .filter(|r| r.id == id)
        .and_then(|r| r.remote_app.clone());
    from_hook
        .or_else(|| {
            units
                .first()
                .and_then(|u| u.split_once('/'))
                .map(|(app, _)| app.to_string())
        })
        .or_else(|| tools.relation_remote_app(id).unwrap_or(None))
}

/// Our unit bag on every relation of `endpoint` (the legacy relations, where
/// we only publish).
fn unit_relations(
    ctx: &HookContext,
    tools: &dyn HookTools,
    endpoint: &str,
) -> anyhow::Result<Vec<UnitRelation>> {
    Ok(live_relation_ids(ctx, tools, endpoint)?
        .into_iter()
        .map(|id| {
            let our_unit_data = tools
                .relation_get(&id, &ctx.unit_name, false)
                .unwrap_or_default();
            UnitRelation { id, our_unit_data }
        })
        .collect())
}

/// Whether this unit's principal runs kube-apiserver.
fn runs_apiserver(ctx: &HookContext, sys: &System) -> bool {
    let principal_app = ctx
        .principal_unit
        .as_deref()
        .map(|u| u.split('/').next().unwrap_or(u).to_string());
    principal_app.as_deref().is_some_and(is_apiserver_principal)
        || sys.exists(paths::APISERVER_SNAP_BIN)
}

/// The current values of the sysctls we set, with one `sysctl` for all of
/// them. sysctl prints `KEY = VALUE` for each key it can read and an error
/// for any other, which is then simply absent.
fn current_sysctls(sys: &System) -> BTreeMap<String, String> {
    let keys: Vec<&str> = paths::SYSCTLS.iter().map(|(k, _)| *k).collect();
    let Ok(out) = sys.run("sysctl", &keys) else {
        return BTreeMap::new();
    };
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .filter(|(k, _)| keys.contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
