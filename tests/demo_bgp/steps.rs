//! The BGP demo's script: the routed lab and its router, the charm deployed
//! with `bgp-peers`, the announcing unit powered off while the client keeps
//! connecting through the VIP (and back on), then active-active with
//! `bgp-ecmp`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::client::{self, Client};
use crate::support::frr::Frr;
use crate::support::juju::state::same_process_alive;
use crate::support::juju::{HookRun, Model};
use crate::support::routed::{
    self, RoutedLab, RouterOptions, Server, BGP_INTERFACE, ROUTER_ASN, VIP4,
};
use crate::world::World;
use crate::INTERRUPTED;

const APP: &str = "k8s-vip";
const PRINCIPAL: &str = "kubernetes-control-plane";
pub const AGENT: &str = "k8s-vip-agent.service";
pub const UNITS: usize = 3;
/// The stand-in API servers' port (also what the health check looks at).
const PORT: u16 = 6443;
/// The longest wait for BGP sessions and routes to settle.
const SETTLE: Duration = Duration::from_secs(30);
/// How long every connection must be answered for the failover to be over.
const STEADY: Duration = Duration::from_secs(1);
/// Connections the client opens to show the ECMP spread.
const SPREAD_PROBES: usize = 60;

/// Every process the demo's model and router ran at the end (PID, start
/// time), to check that none outlives the demo.
static STARTED: Mutex<Vec<(u32, Option<u64>)>> = Mutex::new(Vec::new());

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

/// Processes the demo started that are still alive (should be none at the end).
pub fn leftover_processes() -> Vec<u32> {
    STARTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(pid, start)| same_process_alive(*pid, *start))
        .map(|(pid, _)| *pid)
        .collect()
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

/// Sleeps, returning early with an error on Ctrl-C.
fn pause(d: Duration) -> anyhow::Result<()> {
    wait_until(d, || false).map(|_| ())
}

