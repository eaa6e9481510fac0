//! Benchmark, not a test (ignored by default): crash failover through a
//! router in BGP mode (issue 14), BFD on the BGP sessions against the BGP
//! hold timer alone, and optionally ECMP.
//!
//! Each trial builds a fresh routed lab (tests/support/routed.rs): a router
//! namespace running FRR (ASN 65000, `maximum-paths 8`), three units on three
//! subnets, a client behind the router. Every unit runs the real k8s-vip
//! agent in BGP mode (agent.yaml `bgp:` block, unicast VRRP to the other two
//! units every 250 ms, multihop BFD 20 ms × 3 between units: the charm's
//! defaults) under `chrt -r 50` (the systemd unit's SCHED_RR), and its own FRR
//! (zebra, bgpd, bfdd) with the frr.conf the charm renders
//! (`k8s_vip::charm::bgp::frr_conf::render`). The router sets BGP timers
//! keepalive 3 s / hold 9 s on every session (FRR's datacenter profile; the
//! units' FRR accepts the smaller hold time offered). Cells:
//! - `bfd`: `bgp-bfd` on, FRR bfdd 100 ms × 3 on both sides of each session;
//! - `hold`: `bgp-bfd` off, the same sessions with the hold timer only;
//! - `ecmp-bfd`: `bgp-ecmp` on (every unit announces), BFD as in `bfd`.
//!
//! A stand-in server on every unit answers each connection with its unit's
//! name; the client opens a new connection to the VIP every 10 ms (each
//! given 800 ms, under Linux's 1-s SYN retransmission). The fault is a dead
//! machine: the announcing unit's cable is cut (its switch port leaves the
//! bridge, carriers stay up), then its agent and FRR daemons are SIGKILLed.
//! Per trial: when the first connection started after the fault was
//! answered by another unit; when the outage ended (the first attempt after
//! the last failed one); how many attempts failed; when the router's kernel
//! route lost the dead unit's next hop. Trials alternate cells.
//!
//! Run by `make bench-bgp` (root, FRR; part of `make bench`, `make
//! bench-smoke` runs one trial per cell), which turns the JSON this writes
//! (BENCH_BGP_OUT) into bench/results/bgp.json (bench/bgp.rs makes the
//! tables). BENCH_BGP_TRIALS trials per cell (default 5), BENCH_BGP_CELLS the
//! cells (default `bfd,hold,ecmp-bfd`). It asserts only that every trial
//! happened: the lab settled, the client was served before the fault and
//! by another unit after it.

mod support;

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_vip::charm::bgp::frr_conf::{render, FrrInputs};
use k8s_vip::charm::config::{BgpOptions, BgpPeer};
use serde_json::{json, Value};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use support::frr::{Daemon, Frr, ALL_DAEMONS};
use support::routed::{
    enter_ns, RoutedLab, RouterOptions, Server, BFD_TIMERS, BGP_INTERFACE, ROUTER_ASN, UNIT_ASN,
    VIP4,
};

const BIN: &str = env!("CARGO_BIN_EXE_k8s-vip");
const UNITS: usize = 3;
const PRIOS: [u8; 3] = [150, 100, 50];
/// The stand-in API servers' port.
const PORT: u16 = 6443;
/// The charm's defaults: `advert-interval` 0.25, fast failover 20 ms × 3.
const ADVERT_MS: u64 = 250;
const AGENT_BFD: (u64, u64) = (20, 3);
/// BGP timers the router sets on every session (FRR's datacenter profile).
const KEEPALIVE_S: u32 = 3;
const HOLD_S: u32 = 9;
/// The client opens a connection every CLIENT_PERIOD, each given ATTEMPT_TIMEOUT.
const CLIENT_PERIOD: Duration = Duration::from_millis(10);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(800);
/// Bound on settling (sessions, BFD, VRRP) and on one failover.
const SETTLE: Duration = Duration::from_secs(60);
/// How long a trial waits for the router to drop the dead unit's next hop
/// (BENCH_BGP_OBSERVE_S, default 180 s: past graceful restart's 120-s
/// restart time); a trial that reaches it is recorded as censored.
fn observe_bound() -> Duration {
    let secs = std::env::var("BENCH_BGP_OBSERVE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(180);
    Duration::from_secs(secs)
}
/// How long the client keeps going after the router's route is clean.
const AFTERMATH: Duration = Duration::from_millis(1500);
/// What the agent logs when its BFD socket's port is taken (by FRR's bfdd,
/// which holds UDP 3784/4784 on every address of the unit).
const NO_BFD_SOCKET: &str = "BFD: cannot listen";

/// One cell of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Bfd,
    Hold,
    EcmpBfd,
}

