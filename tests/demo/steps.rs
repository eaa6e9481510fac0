//! The demo's script: set up, deploy through the charm's hooks, then show the
//! VIP at work while the client keeps requesting through it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use crate::apiserver;
use crate::record::Recorder;
use crate::support::juju::{HookRun, Model};
use crate::support::netns::{Lab, Proc};
use crate::INTERRUPTED;

const VIP: &str = "192.0.2.100";
const APP: &str = "k8s-vip";
const PRINCIPAL: &str = "kubernetes-control-plane";
const AGENT: &str = "k8s-vip-agent.service";
const UNITS: usize = 3;
/// The client sends one request through the VIP every CLIENT_PERIOD.
const CLIENT_PERIOD: Duration = Duration::from_millis(20);

/// Namespaces of this process's labs still present (should be none at the end).
pub fn leftover_namespaces() -> Vec<String> {
    let prefix = format!("kvl-{}-", std::process::id());
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Sleeps, returning early with an error on Ctrl-C.
fn pause(d: Duration) -> anyhow::Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if INTERRUPTED.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn interrupted() -> anyhow::Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Waits up to `timeout` for `cond`, checking for Ctrl-C.
fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> anyhow::Result<bool> {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return Ok(true);
        }
        if Instant::now() >= end {
            return Ok(false);
        }
        interrupted()?;
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ok(run: HookRun) -> anyhow::Result<HookRun> {
    if !run.success() {
        bail!(
            "hook {} on {} failed ({}):\n{}{}",
            run.name,
            run.unit,
            run.status,
            run.stdout,
            run.stderr
        );
    }
    Ok(run)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What kubernetes-control-plane's leader writes on `loadbalancer-internal`
/// / `loadbalancer-external` (loadbalancer interface v1): one request per API
/// endpoint, health-checked on /livez.
fn kcp_request(name: &str, port_mapping: Value, public: bool, id: &str) -> String {
    json!({
        "algorithm": [], "backends": [],
        "health_checks": [{"interval": 30, "path": "/livez", "port": 6443,
                           "protocol": "http", "retries": 3}],
        "id": id, "ingress_address": null, "name": name,
        "port_mapping": port_mapping, "protocol": "tcp", "public": public,
        "sent_hash": format!("{id}-hash"), "sticky": false,
        "tls_cert": null, "tls_key": null, "tls_termination": false
    })
    .to_string()
}

fn status_line(model: &Model, unit: &str) -> String {
    match model.status(unit) {
        Some(s) => format!("{}: {}", s.state, s.message),
        None => "(no status)".into(),
    }
}

fn agent_pid(model: &Model, unit: &str) -> Option<u32> {
    model.services(unit).get(AGENT).and_then(|s| s.pid)
}

/// The last lines of every unit's agent log (printed when something fails).
fn agent_logs(model: &Model) -> String {
    let mut out = String::new();
    for unit in model.units() {
        let path = model.unit_dir(unit).join(format!("services/{AGENT}.log"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(8)..];
        out.push_str(&format!(
            "--- {unit} agent log (last lines)\n{}\n",
            tail.join("\n")
        ));
    }
    out
}

/// Runs the whole demo; returns the summary text.
pub fn run() -> anyhow::Result<String> {
    let rec = Recorder::new((0..UNITS).map(|i| format!("{APP}/{i}")).collect());
    let say = |msg: &str| println!("[{:5.1}s] {msg}", rec.secs());

    println!("k8s-vip demo: a 3-unit control plane in network namespaces, driven by the charm's real hooks\n");
    let lab = Lab::new("demo", UNITS);
    say(&format!(
        "lab: units {} on one bridge, client {} (namespaces {}-*)",
        lab.units()
            .iter()
            .map(|u| u.ipv4.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        lab.client().ipv4,
        lab.name()
    ));
    let (cert, key) = apiserver::make_cert(lab.dir())?;
    let mut apiservers: Vec<Option<Proc>> = Vec::new();
    for i in 0..UNITS {
        apiservers.push(Some(apiserver::start(
            &lab,
            lab.dir(),
            i,
            &format!("{APP}/{i}"),
            &cert,
            &key,
        )?));
    }
    say("stand-in kube-apiserver (HTTPS /livez on :6443) running in every unit");

    // `make demo` deploys the .charm it packed; without it, the test build.
    let charm = std::env::var_os("K8S_VIP_DEMO_CHARM").map(std::path::PathBuf::from);
    if let Some(file) = &charm {
        say(&format!("charm: {}", file.display()));
    }
    // The model must drop before the lab: it stops the agents in the namespaces.
    let mut model = Model::options(APP, UNITS)
        .real_services(true)
        .principal(Some(PRINCIPAL))
        .charm_file(charm)
        .build();
    model.place_units_in(&lab);
    let result = live(&lab, &model, &rec, &mut apiservers);
    if result.is_err() && !INTERRUPTED.load(Ordering::SeqCst) {
        eprintln!("{}", agent_logs(&model));
    }
    drop(model);
    drop(apiservers);
    drop(lab);
    result
}

fn deploy(lab: &Lab, model: &Model, rec: &Recorder) -> anyhow::Result<()> {
    let say = |msg: &str| println!("[{:5.1}s] {msg}", rec.secs());
    let units = model.units().to_vec();
    say(&format!(
        "juju deploy {APP} && juju integrate {APP}:juju-info {PRINCIPAL}:juju-info   (simulated: {} units, leader {APP}/0)",
        units.len()
    ));
    let mut hook_ms = Vec::new();
    for u in &units {
        hook_ms.push(ms(ok(model.run_hook(u, "install"))?.elapsed));
    }
    let peers = model.relation_id("cluster");
    for u in &units {
        for other in units.iter().filter(|o| *o != u) {
            hook_ms.push(ms(ok(model.run_relation_hook(
                u,
                &peers,
                "joined",
                Some(other),
            ))?
            .elapsed));
            hook_ms.push(ms(ok(model.run_relation_hook(
                u,
                &peers,
                "changed",
                Some(other),
            ))?
            .elapsed));
        }
    }
    say(&format!(
        "hooks: install ×3, cluster-relation-joined/changed ×12 → {}",
        status_line(model, &units[0])
    ));
    interrupted()?;
    say(&format!("juju config {APP} virtual-ip={VIP}"));
    rec.mark("virtual-ip set");
    model.set_config("virtual-ip", VIP);
    for u in &units {
        hook_ms.push(ms(ok(model.run_hook(u, "config-changed"))?.elapsed));
        hook_ms.push(ms(ok(model.run_hook(u, "start"))?.elapsed));
    }
    hook_ms.sort_by(f64::total_cmp);
    say(&format!(
        "hooks: config-changed ×3, start ×3 (each hook {:.0}–{:.0} ms); agents started by systemctl inside each unit's namespace",
        hook_ms.first().copied().unwrap_or(0.0),
        hook_ms.last().copied().unwrap_or(0.0)
    ));
    if !wait_until(Duration::from_secs(20), || lab.holders(VIP).len() == 1)? {
        bail!(
            "no single VIP holder 20 s after the agents started (holders {:?})",
            lab.holders(VIP)
        );
    }
    // The agents write their state file; update-status turns it into Juju status.
    pause(Duration::from_millis(500))?;
    for u in &units {
        ok(model.run_hook(u, "update-status"))?;
    }
    say("juju status:");
    for u in &units {
        println!("           {u:<12} {}", status_line(model, u));
    }
    if let Some(app) = model.app_status() {
        println!(
            "           {APP:<12} {}: {} (application)",
            app.state, app.message
        );
    }
    Ok(())
}

/// The lb-consumers relation as kubernetes-control-plane speaks it; prints
/// the responses our leader wrote.
fn consumers(lab: &Lab, model: &Model, rec: &Recorder) -> anyhow::Result<()> {
    let say = |msg: &str| println!("[{:5.1}s] {msg}", rec.secs());
    let remote: Vec<String> = (0..UNITS).map(|i| format!("{PRINCIPAL}/{i}")).collect();
    let remote_refs: Vec<&str> = remote.iter().map(String::as_str).collect();
    say(&format!(
        "juju integrate {APP}:lb-consumers {PRINCIPAL}:loadbalancer-internal"
    ));
    rec.mark("lb-consumers related");
    let rel = model.add_relation("lb-consumers", PRINCIPAL, &remote_refs);
    for (i, r) in remote.iter().enumerate() {
        model.set_unit_data(
            &rel,
            r,
            &[("ingress-address", &format!("192.0.2.{}", 11 + i))],
        );
    }
    let internal = kcp_request(
        "api-server-internal",
        json!({"6443": 6443}),
        false,
        "5c6f6f2d1a0e4b7e9f00000000000001",
    );
    let external = kcp_request(
        "api-server-external",
        json!({"443": 6443}),
        true,
        "5c6f6f2d1a0e4b7e9f00000000000002",
    );
    model.set_app_data(
        &rel,
        PRINCIPAL,
        &[
            ("version", "1"),
            ("request_api-server-internal", &internal),
            ("request_api-server-external", &external),
        ],
    );
    // As Juju does: every k8s-vip unit sees each control-plane unit join.
    for u in model.units() {
        for r in &remote {
            ok(model.run_relation_hook(u, &rel, "joined", Some(r)))?;
            ok(model.run_relation_hook(u, &rel, "changed", Some(r)))?;
        }
    }
    let ours: BTreeMap<String, String> = model.app_data(&rel, APP);
    say("kubernetes-control-plane asked for api-server-internal (6443→6443) and api-server-external (443→6443); k8s-vip answered:");
    for (k, v) in ours.iter().filter(|(k, _)| k.starts_with("response_")) {
        println!("           {k} = {v}");
    }
    if !ours.keys().any(|k| k.starts_with("response_")) {
        println!("           (no response yet: {ours:?})");
    }
    let external_ok = ours
        .get("response_api-server-external")
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .is_some_and(|r| r["address"].is_string() && r["error"].is_null());
    if external_ok {
        load_balanced(lab, rec)?;
    }
    Ok(())
}

/// When the charm serves api-server-external (443 → 6443 through HAProxy on
/// the VIP holder), a few requests to VIP:443 show them spread over the units.
fn load_balanced(lab: &Lab, rec: &Recorder) -> anyhow::Result<()> {
    let url = format!("https://{VIP}:443/livez");
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed = 0;
    let ready = wait_until(Duration::from_secs(10), || {
        lab.exec(lab.client(), &["curl", "-sk", "--max-time", "1", &url])
            .status
            .success()
    })?;
    for _ in 0..9 {
        interrupted()?;
        let out = lab.exec(lab.client(), &["curl", "-sk", "--max-time", "1", &url]);
        match String::from_utf8_lossy(&out.stdout)
            .trim()
            .strip_prefix("ok ")
        {
            Some(unit) if out.status.success() => {
                *answered.entry(unit.to_string()).or_default() += 1
            }
            _ => failed += 1,
        }
    }
    let spread: Vec<String> = answered.iter().map(|(u, n)| format!("{u} ×{n}")).collect();
    println!(
        "[{:5.1}s] load balancing: 9 requests to {url} (HAProxy on the VIP holder{}) answered by {}{}",
        rec.secs(),
        if ready { "" } else { ", not ready after 10 s" },
        if spread.is_empty() { "nobody".to_string() } else { spread.join(", ") },
        if failed > 0 { format!("; {failed} failed") } else { String::new() }
    );
    Ok(())
}

/// Steady traffic for `d`, printing one line per second.
fn steady(rec: &Recorder, d: Duration) -> anyhow::Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        let since = Instant::now();
        pause(Duration::from_secs(1).min(end.saturating_duration_since(Instant::now())))?;
        let reqs = rec.requests_since(since);
        let okn = reqs.iter().filter(|r| r.answered_by.is_some()).count();
        let mut by: Vec<String> = reqs.iter().filter_map(|r| r.answered_by.clone()).collect();
        by.sort();
        by.dedup();
        println!(
            "[{:5.1}s]   client → https://{VIP}:6443/livez: {okn}/{} ok{}",
            rec.secs(),
            reqs.len(),
            if by.is_empty() {
                String::new()
            } else {
                format!(", answered by {}", by.join(", "))
            }
        );
    }
    Ok(())
}

struct Figures {
    vip_moved_ms: Option<f64>,
    crash_outage: (f64, usize),
    action_moved_ms: Option<f64>,
    action_took: String,
    action_outage: (f64, usize),
    from: String,
    to: String,
    action_to: String,
}

fn live(
    lab: &Lab,
    model: &Model,
    rec: &Recorder,
    apiservers: &mut [Option<Proc>],
) -> anyhow::Result<String> {
    let say = |msg: &str| println!("[{:5.1}s] {msg}", rec.secs());
    let stop = AtomicBool::new(false);
    let go = AtomicBool::new(false);
    let url = format!("https://{VIP}:{}/livez", apiserver::PORT);
    let figures = std::thread::scope(|s| -> anyhow::Result<Figures> {
        let (stop_ref, go_ref, url_ref) = (&stop, &go, &url);
        s.spawn(move || rec.watch_holders(lab, VIP, stop_ref));
        let client_ns = lab.client().ns.clone();
        s.spawn(move || rec.run_client(&client_ns, url_ref, CLIENT_PERIOD, go_ref, stop_ref));
        let out = deploy(lab, model, rec).and_then(|()| show(lab, model, rec, apiservers, &go));
        stop.store(true, Ordering::SeqCst);
        out
    })?;
    say("done; stopping agents and removing namespaces");

    let lanes = (0..UNITS)
        .map(|i| format!("{APP}/{i} ({})", lab.unit(i).ipv4))
        .collect();
    let timeline = rec.timeline(
        "k8s-vip demo: who holds the VIP, and the client's HTTPS requests through it",
        lanes,
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build");
    // demo-timeline.json, .svg, and .png when rsvg-convert is installed.
    let pictures = timeline
        .write_files(&dir, "demo-timeline")?
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e != "json"))
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (okn, failed, unsent) = rec.totals();
    let f = |v: Option<f64>| {
        v.map(|x| format!("{x:.0} ms"))
            .unwrap_or_else(|| "n/a".into())
    };
    let o = |(t, n): (f64, usize)| {
        if n == 0 {
            "no failed client request".to_string()
        } else {
            format!(
                "client saw failures for {t:.0} ms (±{} ms; {n} request{} failed)",
                CLIENT_PERIOD.as_millis(),
                if n == 1 { "" } else { "s" }
            )
        }
    };
    Ok(format!(
        "\nSummary\n\
         - master {} powered off (agent SIGKILL, API server stopped, cable pulled): \
           VIP on {} after {}; {}\n\
         - `juju run {} failover`: VIP on {} {} after the action started (the agent's own step-down → \
           takeover: {} ms); {}\n\
         - client requests through the VIP: {okn} answered, {failed} failed{}\n\
         - timeline: {}\n",
        figures.from,
        figures.to,
        f(figures.vip_moved_ms),
        o(figures.crash_outage),
        figures.to,
        figures.action_to,
        f(figures.action_moved_ms),
        figures.action_took,
        o(figures.action_outage),
        if unsent > 0 {
            format!(
                ", {unsent} not sent ({} already in flight)",
                crate::record::MAX_IN_FLIGHT
            )
        } else {
            String::new()
        },
        pictures
    ))
}

fn show(
    lab: &Lab,
    model: &Model,
    rec: &Recorder,
    apiservers: &mut [Option<Proc>],
    go: &AtomicBool,
) -> anyhow::Result<Figures> {
    let say = |msg: &str| println!("[{:5.1}s] {msg}", rec.secs());
    consumers(lab, model, rec)?;
    say(&format!(
        "client starts requesting https://{VIP}:6443/livez every {} ms \
         (each on a new connection, {} ms timeout)",
        CLIENT_PERIOD.as_millis(),
        crate::record::REQUEST_TIMEOUT.as_millis()
    ));
    go.store(true, Ordering::SeqCst);
    steady(rec, Duration::from_secs(3))?;

    // ---- the master dies
    let holders = rec.holders();
    let &[m] = holders.as_slice() else {
        bail!("expected one VIP holder before the fault, saw {holders:?}");
    };
    let from = model.unit(m);
    let pid = agent_pid(model, &from).context("the master's agent has no pid")?;
    let t0 = rec.mark(&format!("{from} powered off"));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::SIGKILL,
    );
    if let Some(mut p) = apiservers.get_mut(m).and_then(Option::take) {
        p.kill();
    }
    lab.set_port(lab.unit(m), false);
    rec.set_down(m, true);
    say(&format!(
        "power off {from} (the master): kill -9 its agent, stop its API server, pull its cable"
    ));
    if !wait_until(Duration::from_secs(10), || {
        let h = rec.holders();
        h.len() == 1 && h[0] != m
    })? {
        bail!(
            "no unit took over the VIP within 10 s (holders {:?})",
            rec.holders()
        );
    }
    let to_i = rec.holders()[0];
    let to = model.unit(to_i);
    let moved = rec.holder_change_after(t0, &[to_i]).map(|t| ms(t - t0));
    wait_until(Duration::from_secs(5), || {
        rec.first_answer_after(t0, &to).is_some()
    })?;
    let first = rec.first_answer_after(t0, &to).map(|t| ms(t - t0));
    say(&format!(
        "failover: {to} took the VIP {} after the power-off; the first request it answered was sent {} after",
        moved.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "?".into()),
        first.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "?".into())
    ));
    steady(rec, Duration::from_secs(2))?;
    let crash_outage = rec.outage(t0 - Duration::from_millis(400), Instant::now());

    // ---- it comes back (a reboot: no stale VIP, services start)
    say(&format!("power {from} back on; Juju runs its start hook"));
    let _ = lab.exec(
        lab.unit(m),
        &["ip", "addr", "del", &format!("{VIP}/24"), "dev", "eth0"],
    );
    lab.set_port(lab.unit(m), true);
    if let Some(slot) = apiservers.get_mut(m) {
        let (cert, key) = (
            lab.dir().join("apiserver.crt"),
            lab.dir().join("apiserver.key"),
        );
        *slot = Some(apiserver::start(lab, lab.dir(), m, &from, &cert, &key)?);
    }
    rec.set_down(m, false);
    rec.mark(&format!("{from} back"));
    ok(model.run_hook(&from, "start"))?;
    pause(Duration::from_secs(1))?;
    for u in model.units() {
        ok(model.run_hook(u, "update-status"))?;
    }
    for u in model.units() {
        println!("           {u:<12} {}", status_line(model, u));
    }
    steady(rec, Duration::from_secs(1))?;

    // ---- planned maintenance: the failover action
    say(&format!("juju run {to} failover hold=30"));
    let t1 = rec.mark("failover action");
    let action = model.run_action(&to, "failover", json!({"hold": 30}));
    if let Some(why) = &action.failed {
        bail!("the failover action failed: {why}\n{}", action.run.stderr);
    }
    for (k, v) in &action.results {
        println!(
            "           {k}: {}",
            match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        );
    }
    wait_until(Duration::from_secs(5), || {
        let h = rec.holders();
        h.len() == 1 && h[0] != to_i
    })?;
    let after = rec.holders();
    let action_to = after
        .first()
        .map(|i| model.unit(*i))
        .unwrap_or_else(|| "nobody".into());
    let action_moved = after
        .first()
        .and_then(|i| rec.holder_change_after(t1, &[*i]))
        .map(|t| ms(t - t1));
    wait_until(Duration::from_secs(3), || {
        rec.first_answer_after(t1, &action_to).is_some()
    })?;
    steady(rec, Duration::from_secs(2))?;
    let action_outage = rec.outage(t1, Instant::now());

    // ---- the status action
    say(&format!("juju run {action_to} status"));
    let status = model.run_action(&action_to, "status", json!({}));
    if let Some(why) = &status.failed {
        bail!("the status action failed: {why}");
    }
    let text = serde_yaml::to_string(&Value::Object(status.results.clone())).unwrap_or_default();
    for line in text.lines() {
        println!("           {line}");
    }
    Ok(Figures {
        vip_moved_ms: moved,
        crash_outage,
        action_moved_ms: action_moved,
        action_took: action.result("took-ms").unwrap_or_else(|| "?".into()),
        action_outage,
        from,
        to,
        action_to,
    })
}
