//! The charm's actions (`status`, `failover`, `pause`, `resume`), talking to
//! the running agent over its control socket. Every failure ends in an
//! `action-fail` message saying what to do next.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::juju::context::HookContext;
use crate::juju::tools::HookTools;

use super::addresses::my_addresses;
use super::config::{self, VipAgent};
use super::gather::gather;
use super::instances::{self, Instance};
use super::paths;
use super::peers::{priority, sorted_units, unit_of_address};
use super::reconcile::reconcile;
use super::system::System;
use super::types::{Inputs, InstanceState, StatusDoc};

/// How long one control-socket request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `failover` waits for another unit to take over.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// Runs action `name`. Returns Err only for failures of the hook tools; the
/// action's own failures are reported with `action-fail`.
pub fn run(
    name: &str,
    ctx: &HookContext,
    tools: &dyn HookTools,
    sys: &System,
) -> anyhow::Result<()> {
    let inputs = gather(ctx, tools, sys)?;
    let outcome = match name {
        "status" => status(&inputs, sys),
        "failover" => {
            let params = tools
                .action_get()
                .context("reading the action parameters")?;
            let hold = match params.get("hold") {
                None | Some(Value::Null) => Ok(60),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| format!("hold must be a whole number of seconds, got {v}")),
            };
            match hold {
                Ok(hold) => failover(&inputs, sys, hold),
                Err(e) => Err(e),
            }
        }
        "pause" => pause_resume(&inputs, sys, true),
        "resume" => pause_resume(&inputs, sys, false),
        other => Err(format!("unknown action {other:?}")),
    };
    match outcome {
        Ok(results) => tools.action_set(&results)?,
        Err(message) => tools.action_fail(&message)?,
    }
    if name == "pause" || name == "resume" {
        // The unit status (and keepalived, if that is the backend) follow the marker.
        reconcile(ctx, tools, sys)?;
    }
    Ok(())
}

fn socket(sys: &System) -> std::path::PathBuf {
    sys.path(paths::CONTROL_SOCKET)
}

fn builtin(inputs: &Inputs) -> Result<(), String> {
    match config::parse(&inputs.config, &inputs.app) {
        Ok(c) if c.vip_agent == VipAgent::Keepalived => Err(
            "this action talks to the k8s-vip agent, but vip-agent=keepalived; use `juju exec -- journalctl -u keepalived` or switch vip-agent to builtin".into(),
        ),
        _ => Ok(()),
    }
}

/// Fetches the agent's status document.
fn agent_status(sys: &System) -> Result<StatusDoc, String> {
    let reply =
        crate::agent::client::request(&socket(sys), &json!({"cmd": "status"}), REQUEST_TIMEOUT)
            .map_err(|e| format!("{e:#}; check `systemctl status k8s-vip-agent` on the unit"))?;
    if reply["ok"].as_bool() != Some(true) {
        return Err(format!(
            "the agent refused status: {}",
            reply["error"].as_str().unwrap_or("no reason given")
        ));
    }
    StatusDoc::from_value(&reply)
        .map_err(|e| format!("the agent's status reply is not understood: {e}"))
}

fn unit_for(inputs: &Inputs, addr: &str) -> Option<String> {
    let a: IpAddr = addr.parse().ok()?;
    unit_of_address(a, &inputs.unit, &my_addresses(inputs), &inputs.peers).map(str::to_string)
}

