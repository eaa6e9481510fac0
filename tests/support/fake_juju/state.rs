//! The simulated Juju model's state: one JSON file shared by the test process
//! (`tests/support/juju.rs`) and the fake hook tools (`main.rs` here), guarded by
//! an advisory lock so hooks of several units may run at once.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The state file's name inside the model directory.
pub const STATE_FILE: &str = "model.json";
/// The lock file's name inside the model directory.
pub const LOCK_FILE: &str = "model.lock";
/// The per-unit file of recorded tool calls (JSON lines).
pub const CALLS_FILE: &str = "calls.jsonl";
/// Environment: the model directory.
pub const ENV_MODEL_DIR: &str = "FAKE_JUJU_MODEL_DIR";
/// Environment: the calling unit's agent directory.
pub const ENV_UNIT_DIR: &str = "FAKE_JUJU_UNIT_DIR";

/// One data bag.
pub type Bag = BTreeMap<String, String>;

/// Everything the fake Juju knows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelState {
    /// The model name.
    pub model_name: String,
    /// The application (all units belong to it).
    pub app: String,
    /// Options set by the operator (`juju config`).
    pub config: Map<String, Value>,
    /// Defaults from config.yaml (what config-get adds for unset options).
    pub config_defaults: Map<String, Value>,
    /// Endpoints declared in metadata.yaml (network-get accepts these).
    pub endpoints: BTreeSet<String>,
    /// Units by name.
    pub units: BTreeMap<String, UnitState>,
    /// Application status history (newest last).
    pub app_status: Vec<StatusEntry>,
    /// Relations.
    pub relations: Vec<Relation>,
    /// The next relation id.
    pub next_relation_id: u32,
    /// Injected tool failures.
    pub failures: Vec<ToolFailure>,
    /// Whether systemctl really runs services.
    pub real_services: bool,
}

/// One unit's view of the world.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UnitState {
    /// Whether it is the leader.
    pub leader: bool,
    /// Unit status history (newest last).
    pub status: Vec<StatusEntry>,
    /// `application-version-set`.
    pub workload_version: String,
    /// `juju-log` lines.
    pub logs: Vec<LogLine>,
    /// network-get answers by binding; "*" answers for any declared binding.
    pub network: BTreeMap<String, Value>,
    /// `state-get`/`state-set` data.
    pub state: Bag,
    /// Opened ports ("443/tcp").
    pub ports: BTreeSet<String>,
    /// The running action, if any.
    pub action: Option<ActionState>,
    /// Packages the apt-get shim installed (or the test pre-installed).
    pub packages: BTreeSet<String>,
    /// Values the sysctl shim set.
    pub sysctl: BTreeMap<String, String>,
    /// systemd units the systemctl shim knows about.
    pub services: BTreeMap<String, ServiceState>,
    /// The principal unit (subordinate charms).
    pub principal: Option<String>,
}

/// One status-set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEntry {
    /// maintenance | blocked | waiting | active.
    pub state: String,
    /// The message.
    pub message: String,
    /// The hook that set it.
    pub hook: String,
}

/// One juju-log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// DEBUG | INFO | WARNING | ERROR ...
    pub level: String,
    /// The text.
    pub message: String,
    /// The hook that logged it.
    pub hook: String,
}

/// A running action.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ActionState {
    /// The action name.
    pub name: String,
    /// Parameters with defaults filled in.
    pub params: Map<String, Value>,
    /// Results set with action-set (nested by dotted keys).
    pub results: Map<String, Value>,
    /// The action-fail message.
    pub failed: Option<String>,
    /// action-log lines.
    pub log: Vec<String>,
}

/// A relation between this application and another (or itself, for peers).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Relation {
    /// The number in `endpoint:N`.
    pub id: u32,
    /// Our endpoint.
    pub endpoint: String,
    /// The remote application (our own for peers).
    pub remote_app: String,
    /// Remote units (for peers: ignored, the other units of our app are remote).
    pub remote_units: Vec<String>,
    /// Whether this is a peer relation.
    pub peer: bool,
    /// Container scope: which remote units each local unit sees (else all).
    pub visible: Option<BTreeMap<String, Vec<String>>>,
    /// Unit data bags by unit name.
    pub unit_bags: BTreeMap<String, Bag>,
    /// Application data bags by application name.
    pub app_bags: BTreeMap<String, Bag>,
    /// Per local unit, the remote units whose `-joined` hook ran on it: Juju's
    /// `relation-list` lists only those during a `-joined` hook.
    #[serde(default)]
    pub joined: BTreeMap<String, BTreeSet<String>>,
    /// Per local unit, the remote units whose unit data changed since the
    /// local unit last ran `-changed` for them: Juju fires one
    /// `-changed` per such unit (peers only, here).
    #[serde(default)]
    pub owed_changed: BTreeMap<String, BTreeSet<String>>,
    /// The local units that ran this relation's `-created` hook.
    #[serde(default)]
    pub created: BTreeSet<String>,
}

