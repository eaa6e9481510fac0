//! What the actions share: the agent's control socket, the check that the
//! built-in agent is the backend, and the names of units and action keys.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;

use crate::charm::addresses::my_addresses;
use crate::charm::config::{self, VipAgent};
use crate::charm::paths;
use crate::charm::peers::unit_of_address;
use crate::charm::system::System;
use crate::charm::types::{Inputs, InstanceState, StatusDoc};

/// How long one control-socket request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// The agent's control socket under the system root.
pub fn socket(sys: &System) -> std::path::PathBuf {
    sys.path(paths::CONTROL_SOCKET)
}

/// Refuses actions that need the built-in agent under `vip-agent=keepalived`.
pub fn builtin(inputs: &Inputs) -> Result<(), String> {
    match config::parse(&inputs.config, &inputs.app) {
        Ok(c) if c.vip_agent == VipAgent::Keepalived => Err(
            "this action talks to the k8s-vip agent, but vip-agent=keepalived; use `juju exec -- journalctl -u keepalived` or switch vip-agent to builtin".into(),
        ),
        _ => Ok(()),
    }
}

/// Fetches the agent's status document.
pub fn agent_status(sys: &System) -> Result<StatusDoc, String> {
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

/// The unit whose address is `addr`, when known.
pub fn unit_for(inputs: &Inputs, addr: &str) -> Option<String> {
    let a: IpAddr = addr.parse().ok()?;
    unit_of_address(a, &inputs.unit, &my_addresses(inputs), &inputs.peers).map(str::to_string)
}

/// The unit holding an instance's VIP, by name when known.
pub fn holder(inputs: &Inputs, st: &InstanceState) -> String {
    if st.state == "MASTER" {
        return inputs.unit.clone();
    }
    match &st.master {
        Some(m) => unit_for(inputs, m).unwrap_or_else(|| m.clone()),
        None => "unknown".into(),
    }
}

/// The 0-based index of an instance within its family, from its name (`v4-2` -> 1).
pub fn family_index(name: &str) -> usize {
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(0, |n| n.saturating_sub(1))
}

/// Juju action keys: lowercase letters, digits and dashes.
pub fn action_key(name: &str) -> String {
    let k: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    k.trim_matches('-').to_string()
}
