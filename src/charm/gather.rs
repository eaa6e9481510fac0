//! Reads the world once into [`Inputs`]: hook tools for Juju's view (config,
//! leadership, network, relations) and the `system` seam for the unit's
//! (services, files, the agent's state file).

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::Context as _;

use crate::juju::context::HookContext;
use crate::juju::tools::{HookTools, NetworkInfo};

use super::lb_consumers;
use super::legacy;
use super::net;
use super::paths;
use super::system::System;
use super::types::health::is_apiserver_principal;
use super::types::{
    ConsumerRelation, IfaceAddr, Inputs, Interface, LbWorld, NetworkView, Peer, ServiceState,
    StatusDoc, UnitRelation,
};

/// The peer endpoint.
pub const PEER_ENDPOINT: &str = "cluster";

/// Turns `network-get` output into interfaces and ingress addresses.
pub fn network_view(info: &NetworkInfo) -> NetworkView {
    let mut interfaces: Vec<Interface> = Vec::new();
    for bind in &info.bind_addresses {
        let addrs: Vec<IfaceAddr> = bind
            .addresses
            .iter()
            .filter_map(|a| IfaceAddr::parse(&a.value, &a.cidr))
            .collect();
        match interfaces
            .iter_mut()
            .find(|i| i.name == bind.interface_name)
        {
            Some(existing) => existing.addrs.extend(addrs),
            None => interfaces.push(Interface {
                name: bind.interface_name.clone(),
                addrs,
            }),
        }
    }
    let ingress: Vec<IpAddr> = info
        .ingress_addresses
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    NetworkView {
        interfaces,
        ingress,
        default_v4: None,
        default_v6: None,
    }
}

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

/// Reads everything the plan needs.
pub fn gather(ctx: &HookContext, tools: &dyn HookTools, sys: &System) -> anyhow::Result<Inputs> {
    let config = tools.config_get().context("reading the charm config")?;
    let leader = tools
        .is_leader()
        .context("asking whether this unit leads")?;

    let mut network = match tools.network_get(PEER_ENDPOINT) {
        Ok(info) => network_view(&info),
        Err(e) => {
            let _ = tools.juju_log(
                crate::juju::tools::LogLevel::Warning,
                &format!("network-get {PEER_ENDPOINT} failed: {e}"),
            );
            NetworkView::default()
        }
    };
    network.default_v4 = sys
        .read("/proc/net/route")
        .and_then(|t| net::default_route_v4(&t));
    network.default_v6 = sys
        .read("/proc/net/ipv6_route")
        .and_then(|t| net::default_route_v6(&t));

    // Peers.
    let mut peers = Vec::new();
    let mut own_cluster_data = BTreeMap::new();
    let cluster_relation = live_relation_ids(ctx, tools, PEER_ENDPOINT)?
        .into_iter()
        .next();
    if let Some(rel) = &cluster_relation {
        let departing = ctx.relation.as_ref().and_then(|r| r.departing_unit.clone());
        for unit in tools.relation_list(rel).context("listing peers")? {
            if Some(&unit) == departing.as_ref() || unit == ctx.unit_name {
                continue;
            }
            // A peer leaving between relation-list and relation-get must not
            // fail the hook: it is simply seen without data this time.
            let data = match tools.relation_get(rel, &unit, false) {
                Ok(d) => d,
                Err(e) => {
                    let _ = tools.juju_log(
                        crate::juju::tools::LogLevel::Warning,
                        &format!("reading {unit}'s peer data failed: {e}"),
                    );
                    BTreeMap::new()
                }
            };
            peers.push(Peer { unit, data });
        }
        own_cluster_data = tools
            .relation_get(rel, &ctx.unit_name, false)
            .context("reading our peer data")?;
    }

    // Consumers of the loadbalancer interface (app data).
    let mut consumers = Vec::new();
    for id in live_relation_ids(ctx, tools, lb_consumers::ENDPOINT)? {
        let remote_app = tools.relation_remote_app(&id).unwrap_or(None);
        let remote_app_data = match &remote_app {
            Some(app) => tools.relation_get(&id, app, true).unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let mut remote_units = Vec::new();
        for unit in tools.relation_list(&id).unwrap_or_default() {
            let data = tools.relation_get(&id, &unit, false).unwrap_or_default();
            remote_units.push((unit, data));
        }
        // Only the leader may read (and write) its own application bag.
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

    let unit_relations = |endpoint: &str| -> anyhow::Result<Vec<UnitRelation>> {
        live_relation_ids(ctx, tools, endpoint)?
            .into_iter()
            .map(|id| {
                let our_unit_data = tools
                    .relation_get(&id, &ctx.unit_name, false)
                    .unwrap_or_default();
                Ok(UnitRelation { id, our_unit_data })
            })
            .collect()
    };
    let public_address = unit_relations(legacy::PUBLIC_ADDRESS_ENDPOINT)?;
    let website = unit_relations(legacy::WEBSITE_ENDPOINT)?;

    let principal_app = ctx
        .principal_unit
        .as_deref()
        .map(|u| u.split('/').next().unwrap_or(u).to_string());
    let runs_apiserver = principal_app.as_deref().is_some_and(is_apiserver_principal)
        || sys.exists(paths::APISERVER_SNAP_BIN);

    // Current sysctl values matter at remove (restore) and before the first
    // install (to save them); ask sysctl only then.
    let sysctl_before = sys.read(paths::SYSCTL_BEFORE);
    let need_now = sysctl_before.is_none() || super::plan::is_teardown_hook(ctx.kind.name());
    let sysctl_now: BTreeMap<String, String> = if need_now {
        paths::SYSCTLS
            .iter()
            .filter_map(|(k, _)| {
                let out = sys
                    .run("sysctl", &["-n", k])
                    .ok()
                    .filter(|o| o.status == 0)?;
                Some((k.to_string(), out.stdout.trim().to_string()))
            })
            .collect()
    } else {
        BTreeMap::new()
    };

    Ok(Inputs {
        hook: ctx.kind.name().to_string(),
        unit: ctx.unit_name.clone(),
        app: ctx.app_name.clone(),
        model: ctx.model_name.clone(),
        runs_apiserver,
        config,
        leader,
        network,
        peers,
        cluster_relation,
        own_cluster_data,
        consumers,
        public_address,
        website,
        agent_service: ServiceState {
            active: sys.is_active(paths::AGENT_SERVICE),
            enabled: sys.is_enabled(paths::AGENT_SERVICE),
        },
        keepalived_service: ServiceState {
            active: sys.is_active(paths::KEEPALIVED_SERVICE),
            enabled: sys.is_enabled(paths::KEEPALIVED_SERVICE),
        },
        agent_state: sys
            .read(paths::STATE_FILE)
            .and_then(|t| StatusDoc::parse(&t).ok()),
        paused: sys.exists(paths::PAUSE_FILE),
        agent_binary_present: sys.exists(paths::AGENT_BINARY),
        keepalived_installed: sys.package_installed("keepalived"),
        keepalived_installed_by_us: sys.exists(paths::KEEPALIVED_INSTALLED_MARKER),
        sysctl_before,
        sysctl_now,
        charm_dir: ctx.charm_dir.clone(),
        root: sys.root().to_path_buf(),
        lb: LbWorld::gather(sys),
    })
}
