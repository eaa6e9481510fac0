//! A simulated Juju model: N units of this charm, each laid out the way the
//! Juju unit agent lays one out (charm dir as CWD, `JUJU_*` environment), with
//! fake hook tools on PATH backed by one JSON state file. Hooks and actions run
//! the real built binary through the real `dispatch` script.
//!
//! ```ignore
//! let model = Model::new("k8s-vip", 3);
//! model.set_config("virtual-ip", "192.0.2.100");
//! model.set_leader("k8s-vip/0");
//! let peers = model.add_peer_relation("cluster");
//! model.run_hook("k8s-vip/0", "install").assert_success();
//! model.run_relation_hook("k8s-vip/0", &peers, "changed", Some("k8s-vip/1"));
//! let action = model.run_action("k8s-vip/0", "failover", json!({"hold": 5}));
//! ```

#[path = "fake_juju/state.rs"]
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

pub use state::{Call, LogLine, ServiceState, StatusEntry, ToolFailure};
use state::{ModelState, Relation, UnitState};

/// The built charm binary.
pub const CHARM_BINARY: &str = env!("CARGO_BIN_EXE_k8s-vip");
/// The fake hook tool binary.
pub const FAKE_TOOL_BINARY: &str = env!("CARGO_BIN_EXE_k8s-vip-fake-juju");
/// The source tree (charm files are copied from here).
pub const SOURCE_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Every hook tool the fake provides.
pub const HOOK_TOOLS: &[&str] = &[
    "config-get",
    "relation-ids",
    "relation-list",
    "relation-get",
    "relation-set",
    "network-get",
    "status-set",
    "status-get",
    "application-version-set",
    "is-leader",
    "goal-state",
    "action-get",
    "action-set",
    "action-fail",
    "action-log",
    "juju-log",
    "open-port",
    "close-port",
    "opened-ports",
    "state-get",
    "state-set",
    "state-delete",
];

/// System commands shimmed on PATH (recorded; see the fake's shims).
pub const SYSTEM_SHIMS: &[&str] = &["apt-get", "dpkg-query", "sysctl", "systemctl"];

/// How long one hook may run before the model kills it and fails the test.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

static MODEL_COUNTER: AtomicU64 = AtomicU64::new(0);
static CONTEXT_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The outcome of one hook (or action) process.
#[derive(Debug, Clone)]
pub struct HookRun {
    /// The unit it ran on.
    pub unit: String,
    /// The hook or action name.
    pub name: String,
    /// The process exit status.
    pub status: ExitStatus,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Wall time of the process.
    pub elapsed: Duration,
}

impl HookRun {
    /// Whether the hook exited 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with the hook's output unless it exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &HookRun {
        assert!(
            self.success(),
            "hook {} on {} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.name,
            self.unit,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the hook exited non-zero.
    #[track_caller]
    pub fn assert_failure(&self) -> &HookRun {
        assert!(
            !self.success(),
            "hook {} on {} unexpectedly succeeded:\n--- stdout\n{}\n--- stderr\n{}",
            self.name,
            self.unit,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The outcome of one action.
#[derive(Debug, Clone)]
pub struct ActionRun {
    /// The process that ran it.
    pub run: HookRun,
    /// The parameters it got (defaults filled in).
    pub params: Map<String, Value>,
    /// Results from action-set, nested by dotted keys.
    pub results: Map<String, Value>,
    /// Why it failed: the action-fail message, or the exit status when the
    /// process failed without calling action-fail; None when it succeeded.
    pub failed: Option<String>,
    /// action-log lines.
    pub log: Vec<String>,
}

impl ActionRun {
    /// A result by dotted key (`vip`, `instances.api.state`), as a string.
    pub fn result(&self, key: &str) -> Option<String> {
        let pointer = format!("/{}", key.replace('.', "/"));
        Value::Object(self.results.clone())
            .pointer(&pointer)
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
    }

    /// Panics unless the action completed without failing.
    #[track_caller]
    pub fn assert_completed(&self) -> &ActionRun {
        assert!(
            self.failed.is_none(),
            "action {} on {} failed: {:?}\n--- stderr\n{}",
            self.run.name,
            self.run.unit,
            self.failed,
            self.run.stderr
        );
        self
    }
}

/// The relation context of a hook run.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    /// Relation id (`cluster:0`) for relation hooks.
    pub relation: Option<String>,
    /// JUJU_REMOTE_UNIT.
    pub remote_unit: Option<String>,
    /// JUJU_REMOTE_APP (derived from the relation when None).
    pub remote_app: Option<String>,
    /// JUJU_DEPARTING_UNIT.
    pub departing_unit: Option<String>,
    /// Extra environment variables.
    pub extra: Vec<(String, String)>,
}

/// How the model is set up.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// The application name.
    pub app: String,
    /// How many units.
    pub units: usize,
    /// The model name.
    pub model_name: String,
    /// systemctl really runs services (ExecStart) instead of recording only.
    pub real_services: bool,
    /// The principal application the units are attached to (juju-info, container scope).
    pub principal: Option<String>,
    /// Keep the model directory after the test (for debugging); path printed.
    pub keep: bool,
    /// A packed `.charm` to deploy: each unit's charm directory is this archive
    /// unpacked, as Juju does it. None = the source tree and the test build.
    pub charm_file: Option<PathBuf>,
}

impl ModelOptions {
    /// Defaults: model "test", no real services, principal kubernetes-control-plane.
    pub fn new(app: &str, units: usize) -> ModelOptions {
        ModelOptions {
            app: app.to_string(),
            units,
            model_name: "test".into(),
            real_services: false,
            principal: Some("kubernetes-control-plane".into()),
            keep: std::env::var_os("K8S_VIP_KEEP_MODEL").is_some(),
            charm_file: None,
        }
    }

    /// Deploys a packed `.charm` (see [`ModelOptions::charm_file`]).
    pub fn charm_file(mut self, charm: Option<PathBuf>) -> ModelOptions {
        self.charm_file = charm;
        self
    }

    /// Turns on real services.
    pub fn real_services(mut self, on: bool) -> ModelOptions {
        self.real_services = on;
        self
    }

    /// Sets (or clears) the principal application.
    pub fn principal(mut self, app: Option<&str>) -> ModelOptions {
        self.principal = app.map(str::to_string);
        self
    }

    /// Builds the model.
    pub fn build(self) -> Model {
        Model::with_options(self)
    }
}

/// A simulated Juju model of one application with N units.
pub struct Model {
    dir: PathBuf,
    tools_dir: PathBuf,
    app: String,
    units: Vec<String>,
    netns: BTreeMap<String, String>,
    keep: bool,
    action_schema: Map<String, Value>,
    charm_file: Option<PathBuf>,
    /// Units owed a `config-changed`: Juju queues one on every unit after
    /// `juju config` and runs it before the unit's next other hook (its
    /// uniter resolves a config change before relation changes).
    config_pending: std::sync::Mutex<BTreeSet<String>>,
    /// Units that ran `install`.
    installed: std::sync::Mutex<BTreeSet<String>>,
}

/// A test panics on setup failures: they are bugs in the test or the machine.
#[track_caller]
fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("simulated model: {what}: {e}"),
    }
}

