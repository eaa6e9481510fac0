//! The one seam through which a hook changes the unit: files under
//! `$K8S_VIP_ROOT` (default `/`) and the commands `apt-get`, `systemctl` and
//! `sysctl` found on `PATH`. Tests point the root at a temporary directory and
//! put recording shims first on `PATH`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

/// Environment variable naming the root directory for every on-unit path.
pub const ROOT_ENV: &str = "K8S_VIP_ROOT";

/// Result of running a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    /// Exit status (-1 when killed by a signal).
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// What `systemctl` says of one unit: the two facts a plan looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitState {
    /// `is-active` would succeed (ActiveState active or reloading).
    pub active: bool,
    /// `is-enabled` would succeed (enabled, static, alias, ...).
    pub enabled: bool,
}

/// Service and package facts read in one batch by [`System::learn_services`]
/// and [`System::learn_packages`], so later questions cost no process.
#[derive(Debug, Clone, Default)]
struct Known {
    services: HashMap<String, UnitState>,
    packages: HashMap<String, bool>,
}

/// The unit's file system and commands.
#[derive(Debug, Clone)]
pub struct System {
    root: PathBuf,
    known: RefCell<Known>,
}

impl System {
    /// The system rooted at `$K8S_VIP_ROOT`, else `/`.
    pub fn from_env() -> System {
        let root = std::env::var_os(ROOT_ENV)
            .filter(|r| !r.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        System::with_root(root)
    }

    /// A system rooted at `root` (tests).
    pub fn with_root(root: impl Into<PathBuf>) -> System {
        System {
            root: root.into(),
            known: RefCell::default(),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real path of the on-unit absolute path `p`.
    pub fn path(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    /// Whether an on-unit path exists.
    pub fn exists(&self, p: &str) -> bool {
        self.path(p).exists()
    }

    /// Reads an on-unit text file; None when absent or unreadable.
    pub fn read(&self, p: &str) -> Option<String> {
        fs::read_to_string(self.path(p)).ok()
    }

    /// Writes `content` to on-unit path `p` atomically (temp file + rename in
    /// the same directory) with `mode`, only when content or mode differ.
    /// Returns whether anything changed.
    pub fn write_if_changed(&self, p: &str, content: &[u8], mode: u32) -> anyhow::Result<bool> {
        let dest = self.path(p);
        if let Ok(meta) = fs::metadata(&dest) {
            let same_mode = meta.permissions().mode() & 0o7777 == mode;
            if same_mode && fs::read(&dest).is_ok_and(|old| old == content) {
                return Ok(false);
            }
        }
        write_atomic(&dest, content, mode)?;
        Ok(true)
    }

    /// Copies the real file `from` to on-unit `to` atomically when different.
    pub fn copy_if_changed(&self, from: &Path, to: &str, mode: u32) -> anyhow::Result<bool> {
        let content = fs::read(from).with_context(|| format!("reading {}", from.display()))?;
        self.write_if_changed(to, &content, mode)
    }

    /// Removes an on-unit file; returns whether it existed.
    pub fn remove_file(&self, p: &str) -> anyhow::Result<bool> {
        match fs::remove_file(self.path(p)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing {p}")),
        }
    }

    /// Removes an on-unit directory tree; returns whether it existed.
    pub fn remove_dir_all(&self, p: &str) -> anyhow::Result<bool> {
        match fs::remove_dir_all(self.path(p)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing {p}")),
        }
    }

    /// Runs `program` (looked up on PATH) with `args`. A command that may
    /// change services or packages makes the facts learnt about them stale.
    pub fn run<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> anyhow::Result<CmdOutput> {
        self.forget_changed_by(program, args);
        let out = Command::new(program)
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .with_context(|| format!("cannot run {program}"))?;
        Ok(CmdOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs a command that must succeed.
    pub fn run_ok<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> anyhow::Result<CmdOutput> {
        let out = self.run(program, args)?;
        if out.status != 0 {
            let shown: Vec<String> = args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect();
            bail!(
                "{program} {} failed (exit {}): {}",
                shown.join(" "),
                out.status,
                out.stderr.trim()
            );
        }
        Ok(out)
    }

    /// Whether dpkg knows `package` as installed.
    pub fn package_installed(&self, package: &str) -> bool {
        if let Some(known) = self.known.borrow().packages.get(package) {
            return *known;
        }
        self.run("dpkg-query", &["-W", "-f=${Status}", package])
            .is_ok_and(|o| o.status == 0 && o.stdout.contains("install ok installed"))
    }

    /// `systemctl is-active UNIT` succeeded.
    pub fn is_active(&self, unit: &str) -> bool {
        if let Some(known) = self.known.borrow().services.get(unit) {
            return known.active;
        }
        self.run("systemctl", &["is-active", "--quiet", unit])
            .is_ok_and(|o| o.status == 0)
    }

    /// `systemctl is-enabled UNIT` succeeded.
    pub fn is_enabled(&self, unit: &str) -> bool {
        if let Some(known) = self.known.borrow().services.get(unit) {
            return known.enabled;
        }
        self.run("systemctl", &["is-enabled", "--quiet", unit])
            .is_ok_and(|o| o.status == 0)
    }

    /// Asks systemd about every unit in `units` with one `systemctl show`, so
    /// that [`System::is_active`] and [`System::is_enabled`] answer them
    /// without a process each. When the answer cannot be read unit by unit
    /// nothing is learnt and those questions go to systemctl one by one.
    pub fn learn_services(&self, units: &[&str]) {
        if units.is_empty() {
            return;
        }
        let mut args = vec!["show", "--property=Id,ActiveState,UnitFileState"];
        args.extend(units);
        let Ok(out) = self.run("systemctl", &args) else {
            return;
        };
        if out.status != 0 {
            return;
        }
        if let Some(states) = parse_show(&out.stdout, units.len()) {
            let mut known = self.known.borrow_mut();
            for (unit, state) in units.iter().zip(states) {
                known.services.insert(unit.to_string(), state);
            }
        }
    }

    /// Asks dpkg about every package in `packages` with one `dpkg-query`, so
    /// that [`System::package_installed`] answers them without a process each.
    pub fn learn_packages(&self, packages: &[&str]) {
        if packages.is_empty() {
            return;
        }
        let mut args = vec!["-W", r"--showformat=${Package}\t${Status}\n"];
        args.extend(packages);
        // dpkg-query exits 1 when some package is unknown to dpkg and still
        // prints the others: every package not printed as installed is not.
        let Ok(out) = self.run("dpkg-query", &args) else {
            return;
        };
        if out.status > 1 {
            return;
        }
        let installed = parse_dpkg_status(&out.stdout);
        let mut known = self.known.borrow_mut();
        for p in packages {
            known
                .packages
                .insert(p.to_string(), installed.iter().any(|i| i == p));
        }
    }

    /// Drops what was learnt about services when `program args` may change a
    /// service (anything but a systemctl query), and about packages too when
    /// it is apt-get or dpkg.
    fn forget_changed_by<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) {
        let query = |a: &S| {
            let a = a.as_ref().to_string_lossy();
            SYSTEMCTL_QUERIES.contains(&a.as_ref())
        };
        let changes_services = match program {
            "systemctl" => !args.iter().any(query),
            "apt-get" | "dpkg" => true,
            _ => false,
        };
        if changes_services {
            let mut known = self.known.borrow_mut();
            known.services.clear();
            if program != "systemctl" {
                known.packages.clear();
            }
        }
    }
}

/// systemctl verbs that only read.
const SYSTEMCTL_QUERIES: &[&str] = &["show", "is-active", "is-enabled", "is-failed", "status"];

/// Reads `systemctl show --property=...` output for `n` units: one block of
/// `Key=value` lines per unit, in the order asked, separated by empty lines.
/// None unless there are exactly `n` blocks.
fn parse_show(text: &str, n: usize) -> Option<Vec<UnitState>> {
    let blocks: Vec<UnitState> = text
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let value = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or("")
            };
            UnitState {
                // As `systemctl is-active` and `is-enabled` decide success.
                active: matches!(value("ActiveState"), "active" | "reloading" | "refreshing"),
                enabled: matches!(
                    value("UnitFileState"),
                    "enabled"
                        | "enabled-runtime"
                        | "static"
                        | "alias"
                        | "indirect"
                        | "generated"
                        | "transient"
                ),
            }
        })
        .collect();
    (blocks.len() == n).then_some(blocks)
}

/// The packages dpkg-query printed as `PACKAGE\tinstall ok installed`.
fn parse_dpkg_status(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(_, status)| status.trim() == "install ok installed")
        .map(|(p, _)| p.trim().to_string())
        .collect()
}

/// Writes through a temporary file in the destination's directory, fsyncs, renames.
fn write_atomic(dest: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = dest
        .parent()
        .with_context(|| format!("{} has no parent directory", dest.display()))?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.k8s-vip-tmp.{}", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(content)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        fs::rename(&tmp, dest)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", dest.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_blocks_map_to_units_in_order() {
        let out = "ActiveState=active\nUnitFileState=enabled\nId=a.service\n\n\
                   Id=b.service\nActiveState=reloading\nUnitFileState=static\n\n\
                   Id=c.service\nActiveState=failed\nUnitFileState=masked\n\n\
                   Id=d.service\nActiveState=inactive\nUnitFileState=\n";
        let states = parse_show(out, 4).expect("four blocks");
        let pairs: Vec<(bool, bool)> = states.iter().map(|s| (s.active, s.enabled)).collect();
        assert_eq!(
            pairs,
            [(true, true), (true, true), (false, false), (false, false)]
        );
        assert_eq!(parse_show(out, 3), None, "a block count that differs");
    }

    #[test]
    fn dpkg_status_lines_name_installed_packages_only() {
        let out = "haproxy\tinstall ok installed\nkeepalived\tdeinstall ok config-files\n";
        assert_eq!(parse_dpkg_status(out), ["haproxy"]);
    }

    #[test]
    fn a_change_forgets_what_was_learnt() {
        let sys = System::with_root("/nonexistent");
        sys.known.borrow_mut().services.insert(
            "a.service".into(),
            UnitState {
                active: true,
                enabled: true,
            },
        );
        sys.known.borrow_mut().packages.insert("p".into(), true);
        sys.forget_changed_by("systemctl", &["is-active", "a.service"]);
        assert!(sys.is_active("a.service"), "a query keeps it");
        sys.forget_changed_by("systemctl", &["restart", "a.service"]);
        assert!(sys.known.borrow().services.is_empty());
        assert!(sys.package_installed("p"), "systemctl keeps packages");
        sys.forget_changed_by("apt-get", &["install", "q"]);
        assert!(sys.known.borrow().packages.is_empty());
    }
}
