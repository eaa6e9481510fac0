//! The config file as written: `*File` structs that mirror the YAML
//! (kebab-case keys, unknown keys rejected) with their defaults.
//!
//! Why apart from the validated types: this is the schema an operator edits
//! and the charm renders (documented key by key in
//! docs/reference/agent-config.md); [`super::validate`] turns it into the types the daemon runs with.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AgentFile {
    #[serde(default = "default_socket")]
    pub(super) control_socket: PathBuf,
    #[serde(default = "default_state_file")]
    pub(super) state_file: PathBuf,
    #[serde(default)]
    pub(super) metrics_listen: Option<String>,
    #[serde(default = "default_pause_file")]
    pub(super) pause_file: PathBuf,
    #[serde(default)]
    pub(super) instances: Vec<InstanceFile>,
    #[serde(default)]
    pub(super) bgp: Option<super::bgp::BgpFile>,
}

fn default_socket() -> PathBuf {
    PathBuf::from("/run/k8s-vip/agent.sock")
}
fn default_state_file() -> PathBuf {
    PathBuf::from("/run/k8s-vip/state.json")
}
fn default_pause_file() -> PathBuf {
    PathBuf::from("/var/lib/k8s-vip/paused")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct InstanceFile {
    pub(super) name: String,
    pub(super) interface: String,
    pub(super) vrid: u32,
    #[serde(default = "default_version")]
    pub(super) version: u32,
    #[serde(default = "default_priority")]
    pub(super) priority: u32,
    #[serde(default = "default_advert_ms")]
    pub(super) advert_interval_ms: u64,
    #[serde(default)]
    pub(super) preempt: bool,
    #[serde(default)]
    pub(super) preempt_delay_ms: u64,
    pub(super) vips: Vec<String>,
    #[serde(default)]
    pub(super) unicast: bool,
    #[serde(default)]
    pub(super) unicast_peers: Vec<String>,
    #[serde(default)]
    pub(super) alone: bool,
    #[serde(default)]
    pub(super) unicast_source: Option<String>,
    #[serde(default)]
    pub(super) garp: GarpFile,
    #[serde(default)]
    pub(super) checks: Vec<CheckFile>,
    #[serde(default)]
    pub(super) bfd: Option<super::bfd::BfdFile>,
}

fn default_version() -> u32 {
    3
}
fn default_priority() -> u32 {
    100
}
fn default_advert_ms() -> u64 {
    1000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct GarpFile {
    #[serde(default = "default_garp_repeat")]
    pub(super) repeat: u32,
    #[serde(default = "default_garp_interval")]
    pub(super) interval_ms: u64,
    #[serde(default = "default_garp_refresh")]
    pub(super) refresh_s: u64,
}

impl Default for GarpFile {
    fn default() -> Self {
        GarpFile {
            repeat: default_garp_repeat(),
            interval_ms: default_garp_interval(),
            refresh_s: default_garp_refresh(),
        }
    }
}

fn default_garp_repeat() -> u32 {
    5
}
fn default_garp_interval() -> u64 {
    100
}
fn default_garp_refresh() -> u64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct CheckFile {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) tcp: Option<String>,
    #[serde(default)]
    pub(super) http: Option<String>,
    #[serde(default)]
    pub(super) exec: Option<Vec<String>>,
    #[serde(default)]
    pub(super) insecure_tls: bool,
    #[serde(default = "default_check_interval")]
    pub(super) interval_ms: u64,
    #[serde(default)]
    pub(super) timeout_ms: Option<u64>,
    #[serde(default = "default_rise")]
    pub(super) rise: u32,
    #[serde(default = "default_fall")]
    pub(super) fall: u32,
}

fn default_check_interval() -> u64 {
    1000
}
fn default_rise() -> u32 {
    2
}
fn default_fall() -> u32 {
    3
}
