//! The `systemctl` shim. It records every call and tracks each unit's
//! active/enabled state. When the model runs with real services, start/stop/
//! restart/reload really run the unit file's ExecStart (absolute paths
//! re-rooted under the unit's K8S_VIP_ROOT when they exist there), in the
//! calling hook's network namespace, detached in its own session, with the PID
//! (and its start time, so a reused PID is never signalled) in the state file.

pub(crate) mod frr;
mod process;
mod unit_file;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::state::{self, ModelState, ServiceState};
use crate::{Ctx, Fail, Out};

use process::{reload, signal, start, stop};

/// How long `stop` waits for SIGTERM to work before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Directories searched for unit files under the unit's root, in systemd's order.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

fn normalize(unit: &str) -> String {
    if unit.contains('.') {
        unit.to_string()
    } else {
        format!("{unit}.service")
    }
}

/// Where a unit comes from: a file under the unit's root, or a package the
/// apt-get shim installed (its unit file, if any, is the host's).
enum Source {
    File(PathBuf),
    Package(Option<PathBuf>),
}

fn find_unit(ctx: &Ctx, model: &ModelState, name: &str) -> Option<Source> {
    for dir in UNIT_DIRS {
        let path = ctx.rooted(dir).join(name);
        if path.is_file() {
            return Some(Source::File(path));
        }
    }
    let package = name.strip_suffix(".service")?;
    if model.units.get(&ctx.unit)?.packages.contains(package) {
        let host = UNIT_DIRS
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file());
        return Some(Source::Package(host));
    }
    None
}

fn fail(msg: String, code: u8) -> Fail {
    Fail::raw(format!("{msg}\n"), code)
}

fn read_model(ctx: &Ctx) -> Result<ModelState, Fail> {
    state::read_state(&ctx.model_dir).map_err(|e| fail(e, 1))
}

fn update_service<R>(
    ctx: &Ctx,
    name: &str,
    change: impl FnOnce(&mut ServiceState) -> R,
) -> Result<R, Fail> {
    state::update_state(&ctx.model_dir, |model| {
        let unit = model
            .units
            .get_mut(&ctx.unit)
            .ok_or_else(|| format!("unit {:?} not found", ctx.unit))?;
        Ok(change(unit.services.entry(name.to_string()).or_default()))
    })
    .map_err(|e| fail(e, 1))
}

/// What a systemctl command line asks for.
#[derive(Default)]
struct Invocation {
    /// `--now` (enable/disable also start/stop).
    now: bool,
    /// `-q`/`--quiet`: queries print nothing.
    quiet: bool,
    /// The verb and its units.
    words: Vec<String>,
    /// `-p`/`--property` names, comma lists and repeats merged.
    properties: Vec<String>,
}

impl Invocation {
    fn parse(args: &[String]) -> Invocation {
        let mut inv = Invocation::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let mut wanted = |list: &str| {
                inv.properties.extend(
                    list.split(',')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                )
            };
            match arg.as_str() {
                "--now" => inv.now = true,
                "-q" | "--quiet" => inv.quiet = true,
                "-p" | "--property" => wanted(iter.next().map_or("", String::as_str)),
                a if a.starts_with("--property=") => wanted(&a["--property=".len()..]),
                a if a.starts_with("-p") && a.len() > 2 => wanted(&a[2..]),
                a if a.starts_with('-') => {}
                _ => inv.words.push(arg.clone()),
            }
        }
        inv
    }
}