/// The hook run, or an error with its output when it failed.
pub fn ok(run: HookRun) -> anyhow::Result<HookRun> {
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

/// Runs the whole demo; returns the failover time the client saw (ms).
pub fn run() -> anyhow::Result<u128> {
    let t0 = Instant::now();
    println!(
        "k8s-vip BGP demo: 3 units on 3 subnets behind an FRR router, driven by the charm's real hooks\n"
    );
    let lab = RoutedLab::new("demobgp", UNITS);
    let mut router = lab.start_router(&RouterOptions {
        ipv6: false,
        ..RouterOptions::default()
    });
    let mut servers: Vec<Option<Server>> = (0..UNITS)
        .map(|i| Some(lab.serve(&lab.unit(i).ns, PORT, &format!("{APP}/{i}"))))
        .collect();
    // `make demo-bgp` deploys the .charm it packed; without it, the test build.
    let charm = std::env::var_os("K8S_VIP_DEMO_CHARM").map(std::path::PathBuf::from);
    // The model must drop before the lab: it stops the services in the namespaces.
    let mut model = Model::options(APP, UNITS)
        .real_services(true)
        .principal(Some(PRINCIPAL))
        .charm_file(charm.clone())
        .build();
    lab.place_units(&mut model);
    let world = World {
        lab: &lab,
        router: &router,
        model: &model,
        t0,
    };
    world.say(&format!(
        "lab: units {} on their own /28s behind the router (AS{ROUTER_ASN}, bgpd + bfdd), client {} (namespaces {}-*)",
        lab.units()
            .iter()
            .map(|u| u.ipv4.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        lab.client().ipv4,
        lab.name()
    ));
    if let Some(file) = &charm {
        world.say(&format!("charm: {}", file.display()));
    }
    let result = live(&world, &mut servers);
    if result.is_err() && !INTERRUPTED.load(Ordering::SeqCst) {
        eprintln!("{}", world.diagnostics());
    }
    remember_processes(&model, &mut router);
    drop(model);
    drop(servers);
    drop(router);
    drop(lab);
    result
}

/// Notes every process of the model's services and of the router, so the
/// end can check that none is left.
fn remember_processes(model: &Model, router: &mut Frr) {
    let mut all = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    for u in model.units() {
        for svc in model.services(u).values() {
            all.extend(svc.processes());
        }
    }
    for (_, pid) in router.pids() {
        all.push((pid, crate::support::juju::state::process_start_time(pid)));
    }
}

fn live(w: &World, servers: &mut [Option<Server>]) -> anyhow::Result<u128> {
    deploy(w)?;
    let addr = SocketAddr::new(IpAddr::V4(VIP4), PORT);
    let client = Client::start(&w.lab.client().ns, addr);
    w.say(&format!(
        "client {} connects to {VIP4}:{PORT} every {} ms (a new connection each, {} ms timeout)",
        w.lab.client().ipv4,
        client::PERIOD.as_millis(),
        client::TIMEOUT.as_millis()
    ));
    pause(Duration::from_secs(2))?;
    let victim = steady(w, &client)?;
    let took = failover(w, &client, servers, victim)?;
    drop(client);
    power_on(w, servers, victim)?;
    ecmp(w)?;
    Ok(took)
}

/// The router's peer addresses, as `bgp-peers` lists them.
fn bgp_peers(lab: &RoutedLab) -> String {
    lab.units()
        .iter()
        .map(|u| format!("{}:{ROUTER_ASN}", u.gateway4))
        .collect::<Vec<_>>()
        .join(" ")
}

fn deploy(w: &World) -> anyhow::Result<()> {
    let model = w.model;
    let units = model.units().to_vec();
    w.say(&format!(
        "juju deploy {APP} && juju integrate {APP}:juju-info {PRINCIPAL}:juju-info   (simulated: {UNITS} units, leader {APP}/0)"
    ));
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
    interrupted()?;
    let peers = bgp_peers(w.lab);
    w.say(&format!(
        "juju config {APP} virtual-ip={VIP4} health-check=tcp:127.0.0.1:{PORT} bgp-peers='{peers}'"
    ));
    model.set_config("virtual-ip", VIP4.to_string());
    model.set_config("health-check", format!("tcp:127.0.0.1:{PORT}"));
    model.set_config("bgp-peers", peers);
    for u in &units {
        ok(model.run_hook(u, "config-changed"))?;
        ok(model.run_hook(u, "start"))?;
    }
    w.say("hooks: install, cluster-relation-*, config-changed, start; FRR and the agent run in each unit's namespace");
    let all: Vec<usize> = (0..UNITS).collect();
    let started = Instant::now();
    if !wait_until(SETTLE, || w.established(&all))? {
        bail!(
            "the router's sessions are not all Established after {SETTLE:?}: {:?}",
            w.router.peer_states()
        );
    }
    w.say(&format!(
        "router: BGP sessions with all {UNITS} units Established ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));
    if !wait_until(SETTLE, || w.announcers().len() == 1)? {
        bail!("no single announcer of {VIP4}: {:?}", w.announcers());
    }
    w.update_status()?;
    w.show_router_table()
}

/// Checks the client reaches the announcing unit; returns that unit.
fn steady(w: &World, client: &Client) -> anyhow::Result<usize> {
    let announcing = w.announcers();
    let &[victim] = announcing.as_slice() else {
        bail!("expected one announcer, got {announcing:?}");
    };
    let seen = client.since(w.t0);
    let answered = seen.iter().filter(|a| a.who.is_some()).count();
    let name = w.unit_name(victim);
    let by_victim = seen
        .iter()
        .filter(|a| a.who.as_deref() == Some(name.as_str()))
        .count();
    w.say(&format!(
        "client: {answered}/{} connections answered, {by_victim} by {}",
        seen.len(),
        w.describe(&[victim])
    ));
    if by_victim == 0 {
        bail!("the client never reached the announcing unit {name}");
    }
    Ok(victim)
}

/// Powers off unit `i`: its cable is cut, every process the model started
/// for it (the agent, FRR's daemons) is SIGKILLed and its API server stops.
fn power_off(w: &World, servers: &mut [Option<Server>], i: usize) {
    w.lab.set_cable(i, false);
    let unit = w.unit_name(i);
    for svc in w.model.services(&unit).values() {
        for (pid, start) in svc.processes() {
            if same_process_alive(pid, start) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::SIGKILL,
                );
            }
        }
    }
    servers[i] = None;
}

fn failover(
    w: &World,
    client: &Client,
    servers: &mut [Option<Server>],
    victim: usize,
) -> anyhow::Result<u128> {
    let name = w.unit_name(victim);
    w.say(&format!(
        "power off {name} (the announcing unit): cable cut, kill -9 its agent and FRR (zebra, bgpd, bfdd)"
    ));
    let off = Instant::now();
    power_off(w, servers, victim);
    let other_answer = |a: &client::Attempt| a.who.as_ref().is_some_and(|who| *who != name);
    // Done when every connection is answered by another unit: the start of
    // the final run of such answers, once it has lasted STEADY (a router
    // briefly spreading over the dead and the new next hop is not done).
    let done_at = |seen: &[client::Attempt]| -> Option<Instant> {
        let last_bad = seen.iter().rposition(|a| !other_answer(a));
        let streak = &seen[last_bad.map_or(0, |i| i + 1)..];
        let (first, last) = (streak.first()?, streak.last()?);
        (last.at.duration_since(first.at) >= STEADY).then_some(first.at)
    };
    if !wait_until(Duration::from_secs(15), || {
        done_at(&client.since(off)).is_some()
    })? {
        bail!(
            "the client did not get steady answers from another unit within 15 s of the power-off"
        );
    }
    let seen = client.since(off);
    let Some(done) = done_at(&seen) else {
        bail!("no steady answers after the power-off");
    };
    let failed = seen
        .iter()
        .filter(|a| a.at < done && a.who.is_none())
        .count();
    let first_other = seen
        .iter()
        .find(|a| other_answer(a))
        .map_or(0, |a| a.at.duration_since(off).as_millis());
    let took = done.duration_since(off).as_millis();
    let to = seen
        .iter()
        .find(|a| a.at >= done)
        .and_then(|a| a.who.clone())
        .unwrap_or_default();
    w.say(&format!(
        "failover: every connection answered by {to} from {took} ms after the power-off \
         (first answer from another unit at {first_other} ms; {failed} connections failed before)"
    ));
    let victim_ip = IpAddr::V4(w.lab.unit(victim).ipv4);
    wait_until(Duration::from_secs(5), || {
        let hops = w.router.fib_next_hops(&format!("{VIP4}/32"));
        !hops.is_empty() && !hops.contains(&victim_ip)
    })?;
    w.say(&format!(
        "router: next hop for {VIP4}/32 is now {} (was {})",
        w.describe(&w.announcers()),
        w.describe(&[victim])
    ));
    w.show_router_table()?;
    Ok(took)
}

/// Powers unit `i` back on, as a reboot: the interface the agent put the
/// VIP on is gone, the cable is back, its API server runs, and Juju runs
/// its start hook (which starts FRR and the agent again).
fn power_on(w: &World, servers: &mut [Option<Server>], i: usize) -> anyhow::Result<()> {
    let unit = w.unit_name(i);
    w.say(&format!("power {unit} back on; Juju runs its start hook"));
    let ns = &w.lab.unit(i).ns;
    let _ = w.lab.exec(ns, &["ip", "link", "del", BGP_INTERFACE]);
    w.lab.set_cable(i, true);
    servers[i] = Some(w.lab.serve(ns, PORT, &unit));
    // A machine takes seconds to boot: by the time its services start, the
    // router has its address again (a neighbour entry left failed by the
    // outage would hold the other units' adverts back for a moment).
    let addr = SocketAddr::new(IpAddr::V4(w.lab.unit(i).ipv4), PORT);
    wait_until(Duration::from_secs(5), || {
        let timeout = Duration::from_millis(500);
        w.lab.probe(w.lab.router(), addr, timeout).is_some()
    })?;
    ok(w.model.run_hook(&unit, "start"))?;
    if !wait_until(SETTLE, || w.established(&[i]))? {
        bail!(
            "the router's session with {unit} did not come back: {:?}",
            w.router.peer_states()
        );
    }
    w.say(&format!(
        "router: session with {} Established again; next hop for {VIP4}/32: {}",
        w.describe(&[i]),
        w.describe(&w.announcers())
    ));
    Ok(())
}

/// `bgp-ecmp=true`: every healthy unit announces; the router spreads the
/// client's connections over them.
fn ecmp(w: &World) -> anyhow::Result<()> {
    w.say(&format!("juju config {APP} bgp-ecmp=true"));
    w.model.set_config("bgp-ecmp", true);
    for u in w.model.units() {
        ok(w.model.run_hook(u, "config-changed"))?;
    }
    if !wait_until(SETTLE, || w.announcers().len() == UNITS)? {
        bail!("bgp-ecmp: the router's next hops are {:?}", w.announcers());
    }
    w.show_router_table()?;
    let ns = w.lab.client().ns.clone();
    let answers: Vec<Option<String>> = std::thread::spawn(move || {
        routed::enter_ns(&ns);
        let addr = SocketAddr::new(IpAddr::V4(VIP4), PORT);
        (0..SPREAD_PROBES)
            .map(|_| client::probe(addr, Duration::from_secs(1)))
            .collect()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the client thread panicked"))?;
    let mut spread: BTreeMap<String, usize> = BTreeMap::new();
    for who in answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| "(no answer)".into()))
    {
        *spread.entry(who).or_default() += 1;
    }
    let text = spread
        .iter()
        .map(|(who, n)| format!("{who}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    w.say(&format!(
        "ecmp: {SPREAD_PROBES} new connections from the client, answered by {text}"
    ));
    if spread.keys().filter(|k| k.starts_with(APP)).count() < 2 {
        bail!("bgp-ecmp: the connections did not spread over the units: {text}");
    }
    w.update_status()
}
