//! The HAProxy planner in the charm's terms: [`plan_proxy`] and
//! [`teardown_proxy`] read the load-balancer options and the unit's
//! addresses from [`Inputs`] and hand back a [`ProxyOutcome`], the part
//! `charm::plan` folds into its plan.

use std::net::IpAddr;

use super::options::{LbOptions, LoadBalancerMode, MIN_LB_TIMEOUT};
use super::owners::stored_owners;
use super::plan::{plan_load_balancer, teardown_load_balancer, LbInputs};
use crate::charm::addresses::unit_addresses;
use crate::charm::config::Config;
use crate::charm::metrics_endpoint;
use crate::charm::types::{Inputs, LbWorld, ProxyNeed, ProxyOutcome};

/// The load balancer for `needs` and the load-balancer options.
pub fn plan_proxy(
    needs: &[ProxyNeed],
    inputs: &Inputs,
    cfg: &Config,
    world: &LbWorld,
) -> ProxyOutcome {
    let options = match LbOptions::from_config(&inputs.config) {
        Ok(o) => o,
        Err(e) => {
            return ProxyOutcome {
                blocked: Some(e.to_string()),
                ..ProxyOutcome::default()
            }
        }
    };
    let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
    let units = unit_addresses(inputs);
    let lb = LbInputs {
        options: &options,
        vips: &vips,
        unit_addresses: &units,
        root: &inputs.root,
        haproxy_installed: world.haproxy_installed,
        haproxy_installed_by_us: world.haproxy_installed_by_us,
        service: world.service,
        distro_service: world.distro_service,
        listeners: &world.listeners,
        health: world.health.as_deref(),
        exporter: metrics_endpoint::haproxy_exporter(inputs),
        check_with: world.haproxy_binary.as_deref(),
        port_owners: &stored_owners(&inputs.cluster_app_data),
    };
    plan_load_balancer(needs, &lb).into_outcome()
}

/// What the load balancer leaves behind at stop/remove.
pub fn teardown_proxy(inputs: &Inputs, world: &LbWorld) -> ProxyOutcome {
    let options = LbOptions::from_config(&inputs.config).unwrap_or(LbOptions {
        mode: LoadBalancerMode::Auto,
        idle_timeout: MIN_LB_TIMEOUT,
        ingress_ports: Vec::new(),
        any_backend_address: false,
    });
    let lb = LbInputs {
        options: &options,
        vips: &[],
        unit_addresses: &[],
        root: &inputs.root,
        haproxy_installed: world.haproxy_installed,
        haproxy_installed_by_us: world.haproxy_installed_by_us,
        service: world.service,
        distro_service: world.distro_service,
        listeners: &[],
        health: None,
        exporter: None,
        check_with: None,
        port_owners: &Default::default(),
    };
    teardown_load_balancer(&lb).into_outcome()
}
