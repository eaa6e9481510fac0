//! The `status` action: every VRRP instance as the agent reports it, with
//! the unit names behind addresses, every unit's planned priority, and the
//! load balancer's backends, and in BGP mode the BGP sessions.

use std::collections::BTreeMap;

use super::agent_link::{action_key, agent_status, builtin, family_index, holder, unit_for};
use crate::charm::bgp;
use crate::charm::config;
use crate::charm::instances::{self, Instance};
use crate::charm::metrics_endpoint;
use crate::charm::peers::{priority, sorted_units};
use crate::charm::system::System;
use crate::charm::types::{Inputs, InstanceState};

/// The action's results.
pub fn status(inputs: &Inputs, sys: &System) -> Result<BTreeMap<String, String>, String> {
    builtin(inputs)?;
    let doc = agent_status(sys)?;
    let mut out = BTreeMap::new();
    out.insert("unit".into(), inputs.unit.clone());
    out.insert("paused".into(), doc.paused.to_string());
    let cfg = config::parse(&inputs.config, &inputs.app).ok();
    let planned: Vec<Instance> = cfg
        .as_ref()
        .and_then(|c| instances::for_inputs(inputs, c, &[]).ok())
        .unwrap_or_default();
    let mut summary = Vec::new();
    for st in &doc.instances {
        let holder = holder(inputs, st);
        instance_fields(&mut out, inputs, st, &holder, &planned);
        let vips = st.vip_addresses().join(" ");
        summary.push(format!("{vips} on {holder} (this unit {})", st.state));
    }
    out.insert("vips".into(), summary.join("; "));
    out.insert("metrics".into(), metrics_endpoint::describe(inputs));
    // BGP mode: every router's session and what this unit announces.
    if let Some(options) = cfg.as_ref().and_then(|c| c.bgp.as_ref()) {
        out.extend(bgp::summary::action_fields(
            options,
            &inputs.bgp,
            Some(&doc),
            &action_key,
        ));
    }
    // The load balancer's view of its backends, when HAProxy runs here.
    for b in inputs.lb.health.iter().flatten() {
        let mut v = format!("{}/{} up", b.up, b.total);
        if !b.down.is_empty() {
            v.push_str(&format!(" (down: {})", b.down.join(", ")));
        }
        out.insert(format!("load-balancer.{}", action_key(&b.backend)), v);
    }
    Ok(out)
}

/// `instances.<name>.*`: the agent's view of one instance, and the plan's
/// (preferred unit, every unit's priority from the same formula).
fn instance_fields(
    out: &mut BTreeMap<String, String>,
    inputs: &Inputs,
    st: &InstanceState,
    holder: &str,
    planned: &[Instance],
) {
    let key = action_key(&st.name);
    let p = |k: &str| format!("instances.{key}.{k}");
    out.insert(p("state"), st.state.clone());
    out.insert(p("vrid"), st.vrid.to_string());
    out.insert(p("vips"), st.vip_addresses().join(" "));
    out.insert(p("priority"), st.priority.to_string());
    if let Some(e) = st.effective_priority {
        out.insert(p("effective-priority"), e.to_string());
    }
    if let Some(m) = &st.master {
        out.insert(p("master"), m.clone());
    }
    out.insert(p("master-unit"), holder.to_string());
    if let Some(inst) = planned.iter().find(|i| i.name == st.name) {
        out.insert(p("preferred-unit"), inst.preferred_unit.clone());
        let units = sorted_units(&inputs.unit, &inputs.peers);
        let index = family_index(&inst.name);
        for (rank, unit) in units.iter().enumerate() {
            out.insert(
                p(&format!("priorities.{}", action_key(unit))),
                priority(rank, units.len(), index).to_string(),
            );
        }
    }
    out.insert(p("transitions"), st.transitions.to_string());
    if let Some(t) = &st.last_transition {
        out.insert(p("last-transition"), t.clone());
    }
    if let Some(r) = &st.last_transition_reason {
        out.insert(p("last-transition-reason"), r.clone());
    }
    for (n, c) in st.checks.iter().enumerate() {
        out.insert(p(&format!("checks.check-{}", n + 1)), check_text(c));
    }
    if !st.foreign_routers.is_empty() {
        out.insert(p("foreign-routers"), st.foreign_routers.join(" "));
    }
    bfd_fields(out, inputs, st, &p);
}

/// `instances.<name>.bfd.<peer>`: each BFD session's state and detection
/// time (the peer by unit name when known), and the takeover counters.
fn bfd_fields(
    out: &mut BTreeMap<String, String>,
    inputs: &Inputs,
    st: &InstanceState,
    p: &dyn Fn(&str) -> String,
) {
    for b in &st.bfd {
        let who = unit_for(inputs, &b.peer).unwrap_or_else(|| b.peer.clone());
        out.insert(
            p(&format!("bfd.{}", action_key(&who))),
            format!("{} ({}), {}", who, b.peer, b.describe()),
        );
    }
    if let Some(n) = st.bfd_takeovers {
        out.insert(p("bfd-takeovers"), n.to_string());
    }
    if let Some(n) = st.bfd_contradicted {
        out.insert(p("bfd-contradicted"), n.to_string());
    }
}

/// `NAME: healthy`, `NAME: failing` or `NAME: failing: ERROR`.
fn check_text(c: &crate::charm::types::CheckState) -> String {
    match &c.last_error {
        Some(e) if !c.healthy => format!("{}: failing: {e}", c.name),
        _ => format!(
            "{}: {}",
            c.name,
            if c.healthy { "healthy" } else { "failing" }
        ),
    }
}
