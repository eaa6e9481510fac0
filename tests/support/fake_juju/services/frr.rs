//! `frr.service` in real-services mode. The distribution's unit runs
//! `frrinit.sh`, which starts watchfrr and the daemons with the host's paths
//! (/etc/frr, /var/run/frr); here each daemon the unit's
//! `root/etc/frr/daemons` enables (zebra and staticd always, as frrinit does)
//! starts daemonised (`-d`) with every path under the unit's root:
//! `-u root -g frrvty --vty_socket ROOT/run/frr -z ROOT/run/frr/zserv.api
//! -i ROOT/run/frr/NAME.pid -f ROOT/etc/frr/NAME.conf` (plus bfdd's
//! `--bfdctl ROOT/run/frr/bfdd.sock`), logging to
//! `<unit dir>/services/frr-NAME.log`; then `ROOT/etc/frr/frr.conf` is
//! loaded with `vtysh -b` on the same sockets. `stop` signals exactly the
//! PIDs recorded at start; `reload` starts newly enabled daemons, stops
//! disabled ones and runs `frr-reload.py` on the unit's paths, as the
//! distribution's `ExecReload` does.
//!
//! FRR changes the routing table of the namespace it runs in, so it only
//! starts when the hook runs in a network namespace of its own.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::fail;
use crate::state::{self, ServiceState};
use crate::{Ctx, Fail};

/// The systemd unit handled here.
pub(crate) const UNIT: &str = "frr.service";
/// The package that brings it.
pub(crate) const PACKAGE: &str = "frr";
/// Where the package puts the daemons.
const BIN_DIR: &str = "/usr/lib/frr";
/// frrcommon.sh's list, in its start order.
const DAEMONS: &[&str] = &[
    "zebra", "bgpd", "ripd", "ripngd", "ospfd", "ospf6d", "isisd", "babeld", "pimd", "pim6d",
    "ldpd", "nhrpd", "eigrpd", "sharpd", "pbrd", "staticd", "bfdd", "fabricd", "vrrpd", "pathd",
];
/// The group Debian's FRR is built to require of its user (with `-g` the
/// given group counts, so root may run the daemons).
const VTY_GROUP: &str = "frrvty";
/// How long a daemon may take to answer on its vty socket.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long vtysh -b or frr-reload.py may run.
const APPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// One started daemon: its name and process.
pub(super) struct Started {
    pub(super) name: String,
    pub(super) pid: u32,
    pub(super) start: Option<u64>,
}

/// The daemons `ROOT/etc/frr/daemons` enables (zebra and staticd always),
/// each with its `NAME_options` words, in frrcommon's order.
fn enabled_daemons(ctx: &Ctx) -> Result<Vec<(String, Vec<String>)>, Fail> {
    let path = ctx.rooted("/etc/frr/daemons");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        fail(
            format!(
                "Failed to start {UNIT}: cannot read {}: {e}",
                path.display()
            ),
            1,
        )
    })?;
    let value = |key: &str| {
        text.lines()
            .map(str::trim)
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .next_back()
    };
    Ok(DAEMONS
        .iter()
        .filter(|d| {
            matches!(**d, "zebra" | "staticd")
                || value(d).is_some_and(|v| !v.is_empty() && v != "no" && v != "0")
        })
        .filter(|d| Path::new(BIN_DIR).join(d).exists())
        .map(|d| {
            let opts = value(&format!("{d}_options")).unwrap_or_default();
            (
                d.to_string(),
                opts.split_whitespace().map(str::to_string).collect(),
            )
        })
        .collect())
}

fn run_dir(ctx: &Ctx) -> PathBuf {
    ctx.rooted("/run/frr")
}

fn log_path(ctx: &Ctx, name: &str) -> PathBuf {
    ctx.unit_dir
        .join("services")
        .join(format!("frr-{name}.log"))
}

/// The command line of daemon `name` with every path under the unit's root.
fn daemon_command(ctx: &Ctx, name: &str, options: &[String]) -> Vec<String> {
    let run = run_dir(ctx).display().to_string();
    let conf = ctx.rooted(&format!("/etc/frr/{name}.conf"));
    let mut args = vec![
        Path::new(BIN_DIR).join(name).display().to_string(),
        "-d".into(),
    ];
    args.extend(options.iter().cloned());
    args.extend([
        "-u".into(),
        "root".into(),
        "-g".into(),
        VTY_GROUP.into(),
        "--vty_socket".into(),
        run.clone(),
        "-z".into(),
        format!("{run}/zserv.api"),
        "-i".into(),
        format!("{run}/{name}.pid"),
        "-f".into(),
        conf.display().to_string(),
        "--log".into(),
        format!("file:{}", log_path(ctx, name).display()),
    ]);
    if name == "bfdd" {
        args.push("--bfdctl".into());
        args.push(format!("{run}/bfdd.sock"));
    }
    args
}

