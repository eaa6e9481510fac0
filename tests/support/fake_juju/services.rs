//! The `systemctl` shim. It records every call and tracks each unit's
//! active/enabled state. When the model runs with real services, start/stop/
//! restart/reload really run the unit file's ExecStart (absolute paths
//! re-rooted under the unit's K8S_VIP_ROOT when they exist there), in the
//! calling hook's network namespace, detached in its own session, with the PID
//! (and its start time, so a reused PID is never signalled) in the state file.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::state::{self, ModelState, ServiceState};
use crate::{Ctx, Fail, Out};

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

/// `systemctl [flags] VERB [UNIT...]`.
pub fn systemctl(ctx: &Ctx, args: &[String]) -> Out {
    let mut now = false;
    let mut quiet = false;
    let mut words = Vec::new();
    let mut properties: Vec<String> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut wanted = |list: &str| {
            properties.extend(
                list.split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            )
        };
        match arg.as_str() {
            "--now" => now = true,
            "-q" | "--quiet" => quiet = true,
            "-p" | "--property" => wanted(iter.next().map_or("", String::as_str)),
            a if a.starts_with("--property=") => wanted(&a["--property=".len()..]),
            a if a.starts_with("-p") && a.len() > 2 => wanted(&a[2..]),
            a if a.starts_with('-') => {}
            _ => words.push(arg.clone()),
        }
    }
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

fn signal(svc: &ServiceState, sig: Signal) {
    if let Some(pid) = svc.pid {
        if state::same_process_alive(pid, svc.pid_start) {
            // The service leads its own session/process group (setsid at start).
            let _ = killpg(Pid::from_raw(pid as i32), sig);
            let _ = kill(Pid::from_raw(pid as i32), sig);
        }
    }
}

fn stop(ctx: &Ctx, model: &ModelState, unit: &str, svc: &ServiceState) -> Result<(), Fail> {
    if model.real_services && alive(svc) {
        signal(svc, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while alive(svc) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if alive(svc) {
            signal(svc, Signal::SIGKILL);
        }
    }
    let _ = std::fs::remove_file(pid_file(ctx, unit));
    update_service(ctx, unit, |s| {
        s.active = false;
        s.pid = None;
        s.pid_start = None;
    })
}

fn reload(
    ctx: &Ctx,
    model: &ModelState,
    unit: &str,
    svc: &ServiceState,
    source: Option<Source>,
) -> Result<(), Fail> {
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

fn start(ctx: &Ctx, model: &ModelState, unit: &str, source: Option<Source>) -> Result<(), Fail> {
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
    // SAFETY: setsid is async-signal-safe; it detaches the service from the
    // hook's session so it outlives the hook, as a systemd service does.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
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

/// The parts of a unit file (plus its drop-ins) the shim needs.
struct UnitFile {
    exec_start: Vec<String>,
    /// `Type=notify`: started means READY=1 was received.
    notify: bool,
    env: BTreeMap<String, String>,
    reload_signal: Signal,
}

impl UnitFile {
    fn load(ctx: &Ctx, path: &Path) -> Result<UnitFile, String> {
        let mut texts = vec![std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?];
        if let Some(name) = path.file_name() {
            let dropins = ctx
                .rooted("/etc/systemd/system")
                .join(format!("{}.d", name.to_string_lossy()));
            let mut confs: Vec<PathBuf> = std::fs::read_dir(&dropins)
                .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            confs.sort();
            for conf in confs
                .iter()
                .filter(|c| c.extension().is_some_and(|e| e == "conf"))
            {
                texts.push(std::fs::read_to_string(conf).unwrap_or_default());
            }
        }
        let mut exec = String::new();
        let mut env = BTreeMap::new();
        let mut reload_signal = Signal::SIGHUP;
        let mut notify = false;
        for text in &texts {
            let mut in_service = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with('[') {
                    in_service = line == "[Service]";
                    continue;
                }
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                if !in_service {
                    continue;
                }
                let value = value.trim();
                match key.trim() {
                    "ExecStart" => exec = value.to_string(),
                    "Type" => notify = value == "notify",
                    "Environment" => {
                        for pair in split_words(value) {
                            if let Some((k, v)) = pair.split_once('=') {
                                env.insert(k.to_string(), v.to_string());
                            }
                        }
                    }
                    "EnvironmentFile" => {
                        let (optional, file) = match value.strip_prefix('-') {
                            Some(f) => (true, f),
                            None => (false, value),
                        };
                        let rooted = ctx.rooted(file);
                        let chosen = if rooted.exists() {
                            rooted
                        } else {
                            PathBuf::from(file)
                        };
                        match std::fs::read_to_string(&chosen) {
                            Ok(text) => env.extend(parse_env_file(&text)),
                            Err(_) if optional => {}
                            Err(e) => return Err(format!("cannot read {file}: {e}")),
                        }
                    }
                    "ExecReload" => {
                        if let Some(sig) = kill_signal(value) {
                            reload_signal = sig;
                        }
                    }
                    _ => {}
                }
            }
        }
        let exec = exec.trim_start_matches(['@', '-', ':', '+', '!']);
        let exec_start = expand(ctx, &split_words(exec), &env);
        Ok(UnitFile {
            exec_start,
            notify,
            env,
            reload_signal,
        })
    }
}

/// The signal of an `ExecReload=/bin/kill -SIG $MAINPID` line.
fn kill_signal(line: &str) -> Option<Signal> {
    let words = split_words(line);
    if !words.first()?.ends_with("kill") {
        return None;
    }
    let name = words
        .iter()
        .skip(1)
        .find_map(|w| w.strip_prefix('-').filter(|s| !s.is_empty() && *s != "s"))?;
    let name = if name.starts_with("SIG") {
        name.to_string()
    } else {
        format!("SIG{name}")
    };
    Signal::from_str(&name).ok()
}

/// Splits a systemd command line or Environment= value into words, honouring quotes.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// `$VAR` words split into the variable's words, `${VAR}` substituted in place,
/// and absolute paths (alone or after `=`) re-rooted when they exist under the root.
fn expand(ctx: &Ctx, words: &[String], env: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for word in words {
        if let Some(var) = word.strip_prefix('$').filter(|v| !v.starts_with('{')) {
            out.extend(
                env.get(var)
                    .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
            continue;
        }
        let mut w = word.clone();
        for (k, v) in env {
            w = w.replace(&format!("${{{k}}}"), v);
        }
        out.push(w);
    }
    out.into_iter().map(|w| reroot(ctx, &w)).collect()
}

fn reroot(ctx: &Ctx, word: &str) -> String {
    let rooted = |p: &str| {
        let candidate = ctx.rooted(p);
        (p.starts_with('/') && candidate.exists()).then(|| candidate.to_string_lossy().into_owned())
    };
    if let Some(r) = rooted(word) {
        return r;
    }
    if let Some((flag, path)) = word.split_once('=') {
        if let Some(r) = rooted(path) {
            return format!("{flag}={r}");
        }
    }
    word.to_string()
}
