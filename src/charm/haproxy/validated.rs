//! The haproxy.cfg to write, rendered from the model and accepted by
//! `haproxy -c` ([`super::check`]). When HAProxy refuses the whole file, the
//! requests it refuses on their own are found (each rendered alone with the
//! monitor) and refused, naming HAProxy's words; the rest is checked again.
//! When even that fails, nothing is planned: the running file stays, and
//! every request is answered with why.

use std::collections::BTreeSet;
use std::path::Path;

use super::check::check_config;
use super::frontend::Origin;
use super::model::LoadBalancerModel;
use super::render::render_haproxy_cfg;
use super::requests::{is_served, ports_of, reject, Rejected};
use crate::charm::types::{ProxyNeed, RejectionKind};

/// The checked haproxy.cfg for `model`, or why none can be written (the
/// requests concerned are refused into `rejected`).
pub fn checked_config(
    model: &mut LoadBalancerModel,
    needs: &[ProxyNeed],
    check_with: Option<&Path>,
    rejected: &mut Rejected,
) -> Result<String, String> {
    let cfg = render(model, needs, rejected)?;
    let Some(haproxy) = check_with else {
        return Ok(cfg);
    };
    if check_config(haproxy, &cfg).is_ok() {
        return Ok(cfg);
    }
    refuse_alone_failing(model, needs, haproxy, rejected);
    let cfg = render(model, needs, rejected)?;
    match check_config(haproxy, &cfg) {
        Ok(()) => Ok(cfg),
        Err(why) => {
            let msg = format!("the load balancer's new configuration was refused ({why}); the running one is kept");
            refuse_all_in(model, needs, rejected, &msg);
            Err(format!("load balancer: {msg}"))
        }
    }
}

fn render(
    model: &LoadBalancerModel,
    needs: &[ProxyNeed],
    rejected: &mut Rejected,
) -> Result<String, String> {
    render_haproxy_cfg(model).map_err(|e| {
        let msg = format!("internal error rendering haproxy.cfg: {e:#}");
        refuse_all_in(model, needs, rejected, &msg);
        msg
    })
}

/// Checks every request of the model alone; refuses and removes those
/// HAProxy refuses.
fn refuse_alone_failing(
    model: &mut LoadBalancerModel,
    needs: &[ProxyNeed],
    haproxy: &Path,
    rejected: &mut Rejected,
) {
    let requests: BTreeSet<(&str, &str)> = needs
        .iter()
        .filter(|n| model.has_port(n.frontend_port) && is_served(n, rejected))
        .map(|n| (n.relation_id.as_str(), n.request.as_str()))
        .collect();
    for (relation, request) in requests {
        let ports = ports_of(needs, relation, request);
        let mut alone = model.clone();
        alone.frontends.retain(|f| ports.contains(&f.port));
        let Ok(cfg) = render_haproxy_cfg(&alone) else {
            continue;
        };
        if let Err(why) = check_config(haproxy, &cfg) {
            model.remove_ports(&ports);
            if let Some(need) = needs
                .iter()
                .find(|n| n.relation_id == relation && n.request == request)
            {
                reject(rejected, need, RejectionKind::ProviderError, "", why);
            }
        }
    }
}

/// Refuses every request that still has a frontend in `model`.
fn refuse_all_in(
    model: &LoadBalancerModel,
    needs: &[ProxyNeed],
    rejected: &mut Rejected,
    msg: &str,
) {
    for f in &model.frontends {
        if !matches!(f.origin, Origin::Request { .. }) {
            continue;
        }
        for need in needs.iter().filter(|n| n.frontend_port == f.port) {
            reject(
                rejected,
                need,
                RejectionKind::ProviderError,
                "",
                msg.to_string(),
            );
        }
    }
}