fn read_yaml(path: &Path) -> Value {
    let text = must(
        std::fs::read_to_string(path),
        &format!("reading {}", path.display()),
    );
    must(
        serde_yaml::from_str::<Value>(&text),
        &format!("parsing {}", path.display()),
    )
}

fn copy_tree(from: &Path, to: &Path) {
    must(std::fs::create_dir_all(to), "creating charm dir");
    for entry in must(std::fs::read_dir(from), "reading templates") {
        let entry = must(entry, "reading templates");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            must(std::fs::copy(entry.path(), &target), "copying template");
        }
    }
}

/// Unpacks a `.charm` (a zip with symlinks stored as symlinks) the way Juju
/// lays out a unit's charm directory; `unzip` comes from scripts/install-deps.
fn unpack_charm(file: &Path, charm: &Path) {
    must(std::fs::create_dir_all(charm), "creating charm dir");
    let out = must(
        std::process::Command::new("unzip")
            .arg("-q")
            .arg(file)
            .arg("-d")
            .arg(charm)
            .output(),
        "running unzip (scripts/install-deps installs it)",
    );
    assert!(
        out.status.success(),
        "simulated model: unzip {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    for needed in ["dispatch", "bin/k8s-vip", "hooks/install", "metadata.yaml"] {
        assert!(
            charm.join(needed).exists(),
            "simulated model: {} has no {needed}",
            file.display()
        );
    }
}

/// The default network-get answer for unit number `i`: eth0 with
/// 192.0.2.(11+i)/24, the same addressing as the netns lab.
pub fn default_network(i: usize) -> Value {
    let addr = format!("192.0.2.{}", 11 + i);
    json!({
        "bind-addresses": [{
            "mac-address": format!("02:00:00:00:00:{:02x}", 0x11 + i),
            "interface-name": "eth0",
            "addresses": [{"hostname": "", "value": addr, "cidr": "192.0.2.0/24"}],
            "macaddress": format!("02:00:00:00:00:{:02x}", 0x11 + i),
            "interfacename": "eth0",
        }],
        "egress-subnets": [format!("{addr}/32")],
        "ingress-addresses": [addr],
    })
}

impl Model {
    /// A model with `n` units of `app`, attached to kubernetes-control-plane.
    pub fn new(app: &str, n: usize) -> Model {
        ModelOptions::new(app, n).build()
    }

    /// Options to build a model with.
    pub fn options(app: &str, n: usize) -> ModelOptions {
        ModelOptions::new(app, n)
    }

