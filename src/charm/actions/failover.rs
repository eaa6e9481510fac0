//! The `failover` action: this unit steps down (and stays out for `hold`
//! seconds), then waits until another unit has taken over every VIP it held.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::agent_link::{
    action_key, agent_status, builtin, holder, socket, unit_for, REQUEST_TIMEOUT,
};
use crate::charm::system::System;
use crate::charm::types::{Inputs, InstanceState};

/// How long `failover` waits for another unit to take over.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// Steps down and reports who took over, and how fast.
pub fn failover(
    inputs: &Inputs,
    sys: &System,
    hold: u64,
) -> Result<BTreeMap<String, String>, String> {
    builtin(inputs)?;
    let before = agent_status(sys)?;
    let mastered: Vec<&InstanceState> = before
        .instances
        .iter()
        .filter(|i| i.state == "MASTER")
        .collect();
    if mastered.is_empty() {
        return Err(not_holding(inputs, &before.instances));
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
    let mut out = wait_for_takeover(inputs, sys, &mastered, started)?;
    out.insert("hold-s".into(), hold.to_string());
    Ok(out)
}

/// The error when this unit holds no VIP: who does.
fn not_holding(inputs: &Inputs, instances: &[InstanceState]) -> String {
    let holders: Vec<String> = instances
        .iter()
        .map(|i| {
            format!(
                "{} is on {}",
                i.vip_addresses().join(" "),
                holder(inputs, i)
            )
        })
        .collect();
    format!(
        "{} does not hold a VIP ({}); run failover on the unit that does",
        inputs.unit,
        holders.join(", ")
    )
}

/// Waits until every stepped-down instance sees another master.
fn wait_for_takeover(
    inputs: &Inputs,
    sys: &System,
    mastered: &[&InstanceState],
    started: Instant,
) -> Result<BTreeMap<String, String>, String> {
    let names: Vec<String> = mastered.iter().map(|i| i.name.clone()).collect();
    let own: Vec<Option<String>> = mastered.iter().map(|i| i.address.clone()).collect();
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
                return Ok(takeover_report(inputs, &taken, started.elapsed()));
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

/// The results: the new master of each instance, by unit name, and the time.
fn takeover_report(
    inputs: &Inputs,
    taken: &[(&InstanceState, String)],
    took: Duration,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut units = Vec::new();
    for (i, m) in taken {
        let unit = unit_for(inputs, m).unwrap_or(m.clone());
        out.insert(
            format!("instances.{}.new-master", action_key(&i.name)),
            unit.clone(),
        );
        units.push(unit);
    }
    units.dedup();
    out.insert("new-master".into(), units.join(" "));
    out.insert("took-ms".into(), took.as_millis().to_string());
    out.insert(
        "message".into(),
        format!("{} took over in {} ms", units.join(", "), took.as_millis()),
    );
    out
}
