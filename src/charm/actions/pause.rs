//! The `pause` and `resume` actions: the pause marker (which survives agent
//! restarts and reboots) and the agent told at once when it runs.

use std::collections::BTreeMap;

use serde_json::json;

use super::agent_link::{socket, REQUEST_TIMEOUT};
use crate::charm::config::{self, VipAgent};
use crate::charm::paths;
use crate::charm::system::System;
use crate::charm::types::Inputs;

/// Pauses (`pause`) or resumes this unit.
pub fn pause_resume(
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
