//! Real-services mode: services run as detached processes in the hook's
//! network namespace, stopped with SIGTERM then SIGKILL, reloaded with their
//! unit's reload signal, started once ready (Type=notify).

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use super::frr;
use super::unit_file::UnitFile;
use super::{alive, fail, update_service, Source, STOP_TIMEOUT};
use crate::state::{self, ModelState, ServiceState};
use crate::{Ctx, Fail};

/// Sends `sig` to one recorded process unless it is gone (or its PID reused).
fn signal_process(pid: u32, start: Option<u64>, sig: Signal) {
    if state::same_process_alive(pid, start) {
        // Each service process leads its own session/process group (setsid
        // at start; FRR's daemons detach into their own).
        let _ = killpg(Pid::from_raw(pid as i32), sig);
        let _ = kill(Pid::from_raw(pid as i32), sig);
    }
}

/// Sends `sig` to every process of the service.
pub(super) fn signal(svc: &ServiceState, sig: Signal) {
    for (pid, start) in svc.processes() {
        signal_process(pid, start, sig);
    }
}

/// SIGTERM to `procs`, the last started first; SIGKILL to those still
/// alive after [`STOP_TIMEOUT`].
pub(super) fn terminate(procs: &[(u32, Option<u64>)]) {
    for &(pid, start) in procs.iter().rev() {
        signal_process(pid, start, Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    let any_alive = || procs.iter().any(|&(p, s)| state::same_process_alive(p, s));
    while any_alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for &(pid, start) in procs {
        signal_process(pid, start, Signal::SIGKILL);
    }
}

pub(super) fn stop(
    ctx: &Ctx,
    model: &ModelState,
    unit: &str,
    svc: &ServiceState,
) -> Result<(), Fail> {
    if model.real_services {
        terminate(&svc.processes());
    }
    let _ = std::fs::remove_file(pid_file(ctx, unit));
    update_service(ctx, unit, |s| {
        s.active = false;
        s.pid = None;
        s.pid_start = None;
        s.others.clear();
    })
}

pub(super) fn reload(
    ctx: &Ctx,
    model: &ModelState,
    unit: &str,
    svc: &ServiceState,
    source: Option<Source>,
) -> Result<(), Fail> {
    if model.real_services && unit == frr::UNIT {
        let running = frr::reload(ctx, svc)?;
        return update_service(ctx, unit, |s| {
            s.reloads += 1;
            set_processes(s, &running);
        });
    }
    if model.real_services {
        let sig = source
            .as_ref()
            .and_then(source_path)
            .and_then(|p| UnitFile::load(ctx, &p).ok())
            .map_or(Signal::SIGHUP, |u| u.reload_signal);
        if let Some(pid) = svc.pid.filter(|_| alive(svc)) {
            let _ = kill(Pid::from_raw(pid as i32), sig);
        }
    }
    update_service(ctx, unit, |s| s.reloads += 1)
}

fn source_path(source: &Source) -> Option<PathBuf> {
    match source {
        Source::File(p) => Some(p.clone()),
        Source::Package(p) => p.clone(),
    }
}

pub(super) fn start(
    ctx: &Ctx,
    model: &ModelState,
    unit: &str,
    source: Option<Source>,
) -> Result<(), Fail> {
    if model.real_services && unit == frr::UNIT {
        let started = frr::start(ctx)?;
        let procs: Vec<(u32, Option<u64>)> = started.iter().map(|s| (s.pid, s.start)).collect();
        if let Some(main) = started.first() {
            let _ = std::fs::write(pid_file(ctx, unit), format!("{}\n", main.pid));
        }
        return update_service(ctx, unit, |s| {
            s.active = true;
            s.starts += 1;
            set_processes(s, &procs);
        });
    }
    let mut pid = None;
    let mut pid_start = None;
    if model.real_services {
        let path = source
            .as_ref()
            .and_then(source_path)
            .ok_or_else(|| fail(format!("Failed to start {unit}: no unit file to run"), 1))?;
        let file = UnitFile::load(ctx, &path).map_err(|e| fail(e, 1))?;
        let child = spawn(ctx, unit, &file)?;
        pid = Some(child);
        pid_start = state::process_start_time(child);
        // Also a plain PID file, for scripts (the demo) that look at services.
        let _ = std::fs::write(pid_file(ctx, unit), format!("{child}\n"));
    }
    update_service(ctx, unit, |s| {
        s.active = true;
        s.pid = pid;
        s.pid_start = pid_start;
        s.starts += 1;
    })
}

/// Records `procs` (the main process first) as the service's processes.
fn set_processes(s: &mut ServiceState, procs: &[(u32, Option<u64>)]) {
    s.pid = procs.first().map(|p| p.0);
    s.pid_start = procs.first().and_then(|p| p.1);
    s.others = procs.iter().skip(1).copied().collect();
}

/// `<unit dir>/services/NAME.pid` (real-services mode).
fn pid_file(ctx: &Ctx, unit: &str) -> PathBuf {
    ctx.unit_dir.join("services").join(format!("{unit}.pid"))
}

fn spawn(ctx: &Ctx, unit: &str, file: &UnitFile) -> Result<u32, Fail> {
    let (program, args) = file
        .exec_start
        .split_first()
        .ok_or_else(|| fail(format!("Failed to start {unit}: no ExecStart="), 1))?;
    let logs = ctx.unit_dir.join("services");
    std::fs::create_dir_all(&logs).map_err(|e| fail(e.to_string(), 1))?;
    let log_path = logs.join(format!("{unit}.log"));
    let open_log = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| fail(format!("cannot open {}: {e}", log_path.display()), 1))
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(&file.env)
        .current_dir(&ctx.root)
        .stdin(Stdio::null())
        .stdout(open_log()?)
        .stderr(open_log()?);
    // SAFETY: setsid, sigaction and sigprocmask are async-signal-safe; the
    // service leaves the hook's session and starts as systemd starts one.
    unsafe {
        cmd.pre_exec(super::prepare_service_process);
    }
    // Type=notify: like systemd, `start` returns once the service said
    // READY=1 on $NOTIFY_SOCKET (HAProxy -Ws does when it listens), so a
    // hook's next step sees the service up.
    let notify = if file.notify {
        let path = logs.join(format!("{unit}.notify"));
        let _ = std::fs::remove_file(&path);
        let sock = std::os::unix::net::UnixDatagram::bind(&path)
            .map_err(|e| fail(format!("cannot bind {}: {e}", path.display()), 1))?;
        cmd.env("NOTIFY_SOCKET", &path);
        Some((sock, path))
    } else {
        None
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("Failed to start {unit}: {program}: {e}"), 1))?;
    if let Some((sock, path)) = notify {
        let ready = wait_ready(&sock, &mut child, Duration::from_secs(10));
        let _ = std::fs::remove_file(&path);
        if let Err(why) = ready {
            return Err(fail(format!("Failed to start {unit}: {why}"), 1));
        }
    }
    Ok(child.id())
}

/// Waits for `READY=1` on a Type=notify service's socket, bounded by
/// `timeout`; fails when the service exits first.
fn wait_ready(
    sock: &std::os::unix::net::UnixDatagram,
    child: &mut std::process::Child,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
            if msg.lines().any(|l| l.trim() == "READY=1") {
                return Ok(());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the service exited ({status}) before it was ready"));
        }
    }
    Err(format!(
        "no READY=1 within {} s (Type=notify)",
        timeout.as_secs()
    ))
}
