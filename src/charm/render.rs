//! Renders the VRRP speaker's on-unit files from the planned instances with
//! tera templates (templates/agent.yaml, templates/keepalived.conf).

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{json, Value};

use super::instances::{Bfd, Instance};
use super::paths;
use super::types::HealthCheck;

const AGENT_TEMPLATE: &str = include_str!("../../templates/agent.yaml");
const KEEPALIVED_TEMPLATE: &str = include_str!("../../templates/keepalived.conf");

/// A file the speaker needs could not be rendered: nothing is applied and
/// the unit is blocked with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderFailure {
    /// The blocked status message.
    pub status: String,
    /// The line for `juju-log` (with the whole error chain).
    pub log: String,
}

/// Paths the agent config refers to (on-unit paths, already re-rooted by the caller).
#[derive(Debug, Clone, Serialize)]
pub struct AgentPaths {
    /// Control socket.
    pub control_socket: String,
    /// State file.
    pub state_file: String,
    /// Pause marker.
    pub pause_file: String,
    /// `ADDRESS:PORT` of the metrics endpoint (`metrics-port`), if on.
    pub metrics_listen: Option<String>,
    /// The `bgp` block (BGP mode), None on a shared L2 segment.
    pub bgp: Option<AgentBgp>,
}

/// agent.yaml's `bgp` block: the agent announces VIPs by putting them on
/// `interface` (FRR redistributes them); `ecmp`: every unit whose checks
/// pass announces, not only the VRRP master. Its BFD between units then
/// crosses routers (`multihop`).
#[derive(Debug, Clone, Serialize)]
pub struct AgentBgp {
    /// The dummy interface the agent owns.
    pub interface: String,
    /// Announce while healthy (true) or while MASTER (false).
    pub ecmp: bool,
}

impl Default for AgentPaths {
    fn default() -> Self {
        AgentPaths {
            control_socket: paths::CONTROL_SOCKET.into(),
            state_file: paths::STATE_FILE.into(),
            pause_file: paths::PAUSE_FILE.into(),
            metrics_listen: None,
            bgp: None,
        }
    }
}

fn render(name: &str, template: &str, ctx: &Value) -> anyhow::Result<String> {
    let mut tera = tera::Tera::default();
    tera.add_raw_template(name, template)
        .with_context(|| format!("template {name}"))?;
    let ctx =
        tera::Context::from_value(ctx.clone()).with_context(|| format!("context of {name}"))?;
    tera.render(name, &ctx)
        .with_context(|| format!("rendering {name}"))
}

/// One health check as the agent's config expects it.
pub fn agent_check(check: &HealthCheck) -> Option<Value> {
    match check {
        HealthCheck::Auto | HealthCheck::None => None,
        HealthCheck::Tcp(target) => Some(json!({
            "tcp": target.to_string(), "interval-ms": 1000, "timeout-ms": 500, "rise": 2, "fall": 3
        })),
        HealthCheck::Http { url } => Some(json!({
            "http": url, "insecure-tls": true, "interval-ms": 1000, "timeout-ms": 800, "rise": 2, "fall": 3
        })),
        HealthCheck::Exec { argv } => {
            Some(json!({"exec": argv, "interval-ms": 2000, "rise": 1, "fall": 2}))
        }
    }
}

/// An instance's `bfd:` block: interval, multiplier and the peers'
/// priorities keyed by address; `multihop` (RFC 5883) in BGP mode, where
/// the units may be on different subnets.
fn agent_bfd(b: &Bfd, multihop: bool) -> Value {
    let priorities: serde_json::Map<String, Value> = b
        .peer_priorities
        .iter()
        .map(|(addr, prio)| (addr.to_string(), json!(prio)))
        .collect();
    let mut bfd = json!({"interval-ms": b.interval_ms, "multiplier": b.multiplier, "peer-priorities": priorities});
    if multihop {
        bfd["multihop"] = json!(true);
    }
    bfd
}

