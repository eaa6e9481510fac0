//! [`Plan`]: everything a hook should change, and the step types it is made
//! of (files, copies, sysctls, systemd steps, relation data). Performed by
//! `charm::apply`; every step is idempotent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::service::ServiceState;
use super::status::Status;

/// A file to have on the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// On-unit absolute path.
    pub path: String,
    /// Exact content.
    pub content: String,
    /// Permission bits.
    pub mode: u32,
}

/// A program that must accept a rendered file before it replaces the old
/// one (`keepalived --config-test`, `k8s-vip agent --check`, `haproxy -c`).
///
/// Why: a file its program refuses would be found out only at the next
/// restart, on every unit at once; checked first, the old file stays in
/// place and the unit says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    /// The program: a name looked up on PATH, or [`Validator::SELF`].
    pub program: String,
    /// Its arguments; [`Validator::FILE`] stands for the new file's path.
    pub args: Vec<String>,
}

impl Validator {
    /// Stands for this very binary (the charm's `k8s-vip`).
    pub const SELF: &'static str = "k8s-vip";
    /// Stands for the path of the new file in [`Validator::args`].
    pub const FILE: &'static str = "{file}";

    fn new(program: &str, args: &[&str]) -> Validator {
        Validator {
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// `keepalived --config-test -f FILE`.
    pub fn keepalived() -> Validator {
        Validator::new("keepalived", &["--config-test", "-f", Validator::FILE])
    }

    /// `k8s-vip agent --config FILE --check` (this binary).
    pub fn agent() -> Validator {
        Validator::new(
            Validator::SELF,
            &["agent", "--config", Validator::FILE, "--check"],
        )
    }

    /// `haproxy -c -f FILE`.
    pub fn haproxy() -> Validator {
        Validator::new("haproxy", &["-c", "-f", Validator::FILE])
    }

    /// The command as the operator would type it, for messages.
    pub fn describe(&self) -> String {
        let args: Vec<&str> = self
            .args
            .iter()
            .map(|a| if a == Validator::FILE { "FILE" } else { a })
            .collect();
        format!("{} {}", self.program, args.join(" "))
    }
}

/// A planned file whose new content must pass `validator` before it
/// replaces the old one; while refused, the steps of `holds` (the services
/// that read it) wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    /// On-unit path (one of the plan's files).
    pub path: String,
    /// The program that checks it.
    pub validator: Validator,
    /// systemd units whose steps wait while the new file is refused.
    pub holds: Vec<String>,
}

/// What to do to a systemd unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    /// `systemctl daemon-reload` (unit name ignored).
    DaemonReload,
    /// `systemctl enable`.
    Enable,
    /// `systemctl disable`.
    Disable,
    /// `systemctl start`.
    Start,
    /// `systemctl stop`.
    Stop,
    /// `systemctl restart`.
    Restart,
    /// `systemctl reload` (SIGHUP for the agent).
    Reload,
    /// Hitless restart: ask the agent to hand over (exit keeping its VIPs),
    /// then `systemctl restart` so the new binary adopts them.
    HandoverRestart,
}

/// When a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// Every time.
    Always,
    /// Only if one of `any_of` changed during this apply and none of `unless` did.
    Changed {
        /// Paths whose change triggers the step.
        any_of: Vec<String>,
        /// Paths whose change makes the step unnecessary (a restart covers a reload).
        unless: Vec<String>,
    },
}

impl When {
    /// Runs when `path` changed.
    pub fn changed(path: &str) -> When {
        When::Changed {
            any_of: vec![path.to_string()],
            unless: Vec::new(),
        }
    }
}

/// One systemd step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceOp {
    /// Unit name (`k8s-vip-agent.service`).
    pub unit: String,
    /// The action.
    pub action: ServiceAction,
    /// Its condition.
    pub when: When,
}

impl ServiceOp {
    /// Shorthand constructor.
    pub fn new(unit: &str, action: ServiceAction, when: When) -> ServiceOp {
        ServiceOp {
            unit: unit.to_string(),
            action,
            when,
        }
    }

    /// Takes a service out of use: stop it if it runs, disable it if it is
    /// enabled, nothing for what is already off (a hook with nothing to do
    /// runs no systemctl).
    pub fn take_out_of_use(unit: &str, state: &ServiceState) -> Vec<ServiceOp> {
        let mut ops = Vec::new();
        if state.active {
            ops.push(ServiceOp::new(unit, ServiceAction::Stop, When::Always));
        }
        if state.enabled {
            ops.push(ServiceOp::new(unit, ServiceAction::Disable, When::Always));
        }
        ops
    }
}

/// A program to run when a file it applies changed, for a daemon whose
/// in-place reload is not a systemd step (FRR's `frr-reload.py`, which
/// applies the difference without restarting bgpd, so sessions stay up).
/// Runs after the systemd steps; a failure fails the hook with its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOp {
    /// The systemd unit whose daemons it acts on: it waits, like that
    /// unit's steps, while a file the unit reads is refused.
    pub unit: String,
    /// The program (an absolute path).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its condition.
    pub when: When,
}

