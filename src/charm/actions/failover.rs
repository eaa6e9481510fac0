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

/// Waits until every stepped-down instance sees another master, and that
/// master has held for [`SETTLE`]: two backups whose priorities differ by
/// little can both step up at once before the higher one wins, and the
/// report names the unit that holds the VIP, not the first one heard.
fn wait_for_takeover(
    inputs: &Inputs,
    sys: &System,
    mastered: &[&InstanceState],
    started: Instant,
) -> Result<BTreeMap<String, String>, String> {
    let names: Vec<String> = mastered.iter().map(|i| i.name.clone()).collect();
    let own: Vec<Option<String>> = mastered.iter().map(|i| i.address.clone()).collect();
    let deadline = started + TAKEOVER_WAIT;
    // The masters seen last, and when they were first seen.
    let mut seen: Option<(Vec<(InstanceState, String)>, Duration)> = None;
    loop {
        if let Some(taken) = taken_over(sys, &names, &own) {
            let masters = |t: &[(InstanceState, String)]| {
                t.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()
            };
            match &seen {
                Some((prev, _)) if masters(prev) == masters(&taken) => {}
                _ => seen = Some((taken, started.elapsed())),
            }
        }
        if let Some((taken, at)) = &seen {
            if started.elapsed() >= *at + SETTLE || Instant::now() >= deadline {
                let taken: Vec<(&InstanceState, String)> =
                    taken.iter().map(|(i, m)| (i, m.clone())).collect();
                return Ok(takeover_report(inputs, &taken, *at));
            }
        } else if Instant::now() >= deadline {
            return Err(format!(
                "stepped down, but no other unit took over within {} s; check the other units' status (are they healthy and unpaused?)",
                TAKEOVER_WAIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How long a new master must hold before `failover` reports it.
const SETTLE: Duration = Duration::from_millis(1000);

/// Each stepped-down instance with the master it sees now, when every one of
/// them sees a master other than this unit.
fn taken_over(
    sys: &System,
    names: &[String],
    own: &[Option<String>],
) -> Option<Vec<(InstanceState, String)>> {
    let doc = agent_status(sys).ok()?;
    let taken: Vec<(InstanceState, String)> = doc
        .instances
        .into_iter()
        .filter(|i| names.contains(&i.name))
        .filter_map(|i| {
            let m = i.master.clone()?;
            (i.state != "MASTER" && !own.contains(&Some(m.clone()))).then_some((i, m))
        })
        .collect();
    (taken.len() == names.len()).then_some(taken)
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