    fn with_options(opts: ModelOptions) -> Model {
        let source = Path::new(SOURCE_DIR);
        let dir = std::env::temp_dir().join(format!(
            "k8s-vip-model-{}-{}",
            std::process::id(),
            MODEL_COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let tools_dir = dir.join("tools");
        must(std::fs::create_dir_all(&tools_dir), "creating model dir");
        for tool in HOOK_TOOLS.iter().chain(SYSTEM_SHIMS) {
            must(
                std::os::unix::fs::symlink(FAKE_TOOL_BINARY, tools_dir.join(tool)),
                "linking fake tool",
            );
        }

        let metadata = read_yaml(&source.join("metadata.yaml"));
        let mut endpoints = BTreeSet::new();
        let mut peers = BTreeSet::new();
        for section in ["requires", "provides", "peers"] {
            if let Some(map) = metadata.get(section).and_then(Value::as_object) {
                for name in map.keys() {
                    endpoints.insert(name.clone());
                    if section == "peers" {
                        peers.insert(name.clone());
                    }
                }
            }
        }
        let config = read_yaml(&source.join("config.yaml"));
        let mut config_defaults = Map::new();
        if let Some(options) = config.get("options").and_then(Value::as_object) {
            for (name, option) in options {
                config_defaults.insert(
                    name.clone(),
                    option.get("default").cloned().unwrap_or(Value::Null),
                );
            }
        }
        let action_schema = match read_yaml(&source.join("actions.yaml")) {
            Value::Object(map) => map,
            _ => Map::new(),
        };

        let units: Vec<String> = (0..opts.units)
            .map(|i| format!("{}/{i}", opts.app))
            .collect();
        let mut model_state = ModelState {
            model_name: opts.model_name.clone(),
            app: opts.app.clone(),
            config_defaults,
            endpoints,
            real_services: opts.real_services,
            ..ModelState::default()
        };
        let model = Model {
            dir: dir.clone(),
            tools_dir,
            app: opts.app.clone(),
            units: units.clone(),
            netns: BTreeMap::new(),
            keep: opts.keep,
            action_schema,
            charm_file: opts.charm_file.clone(),
            config_pending: std::sync::Mutex::default(),
            installed: std::sync::Mutex::default(),
        };
        for (i, unit) in units.iter().enumerate() {
            model.lay_out_unit(unit);
            let mut network = BTreeMap::new();
            network.insert("*".to_string(), default_network(i));
            model_state.units.insert(
                unit.clone(),
                UnitState {
                    leader: i == 0,
                    network,
                    principal: opts.principal.as_ref().map(|p| format!("{p}/{i}")),
                    ..UnitState::default()
                },
            );
        }
        // The peer relation exists from deployment on, as in Juju.
        for (id, endpoint) in peers.iter().enumerate() {
            model_state.relations.push(Relation {
                id: id as u32,
                endpoint: endpoint.clone(),
                remote_app: opts.app.clone(),
                peer: true,
                ..Relation::default()
            });
            model_state.next_relation_id = id as u32 + 1;
        }
        // A subordinate lives through its container-scoped juju-info relation.
        if let Some(principal) = &opts.principal {
            let id = model_state.next_relation_id;
            model_state.next_relation_id += 1;
            let visible = units
                .iter()
                .enumerate()
                .map(|(i, u)| (u.clone(), vec![format!("{principal}/{i}")]))
                .collect();
            model_state.relations.push(Relation {
                id,
                endpoint: "juju-info".into(),
                remote_app: principal.clone(),
                remote_units: (0..units.len())
                    .map(|i| format!("{principal}/{i}"))
                    .collect(),
                visible: Some(visible),
                ..Relation::default()
            });
        }
        must(
            state::create_state(&dir, &model_state),
            "writing model state",
        );
        if opts.keep {
            eprintln!("simulated model kept at {}", dir.display());
        }
        model
    }

    /// Creates a unit's agent directory: charm dir (copies of the charm files,
    /// hooks/ symlinks, bin/k8s-vip linked to the built binary — or the packed
    /// charm unpacked) and its root.
    fn lay_out_unit(&self, unit: &str) {
        let source = Path::new(SOURCE_DIR);
        let unit_dir = self.unit_dir(unit);
        let charm = unit_dir.join("charm");
        if let Some(file) = &self.charm_file {
            unpack_charm(file, &charm);
            must(
                std::fs::create_dir_all(unit_dir.join("root")),
                "creating unit root",
            );
            return;
        }
        must(
            std::fs::create_dir_all(charm.join("bin")),
            "creating charm dir",
        );
        must(
            std::fs::create_dir_all(charm.join("hooks")),
            "creating hooks dir",
        );
        must(
            std::fs::create_dir_all(unit_dir.join("root")),
            "creating unit root",
        );
        for file in ["metadata.yaml", "config.yaml", "actions.yaml", "dispatch"] {
            must(
                std::fs::copy(source.join(file), charm.join(file)),
                "copying charm file",
            );
        }
        for entry in must(std::fs::read_dir(source.join("hooks")), "reading hooks/") {
            let entry = must(entry, "reading hooks/");
            must(
                std::os::unix::fs::symlink(
                    "../dispatch",
                    charm.join("hooks").join(entry.file_name()),
                ),
                "linking hook",
            );
        }
        if source.join("templates").is_dir() {
            copy_tree(&source.join("templates"), &charm.join("templates"));
        }
        must(
            std::os::unix::fs::symlink(CHARM_BINARY, charm.join("bin/k8s-vip")),
            "linking charm binary",
        );
    }

    /// `juju add-unit`: a new unit with the next number, attached to the next
    /// principal unit, with the default network answer for its number. It is
    /// a peer at once (run its install and the others' cluster-relation-joined).
    pub fn add_unit(&mut self) -> String {
        let number = self
            .units
            .iter()
            .filter_map(|u| u.rsplit('/').next()?.parse::<usize>().ok())
            .max()
            .map_or(0, |n| n + 1);
        let unit = format!("{}/{number}", self.app);
        self.lay_out_unit(&unit);
        self.update(|s| {
            let principal = s
                .relations
                .iter_mut()
                .find(|r| r.endpoint == "juju-info" && r.visible.is_some());
            let principal_unit = principal.map(|r| {
                let p = format!("{}/{number}", r.remote_app);
                r.remote_units.push(p.clone());
                if let Some(visible) = r.visible.as_mut() {
                    visible.insert(unit.clone(), vec![p.clone()]);
                }
                p
            });
            let mut network = BTreeMap::new();
            network.insert("*".to_string(), default_network(number));
            s.units.insert(
                unit.clone(),
                UnitState {
                    network,
                    principal: principal_unit,
                    ..UnitState::default()
                },
            );
        });
        self.units.push(unit.clone());
        unit
    }

    /// `juju remove-unit` after the unit's own stop/remove hooks: it leaves
    /// every relation (peers stop listing it; its bags stay readable by
    /// name in -departed hooks, as in Juju) and loses leadership.
    pub fn remove_unit(&mut self, unit: &str) {
        self.update(|s| {
            s.units.remove(unit);
            for r in s.relations.iter_mut() {
                if let Some(visible) = r.visible.as_mut() {
                    visible.remove(unit);
                }
            }
        });
        self.units.retain(|u| u != unit);
    }

    // ===== layout =====

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The application name.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// Unit names, `app/0` first.
    pub fn units(&self) -> &[String] {
        &self.units
    }

    /// Unit `i`'s name.
    pub fn unit(&self, i: usize) -> String {
        format!("{}/{i}", self.app)
    }

    /// A unit's agent directory (`.../agents/unit-k8s-vip-0`).
    pub fn unit_dir(&self, unit: &str) -> PathBuf {
        self.dir.join("agents").join(state::unit_dir_name(unit))
    }

    /// A unit's charm directory (CWD of its hooks).
    pub fn charm_dir(&self, unit: &str) -> PathBuf {
        self.unit_dir(unit).join("charm")
    }

    /// A unit's K8S_VIP_ROOT.
    pub fn root(&self, unit: &str) -> PathBuf {
        self.unit_dir(unit).join("root")
    }

    /// A path (absolute on the unit) under the unit's root.
    pub fn path(&self, unit: &str, path: &str) -> PathBuf {
        self.root(unit).join(path.trim_start_matches('/'))
    }

    /// The directory of fake tools put first on PATH.
    pub fn tools_dir(&self) -> &Path {
        &self.tools_dir
    }

    /// Runs `unit`'s hooks (and the services they start) inside network
    /// namespace `ns` via `ip netns exec` (needs root). The unit's `/proc` is
    /// then the kernel's, as on a real unit: the hook reads the listening
    /// sockets (port conflicts) and routes of its own namespace.
    pub fn set_netns(&mut self, unit: &str, ns: &str) {
        self.netns.insert(unit.to_string(), ns.to_string());
        let proc = self.unit_dir(unit).join("root/proc");
        if std::fs::symlink_metadata(&proc).is_err() {
            must(std::os::unix::fs::symlink("/proc", &proc), "linking /proc");
        }
    }

    /// Runs unit number i in lab unit i's namespace, for every unit: the usual
    /// way a live test or the demo puts the model on the lab's network.
    pub fn place_units_in(&mut self, lab: &crate::support::netns::Lab) {
        for i in 0..self.units.len() {
            let unit = self.unit(i);
            let ns = lab.unit(i).ns.clone();
            self.set_netns(&unit, &ns);
        }
    }

    // ===== state =====

    /// The whole model state.
    pub fn state(&self) -> ModelState {
        must(state::read_state(&self.dir), "reading model state")
    }

    /// Changes the model state directly.
    pub fn update<R>(&self, change: impl FnOnce(&mut ModelState) -> R) -> R {
        must(
            state::update_state(&self.dir, |s| Ok(change(s))),
            "updating model state",
        )
    }

    fn unit_state(&self, unit: &str) -> UnitState {
        match self.state().units.get(unit) {
            Some(u) => u.clone(),
            None => panic!("simulated model: no unit {unit}"),
        }
    }

    fn with_unit<R>(&self, unit: &str, change: impl FnOnce(&mut UnitState) -> R) -> R {
        self.update(|s| match s.units.get_mut(unit) {
            Some(u) => change(u),
            None => panic!("simulated model: no unit {unit}"),
        })
    }

    // ===== config =====

    /// `juju config app KEY=VALUE`: the option must exist in config.yaml and the
    /// value must have its type (string, int, float, boolean).
    #[track_caller]
    pub fn set_config(&self, key: &str, value: impl Into<Value>) {
        let value = value.into();
        let options = read_yaml(&Path::new(SOURCE_DIR).join("config.yaml"));
        let Some(option) = options.pointer(&format!("/options/{key}")) else {
            panic!("simulated model: config.yaml has no option {key:?}");
        };
        let ty = option
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string");
        let ok = match ty {
            "string" => value.is_string(),
            "int" => value.is_i64() || value.is_u64(),
            "float" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        assert!(ok, "simulated model: option {key} is {ty}, got {value}");
        self.update(|s| s.config.insert(key.to_string(), value));
        self.owe_config_changed();
    }

    /// `juju config app --reset KEY`.
    pub fn reset_config(&self, key: &str) {
        self.update(|s| s.config.remove(key));
        self.owe_config_changed();
    }

    /// Every unit is owed a `config-changed`.
    fn owe_config_changed(&self) {
        let mut pending = self
            .config_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pending.extend(self.units.iter().cloned());
    }

    /// Runs the `config-changed` `unit` is owed, if any, before `hook`, as
    /// Juju would have: None when nothing was owed or it succeeded, else the
    /// failed run. Not before `install`, a `-relation-created` or
    /// `leader-elected` (Juju's first config-changed follows them), nor a
    /// unit's last hooks.
    fn run_owed_config_changed(&self, unit: &str, hook: &str) -> Option<HookRun> {
        let lock = |m: &'_ std::sync::Mutex<BTreeSet<String>>| {
            m.lock().unwrap_or_else(|e| e.into_inner()).clone()
        };
        if hook == "install" {
            self.installed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(unit.to_string());
        }
        let exempt = [
            "install",
            "leader-elected",
            "config-changed",
            "stop",
            "remove",
        ];
        // Juju runs a new relation's `-created` before a queued config-changed
        // (at deployment: install, relation-created, leader-elected,
        // config-changed, start).
        if exempt.contains(&hook) || hook.ends_with("-relation-created") {
            if hook == "config-changed" {
                self.config_pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(unit);
            }
            return None;
        }
        let owed = self
            .config_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(unit);
        if !owed || !lock(&self.installed).contains(unit) {
            return None;
        }
        let run = self.run_hook_with(unit, "config-changed", HookEnv::default());
        (!run.success()).then_some(run)
    }

    /// The config as config-get shows it (defaults filled in).
    pub fn config(&self) -> Map<String, Value> {
        let s = self.state();
        let mut config = s.config_defaults.clone();
        config.extend(s.config);
        config
    }

    // ===== leadership =====

    /// Makes `unit` the only leader.
    pub fn set_leader(&self, unit: &str) {
        self.update(|s| {
            assert!(
                s.units.contains_key(unit),
                "simulated model: no unit {unit}"
            );
            for (name, u) in s.units.iter_mut() {
                u.leader = name == unit;
            }
        });
    }

    /// The leader, if any.
    pub fn leader(&self) -> Option<String> {
        self.state()
            .units
            .into_iter()
            .find(|(_, u)| u.leader)
            .map(|(n, _)| n)
    }

    // ===== relations =====

    /// The id (`cluster:0`) of the relation on `endpoint` (the first one).
    #[track_caller]
    pub fn relation_id(&self, endpoint: &str) -> String {
        match self
            .state()
            .relations
            .iter()
            .find(|r| r.endpoint == endpoint)
        {
            Some(r) => r.key(),
            None => panic!("simulated model: no relation on {endpoint}"),
        }
    }

    /// The peer relation's id (it exists from deployment on).
    pub fn add_peer_relation(&self, endpoint: &str) -> String {
        self.relation_id(endpoint)
    }

    /// `juju integrate`: relates `endpoint` to `remote_app` with `remote_units`;
    /// returns the relation id (`lb-consumers:3`).
    #[track_caller]
    pub fn add_relation(&self, endpoint: &str, remote_app: &str, remote_units: &[&str]) -> String {
        self.update(|s| {
            assert!(
                s.endpoints.contains(endpoint),
                "simulated model: metadata.yaml has no endpoint {endpoint:?}"
            );
            let id = s.next_relation_id;
            s.next_relation_id += 1;
            let rel = Relation {
                id,
                endpoint: endpoint.to_string(),
                remote_app: remote_app.to_string(),
                remote_units: remote_units.iter().map(|u| u.to_string()).collect(),
                ..Relation::default()
            };
            let key = rel.key();
            s.relations.push(rel);
            key
        })
    }

    /// Removes a relation (after its -broken hooks ran).
    pub fn remove_relation(&self, rel: &str) {
        self.update(|s| s.relations.retain(|r| r.key() != rel));
    }

    fn with_relation<R>(&self, rel: &str, change: impl FnOnce(&mut Relation) -> R) -> R {
        self.update(|s| match s.relations.iter_mut().find(|r| r.key() == rel) {
            Some(r) => change(r),
            None => panic!("simulated model: no relation {rel}"),
        })
    }

    /// A remote unit joins a relation.
    pub fn add_remote_unit(&self, rel: &str, unit: &str) {
        self.with_relation(rel, |r| {
            if !r.remote_units.iter().any(|u| u == unit) {
                r.remote_units.push(unit.to_string());
            }
        });
    }

    /// A remote unit leaves a relation (its bag stays readable, as in Juju).
    pub fn remove_remote_unit(&self, rel: &str, unit: &str) {
        self.with_relation(rel, |r| r.remote_units.retain(|u| u != unit));
    }

    /// Writes (merges) keys into a unit's bag; "" deletes. Used for remote
    /// units; tests may also seed local bags.
    pub fn set_unit_data(&self, rel: &str, unit: &str, data: &[(&str, &str)]) {
        self.with_relation(rel, |r| {
            let bag = r.unit_bags.entry(unit.to_string()).or_default();
            for (k, v) in data {
                if v.is_empty() {
                    bag.remove(*k);
                } else {
                    bag.insert(k.to_string(), v.to_string());
                }
            }
        });
    }

    /// Writes (merges) keys into an application's bag; "" deletes.
    pub fn set_app_data(&self, rel: &str, app: &str, data: &[(&str, &str)]) {
        self.with_relation(rel, |r| {
            let bag = r.app_bags.entry(app.to_string()).or_default();
            for (k, v) in data {
                if v.is_empty() {
                    bag.remove(*k);
                } else {
                    bag.insert(k.to_string(), v.to_string());
                }
            }
        });
    }

    /// Same as [`Model::set_unit_data`] (name used in the docs).
    pub fn set_relation_data(&self, rel: &str, unit: &str, data: &[(&str, &str)]) {
        self.set_unit_data(rel, unit, data);
    }

    /// A unit's bag in a relation.
    pub fn relation_data(&self, rel: &str, unit: &str) -> BTreeMap<String, String> {
        self.relation(rel)
            .unit_bags
            .get(unit)
            .cloned()
            .unwrap_or_default()
    }

    /// An application's bag in a relation.
    pub fn app_data(&self, rel: &str, app: &str) -> BTreeMap<String, String> {
        self.relation(rel)
            .app_bags
            .get(app)
            .cloned()
            .unwrap_or_default()
    }

    /// A relation's full state.
    #[track_caller]
    pub fn relation(&self, rel: &str) -> Relation {
        match self.state().relations.into_iter().find(|r| r.key() == rel) {
            Some(r) => r,
            None => panic!("simulated model: no relation {rel}"),
        }
    }

    // ===== network =====

    /// Sets `network-get BINDING` for a unit ("*" = every binding).
    pub fn set_network(&self, unit: &str, binding: &str, info: Value) {
        self.with_unit(unit, |u| u.network.insert(binding.to_string(), info));
    }

    // ===== failure injection =====

    /// Makes `tool` (for `unit`, or every unit) print `stdout`/`stderr` and exit
    /// with `exit_code` (0 with garbage stdout simulates unparseable output).
    pub fn fail_tool(
        &self,
        unit: Option<&str>,
        tool: &str,
        exit_code: i32,
        stdout: &str,
        stderr: &str,
    ) {
        self.update(|s| {
            s.failures.push(ToolFailure {
                unit: unit.map(str::to_string),
                tool: tool.to_string(),
                exit_code,
                stdout: stdout.to_string(),
                stderr: stderr.to_string(),
            })
        });
    }

    /// Removes every injected failure.
    pub fn clear_failures(&self) {
        self.update(|s| s.failures.clear());
    }

    // ===== observations =====

    /// The unit's current status (the last status-set).
    pub fn status(&self, unit: &str) -> Option<StatusEntry> {
        self.unit_state(unit).status.last().cloned()
    }

    /// Every status-set of the unit, oldest first.
    pub fn status_history(&self, unit: &str) -> Vec<StatusEntry> {
        self.unit_state(unit).status
    }

    /// The application status (the leader's last `status-set --application`).
    pub fn app_status(&self) -> Option<StatusEntry> {
        self.state().app_status.last().cloned()
    }

    /// juju-log lines of the unit.
    pub fn logs(&self, unit: &str) -> Vec<LogLine> {
        self.unit_state(unit).logs
    }

    /// The unit's state-set data.
    pub fn unit_store(&self, unit: &str) -> BTreeMap<String, String> {
        self.unit_state(unit).state
    }

    /// Opened ports of the unit ("6443/tcp").
    pub fn ports(&self, unit: &str) -> BTreeSet<String> {
        self.unit_state(unit).ports
    }

    /// The workload version the unit set.
    pub fn workload_version(&self, unit: &str) -> String {
        self.unit_state(unit).workload_version
    }

    /// Packages installed through the apt-get shim.
    pub fn packages(&self, unit: &str) -> BTreeSet<String> {
        self.unit_state(unit).packages
    }

    /// Marks packages as installed before a test (as on a machine that has them).
    pub fn preinstall(&self, unit: &str, packages: &[&str]) {
        self.with_unit(unit, |u| {
            u.packages.extend(packages.iter().map(|p| p.to_string()))
        });
    }

    /// sysctl values set through the shim.
    pub fn sysctls(&self, unit: &str) -> BTreeMap<String, String> {
        self.unit_state(unit).sysctl
    }

    /// What the systemctl shim knows about the unit's services.
    pub fn services(&self, unit: &str) -> BTreeMap<String, ServiceState> {
        self.unit_state(unit).services
    }

    /// Whether a service (`k8s-vip-agent` or `k8s-vip-agent.service`) is active;
    /// in real-services mode its process must also be alive.
    pub fn is_active(&self, unit: &str, service: &str) -> bool {
        let name = if service.contains('.') {
            service.to_string()
        } else {
            format!("{service}.service")
        };
        let state = self.state();
        state
            .units
            .get(unit)
            .and_then(|u| u.services.get(&name))
            .is_some_and(|s| {
                s.active
                    && (!state.real_services
                        || s.pid
                            .is_some_and(|pid| state::same_process_alive(pid, s.pid_start)))
            })
    }

    /// Every recorded tool call of the unit, oldest first.
    pub fn all_calls(&self, unit: &str) -> Vec<Call> {
        must(state::read_calls(&self.unit_dir(unit)), "reading calls")
    }

    /// The argument lists of every call of `tool` by the unit.
    pub fn calls(&self, unit: &str, tool: &str) -> Vec<Vec<String>> {
        self.all_calls(unit)
            .into_iter()
            .filter(|c| c.tool == tool)
            .map(|c| c.args)
            .collect()
    }

    /// Forgets the unit's recorded calls (e.g. before an idempotence check).
    pub fn clear_calls(&self, unit: &str) {
        let _ = std::fs::remove_file(self.unit_dir(unit).join(state::CALLS_FILE));
    }

    // ===== running hooks =====

    /// Runs hook `name` on `unit`. For a relation hook the relation is the
    /// first one on its endpoint and the remote unit its first remote unit.
    pub fn run_hook(&self, unit: &str, name: &str) -> HookRun {
        let env = match relation_endpoint(name) {
            Some(endpoint) => {
                let rel = self.relation_id(endpoint);
                let remote = self.remote_units(unit, &rel).into_iter().next();
                HookEnv {
                    relation: Some(rel),
                    remote_unit: if name.ends_with("-broken") || name.ends_with("-created") {
                        None
                    } else {
                        remote
                    },
                    ..HookEnv::default()
                }
            }
            None => HookEnv::default(),
        };
        self.run_hook_with(unit, name, env)
    }

    /// Runs `ENDPOINT-relation-KIND` for relation `rel` on `unit`, as seen from
    /// `remote_unit` (for `departed`, it is also the departing unit).
    pub fn run_relation_hook(
        &self,
        unit: &str,
        rel: &str,
        kind: &str,
        remote_unit: Option<&str>,
    ) -> HookRun {
        let endpoint = rel.split(':').next().unwrap_or(rel);
        let env = HookEnv {
            relation: Some(rel.to_string()),
            remote_unit: remote_unit.map(str::to_string),
            departing_unit: if kind == "departed" {
                remote_unit.map(str::to_string)
            } else {
                None
            },
            ..HookEnv::default()
        };
        self.run_hook_with(unit, &format!("{endpoint}-relation-{kind}"), env)
    }

    /// Runs `install` on every unit, then `leader-elected` on unit 0: the
    /// first hooks of a fresh deployment.
    pub fn run_install_and_elect(&self) {
        for u in self.units() {
            self.run_hook(u, "install").assert_success();
        }
        self.run_hook(&self.unit(0), "leader-elected")
            .assert_success();
    }

    /// Runs `cluster-relation-changed` on `unit` once for each other unit, as
    /// Juju does when the peers' data arrives.
    pub fn run_peers_changed(&self, unit: &str) {
        let rel = self.relation_id("cluster");
        for other in self.units().iter().filter(|o| o.as_str() != unit) {
            self.run_relation_hook(unit, &rel, "changed", Some(other))
                .assert_success();
        }
    }

    /// Runs `ENDPOINT-relation-changed` for `rel` on every unit, as seen from
    /// `remote_unit`.
    pub fn run_relation_changed_on_all(&self, rel: &str, remote_unit: &str) {
        for u in self.units() {
            self.run_relation_hook(u, rel, "changed", Some(remote_unit))
                .assert_success();
        }
    }

    /// Relates kubernetes-control-plane over lb-consumers with one remote
    /// unit per entry of `ingress` (unit i publishes `ingress-address`
    /// `ingress[i]`) and the application's `version` 1 and `requests`
    /// (`(name, request JSON)` as `request_NAME`). Runs no hook. Returns the
    /// relation id and the remote units.
    pub fn add_lb_consumers(
        &self,
        ingress: &[String],
        requests: &[(&str, &str)],
    ) -> (String, Vec<String>) {
        let cp: Vec<String> = (0..ingress.len())
            .map(|i| format!("kubernetes-control-plane/{i}"))
            .collect();
        let refs: Vec<&str> = cp.iter().map(String::as_str).collect();
        let rel = self.add_relation("lb-consumers", "kubernetes-control-plane", &refs);
        for (u, addr) in cp.iter().zip(ingress) {
            self.set_unit_data(&rel, u, &[("ingress-address", addr)]);
        }
        let keys: Vec<String> = requests
            .iter()
            .map(|(name, _)| format!("request_{name}"))
            .collect();
        let mut app: Vec<(&str, &str)> = vec![("version", "1")];
        app.extend(
            keys.iter()
                .map(String::as_str)
                .zip(requests.iter().map(|r| r.1)),
        );
        self.set_app_data(&rel, "kubernetes-control-plane", &app);
        (rel, cp)
    }

    /// The remote units `unit` sees in `rel` (what relation-list prints).
    pub fn remote_units(&self, unit: &str, rel: &str) -> Vec<String> {
        let state = self.state();
        let r = self.relation(rel);
        if r.peer {
            return state.units.keys().filter(|u| *u != unit).cloned().collect();
        }
        match &r.visible {
            Some(v) => v.get(unit).cloned().unwrap_or_default(),
            None => r.remote_units.clone(),
        }
    }

    /// Runs hook `name` on `unit` with an explicit relation context.
    pub fn run_hook_with(&self, unit: &str, name: &str, env: HookEnv) -> HookRun {
        if let Some(failed) = self.run_owed_config_changed(unit, name) {
            return failed;
        }
        // Juju runs an owed config-changed before relation changes: a
        // config-changed asked for runs before the owed `-changed` hooks.
        if !["install", "config-changed", "stop", "remove"].contains(&name) {
            while let Some(owed) = self.run_owed_hook(unit) {
                if !owed.success() {
                    return owed;
                }
            }
        }
        if let Some(failed) = self.run_missing_relation_hooks(unit, name, &env) {
            return failed;
        }
        self.track_joined(unit, name, &env);
        let mut vars = self.base_env(unit, name);
        vars.push(("JUJU_DISPATCH_PATH".into(), format!("hooks/{name}")));
        vars.push(("JUJU_HOOK_NAME".into(), name.to_string()));
        if let Some(rel) = &env.relation {
            let r = self.relation(rel);
            vars.push(("JUJU_RELATION".into(), r.endpoint.clone()));
            vars.push(("JUJU_RELATION_ID".into(), rel.clone()));
            vars.push((
                "JUJU_REMOTE_APP".into(),
                env.remote_app.clone().unwrap_or(r.remote_app.clone()),
            ));
        }
        if let Some(u) = &env.remote_unit {
            vars.push(("JUJU_REMOTE_UNIT".into(), u.clone()));
        }
        if let Some(u) = &env.departing_unit {
            vars.push(("JUJU_DEPARTING_UNIT".into(), u.clone()));
        }
        vars.extend(env.extra.iter().cloned());
        self.spawn_dispatch(unit, name, vars)
    }

    /// Runs one `-changed` hook `unit` is owed because a peer changed its
    /// unit data (Juju fires it on every unit that has the writer joined), if
    /// any. [`Model::run_hook_with`] runs them all before the unit's next
    /// hook; a test counting each hook's calls runs them itself first.
    pub fn run_owed_hook(&self, unit: &str) -> Option<HookRun> {
        let (rel, writer) = self.update(|s| {
            s.relations.iter_mut().find_map(|r| {
                let owed = r.owed_changed.get_mut(unit)?;
                let writer = owed.pop_first()?;
                Some((r.key(), writer))
            })
        })?;
        Some(self.run_relation_hook(unit, &rel, "changed", Some(&writer)))
    }

    /// Runs every hook the units are owed (see [`Model::run_owed_hook`])
    /// until none is: the model once Juju has caught up.
    pub fn settle(&self) {
        for _round in 0..10 {
            let mut ran = false;
            for unit in self.units() {
                while let Some(run) = self.run_owed_hook(unit) {
                    run.assert_success();
                    ran = true;
                }
            }
            if !ran {
                return;
            }
        }
        panic!("the units still owe hooks after 10 rounds: do they keep changing their data?");
    }

    /// Runs the hooks Juju would have run on `unit` before relation hook
    /// `name` and a test skipped: the relation's `-created`, the `-departed`
    /// of each remote unit that left since it joined, and before a
    /// `-changed` for a remote unit that never joined, the `-joined` of every
    /// remote unit not joined yet. None when none was missing or they
    /// succeeded, else the failed run.
    fn run_missing_relation_hooks(&self, unit: &str, name: &str, env: &HookEnv) -> Option<HookRun> {
        let rel = env.relation.as_ref()?;
        let kind = ["created", "joined", "changed", "departed"]
            .into_iter()
            .find(|k| name.ends_with(&format!("-relation-{k}")))?;
        let r = self.relation(rel);
        if kind != "created" && !r.created.contains(unit) {
            let run = self.run_relation_hook(unit, rel, "created", None);
            if !run.success() {
                return Some(run);
            }
        }
        if kind != "departed" {
            // A remote unit the test removed has departed, as Juju says so.
            let now = self.remote_units(unit, rel);
            let gone: Vec<String> = r
                .joined
                .get(unit)
                .into_iter()
                .flatten()
                .filter(|u| !now.contains(u))
                .cloned()
                .collect();
            for u in gone {
                let run = self.run_relation_hook(unit, rel, "departed", Some(&u));
                if !run.success() {
                    return Some(run);
                }
            }
        }
        let remote = env.remote_unit.as_deref()?;
        let joined = |u: &str| r.joined.get(unit).is_some_and(|j| j.contains(u));
        if kind != "changed" || joined(remote) {
            return None;
        }
        // A test that skipped this unit's `-joined` drives the relation by
        // its `-changed` hooks alone: every remote unit has joined by now, as
        // Juju would have run their `-joined` first.
        for other in self.remote_units(unit, rel) {
            if joined(&other) {
                continue;
            }
            let run = self.run_relation_hook(unit, rel, "joined", Some(&other));
            if !run.success() {
                return Some(run);
            }
        }
        None
    }

    /// Records which remote units have joined `rel` as `unit` sees it, as
    /// Juju's relation-list does: a unit from its `-joined` hook on, until its
    /// `-departed`; none after `-broken`.
    fn track_joined(&self, unit: &str, name: &str, env: &HookEnv) {
        let Some(rel) = &env.relation else { return };
        self.update(|s| {
            let Some(r) = s.relations.iter_mut().find(|r| r.key() == *rel) else {
                return;
            };
            let remote = env.remote_unit.iter().cloned();
            if name.ends_with("-relation-joined") || name.ends_with("-relation-changed") {
                // This hook shows the remote unit's data as it is now.
                if let Some(owed) = r.owed_changed.get_mut(unit) {
                    for u in remote.clone() {
                        owed.remove(&u);
                    }
                }
            }
            if name.ends_with("-relation-created") {
                r.created.insert(unit.to_string());
            }
            let joined = r.joined.entry(unit.to_string()).or_default();
            if name.ends_with("-relation-joined") || name.ends_with("-relation-changed") {
                joined.extend(remote);
            } else if name.ends_with("-relation-departed") {
                for gone in [&env.departing_unit, &env.remote_unit]
                    .into_iter()
                    .flatten()
                {
                    joined.remove(gone);
                }
            } else if name.ends_with("-relation-broken") {
                joined.clear();
                r.created.remove(unit);
            }
        });
    }

    /// Runs action `name` on `unit` with `params` (a JSON object), checked and
    /// completed with defaults from actions.yaml as `juju run` does.
    #[track_caller]
    pub fn run_action(&self, unit: &str, name: &str, params: Value) -> ActionRun {
        let params = self.action_params(name, params);
        self.run_action_unchecked(unit, name, params)
    }

    /// Runs action `name` with `params` as given, without checking them against
    /// actions.yaml (e.g. to run an action the charm does not declare).
    pub fn run_action_unchecked(
        &self,
        unit: &str,
        name: &str,
        params: Map<String, Value>,
    ) -> ActionRun {
        self.with_unit(unit, |u| {
            u.action = Some(state::ActionState {
                name: name.to_string(),
                params: params.clone(),
                ..state::ActionState::default()
            })
        });
        let mut vars = self.base_env(unit, name);
        vars.push(("JUJU_DISPATCH_PATH".into(), format!("actions/{name}")));
        vars.push(("JUJU_ACTION_NAME".into(), name.to_string()));
        vars.push((
            "JUJU_ACTION_UUID".into(),
            format!("{}", CONTEXT_COUNTER.fetch_add(1, Ordering::SeqCst)),
        ));
        let run = self.spawn_dispatch(unit, name, vars);
        let action = self
            .with_unit(unit, |u| u.action.take())
            .unwrap_or_default();
        let failed = action
            .failed
            .or_else(|| (!run.success()).then(|| format!("action process failed: {}", run.status)));
        ActionRun {
            run,
            params,
            results: action.results,
            failed,
            log: action.log,
        }
    }

    /// Runs a tool (fake hook tool, shim, or anything on the hook PATH) in
    /// `unit`'s hook environment (and network namespace, if set), e.g. to
    /// check the model itself or to act as the unit from a test.
    pub fn run_tool(&self, unit: &str, args: &[&str], stdin: Option<&str>) -> HookRun {
        let mut vars = self.base_env(unit, "tool");
        vars.push(("JUJU_HOOK_NAME".into(), "tool".into()));
        self.spawn_in_unit(unit, args, vars, stdin)
    }

    /// Like [`Model::run_tool`] inside a relation context.
    pub fn run_tool_in_relation(
        &self,
        unit: &str,
        rel: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> HookRun {
        let mut vars = self.base_env(unit, "tool");
        let r = self.relation(rel);
        vars.push(("JUJU_RELATION".into(), r.endpoint.clone()));
        vars.push(("JUJU_RELATION_ID".into(), rel.to_string()));
        vars.push(("JUJU_REMOTE_APP".into(), r.remote_app.clone()));
        self.spawn_in_unit(unit, args, vars, stdin)
    }

    /// The environment a hook of `unit` gets (PATH with the fake tools first,
    /// `JUJU_*`, K8S_VIP_ROOT), e.g. to drive hook tools from the test process.
    pub fn hook_env(&self, unit: &str, hook: &str) -> Vec<(String, String)> {
        let mut vars = self.base_env(unit, hook);
        vars.push(("JUJU_HOOK_NAME".into(), hook.to_string()));
        vars
    }

    /// Spawns `args` in the unit's hook environment (and network namespace).
    fn spawn_in_unit(
        &self,
        unit: &str,
        args: &[&str],
        vars: Vec<(String, String)>,
        stdin: Option<&str>,
    ) -> HookRun {
        let (program, rest) = args.split_first().expect("run_tool needs a command");
        let mut cmd = match self.netns.get(unit) {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        };
        cmd.args(rest);
        self.spawn(unit, program, cmd, vars, stdin)
    }

    #[track_caller]
    fn action_params(&self, name: &str, given: Value) -> Map<String, Value> {
        let Some(schema) = self.action_schema.get(name) else {
            panic!("simulated model: actions.yaml has no action {name:?}");
        };
        let given = match given {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => panic!("simulated model: action params must be an object, got {other}"),
        };
        let declared = schema
            .get("params")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut params = Map::new();
        for (key, spec) in &declared {
            if let Some(default) = spec.get("default") {
                params.insert(key.clone(), default.clone());
            }
        }
        for (key, value) in given {
            let Some(spec) = declared.get(&key) else {
                panic!("simulated model: action {name} has no parameter {key:?}");
            };
            let ty = spec.get("type").and_then(Value::as_str).unwrap_or("string");
            let ok = match ty {
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                _ => true,
            };
            assert!(
                ok,
                "simulated model: {name} parameter {key} must be {ty}, got {value}"
            );
            if let (Some(min), Some(v)) =
                (spec.get("minimum").and_then(Value::as_f64), value.as_f64())
            {
                assert!(
                    v >= min,
                    "simulated model: {name} parameter {key} must be >= {min}"
                );
            }
            params.insert(key, value);
        }
        params
    }

    fn base_env(&self, unit: &str, name: &str) -> Vec<(String, String)> {
        let state = self.state();
        let principal = state.units.get(unit).and_then(|u| u.principal.clone());
        let host_path =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
        let charm = self.charm_dir(unit);
        let machine = unit.rsplit('/').next().unwrap_or("0").to_string();
        let mut vars: Vec<(String, String)> = vec![
            (
                "PATH".into(),
                format!("{}:{host_path}", self.tools_dir.display()),
            ),
            ("HOME".into(), self.unit_dir(unit).display().to_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TMPDIR".into(), std::env::temp_dir().display().to_string()),
            ("JUJU_CHARM_DIR".into(), charm.display().to_string()),
            ("CHARM_DIR".into(), charm.display().to_string()),
            ("JUJU_UNIT_NAME".into(), unit.to_string()),
            ("JUJU_MODEL_NAME".into(), state.model_name.clone()),
            (
                "JUJU_MODEL_UUID".into(),
                "5a1c0b38-0d5e-4f3b-8b0a-000000000000".into(),
            ),
            ("JUJU_MACHINE_ID".into(), machine),
            ("JUJU_AVAILABILITY_ZONE".into(), "zone-a".into()),
            ("JUJU_VERSION".into(), "3.4.5".into()),
            (
                "JUJU_CONTEXT_ID".into(),
                format!(
                    "{unit}-{name}-{}",
                    CONTEXT_COUNTER.fetch_add(1, Ordering::SeqCst)
                ),
            ),
            ("K8S_VIP_ROOT".into(), self.root(unit).display().to_string()),
            (state::ENV_MODEL_DIR.into(), self.dir.display().to_string()),
            (
                state::ENV_UNIT_DIR.into(),
                self.unit_dir(unit).display().to_string(),
            ),
        ];
        if let Some(p) = principal {
            vars.push(("JUJU_PRINCIPAL_UNIT".into(), p));
        }
        vars
    }

    fn spawn_dispatch(&self, unit: &str, name: &str, vars: Vec<(String, String)>) -> HookRun {
        let dispatch = self.charm_dir(unit).join("dispatch");
        let cmd = match self.netns.get(unit) {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&dispatch);
                c
            }
            None => Command::new(&dispatch),
        };
        self.spawn(unit, name, cmd, vars, None)
    }

    fn spawn(
        &self,
        unit: &str,
        name: &str,
        mut cmd: Command,
        vars: Vec<(String, String)>,
        stdin: Option<&str>,
    ) -> HookRun {
        cmd.env_clear()
            .envs(vars)
            .current_dir(self.charm_dir(unit))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = must(cmd.spawn(), &format!("starting {name} on {unit}"));
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            let _ = pipe.write_all(input.as_bytes());
        }
        let mut out_pipe = child.stdout.take().expect("piped stdout");
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let out_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out_pipe.read_to_string(&mut s);
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err_pipe.read_to_string(&mut s);
            s
        });
        let status = loop {
            if let Some(status) = must(child.try_wait(), "waiting for hook") {
                break status;
            }
            if started.elapsed() > HOOK_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("simulated model: {name} on {unit} ran longer than {HOOK_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let elapsed = started.elapsed();
        HookRun {
            unit: unit.to_string(),
            name: name.to_string(),
            status,
            stdout: out_reader.join().unwrap_or_default(),
            stderr: err_reader.join().unwrap_or_default(),
            elapsed,
        }
    }

    /// Stops every service the systemctl shim really started (real-services mode).
    pub fn stop_services(&self) {
        let Ok(state) = state::read_state(&self.dir) else {
            return;
        };
        for unit in state.units.values() {
            for svc in unit.services.values() {
                // Every process of the service (frr.service has several).
                for (pid, start) in svc.processes() {
                    if !state::same_process_alive(pid, start) {
                        continue;
                    }
                    let group = nix::unistd::Pid::from_raw(pid as i32);
                    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
                    let deadline = Instant::now() + Duration::from_secs(3);
                    while state::same_process_alive(pid, start) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    if state::same_process_alive(pid, start) {
                        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                    }
                }
            }
        }
    }
}

/// `cluster-relation-changed` → `cluster`.
fn relation_endpoint(hook: &str) -> Option<&str> {
    [
        "-relation-created",
        "-relation-joined",
        "-relation-changed",
        "-relation-departed",
        "-relation-broken",
    ]
    .iter()
    .find_map(|suffix| hook.strip_suffix(suffix))
}

impl Drop for Model {
    fn drop(&mut self) {
        self.stop_services();
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