/// `systemctl [flags] VERB [UNIT...]`.
pub fn systemctl(ctx: &Ctx, args: &[String]) -> Out {
    let Invocation {
        now,
        quiet,
        words,
        properties,
    } = Invocation::parse(args);
    let Some((verb, units)) = words.split_first() else {
        return Err(fail("systemctl: a verb is required".into(), 1));
    };
    let units: Vec<String> = units.iter().map(|u| normalize(u)).collect();
    let mut out = String::new();
    let mut code = 0u8;
    match verb.as_str() {
        "daemon-reload" | "daemon-reexec" | "reset-failed" => {}
        "start"
        | "stop"
        | "restart"
        | "reload"
        | "try-restart"
        | "reload-or-restart"
        | "try-reload-or-restart"
        | "enable"
        | "disable"
        | "mask"
        | "unmask"
        | "kill" => {
            for unit in &units {
                change(ctx, verb, unit, now)?;
            }
        }
        "is-active" | "is-failed" | "is-enabled" | "status" => {
            for unit in &units {
                let (line, ok) = query(ctx, verb, unit)?;
                if !quiet {
                    out.push_str(&line);
                    out.push('\n');
                }
                if !ok {
                    code = if verb == "is-enabled" { 1 } else { 3 };
                }
            }
        }
        "show" => {
            // As systemctl: one block per unit in the order asked, an empty
            // line between blocks, exit 0 even for units that do not exist.
            let blocks: Result<Vec<String>, Fail> =
                units.iter().map(|u| show(ctx, u, &properties)).collect();
            out = blocks?.join("\n");
        }
        other => return Err(fail(format!("Unknown command verb {other}."), 1)),
    }
    if code != 0 {
        print!("{out}");
        return Err(Fail::raw(String::new(), code));
    }
    Ok(out)
}

/// What a package's maintainer scripts do to services when apt-get installs
/// it: `frr` (as Debian's) lays its conffiles under the unit's root and
/// enables and starts frr.service (zebra and staticd, bgpd=no); in
/// real-services mode outside a network namespace it is only enabled.
pub fn package_installed(ctx: &Ctx, package: &str) -> Result<(), Fail> {
    if package != frr::PACKAGE {
        return Ok(());
    }
    frr::lay_conffiles(ctx)?;
    let model = read_model(ctx)?;
    if model.real_services && !frr::can_run(true) {
        return update_service(ctx, frr::UNIT, |s| s.enabled = true);
    }
    change(ctx, "enable", frr::UNIT, true)
}

/// What a package's maintainer scripts do when apt-get removes it: `frr`
/// stops frr.service; a purge also deletes its conffiles.
pub fn package_removed(ctx: &Ctx, package: &str, purge: bool) -> Result<(), Fail> {
    if package != frr::PACKAGE {
        return Ok(());
    }
    change(ctx, "disable", frr::UNIT, true)?;
    if purge {
        frr::remove_conffiles(ctx);
    }
    Ok(())
}

fn alive(svc: &ServiceState) -> bool {
    svc.pid
        .is_some_and(|pid| state::same_process_alive(pid, svc.pid_start))
}

fn is_active(model: &ModelState, svc: &ServiceState) -> bool {
    if model.real_services {
        svc.active && alive(svc)
    } else {
        svc.active
    }
}

/// This unit's record of service `unit` (a default one when it was never
/// touched) and whether it is active now.
fn service(ctx: &Ctx, model: &ModelState, unit: &str) -> (ServiceState, bool) {
    let svc = model
        .units
        .get(&ctx.unit)
        .and_then(|u| u.services.get(unit))
        .cloned()
        .unwrap_or_default();
    let active = is_active(model, &svc);
    (svc, active)
}

fn query(ctx: &Ctx, verb: &str, unit: &str) -> Result<(String, bool), Fail> {
    let model = read_model(ctx)?;
    let (svc, active) = service(ctx, &model, unit);
    Ok(match verb {
        "is-active" => (if active { "active" } else { "inactive" }.into(), active),
        "is-failed" => {
            let failed = svc.active && !active;
            (
                if failed {
                    "failed"
                } else if active {
                    "active"
                } else {
                    "inactive"
                }
                .into(),
                failed,
            )
        }
        "is-enabled" => {
            if svc.masked {
                ("masked".into(), false)
            } else {
                (
                    if svc.enabled { "enabled" } else { "disabled" }.into(),
                    svc.enabled,
                )
            }
        }
        _ => {
            if find_unit(ctx, &model, unit).is_none() {
                (format!("Unit {unit} could not be found."), false)
            } else {
                let state = if active {
                    "active (running)"
                } else {
                    "inactive (dead)"
                };
                (format!("● {unit}\n     Active: {state}"), active)
            }
        }
    })
}