/// True when this process runs in a named network namespace (one of
/// /run/netns, where `ip netns` keeps them; `Model::set_netns` runs hooks in
/// one). Comparing with init's namespace would need ptrace rights on PID 1.
fn in_own_netns() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(mine) = std::fs::metadata("/proc/self/ns/net") else {
        return false;
    };
    let Ok(named) = std::fs::read_dir("/run/netns") else {
        return false;
    };
    named
        .flatten()
        .filter_map(|e| std::fs::metadata(e.path()).ok())
        .any(|m| m.dev() == mine.dev() && m.ino() == mine.ino())
}

/// Runs `args` to completion within `timeout`, output appended to the
/// service log; Err with the reason when it fails.
fn run_logged(ctx: &Ctx, args: &[String], timeout: Duration, setsid: bool) -> Result<(), String> {
    let (program, rest) = args.split_first().ok_or("empty command")?;
    let log = ctx.unit_dir.join("services").join(format!("{UNIT}.log"));
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))
    };
    let mut cmd = Command::new(program);
    cmd.args(rest)
        .current_dir(&ctx.root)
        .stdin(Stdio::null())
        .stdout(open()?)
        .stderr(open()?);
    if setsid {
        // SAFETY: setsid, sigaction and sigprocmask are async-signal-safe;
        // the daemon starts as systemd would start it and outlives the hook.
        unsafe {
            cmd.pre_exec(super::prepare_service_process);
        }
    }
    let mut child = cmd.spawn().map_err(|e| format!("{program}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{program} exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} ran longer than {timeout:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Starts daemon `name` and waits until it answers on its vty socket.
fn start_daemon(ctx: &Ctx, name: &str, options: &[String]) -> Result<Started, String> {
    let pid_file = run_dir(ctx).join(format!("{name}.pid"));
    let _ = std::fs::remove_file(&pid_file);
    // With -d the command returns once the daemon has detached.
    run_logged(
        ctx,
        &daemon_command(ctx, name, options),
        READY_TIMEOUT,
        true,
    )?;
    let vty = run_dir(ctx).join(format!("{name}.vty"));
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        if let Some(pid) = pid {
            if std::os::unix::net::UnixStream::connect(&vty).is_ok() {
                let start = state::process_start_time(pid);
                if start.is_some() {
                    return Ok(Started {
                        name: name.to_string(),
                        pid,
                        start,
                    });
                }
                return Err(format!("{name} (pid {pid}) exited at start"));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{name} did not answer on {} within {READY_TIMEOUT:?}",
                vty.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `vtysh` with the unit's config dir and sockets, then `extra`.
fn vtysh(ctx: &Ctx, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "vtysh".to_string(),
        "--config_dir".into(),
        ctx.rooted("/etc/frr").display().to_string(),
        "--vty_socket".into(),
        run_dir(ctx).display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Starts FRR for the calling unit; the daemons started, zebra first. A
/// daemon that fails to start stops the ones started before it.
pub(super) fn start(ctx: &Ctx) -> Result<Vec<Started>, Fail> {
    if !in_own_netns() {
        return Err(fail(
            format!(
                "Failed to start {UNIT}: the simulated model runs FRR only for a unit in a \
                 network namespace of its own (Model::set_netns); it would change this \
                 machine's routes"
            ),
            1,
        ));
    }
    let run = run_dir(ctx);
    std::fs::create_dir_all(&run)
        .and_then(|_| std::fs::create_dir_all(ctx.unit_dir.join("services")))
        .map_err(|e| fail(format!("Failed to start {UNIT}: {e}"), 1))?;
    let mut started = Vec::new();
    for (name, options) in enabled_daemons(ctx)? {
        match start_daemon(ctx, &name, &options) {
            Ok(s) => started.push(s),
            Err(why) => {
                stop_started(&started);
                return Err(fail(format!("Failed to start {UNIT}: {why}"), 1));
            }
        }
    }
    let names: Vec<&str> = started.iter().map(|s| s.name.as_str()).collect();
    log_line(ctx, &format!("started {}", names.join(", ")));
    // As frrinit.sh: the integrated config is applied with `vtysh -b`; a
    // config vtysh rejects is logged and the daemons keep running.
    if ctx.rooted("/etc/frr/frr.conf").is_file() {
        if let Err(why) = run_logged(ctx, &vtysh(ctx, &["-b"]), APPLY_TIMEOUT, false) {
            log_line(ctx, &format!("applying frr.conf with vtysh -b: {why}"));
        }
    }
    Ok(started)
}

/// Appends one line to the service's log (`<unit dir>/services/frr.service.log`).
fn log_line(ctx: &Ctx, line: &str) {
    use std::io::Write;
    let path = ctx.unit_dir.join("services").join(format!("{UNIT}.log"));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

fn stop_started(started: &[Started]) {
    let procs: Vec<(u32, Option<u64>)> = started.iter().map(|s| (s.pid, s.start)).collect();
    super::process::terminate(&procs);
}

/// The daemon name of a recorded process (from its command line).
fn daemon_of(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = cmdline.split(|b| *b == 0).next()?;
    let name = String::from_utf8_lossy(argv0);
    Some(name.rsplit('/').next()?.to_string())
}

/// `systemctl reload frr.service`: daemons newly enabled in the daemons file
/// start, disabled ones stop, then `frr-reload.py --reload` applies
/// `ROOT/etc/frr/frr.conf` to the running daemons (no restart). Returns the
/// processes now running (zebra first).
pub(super) fn reload(ctx: &Ctx, svc: &ServiceState) -> Result<Vec<(u32, Option<u64>)>, Fail> {
    let failed = |why: String| {
        fail(
            format!(
                "Job for {UNIT} failed because the control process exited with error code.\n{why}"
            ),
            1,
        )
    };
    let wanted = enabled_daemons(ctx)?;
    let mut running: Vec<(u32, Option<u64>)> = Vec::new();
    let mut unwanted = Vec::new();
    let mut names = Vec::new();
    for (pid, start) in svc.processes() {
        if !state::same_process_alive(pid, start) {
            continue;
        }
        let name = daemon_of(pid).unwrap_or_default();
        if wanted.iter().any(|(w, _)| *w == name) {
            running.push((pid, start));
            names.push(name);
        } else {
            unwanted.push((pid, start));
        }
    }
    super::process::terminate(&unwanted);
    for (name, options) in wanted.iter().filter(|(w, _)| !names.contains(w)) {
        let s = start_daemon(ctx, name, options).map_err(&failed)?;
        running.push((s.pid, s.start));
    }
    let conf = ctx.rooted("/etc/frr");
    let args: Vec<String> = [
        "/usr/lib/frr/frr-reload.py",
        "--reload",
        "--stdout",
        "--confdir",
        &conf.display().to_string(),
        "--rundir",
        &run_dir(ctx).display().to_string(),
        "--vty_socket",
        &run_dir(ctx).display().to_string(),
        "--bindir",
        "/usr/bin",
        &conf.join("frr.conf").display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run_logged(ctx, &args, APPLY_TIMEOUT, false).map_err(&failed)?;
    Ok(running)
}

/// The conffiles of Debian 12's `frr` 8.4.4 package, as it installs them.
const CONFFILES: &[(&str, &str)] = &[
    ("/etc/frr/daemons", include_str!("frr_conffiles/daemons")),
    ("/etc/frr/frr.conf", include_str!("frr_conffiles/frr.conf")),
    (
        "/etc/frr/vtysh.conf",
        include_str!("frr_conffiles/vtysh.conf"),
    ),
];

/// What dpkg does with the package's conffiles on install: each is written
/// under the unit's root unless a file is already there (kept, as dpkg keeps
/// a changed conffile).
pub(crate) fn lay_conffiles(ctx: &Ctx) -> Result<(), Fail> {
    for (path, text) in CONFFILES {
        let target = ctx.rooted(path);
        if target.exists() {
            continue;
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("{}: {e}", dir.display()), 100))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| fail(format!("{}: {e}", target.display()), 100))?;
    }
    Ok(())
}

/// What `apt-get purge` removes: the conffiles.
pub(crate) fn remove_conffiles(ctx: &Ctx) {
    for (path, _) in CONFFILES {
        let _ = std::fs::remove_file(ctx.rooted(path));
    }
}

/// Whether FRR may really run for the calling hook (real-services mode
/// and a network namespace of its own).
pub(crate) fn can_run(real_services: bool) -> bool {
    real_services && in_own_netns()
}