impl Relation {
    /// `endpoint:N`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.endpoint, self.id)
    }
}

/// What the systemctl shim knows about one systemd unit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServiceState {
    /// Started and not stopped since.
    pub active: bool,
    /// Enabled.
    pub enabled: bool,
    /// Masked.
    pub masked: bool,
    /// Real-services mode: the main PID.
    pub pid: Option<u32>,
    /// Real-services mode: the main PID's start time (to never signal a reused PID).
    pub pid_start: Option<u64>,
    /// Real-services mode: the service's other processes (PID, start time),
    /// for a service made of several daemons (`frr.service`).
    #[serde(default)]
    pub others: Vec<(u32, Option<u64>)>,
    /// How many times it was (re)started.
    pub starts: u32,
    /// How many times it was reloaded.
    pub reloads: u32,
}

impl ServiceState {
    /// Every process of the service (PID, start time), the main one first.
    pub fn processes(&self) -> Vec<(u32, Option<u64>)> {
        self.pid
            .map(|pid| (pid, self.pid_start))
            .into_iter()
            .chain(self.others.iter().copied())
            .collect()
    }
}

/// An injected failure: the tool prints `stdout`/`stderr` and exits with `exit_code`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ToolFailure {
    /// Only for this unit (all units when None).
    pub unit: Option<String>,
    /// The tool name, e.g. `config-get`.
    pub tool: String,
    /// Exit status (0 with garbage stdout simulates bad output).
    pub exit_code: i32,
    /// What to print on stdout.
    pub stdout: String,
    /// What to print on stderr.
    pub stderr: String,
}

/// One recorded tool call (a line of calls.jsonl).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The tool.
    pub tool: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The hook or action it ran in ("" outside hooks).
    pub hook: String,
}

fn lock(dir: &Path, arg: FlockArg) -> Result<Flock<File>, String> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Flock::lock(file, arg).map_err(|(_, e)| format!("cannot lock {}: {e}", path.display()))
}

fn load(dir: &Path) -> Result<ModelState, String> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("corrupt {}: {e}", path.display()))
}

fn store(dir: &Path, state: &ModelState) -> Result<(), String> {
    let path = dir.join(STATE_FILE);
    let tmp: PathBuf = dir.join(format!("{STATE_FILE}.{}.tmp", std::process::id()));
    let body = serde_json::to_vec(state).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, body).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

/// Reads the state under a shared lock.
pub fn read_state(dir: &Path) -> Result<ModelState, String> {
    let _guard = lock(dir, FlockArg::LockShared)?;
    load(dir)
}

/// Reads, changes and writes back the state under an exclusive lock; nothing
/// is written when `change` fails.
pub fn update_state<R>(
    dir: &Path,
    change: impl FnOnce(&mut ModelState) -> Result<R, String>,
) -> Result<R, String> {
    let _guard = lock(dir, FlockArg::LockExclusive)?;
    let mut state = load(dir)?;
    let out = change(&mut state)?;
    store(dir, &state)?;
    Ok(out)
}

/// Writes a fresh state (model creation).
pub fn create_state(dir: &Path, state: &ModelState) -> Result<(), String> {
    let _guard = lock(dir, FlockArg::LockExclusive)?;
    store(dir, state)
}

/// Appends one call to a unit's calls.jsonl (one write, so lines never interleave).
pub fn record_call(unit_dir: &Path, call: &Call) -> Result<(), String> {
    let mut line = serde_json::to_vec(call).map_err(|e| e.to_string())?;
    line.push(b'\n');
    let path = unit_dir.join(CALLS_FILE);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.write_all(&line)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads a unit's recorded calls.
pub fn read_calls(unit_dir: &Path) -> Result<Vec<Call>, String> {
    let path = unit_dir.join(CALLS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("bad call line {l:?}: {e}")))
        .collect()
}

/// The directory names a unit's agent dir gets (`unit-k8s-vip-0`), as in Juju.
pub fn unit_dir_name(unit: &str) -> String {
    format!("unit-{}", unit.replace('/', "-"))
}

/// Start time (clock ticks since boot) of a live, non-zombie process.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); starttime is field 22.
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether `pid` is still the live process that had `start` as its start time.
pub fn same_process_alive(pid: u32, start: Option<u64>) -> bool {
    match (process_start_time(pid), start) {
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
        (None, _) => false,
    }
}