/// agent.yaml for `instances`.
pub fn agent_yaml(instances: &[Instance], agent_paths: &AgentPaths) -> anyhow::Result<String> {
    let list: Vec<Value> = instances
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "interface": i.interface,
                "vrid": i.vrid,
                "version": i.version.number(),
                "priority": i.priority,
                "advert_interval_ms": u32::from(i.advert_interval_cs) * 10,
                "preempt": i.preempt,
                "vip_cidr": format!("{}/{}", i.vip, i.prefix),
                "unicast": i.unicast,
                "alone": i.alone,
                "unicast_peers": i.unicast_peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                "unicast_source": if i.unicast_peers.is_empty() { None } else { i.local_address.map(|a| a.to_string()) },
                "garp_refresh_s": i.garp_refresh_s,
                "checks": i.checks.iter().filter_map(agent_check).collect::<Vec<_>>(),
                "bfd": i.bfd.as_ref().map(|b| agent_bfd(b, agent_paths.bgp.is_some())),
            })
        })
        .collect();
    render(
        "agent.yaml",
        AGENT_TEMPLATE,
        &json!({
            "control_socket": agent_paths.control_socket,
            "state_file": agent_paths.state_file,
            "pause_file": agent_paths.pause_file,
            "metrics_listen": agent_paths.metrics_listen,
            "bgp": agent_paths.bgp,
            "instances": list,
        }),
    )
}

/// keepalived's `advert_int`: seconds with up to two decimals, no trailing zeros.
pub fn advert_int(cs: u16) -> String {
    if cs % 100 == 0 {
        format!("{}", cs / 100)
    } else if cs % 10 == 0 {
        format!("{}.{}", cs / 100, (cs % 100) / 10)
    } else {
        format!("{}.{:02}", cs / 100, cs % 100)
    }
}

/// The keepalived `script` line for a check: keepalived splits it on
/// spaces and runs it without a shell. A `tcp:` check runs `probe` (this
/// very binary's `k8s-vip probe`, installed at `probe`), an address only.
fn keepalived_script(check: &HealthCheck, probe: &str) -> Option<String> {
    match check {
        HealthCheck::Auto | HealthCheck::None => None,
        HealthCheck::Http { url } => Some(format!(
            "/usr/bin/curl --silent --fail --insecure --max-time 2 --output /dev/null {url}"
        )),
        HealthCheck::Tcp(target) => Some(format!(
            "{probe} probe tcp:{target} --timeout-ms {PROBE_TIMEOUT_MS}"
        )),
        HealthCheck::Exec { argv } => Some(argv.join(" ")),
    }
}

/// How long keepalived's `tcp:` probe may take (under its script `timeout 2`).
const PROBE_TIMEOUT_MS: u64 = 1500;

/// keepalived.conf for `instances` (the same plan as agent.yaml); `probe` is
/// the on-unit path of the k8s-vip binary that runs `tcp:` checks.
pub fn keepalived_conf(
    instances: &[Instance],
    router_id: &str,
    probe: &str,
) -> anyhow::Result<String> {
    let checks: Vec<&HealthCheck> = instances
        .first()
        .map(|i| i.checks.iter().collect())
        .unwrap_or_default();
    let scripts: Vec<Value> = checks
        .iter()
        .filter_map(|c| keepalived_script(c, probe))
        .enumerate()
        .map(|(n, script)| {
            json!({"name": format!("k8s_vip_check_{}", n + 1), "script": script.replace('"', "\\\""),
                   "interval": 1, "timeout": 2, "rise": 2, "fall": 3})
        })
        .collect();
    let list: Vec<Value> = instances
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "interface": i.interface,
                "vrid": i.vrid,
                "version": i.version.number(),
                "priority": i.priority,
                "advert_int": advert_int(i.advert_interval_cs),
                "preempt": i.preempt,
                "vip_cidr": format!("{}/{}", i.vip, i.prefix),
                "unicast_peers": i.unicast_peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                "unicast_source": i.local_address.map(|a| a.to_string()),
                "garp_refresh_s": i.garp_refresh_s,
            })
        })
        .collect();
    let router_id: String = router_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    render(
        "keepalived.conf",
        KEEPALIVED_TEMPLATE,
        &json!({"router_id": router_id, "scripts": scripts, "instances": list}),
    )
}