fn status(inputs: &Inputs, sys: &System) -> Result<BTreeMap<String, String>, String> {
    builtin(inputs)?;
    let doc = agent_status(sys)?;
    let mut out = BTreeMap::new();
    out.insert("unit".into(), inputs.unit.clone());
    out.insert("paused".into(), doc.paused.to_string());
    // Every unit's priority per instance, from the same formula the plan uses.
    let units = sorted_units(&inputs.unit, &inputs.peers);
    let planned: Vec<Instance> = config::parse(&inputs.config, &inputs.app)
        .ok()
        .and_then(|c| instances::for_inputs(inputs, &c, &[]).ok())
        .unwrap_or_default();
    let mut summary = Vec::new();
    for st in &doc.instances {
        let key = action_key(&st.name);
        let p = |k: &str| format!("instances.{key}.{k}");
        let vips = st.vip_addresses().join(" ");
        out.insert(p("state"), st.state.clone());
        out.insert(p("vrid"), st.vrid.to_string());
        out.insert(p("vips"), vips.clone());
        out.insert(p("priority"), st.priority.to_string());
        if let Some(e) = st.effective_priority {
            out.insert(p("effective-priority"), e.to_string());
        }
        let holder = holder(inputs, st);
        if let Some(m) = &st.master {
            out.insert(p("master"), m.clone());
        }
        out.insert(p("master-unit"), holder.clone());
        if let Some(inst) = planned.iter().find(|i| i.name == st.name) {
            out.insert(p("preferred-unit"), inst.preferred_unit.clone());
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
            let v = match &c.last_error {
                Some(e) if !c.healthy => format!("{}: failing: {e}", c.name),
                _ => format!(
                    "{}: {}",
                    c.name,
                    if c.healthy { "healthy" } else { "failing" }
                ),
            };
            out.insert(p(&format!("checks.check-{}", n + 1)), v);
        }
        if !st.foreign_routers.is_empty() {
            out.insert(p("foreign-routers"), st.foreign_routers.join(" "));
        }
        summary.push(format!("{vips} on {holder} (this unit {})", st.state));
    }
    out.insert("vips".into(), summary.join("; "));
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

/// The unit holding an instance's VIP, by name when known.
fn holder(inputs: &Inputs, st: &InstanceState) -> String {
    if st.state == "MASTER" {
        return inputs.unit.clone();
    }
    match &st.master {
        Some(m) => unit_for(inputs, m).unwrap_or_else(|| m.clone()),
        None => "unknown".into(),
    }
}

/// The 0-based index of an instance within its family, from its name (`v4-2` -> 1).
fn family_index(name: &str) -> usize {
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(0, |n| n.saturating_sub(1))
}

/// Juju action keys: lowercase letters, digits and dashes.
fn action_key(name: &str) -> String {
    let k: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    k.trim_matches('-').to_string()
}

fn failover(inputs: &Inputs, sys: &System, hold: u64) -> Result<BTreeMap<String, String>, String> {
    builtin(inputs)?;
    let before = agent_status(sys)?;
    let mastered: Vec<&InstanceState> = before
        .instances
        .iter()
        .filter(|i| i.state == "MASTER")
        .collect();
    if mastered.is_empty() {
        let holders: Vec<String> = before
            .instances
            .iter()
            .map(|i| {
                format!(
                    "{} is on {}",
                    i.vip_addresses().join(" "),
                    holder(inputs, i)
                )
            })
            .collect();
        return Err(format!(
            "{} does not hold a VIP ({}); run failover on the unit that does",
            inputs.unit,
            holders.join(", ")
        ));
    }
    let started = Instant::now();
    let reply = crate::agent::client::request(
        &socket(sys),
        &json!({"cmd": "step-down", "hold-s": hold}),
        REQUEST_TIMEOUT,
    )
    .map_err(|e| format!("{e:#}"))?;
    if reply["ok"].as_bool() != Some(true) {
        return Err(format!(
            "the agent refused to step down: {}",
            reply["error"].as_str().unwrap_or("no reason given")
        ));
    }
    let names: Vec<String> = mastered.iter().map(|i| i.name.clone()).collect();
    let own: Vec<Option<String>> = mastered.iter().map(|i| i.address.clone()).collect();
    // Wait until every stepped-down instance sees another master.
    let deadline = started + TAKEOVER_WAIT;
    loop {
        if let Ok(doc) = agent_status(sys) {
            let taken: Vec<(&InstanceState, String)> = doc
                .instances
                .iter()
                .filter(|i| names.contains(&i.name))
                .filter_map(|i| {
                    let m = i.master.clone()?;
                    (i.state != "MASTER" && !own.contains(&Some(m.clone()))).then_some((i, m))
                })
                .collect();
            if taken.len() == names.len() {
                let took = started.elapsed();
                let mut out = BTreeMap::new();
                let mut units = Vec::new();
                for (i, m) in taken {
                    let unit = unit_for(inputs, &m).unwrap_or(m.clone());
                    out.insert(
                        format!("instances.{}.new-master", action_key(&i.name)),
                        unit.clone(),
                    );
                    units.push(unit);
                }
                units.dedup();
                out.insert("new-master".into(), units.join(" "));
                out.insert("took-ms".into(), took.as_millis().to_string());
                out.insert("hold-s".into(), hold.to_string());
                out.insert(
                    "message".into(),
                    format!("{} took over in {} ms", units.join(", "), took.as_millis()),
                );
                return Ok(out);
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "stepped down, but no other unit took over within {} s; check the other units' status (are they healthy and unpaused?)",
                TAKEOVER_WAIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pause_resume(
    inputs: &Inputs,
    sys: &System,
    pause: bool,
) -> Result<BTreeMap<String, String>, String> {
    // The marker makes the state survive agent restarts and reboots.
    if pause {
        sys.write_if_changed(paths::PAUSE_FILE, b"paused by the pause action\n", 0o644)
            .map_err(|e| format!("cannot record the pause: {e:#}"))?;
    } else {
        sys.remove_file(paths::PAUSE_FILE)
            .map_err(|e| format!("cannot clear the pause: {e:#}"))?;
    }
    let mut out = BTreeMap::new();
    let keepalived = config::parse(&inputs.config, &inputs.app)
        .is_ok_and(|c| c.vip_agent == VipAgent::Keepalived);
    let verb = if pause { "pause" } else { "resume" };
    if keepalived {
        out.insert(
            "message".into(),
            format!(
                "{verb}d: keepalived is {}",
                if pause { "stopped" } else { "started" }
            ),
        );
        return Ok(out);
    }
    match crate::agent::client::request(&socket(sys), &json!({"cmd": verb}), REQUEST_TIMEOUT) {
        Ok(reply) if reply["ok"].as_bool() == Some(true) => {
            out.insert(
                "message".into(),
                if pause {
                    "paused: VIP released; stays paused across restarts until resume".into()
                } else {
                    "resumed: taking part in elections again".into()
                },
            );
            Ok(out)
        }
        Ok(reply) => Err(format!(
            "the agent refused to {verb}: {}",
            reply["error"].as_str().unwrap_or("no reason given")
        )),
        Err(e) => {
            out.insert(
                "message".into(),
                format!(
                    "{verb} recorded; the agent is not running ({e:#}), it will start {}",
                    if pause { "paused" } else { "unpaused" }
                ),
            );
            Ok(out)
        }
    }
}