/// `systemctl show UNIT`: the properties the fake knows, in systemd's order,
/// only those in `wanted` when the caller passed `--property` (then shown
/// even when empty, as systemctl does).
fn show(ctx: &Ctx, unit: &str, wanted: &[String]) -> Result<String, Fail> {
    let model = read_model(ctx)?;
    let (svc, active) = service(ctx, &model, unit);
    let found = find_unit(ctx, &model, unit).is_some();
    let active_state = if active {
        "active"
    } else if svc.active {
        "failed"
    } else {
        "inactive"
    };
    let file_state = if svc.masked {
        "masked"
    } else if svc.enabled {
        "enabled"
    } else if found {
        "disabled"
    } else {
        ""
    };
    let main_pid = if active { svc.pid.unwrap_or(0) } else { 0 };
    let properties = [
        ("MainPID", main_pid.to_string()),
        ("Id", unit.to_string()),
        (
            "LoadState",
            if found || svc.masked {
                if svc.masked {
                    "masked"
                } else {
                    "loaded"
                }
            } else {
                "not-found"
            }
            .to_string(),
        ),
        ("ActiveState", active_state.to_string()),
        ("UnitFileState", file_state.to_string()),
    ];
    Ok(properties
        .iter()
        .filter(|(name, value)| {
            if wanted.is_empty() {
                !value.is_empty()
            } else {
                wanted.iter().any(|w| w == name)
            }
        })
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect())
}

fn change(ctx: &Ctx, verb: &str, unit: &str, now: bool) -> Result<(), Fail> {
    let model = read_model(ctx)?;
    let (svc, active) = service(ctx, &model, unit);
    let needs_unit = !matches!(verb, "stop" | "disable" | "mask" | "unmask" | "kill");
    let source = find_unit(ctx, &model, unit);
    if needs_unit && source.is_none() {
        let what = match verb {
            "enable" => "enable unit",
            v => v,
        };
        return Err(fail(
            format!("Failed to {what} {unit}: Unit {unit} not found."),
            if verb == "enable" { 1 } else { 5 },
        ));
    }
    if svc.masked && matches!(verb, "start" | "restart" | "reload-or-restart" | "enable") {
        return Err(fail(
            format!("Failed to {verb} {unit}: Unit {unit} is masked."),
            1,
        ));
    }
    match verb {
        "start" if !active => start(ctx, &model, unit, source)?,
        "stop" => stop(ctx, &model, unit, &svc)?,
        "restart" => {
            stop(ctx, &model, unit, &svc)?;
            start(ctx, &model, unit, source)?;
        }
        "try-restart" if active => {
            stop(ctx, &model, unit, &svc)?;
            start(ctx, &model, unit, source)?;
        }
        "reload" => {
            if !active {
                return Err(fail(
                    format!("Failed to reload {unit}: Unit {unit} is not active, cannot reload."),
                    1,
                ));
            }
            reload(ctx, &model, unit, &svc, source)?;
        }
        "reload-or-restart" | "try-reload-or-restart" => {
            if active {
                reload(ctx, &model, unit, &svc, source)?;
            } else if verb == "reload-or-restart" {
                start(ctx, &model, unit, source)?;
            }
        }
        "enable" => {
            update_service(ctx, unit, |s| s.enabled = true)?;
            if now && !active {
                start(ctx, &model, unit, source)?;
            }
        }
        "disable" => {
            update_service(ctx, unit, |s| s.enabled = false)?;
            if now {
                stop(ctx, &model, unit, &svc)?;
            }
        }
        "mask" => update_service(ctx, unit, |s| s.masked = true)?,
        "unmask" => update_service(ctx, unit, |s| s.masked = false)?,
        "kill" if model.real_services && alive(&svc) => signal(&svc, Signal::SIGTERM),
        _ => {}
    }
    Ok(())
}

/// Runs in the child between fork and exec, as systemd prepares a service:
/// a session of its own (the service outlives the hook) and every signal at
/// its default disposition and unblocked. Without the reset a service
/// inherits what the test runner ignores (`nohup` ignores SIGHUP, and a
/// shell cannot trap a signal ignored at its start), so `ExecReload=kill
/// -HUP` would do nothing.
fn prepare_service_process() -> std::io::Result<()> {
    use nix::sys::signal::{signal, sigprocmask, SigHandler, SigSet, SigmaskHow, Signal};
    nix::unistd::setsid().map_err(std::io::Error::from)?;
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: SIG_DFL installs no handler; sigaction is async-signal-safe.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None).map_err(std::io::Error::from)
}