impl Cell {
    fn parse(s: &str) -> Cell {
        match s.trim() {
            "bfd" => Cell::Bfd,
            "hold" => Cell::Hold,
            "ecmp-bfd" => Cell::EcmpBfd,
            other => panic!("BENCH_BGP_CELLS: unknown cell {other:?} (bfd, hold, ecmp-bfd)"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Cell::Bfd => "bfd",
            Cell::Hold => "hold",
            Cell::EcmpBfd => "ecmp-bfd",
        }
    }
    fn bfd(self) -> bool {
        self != Cell::Hold
    }
    fn ecmp(self) -> bool {
        self == Cell::EcmpBfd
    }
}

// ===== one unit: its FRR and its agent =====

/// The unit's frr.conf, as the charm renders it for `bgp-peers` = the
/// unit's router, `bgp-bfd` and `bgp-ecmp` as the cell says.
fn unit_frr_conf(lab: &RoutedLab, i: usize, cell: Cell) -> String {
    let unit = lab.unit(i);
    let bgp = BgpOptions {
        peers: vec![BgpPeer {
            address: IpAddr::V4(unit.gateway4),
            asn: Some(ROUTER_ASN),
        }],
        asn: UNIT_ASN,
        ecmp: cell.ecmp(),
        bfd: cell.bfd(),
        password: None,
    };
    render(&FrrInputs {
        app: "k8s-vip",
        bgp: Some(&bgp),
        vips: &[IpAddr::V4(VIP4)],
        router_id: Some(IpAddr::V4(unit.ipv4)),
        interface: BGP_INTERFACE,
    })
    .expect("the charm renders frr.conf")
}

/// A running agent: killed (SIGKILL) and reaped when dropped.
struct Agent {
    child: Option<Child>,
    socket: PathBuf,
    log: PathBuf,
}

impl Agent {
    fn status(&self) -> Option<Value> {
        let req = json!({"cmd": "status"});
        let v = k8s_vip::agent::client::request(&self.socket, &req, Duration::from_secs(2)).ok()?;
        (v["ok"] == true).then_some(v)
    }
    fn state(&self) -> String {
        self.status()
            .and_then(|s| s["instances"][0]["state"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
    fn bfd_up(&self) -> bool {
        self.status().is_some_and(|s| {
            let peers = s["instances"][0]["bfd"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            peers.len() == UNITS - 1 && peers.iter().all(|p| p["state"] == "up")
        })
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// agent.yaml of unit `i` (JSON is YAML): one instance, BGP mode, unicast
/// to the other units, multihop BFD, as the charm renders it.
fn agent_config(lab: &RoutedLab, i: usize, cell: Cell, dir: &Path) -> Value {
    let others: Vec<usize> = (0..UNITS).filter(|j| *j != i).collect();
    let peers: Vec<String> = others
        .iter()
        .map(|j| lab.unit(*j).ipv4.to_string())
        .collect();
    let prios: serde_json::Map<String, Value> = others
        .iter()
        .map(|j| (lab.unit(*j).ipv4.to_string(), json!(PRIOS[*j])))
        .collect();
    json!({
        "control-socket": dir.join("agent.sock"),
        "state-file": dir.join("state.json"),
        "pause-file": dir.join("paused"),
        "bgp": {"interface": BGP_INTERFACE, "ecmp": cell.ecmp()},
        "instances": [{
            "name": "api", "interface": "eth0", "vrid": 51, "version": 3,
            "priority": PRIOS[i], "advert-interval-ms": ADVERT_MS, "preempt": false,
            "preempt-delay-ms": 0, "vips": [format!("{VIP4}/32")], "unicast": true,
            "unicast-peers": peers, "unicast-source": lab.unit(i).ipv4.to_string(),
            "bfd": {"interval-ms": AGENT_BFD.0, "multiplier": AGENT_BFD.1,
                    "multihop": true, "peer-priorities": prios},
            "garp": {"repeat": 5, "interval-ms": 100, "refresh-s": 60},
            "checks": [],
        }],
    })
}

/// Starts unit `i`'s agent under `chrt -r 50` in its namespace and waits
/// until its control socket answers.
fn start_agent(lab: &RoutedLab, i: usize, cell: Cell) -> Agent {
    let dir = lab.dir().join(format!("unit{i}"));
    std::fs::create_dir_all(&dir).expect("unit dir");
    let config = dir.join("agent.yaml");
    let doc = agent_config(lab, i, cell, &dir);
    std::fs::write(&config, serde_json::to_string_pretty(&doc).unwrap()).expect("agent.yaml");
    let log = dir.join("agent.log");
    let out = std::fs::File::create(&log).expect("agent log");
    let err = out.try_clone().expect("agent log");
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &lab.unit(i).ns,
        "chrt",
        "-r",
        "50",
        BIN,
        "agent",
    ])
    .arg("--config")
    .arg(&config)
    .stdin(Stdio::null())
    .stdout(out)
    .stderr(err);
    // SAFETY: prctl is async-signal-safe; the agent dies with this thread,
    // so a killed benchmark leaves no agent behind.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
    let agent = Agent {
        child: Some(cmd.spawn().expect("start the agent")),
        socket: dir.join("agent.sock"),
        log,
    };
    let up = wait(Duration::from_secs(15), || agent.status().is_some());
    assert!(
        up.is_some(),
        "agent on unit{i} did not come up:\n{}",
        agent.log()
    );
    agent
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes.
fn wait(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ===== the client =====

/// One connection attempt: when it started, and who answered (None: no
/// answer within ATTEMPT_TIMEOUT, or an error).
#[derive(Debug, Clone)]
struct Attempt {
    at: Instant,
    answer: Option<String>,
}

/// A connection in flight.
struct Pending {
    at: Instant,
    socket: Socket,
    got: Vec<u8>,
}

/// Some(outcome) once `p` is decided: the first line the server sent, or
/// None on an error; None while it is still connecting or reading.
fn poll_pending(p: &mut Pending) -> Option<Option<String>> {
    let mut buf = [0u8; 64];
    match (&p.socket).read(&mut buf) {
        Ok(0) => Some(None),
        Ok(n) => {
            p.got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&p.got).to_string();
            text.contains('\n')
                .then(|| text.lines().next().map(str::to_string))
        }
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.raw_os_error() == Some(nix::libc::ENOTCONN) =>
        {
            None
        }
        Err(_) => Some(None),
    }
}

/// A non-blocking connection attempt to `addr`, started now.
fn open(addr: SocketAddr) -> Option<Pending> {
    let at = Instant::now();
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).ok()?;
    socket.set_nonblocking(true).ok()?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(nix::libc::EINPROGRESS) => {}
        Err(_) => return None,
    }
    Some(Pending {
        at,
        socket,
        got: Vec::new(),
    })
}

/// The client: from namespace `ns`, a new connection to `addr` every
/// CLIENT_PERIOD until `stop`, then waits for those in flight. Every
/// attempt, in start order.
fn run_client(ns: &str, addr: SocketAddr, stop: &AtomicBool) -> Vec<Attempt> {
    enter_ns(ns);
    let mut done = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) || !pending.is_empty() {
        let now = Instant::now();
        if !stop.load(Ordering::Relaxed) && now >= next {
            match open(addr) {
                Some(p) => pending.push(p),
                None => done.push(Attempt {
                    at: now,
                    answer: None,
                }),
            }
            next = (next + CLIENT_PERIOD).max(now);
        }
        pending.retain_mut(|p| {
            let outcome =
                poll_pending(p).or_else(|| (p.at.elapsed() >= ATTEMPT_TIMEOUT).then_some(None));
            match outcome {
                Some(answer) => {
                    done.push(Attempt { at: p.at, answer });
                    false
                }
                None => true,
            }
        });
        std::thread::sleep(Duration::from_millis(1));
    }
    done.sort_by_key(|a| a.at);
    done
}

// ===== one trial =====

/// Everything one trial runs; dropped in field order (agents and FRR before
/// the lab that holds their namespaces).
struct Rig {
    agents: Vec<Agent>,
    frrs: Vec<Frr>,
    _servers: Vec<Server>,
    router: Frr,
    lab: RoutedLab,
}

impl Rig {
    fn logs(&self) -> String {
        let mut out = String::new();
        for (i, a) in self.agents.iter().enumerate() {
            out.push_str(&format!("--- agent unit{i}\n{}", a.log()));
        }
        out.push_str(&format!(
            "--- router sessions {:?}\n",
            self.router.peer_states()
        ));
        out
    }

    fn unit_ip(&self, i: usize) -> IpAddr {
        IpAddr::V4(self.lab.unit(i).ipv4)
    }

    /// The units the router's kernel forwards the VIP to.
    fn hops(&self) -> Vec<usize> {
        let hops = self.lab.router_kernel_hops(IpAddr::V4(VIP4));
        (0..UNITS)
            .filter(|i| hops.contains(&self.unit_ip(*i)))
            .collect()
    }
}

/// Builds the lab for `cell` and waits until it is in its steady state:
/// every session Established (and BFD up), the agents' BFD sessions up, the
/// router forwarding the VIP to the announcers (unit0, or all with ECMP).
fn build(cell: Cell) -> Rig {
    let lab = RoutedLab::new(&format!("bgpb{}", cell.name()), UNITS);
    let router = lab.start_router(&RouterOptions {
        bfd: cell.bfd(),
        ipv6: false,
        ..RouterOptions::default()
    });
    let timers =
        format!("router bgp {ROUTER_ASN}\n neighbor UNITS4 timers {KEEPALIVE_S} {HOLD_S}\nexit\n");
    router.load(&timers).expect("router takes the BGP timers");
    let servers = (0..UNITS)
        .map(|i| lab.serve(&lab.unit(i).ns, PORT, &format!("unit{i}")))
        .collect();
    let frrs = (0..UNITS)
        .map(|i| {
            lab.create_bgp_interface(i);
            // The charm's daemons file: bfdd=yes only with bgp-bfd.
            let daemons: &[Daemon] = if cell.bfd() {
                ALL_DAEMONS
            } else {
                &[Daemon::Zebra, Daemon::Bgpd]
            };
            Frr::start_daemons(&lab.unit(i).ns, daemons, &unit_frr_conf(&lab, i, cell))
        })
        .collect();
    let mut rig = Rig {
        agents: Vec::new(),
        frrs,
        _servers: servers,
        router,
        lab,
    };
    // unit0 first: with preempt off, the first master keeps the VIP.
    rig.agents.push(start_agent(&rig.lab, 0, cell));
    let master = wait(SETTLE, || rig.agents[0].state() == "MASTER");
    assert!(master.is_some(), "unit0 never MASTER\n{}", rig.logs());
    for i in 1..UNITS {
        rig.agents.push(start_agent(&rig.lab, i, cell));
    }
    settle(&rig, cell);
    rig
}

fn settle(rig: &Rig, cell: Cell) {
    let want: Vec<usize> = if cell.ecmp() { vec![0, 1, 2] } else { vec![0] };
    let steady = wait(SETTLE, || {
        let states = rig.router.peer_states();
        let sessions = (0..UNITS).all(|i| {
            states.get(&rig.unit_ip(i).to_string()).map(String::as_str) == Some("Established")
        });
        let bgp_bfd = !cell.bfd()
            || (0..UNITS).all(|i| rig.router.bfd_status(rig.unit_ip(i)).as_deref() == Some("up"));
        sessions && bgp_bfd && rig.hops() == want
    });
    assert!(
        steady.is_some(),
        "lab never steady (router hops {:?}, want {want:?})\n{}",
        rig.hops(),
        rig.logs()
    );
}

/// Waits until every agent's BFD sessions are up; false when they are not
/// within 10 s or an agent could not open its BFD socket (it then takes
/// over on the VRRP timers alone).
fn agent_bfd_up(rig: &Rig) -> bool {
    let up = wait(Duration::from_secs(10), || {
        rig.agents.iter().all(Agent::bfd_up)
            || rig.agents.iter().any(|a| a.log().contains(NO_BFD_SOCKET))
    });
    up.is_some() && rig.agents.iter().all(Agent::bfd_up)
}

/// The figures of one trial, from the client's attempts after the fault.
fn figures(attempts: &[Attempt], fault: Instant, victim: &str) -> Value {
    let after: Vec<&Attempt> = attempts.iter().filter(|a| a.at >= fault).collect();
    let ms = |at: Instant| (at.duration_since(fault).as_secs_f64() * 1e4).round() / 10.0;
    let first_other = after
        .iter()
        .find(|a| a.answer.as_deref().is_some_and(|w| w != victim));
    let last_failed = after.iter().rposition(|a| a.answer.is_none());
    let outage_end = match last_failed {
        None => Some(fault),
        Some(k) => after.get(k + 1).map(|a| a.at),
    };
    json!({
        "first-answer-ms": first_other.map(|a| ms(a.at)),
        "first-answer-by": first_other.and_then(|a| a.answer.clone()),
        "outage-ms": outage_end.map(ms),
        "failed": after.iter().filter(|a| a.answer.is_none()).count(),
        "attempts": after.len(),
    })
}

/// Whether the router keeps the dead unit's path as stale (graceful
/// restart: the session went down, the routes stay until restart-time).
fn dead_path_stale(rig: &Rig) -> bool {
    let v = rig
        .router
        .json(&format!("show bgp ipv4 unicast {VIP4}/32 json"));
    let dead = rig.lab.unit(0).ipv4.to_string();
    v["paths"].as_array().into_iter().flatten().any(|p| {
        let via_dead = p["nexthops"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|h| h["ip"] == dead.as_str());
        via_dead && p["stale"] == true
    })
}

/// One trial of `cell`: build, fault unit0 (the announcer), measure.
fn trial(cell: Cell, n: usize) -> Value {
    let mut rig = build(cell);
    let agent_bfd = agent_bfd_up(&rig);
    let stop = AtomicBool::new(false);
    let client_ns = rig.lab.client().ns.clone();
    let addr = SocketAddr::new(IpAddr::V4(VIP4), PORT);
    let (attempts, fault, router_ms) = std::thread::scope(|s| {
        let client = s.spawn(|| run_client(&client_ns, addr, &stop));
        std::thread::sleep(Duration::from_secs(1));
        let fault = Instant::now();
        rig.lab.set_cable(0, false);
        rig.agents[0].kill();
        rig.frrs[0].kill();
        let mut dead_gone = None;
        // Both from the fault (the kills take a while on a loaded machine).
        let clean = wait(observe_bound(), || {
            let hops = rig.hops();
            if !hops.contains(&0) && dead_gone.is_none() {
                dead_gone = Some(fault.elapsed());
            }
            !hops.is_empty() && !hops.contains(&0)
        })
        .map(|_| fault.elapsed());
        std::thread::sleep(AFTERMATH);
        stop.store(true, Ordering::SeqCst);
        let attempts = client.join().expect("client thread");
        let ms = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 1e4).round() / 10.0);
        (attempts, fault, (ms(dead_gone), ms(clean)))
    });
    let before: Vec<&Attempt> = attempts.iter().filter(|a| a.at < fault).collect();
    assert!(
        !before.is_empty() && before.iter().all(|a| a.answer.is_some()),
        "{}: the client was not served before the fault ({} of {} attempts failed)\n{}",
        cell.name(),
        before.iter().filter(|a| a.answer.is_none()).count(),
        before.len(),
        rig.logs()
    );
    let mut v = figures(&attempts, fault, "unit0");
    v["cell"] = json!(cell.name());
    v["trial"] = json!(n);
    // When the router's kernel route lost the dead unit's next hop (maybe
    // leaving no route), and when it forwarded to other units only.
    let (dead_gone_ms, others_only_ms) = router_ms;
    v["router-ms"] = json!(dead_gone_ms);
    v["router-others-ms"] = json!(others_only_ms);
    v["router-hops-after"] = json!(rig.hops());
    v["agent-bfd-up"] = json!(agent_bfd);
    v["censored"] = json!(others_only_ms.is_none());
    if others_only_ms.is_none() {
        // The outage had not ended when observation stopped.
        v["outage-ms"] = Value::Null;
        v["dead-path-stale"] = json!(dead_path_stale(&rig));
    }
    eprintln!(
        "{} trial {n}: first answer from another unit {} ms ({}), outage {} ms, {} of {} \
         attempts failed, router dropped unit0 after {} ms and forwarded to others only after \
         {} ms, agent BFD up before: {}",
        cell.name(),
        v["first-answer-ms"],
        v["first-answer-by"],
        v["outage-ms"],
        v["failed"],
        v["attempts"],
        v["router-ms"],
        v["router-others-ms"],
        agent_bfd
    );
    assert!(
        !v["first-answer-ms"].is_null(),
        "{}: no unit answered within {:?} of the fault: {v}\n{}",
        cell.name(),
        observe_bound(),
        rig.logs()
    );
    drop(rig);
    v
}

fn frr_version() -> String {
    Command::new("/usr/lib/frr/bgpd")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "benchmark: run with make bench-bgp (make bench), as root"]
fn bench_bgp_crash_failover() {
    if !support::skip::need_root() || !support::frr::available() {
        return;
    }
    let trials: usize = std::env::var("BENCH_BGP_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5);
    let cells: Vec<Cell> = std::env::var("BENCH_BGP_CELLS")
        .unwrap_or_else(|_| "bfd,hold,ecmp-bfd".into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Cell::parse)
        .collect();
    let mut results = Vec::new();
    for n in 1..=trials {
        for &cell in &cells {
            results.push(trial(cell, n));
        }
    }
    let (rx, tx, mult) = BFD_TIMERS;
    let out = json!({
        "trials-per-cell": trials,
        "cells": cells.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "units": UNITS,
        "client-period-ms": CLIENT_PERIOD.as_millis() as u64,
        "attempt-timeout-ms": ATTEMPT_TIMEOUT.as_millis() as u64,
        "bgp-keepalive-s": KEEPALIVE_S,
        "bgp-hold-s": HOLD_S,
        "bgp-bfd": format!("{rx}/{tx} ms x {mult}"),
        "agent-advert-ms": ADVERT_MS,
        "agent-bfd": format!("{} ms x {} multihop", AGENT_BFD.0, AGENT_BFD.1),
        "observe-bound-s": observe_bound().as_secs(),
        "frr": frr_version(),
        "trials": results,
    });
    match std::env::var_os("BENCH_BGP_OUT") {
        Some(path) => {
            std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap())
                .expect("write result");
            eprintln!("wrote {}", Path::new(&path).display());
        }
        None => {
            eprintln!("BENCH_BGP_OUT not set: raw samples not written (make bench-bgp sets it)")
        }
    }
}
