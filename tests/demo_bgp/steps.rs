//! The BGP demo's script: the routed lab and its router, the charm deployed
//! with `bgp-peers`, then the VIP at work while the client keeps connecting.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::support::frr::Frr;
use crate::support::juju::{HookRun, Model};
use crate::support::routed::{self, RoutedLab, RouterOptions, Server, ROUTER_ASN, VIP4};

const APP: &str = "k8s-vip";
const PRINCIPAL: &str = "kubernetes-control-plane";
const UNITS: usize = 3;
/// The stand-in API servers' port (also what the health check looks at).
const PORT: u16 = 6443;
/// The client opens one connection through the VIP every CLIENT_PERIOD.
const CLIENT_PERIOD: Duration = Duration::from_millis(20);
const SETTLE: Duration = Duration::from_secs(30);

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

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status_line(model: &Model, unit: &str) -> String {
    match model.status(unit) {
        Some(s) => format!("{}: {}", s.state, s.message),
        None => "(no status)".into(),
    }
}

/// One connection attempt of the client: when, and who answered.
type Attempt = (Instant, Option<String>);

/// The client: connects to VIP:PORT every CLIENT_PERIOD from its namespace
/// until `stop`, recording every attempt.
fn run_client(ns: &str, log: &Mutex<Vec<Attempt>>, stop: &AtomicBool) {
    routed::enter_ns(ns);
    let addr = SocketAddr::new(IpAddr::V4(VIP4), PORT);
    while !stop.load(Ordering::Relaxed) {
        let at = Instant::now();
        let got = probe(addr, Duration::from_millis(200));
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((at, got));
        std::thread::sleep(CLIENT_PERIOD.saturating_sub(at.elapsed()));
    }
}

fn probe(addr: SocketAddr, timeout: Duration) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .map(str::to_string)
}

/// The unit whose address is the router's next hop for the VIP.
fn announcers(lab: &RoutedLab, router: &Frr) -> Vec<usize> {
    let hops = router.fib_next_hops(&format!("{VIP4}/32"));
    (0..UNITS)
        .filter(|&i| hops.contains(&IpAddr::V4(lab.unit(i).ipv4)))
        .collect()
}

/// Runs the whole demo; returns the failover time the client saw (ms).
pub fn run() -> anyhow::Result<u128> {
    let t0 = Instant::now();
    let say = |msg: &str| println!("[{:5.1}s] {msg}", t0.elapsed().as_secs_f64());
    println!("k8s-vip BGP demo: 3 units on 3 subnets behind an FRR router, driven by the charm's real hooks\n");
    let lab = RoutedLab::new("demobgp", UNITS);
    let router = lab.start_router(&RouterOptions {
        ipv6: false,
        ..RouterOptions::default()
    });
    say(&format!(
        "lab: units {} behind router AS{ROUTER_ASN} ({}), client {} (namespaces {}-*)",
        lab.units()
            .iter()
            .map(|u| format!("{}/28", u.ipv4))
            .collect::<Vec<_>>()
            .join(", "),
        lab.router(),
        lab.client().ipv4,
        lab.name()
    ));
    let servers: Vec<Server> = (0..UNITS)
        .map(|i| lab.serve(&lab.unit(i).ns, PORT, &format!("{APP}/{i}")))
        .collect();
    let charm = std::env::var_os("K8S_VIP_DEMO_CHARM").map(std::path::PathBuf::from);
    // The model must drop before the lab: it stops the services in the namespaces.
    let mut model = Model::options(APP, UNITS)
        .real_services(true)
        .principal(Some(PRINCIPAL))
        .charm_file(charm)
        .build();
    lab.place_units(&mut model);
    let result = live(&lab, &router, &model, &say);
    drop(model);
    drop(servers);
    drop(router);
    drop(lab);
    result
}

fn deploy(lab: &RoutedLab, router: &Frr, model: &Model, say: &dyn Fn(&str)) -> anyhow::Result<()> {
    let units = model.units().to_vec();
    for u in &units {
        ok(model.run_hook(u, "install"))?;
    }
    let peers = model.relation_id("cluster");
    for u in &units {
        for other in units.iter().filter(|o| *o != u) {
            ok(model.run_relation_hook(u, &peers, "joined", Some(other)))?;
            ok(model.run_relation_hook(u, &peers, "changed", Some(other)))?;
        }
    }
    let bgp_peers: Vec<String> = lab
        .units()
        .iter()
        .map(|u| format!("{}:{ROUTER_ASN}", u.gateway4))
        .collect();
    let bgp_peers = bgp_peers.join(" ");
    say(&format!(
        "juju config {APP} virtual-ip={VIP4} health-check=tcp:127.0.0.1:{PORT} bgp-peers='{bgp_peers}'"
    ));
    model.set_config("virtual-ip", VIP4.to_string());
    model.set_config("health-check", format!("tcp:127.0.0.1:{PORT}"));
    model.set_config("bgp-peers", bgp_peers);
    for u in &units {
        ok(model.run_hook(u, "config-changed"))?;
        ok(model.run_hook(u, "start"))?;
    }
    model.settle();
    let sessions = || {
        let states = router.peer_states();
        lab.units()
            .iter()
            .all(|u| states.get(&u.ipv4.to_string()).map(String::as_str) == Some("Established"))
    };
    if !wait_until(SETTLE, sessions) {
        bail!(
            "router sessions not all Established: {:?}",
            router.peer_states()
        );
    }
    if !wait_until(SETTLE, || announcers(lab, router).len() == 1) {
        bail!(
            "no single announcer of {VIP4}: next hops {:?}",
            announcers(lab, router)
        );
    }
    for u in &units {
        ok(model.run_hook(u, "update-status"))?;
    }
    say("juju status:");
    for u in &units {
        println!("           {u:<12} {}", status_line(model, u));
    }
    say("router# vtysh -c 'show ip bgp'");
    let table = router
        .vtysh(&["show ip bgp"])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for line in table.lines() {
        println!("           {line}");
    }
    Ok(())
}