/// One sysctl step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysctlOp {
    /// `sysctl -p FILE` when FILE changed.
    LoadWhenChanged(String),
    /// `sysctl -w KEY=VALUE`.
    Set(String, String),
}

/// Relation data to set (only the keys that change; "" deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSet {
    /// Relation id.
    pub relation_id: String,
    /// Application bag (leader only) instead of unit bag.
    pub app: bool,
    /// Keys to set.
    pub data: BTreeMap<String, String>,
}

/// A file to copy from the charm onto the unit (the agent binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    /// Source (a real path in the charm directory).
    pub from: PathBuf,
    /// On-unit destination.
    pub to: String,
    /// Permission bits.
    pub mode: u32,
}

/// Everything a hook should change: the steps of every planner's [`Part`]
/// merged in order ([`Plan::add`]), plus what only the whole plan decides
/// (statuses, the closing daemon-reload, the workload version).
///
/// The steps are one `Part` rather than a copy of its fields, so a new kind
/// of step is declared once; `Plan` derefs to it, so `plan.files` reads the
/// merged files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every planner's steps, merged.
    pub steps: Part,
    /// `systemctl daemon-reload` after removing unit files (when one was removed).
    pub final_daemon_reload: bool,
    /// The unit status.
    pub unit_status: Status,
    /// The application status (leader only).
    pub app_status: Option<Status>,
    /// `application-version-set` (at install and upgrade only).
    pub workload_version: Option<String>,
}

impl Plan {
    /// A plan that changes nothing and sets `status`.
    pub fn empty(status: Status) -> Plan {
        Plan {
            steps: Part::default(),
            final_daemon_reload: false,
            unit_status: status,
            app_status: None,
            workload_version: None,
        }
    }

    /// Appends `part`'s steps after the plan's own (a package already to be
    /// installed is not listed twice).
    pub fn add(&mut self, part: Part) {
        self.steps.append(part);
    }
}

impl std::ops::Deref for Plan {
    type Target = Part;

    fn deref(&self) -> &Part {
        &self.steps
    }
}

impl std::ops::DerefMut for Plan {
    fn deref_mut(&mut self) -> &mut Part {
        &mut self.steps
    }
}

/// One planner's share of a [`Plan`]: what one concern (the VIP agent,
/// keepalived, the host's sysctls, a relation protocol, ...) wants changed.
/// `charm::plan` merges the parts in a fixed order with [`Plan::add`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// Packages to `apt-get install` (each once, in order).
    pub install_packages: Vec<String>,
    /// Files to have (written only when different).
    pub files: Vec<FileSpec>,
    /// Files to copy (written only when different).
    pub copies: Vec<CopySpec>,
    /// Files checked by their own program before they replace the old ones.
    pub file_checks: Vec<CheckedFile>,
    /// Sysctl steps.
    pub sysctls: Vec<SysctlOp>,
    /// systemd steps, in order.
    pub services: Vec<ServiceOp>,
    /// Programs run after the systemd steps, in order.
    pub commands: Vec<CommandOp>,
    /// Files to delete (after the services steps).
    pub remove_files: Vec<String>,
    /// Directories to delete recursively (after the files).
    pub remove_dirs: Vec<String>,
    /// Packages to `apt-get purge`.
    pub purge_packages: Vec<String>,
    /// Relation data to set.
    pub relation_sets: Vec<RelationSet>,
    /// Lines for `juju-log`.
    pub logs: Vec<String>,
}

impl Part {
    /// Adds a file to have.
    pub fn file(&mut self, path: &str, content: String, mode: u32) {
        self.files.push(FileSpec {
            path: path.to_string(),
            content,
            mode,
        });
    }

    /// Adds a file that `validator` must accept before it replaces the old
    /// one; the steps of the `holds` services wait while it is refused.
    pub fn checked_file(
        &mut self,
        path: &str,
        content: String,
        mode: u32,
        validator: Validator,
        holds: &[&str],
    ) {
        self.file(path, content, mode);
        self.file_checks.push(CheckedFile {
            path: path.to_string(),
            validator,
            holds: holds.iter().map(|h| h.to_string()).collect(),
        });
    }

    /// Appends `other`'s steps after these (a package already to be
    /// installed is not listed twice).
    pub fn append(&mut self, other: Part) {
        for pkg in other.install_packages {
            if !self.install_packages.contains(&pkg) {
                self.install_packages.push(pkg);
            }
        }
        self.files.extend(other.files);
        self.copies.extend(other.copies);
        self.file_checks.extend(other.file_checks);
        self.sysctls.extend(other.sysctls);
        self.services.extend(other.services);
        self.commands.extend(other.commands);
        self.remove_files.extend(other.remove_files);
        self.remove_dirs.extend(other.remove_dirs);
        self.purge_packages.extend(other.purge_packages);
        self.relation_sets.extend(other.relation_sets);
        self.logs.extend(other.logs);
    }
}
