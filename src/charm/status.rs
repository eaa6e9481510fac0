//! Unit and application status: what `juju status` tells the operator, built
//! from the agent's state file and the peer data (to name the master's unit).

use std::net::IpAddr;

use super::instances::Instance;
use super::peers::unit_of_address;
use super::types::{InstanceState, Peer, State, Status, StatusDoc};

/// Message while the agent has not reported yet.
pub const AGENT_STARTING: &str = "agent starting";
/// Message while paused.
pub const PAUSED: &str = "paused, VIP released";
/// Longest status message handed to `status-set`, in bytes: a hostile
/// segment or a long error must never make the hook tool's argument (or
/// `juju status`) unbounded.
pub const MAX_MESSAGE: usize = 1024;

/// `message` cut to at most [`MAX_MESSAGE`] bytes, on a character boundary,
/// ending in an ellipsis when cut.
pub fn capped(message: &str) -> String {
    if message.len() <= MAX_MESSAGE {
        return message.to_string();
    }
    const ELLIPSIS: &str = "…";
    let mut end = MAX_MESSAGE - ELLIPSIS.len();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &message[..end])
}

/// Everything the unit status depends on once the config is valid.
pub struct StatusInputs<'a> {
    /// This unit's name.
    pub me: &'a str,
    /// This unit's own addresses (to recognise itself as master).
    pub my_addrs: &'a [IpAddr],
    /// Peers, to name the master's unit.
    pub peers: &'a [Peer],
    /// The instances we configured.
    pub instances: &'a [Instance],
    /// Whether the VIP service (agent or keepalived) is running.
    pub service_active: bool,
    /// Whether the pause marker exists.
    pub paused: bool,
    /// The agent's state file, if readable.
    pub doc: Option<&'a StatusDoc>,
}

/// The unit status.
pub fn unit_status(inp: &StatusInputs<'_>) -> Status {
    if inp.paused {
        return Status::new(State::Maintenance, PAUSED);
    }
    let Some(doc) = inp.doc.filter(|_| inp.service_active) else {
        return Status::new(State::Waiting, AGENT_STARTING);
    };
    if doc.paused {
        return Status::new(State::Maintenance, PAUSED);
    }
    let many = inp.instances.len() > 1;
    let mut worst = State::Active;
    let mut parts = Vec::new();
    let mut warnings = Vec::new();
    for inst in inp.instances {
        let Some(st) = doc.instances.iter().find(|s| s.name == inst.name) else {
            return Status::new(State::Waiting, AGENT_STARTING);
        };
        let (state, mut text) = describe(inp, inst, st, many);
        if let Some(bfd) = st.bfd_summary() {
            text.push_str(&format!(", {bfd}"));
        }
        worst = worst.max(state);
        parts.push(text);
        let foreign = foreign_routers(inp, st);
        if !foreign.is_empty() {
            warnings.push(format!(
                "WARNING: another router uses vrid {} from {} (not a peer; set virtual-router-id)",
                inst.vrid,
                foreign.join(", ")
            ));
        }
    }
    let mut message = parts.join("; ");
    for w in warnings {
        message.push_str("; ");
        message.push_str(&w);
    }
    Status::new(worst, capped(&message))
}

/// The agent's `foreign-routers` that are neither a peer nor this unit: a
/// peer the agent heard before its reload listed it stays in the agent's
/// list of the newest strangers, but is no stranger.
fn foreign_routers<'a>(inp: &StatusInputs<'_>, st: &'a InstanceState) -> Vec<&'a str> {
    st.foreign_routers
        .iter()
        .filter(|a| {
            a.parse::<IpAddr>().map_or(true, |ip| {
                unit_of_address(ip, inp.me, inp.my_addrs, inp.peers).is_none()
            })
        })
        .map(String::as_str)
        .collect()
}

/// The name of the unit whose address is `addr`, or the address itself.
pub fn name_master(inp: &StatusInputs<'_>, addr: &str) -> String {
    addr.parse::<IpAddr>()
        .ok()
        .and_then(|a| unit_of_address(a, inp.me, inp.my_addrs, inp.peers))
        .map(str::to_string)
        .unwrap_or_else(|| addr.to_string())
}

fn describe(
    inp: &StatusInputs<'_>,
    inst: &Instance,
    st: &InstanceState,
    many: bool,
) -> (State, String) {
    let vip = inst.vip;
    match st.state.as_str() {
        "MASTER" => (State::Active, format!("MASTER {vip} (vrid {})", inst.vrid)),
        "BACKUP" if st.waiting_for.is_some() => (
            State::Waiting,
            format!(
                "BACKUP {vip}, waiting for {} (vrid {})",
                st.waiting_for.as_deref().unwrap_or_default(),
                inst.vrid
            ),
        ),
        "BACKUP" => (State::Active, backup_text(inp, inst, st, many)),
        "FAULT" => {
            let why = st
                .checks
                .iter()
                .find(|c| !c.healthy)
                .map(|c| {
                    format!(
                        "{} failing{}",
                        c.name,
                        c.last_error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| {
                    st.last_transition_reason
                        .clone()
                        .unwrap_or_else(|| "link or check down".into())
                });
            (
                State::Waiting,
                format!("FAULT {vip} (vrid {}): {why}", inst.vrid),
            )
        }
        "PAUSED" => (State::Maintenance, PAUSED.to_string()),
        _ => (
            State::Waiting,
            format!("{AGENT_STARTING} ({vip} {})", st.state),
        ),
    }
}

/// `BACKUP`, with the master's unit when known (and the VIP when several).
fn backup_text(inp: &StatusInputs<'_>, inst: &Instance, st: &InstanceState, many: bool) -> String {
    let vip = inst.vip;
    match (st.master.as_deref(), many) {
        (Some(m), false) => format!(
            "BACKUP, VIP on {} (vrid {})",
            name_master(inp, m),
            inst.vrid
        ),
        (Some(m), true) => format!(
            "BACKUP, VIP {vip} on {} (vrid {})",
            name_master(inp, m),
            inst.vrid
        ),
        (None, false) => format!("BACKUP, master not seen yet (vrid {})", inst.vrid),
        (None, true) => format!(
            "BACKUP, VIP {vip}: master not seen yet (vrid {})",
            inst.vrid
        ),
    }
}

/// The application status the leader sets: which VIPs the application floats.
pub fn app_status(instances: &[Instance], hostname: Option<&str>) -> Status {
    let vips: Vec<String> = instances
        .iter()
        .map(|i| format!("{} (vrid {})", i.vip, i.vrid))
        .collect();
    let mut msg = format!(
        "VIP{} {}",
        if vips.len() > 1 { "s" } else { "" },
        vips.join(", ")
    );
    if let Some(h) = hostname {
        msg.push_str(&format!(" as {h}"));
    }
    Status::new(State::Active, msg)
}