/// `bgp-ecmp=true`: every healthy unit announces; connections spread.
fn ecmp(lab: &RoutedLab, router: &Frr, model: &Model, say: &dyn Fn(&str)) -> anyhow::Result<()> {
    say(&format!("juju config {APP} bgp-ecmp=true"));
    model.set_config("bgp-ecmp", true);
    for u in model.units() {
        ok(model.run_hook(u, "config-changed"))?;
    }
    if !wait_until(SETTLE, || announcers(lab, router).len() == UNITS) {
        bail!("ECMP: announcers {:?}", announcers(lab, router));
    }
    let mut spread: BTreeMap<String, usize> = BTreeMap::new();
    let client = lab.client().ns.clone();
    let answers: Vec<Option<String>> = std::thread::spawn(move || {
        routed::enter_ns(&client);
        let addr = SocketAddr::new(IpAddr::V4(VIP4), PORT);
        (0..30)
            .map(|_| probe(addr, Duration::from_secs(1)))
            .collect()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("client thread panicked"))?;
    for who in answers.into_iter().flatten() {
        *spread.entry(who).or_default() += 1;
    }
    say(&format!(
        "ecmp: router has {UNITS} next hops; 30 connections answered by {spread:?}"
    ));
    say(&format!("juju config {APP} bgp-ecmp=false"));
    model.set_config("bgp-ecmp", false);
    for u in model.units() {
        ok(model.run_hook(u, "config-changed"))?;
    }
    if !wait_until(SETTLE, || announcers(lab, router).len() == 1) {
        bail!("back from ECMP: announcers {:?}", announcers(lab, router));
    }
    Ok(())
}

/// Powers off unit `i`: its cable goes dead and every process the model
/// started for it (agent, FRR) is SIGKILLed.
fn power_off(lab: &RoutedLab, model: &Model, i: usize) {
    lab.set_cable(i, false);
    let unit = model.unit(i);
    for svc in model.services(&unit).values() {
        for (pid, start) in svc.processes() {
            if crate::support::juju::state::same_process_alive(pid, start) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::SIGKILL,
                );
            }
        }
    }
}

fn live(lab: &RoutedLab, router: &Frr, model: &Model, say: &dyn Fn(&str)) -> anyhow::Result<u128> {
    deploy(lab, router, model, say)?;
    ecmp(lab, router, model, say)?;
    let log = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let client = lab.client().ns.clone();
    std::thread::scope(|s| -> anyhow::Result<u128> {
        s.spawn(|| run_client(&client, &log, &stop));
        let result = failover(lab, router, model, &log, say);
        stop.store(true, Ordering::SeqCst);
        result
    })
}

fn failover(
    lab: &RoutedLab,
    router: &Frr,
    model: &Model,
    log: &Mutex<Vec<Attempt>>,
    say: &dyn Fn(&str),
) -> anyhow::Result<u128> {
    std::thread::sleep(Duration::from_secs(2));
    let before = announcers(lab, router);
    let &[victim] = before.as_slice() else {
        bail!("expected one announcer before the power-off, got {before:?}");
    };
    say(&format!(
        "powering off {APP}/{victim} (the announcing unit): cable pulled, its processes killed"
    ));
    let off = Instant::now();
    power_off(lab, model, victim);
    let back = wait_until(SETTLE, || {
        let attempts = log.lock().unwrap_or_else(|e| e.into_inner());
        attempts.iter().any(|(at, who)| *at > off && who.is_some())
    });
    if !back {
        bail!("the client never reached {VIP4} again after the power-off");
    }
    let attempts = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let first_ok = attempts
        .iter()
        .find(|(at, who)| *at > off && who.is_some())
        .context("no answer after the power-off")?;
    let failed = attempts
        .iter()
        .filter(|(at, who)| *at > off && *at < first_ok.0 && who.is_none())
        .count();
    let took = first_ok.0.duration_since(off).as_millis();
    say(&format!(
        "client: {failed} connections failed; first answer from {} after {took} ms; router's next hop now {:?}",
        first_ok.1.as_deref().unwrap_or("?"),
        router.fib_next_hops(&format!("{VIP4}/32"))
    ));
    Ok(took)
}
