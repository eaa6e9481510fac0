//! Deterministic cluster simulation: N routers (2–7) in one process on a
//! simulated clock and network with loss, delay, duplication, partitions,
//! crash/restart, graceful stop, health/pause/link faults, step-downs,
//! priority changes, per-node clock drift (±1 %) and timer lateness (clock
//! jitter, CPU starvation). Every run is a pure function of one `u64` seed.
//!
//! Each scenario is: a random fault phase, then a healthy network in which we
//! check, on the simulated clock,
//! 1. convergence: after Master_Down_Interval + a few adverts (+ any step-down
//!    hold and preempt delay still to run, network delay and timer lateness:
//!    [`settle`]) there is exactly one master, with the highest effective priority (preempt on) or the best
//!    of the routers that were master since the network healed (preempt off);
//! 2. no flapping: no state changes for 30 more advert intervals;
//! 3. crash: after the master is killed a new master exists within the
//!    Master_Down_Interval of the best remaining router + one advert interval
//!    (computed from the RFC formula, not by the router); then the old master
//!    restarts and the cluster converges again;
//! 4. partition heal: two partitions each elect a master; after healing the
//!    dual masters resolve within one advert interval (+ the network's delay and
//!    timer lateness) and the winner re-announces (gratuitous ARP/NA);
//!
//! and at every step: VIPs are present exactly on the routers in Master state.
//!
//! A failure prints the seed; replay it with
//! `VRRP_SIM_SEED=<seed> cargo test --test vrrp_sim replay -- --nocapture`
//! (prints the transition log). `VRRP_SIM_CASES=<n>` runs more cases.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use k8s_vip::vrrp::packet::{decode, Version, MULTICAST_V4, MULTICAST_V6};
use k8s_vip::vrrp::router::{addr_gt, Action, Event, Router, RouterConfig, State};

// ===== deterministic randomness =====

/// SplitMix64: tiny, fast, good enough to drive a simulation, and fully
/// determined by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi` (`lo` when empty).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next() % (hi - lo)
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn duration(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.range(0, max.as_micros() as u64 + 1))
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() as u64) as usize]
    }
}

// ===== the simulated world =====

/// Network conditions, changeable at any time.
#[derive(Clone, Debug)]
struct Net {
    loss: f64,
    dup: f64,
    delay_max: Duration,
    /// Maximum lateness of a timer firing (scheduling / clock jitter).
    jitter: Duration,
    /// Partition group per node; packets cross only within a group.
    groups: Option<Vec<u8>>,
}

impl Net {
    fn healthy(interval: Duration) -> Net {
        Net {
            loss: 0.0,
            dup: 0.0,
            delay_max: interval / 20,
            jitter: interval / 20,
            groups: None,
        }
    }
}

struct Node {
    cfg: RouterConfig,
    /// Speed of this node's clock relative to simulated time (clock drift).
    rate: f64,
    router: Option<Router>,
    timer: Option<Duration>,
    vips: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct Transition {
    at: Duration,
    node: usize,
    from: State,
    to: State,
    reason: String,
}

struct Packet {
    to: usize,
    src: IpAddr,
    dst: IpAddr,
    bytes: Vec<u8>,
}

struct World {
    rng: Rng,
    t0: Instant,
    now: Duration,
    nodes: Vec<Node>,
    net: Net,
    queue: BTreeMap<(Duration, u64), Packet>,
    seq: u64,
    log: Vec<Transition>,
    garps: Vec<(Duration, usize)>,
    violations: Vec<String>,
}

impl World {
    fn new(rng: Rng, cfgs: Vec<RouterConfig>, net: Net) -> World {
        World {
            rng,
            t0: Instant::now(),
            now: Duration::ZERO,
            nodes: cfgs
                .into_iter()
                .map(|cfg| Node {
                    cfg,
                    rate: 1.0,
                    router: None,
                    timer: None,
                    vips: false,
                })
                .collect(),
            net,
            queue: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
            garps: Vec::new(),
            violations: Vec::new(),
        }
    }

    fn alive(&self, i: usize) -> bool {
        self.nodes[i].router.is_some()
    }

    fn state(&self, i: usize) -> Option<State> {
        self.nodes[i].router.as_ref().map(Router::state)
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.state(i) == Some(State::Master))
            .collect()
    }

    fn priority(&self, i: usize) -> u8 {
        self.nodes[i]
            .router
            .as_ref()
            .map_or(0, Router::effective_priority)
    }

    fn addr(&self, i: usize) -> IpAddr {
        self.nodes[i].cfg.primary_addr
    }

    /// `a` beats `b` in a master-vs-master election.
    fn beats(&self, a: usize, b: usize) -> bool {
        let (pa, pb) = (self.priority(a), self.priority(b));
        pa > pb || (pa == pb && addr_gt(self.addr(a), self.addr(b)))
    }

    fn best_of(&self, set: &[usize]) -> Option<usize> {
        set.iter()
            .copied()
            .reduce(|a, b| if self.beats(b, a) { b } else { a })
    }

    /// Node `i`'s local clock reading at the current simulated time.
    fn local_now(&self, i: usize) -> Instant {
        self.t0 + self.now.mul_f64(self.nodes[i].rate)
    }

    fn event(&mut self, i: usize, ev: Event) {
        let now = self.local_now(i);
        let Some(router) = self.nodes[i].router.as_mut() else {
            return;
        };
        let actions = router.handle(ev, now);
        self.apply(i, actions);
    }

    fn start(&mut self, i: usize) {
        if !self.alive(i) {
            self.nodes[i].router = Some(Router::new(self.nodes[i].cfg.clone()));
            self.event(i, Event::Startup);
        }
    }

    fn crash(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.router = None;
        n.timer = None;
        n.vips = false; // the machine is gone, and its addresses with it
    }

    fn stop(&mut self, i: usize) {
        self.event(i, Event::Shutdown);
        self.crash(i);
    }

    fn apply(&mut self, i: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::SendAdvert { priority } => self.broadcast(i, priority),
                Action::AddVips => self.nodes[i].vips = true,
                Action::RemoveVips => self.nodes[i].vips = false,
                Action::SendGratuitous => {
                    if !self.nodes[i].vips {
                        self.violations.push(format!(
                            "{:?}: node {i} announces VIPs it does not hold",
                            self.now
                        ));
                    }
                    self.garps.push((self.now, i));
                }
                Action::SetTimer(t) => {
                    // The deadline is on the node's own clock; 1 µs absorbs
                    // float rounding so the node never wakes before it.
                    let local = t.saturating_duration_since(self.t0);
                    let global = local.div_f64(self.nodes[i].rate) + Duration::from_micros(1);
                    let late = self.rng.duration(self.net.jitter);
                    self.nodes[i].timer = Some((global + late).max(self.now));
                }
                Action::CancelTimer => self.nodes[i].timer = None,
                Action::StateChanged { from, to, reason } => self.log.push(Transition {
                    at: self.now,
                    node: i,
                    from,
                    to,
                    reason,
                }),
                Action::Discarded(e) => self.violations.push(format!(
                    "{:?}: node {i} discarded a peer advert: {e}",
                    self.now
                )),
            }
        }
        let holds = self.nodes[i].vips;
        let is_master = self.state(i) == Some(State::Master);
        if holds != is_master {
            self.violations.push(format!(
                "{:?}: node {i} holds VIPs={holds} in state {:?}",
                self.now,
                self.state(i)
            ));
        }
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        match &self.net.groups {
            Some(g) => g[a] == g[b],
            None => true,
        }
    }

    fn broadcast(&mut self, from: usize, priority: u8) {
        let Some(router) = self.nodes[from].router.as_ref() else {
            return;
        };
        let src = self.nodes[from].cfg.primary_addr;
        let dst = match src {
            IpAddr::V4(_) => IpAddr::V4(MULTICAST_V4),
            IpAddr::V6(_) => IpAddr::V6(MULTICAST_V6),
        };
        let bytes = router.advert(priority).encode(src, dst);
        for to in 0..self.nodes.len() {
            if to == from || !self.alive(to) || !self.connected(from, to) {
                continue;
            }
            let copies = if self.rng.chance(self.net.dup) { 2 } else { 1 };
            for _ in 0..copies {
                if self.rng.chance(self.net.loss) {
                    continue;
                }
                let at = self.now + self.rng.duration(self.net.delay_max);
                self.seq += 1;
                self.queue.insert(
                    (at, self.seq),
                    Packet {
                        to,
                        src,
                        dst,
                        bytes: bytes.clone(),
                    },
                );
            }
        }
    }

    /// Run every packet delivery and timer up to `end` (inclusive), in order.
    fn run_until(&mut self, end: Duration) {
        loop {
            let next_pkt = self.queue.keys().next().map(|k| k.0);
            let next_timer = (0..self.nodes.len())
                .filter_map(|i| self.nodes[i].timer.map(|t| (t, i)))
                .min();
            let timer_first = match (next_timer, next_pkt) {
                (Some((t, _)), Some(p)) => t <= p,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if timer_first {
                let (t, i) = next_timer.unwrap();
                if t > end {
                    break;
                }
                self.now = t;
                self.nodes[i].timer = None;
                self.event(i, Event::TimerExpired);
            } else {
                let (key, pkt) = self.queue.pop_first().unwrap();
                if key.0 > end {
                    self.queue.insert(key, pkt);
                    break;
                }
                self.now = key.0;
                let from = (0..self.nodes.len()).find(|&i| self.addr(i) == pkt.src);
                let still_connected = from.map_or(true, |f| self.connected(f, pkt.to));
                if !still_connected || !self.alive(pkt.to) {
                    continue;
                }
                match decode(&pkt.bytes, pkt.src, pkt.dst) {
                    Ok(advert) => self.event(
                        pkt.to,
                        Event::AdvertReceived {
                            from: pkt.src,
                            advert,
                        },
                    ),
                    Err(e) => self.violations.push(format!(
                        "{:?}: our own advert failed to decode: {e}",
                        self.now
                    )),
                }
            }
        }
        self.now = self.now.max(end);
    }

    fn trace(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            let _ = writeln!(
                s,
                "  node {} prio {} preempt {} v{:?}",
                n.cfg.primary_addr, n.cfg.priority, n.cfg.preempt, n.cfg.version
            );
        }
        for t in &self.log {
            let _ = writeln!(
                s,
                "  {:>10.3}s node {} {} -> {}: {}",
                t.at.as_secs_f64(),
                t.node,
                t.from,
                t.to,
                t.reason
            );
        }
        s
    }
}

// ===== scenarios =====

/// The random shape of one scenario, all drawn from the seed.
struct Scenario {
    seed: u64,
    interval: Duration,
    world: World,
}

fn build(seed: u64) -> Scenario {
    let mut rng = Rng(seed);
    let n = rng.range(2, 8) as usize;
    let v2 = rng.chance(0.15);
    let ipv6 = !v2 && rng.chance(0.3);
    let interval = if v2 {
        Duration::from_secs(1)
    } else {
        rng.pick(&[
            Duration::from_millis(100),
            Duration::from_millis(250),
            Duration::from_secs(1),
        ])
    };
    let preempt = rng.chance(0.5);
    let preempt_delay = if rng.chance(0.3) {
        interval * 2
    } else {
        Duration::ZERO
    };
    let garp_refresh = rng.chance(0.5).then(|| interval * rng.range(3, 10) as u32);
    // A few distinct priorities so ties (address tie-break) happen often.
    let palette: Vec<u8> = (0..3).map(|_| rng.range(1, 255) as u8).collect();
    let mut cfgs = Vec::new();
    for i in 0..n {
        let addr: IpAddr = if ipv6 {
            format!("fe80::{:x}", 0x11 + i * 0x101).parse().unwrap()
        } else {
            format!("192.0.2.{}", 11 + i).parse().unwrap()
        };
        let vip: IpAddr = if ipv6 {
            "2001:db8::100".parse().unwrap()
        } else {
            "192.0.2.100".parse().unwrap()
        };
        let mut c = RouterConfig::new(51, addr, vec![vip]);
        c.version = if v2 { Version::V2 } else { Version::V3 };
        c.priority = rng.pick(&palette);
        c.advert_interval = interval;
        c.preempt = preempt;
        c.preempt_delay = preempt_delay;
        c.garp_refresh = garp_refresh;
        cfgs.push(c);
    }
    let net = Net::healthy(interval);
    let mut world = World::new(rng, cfgs, net);
    for node in &mut world.nodes {
        // clock drift within ±1 %
        node.rate = 1.0 + (world.rng.range(0, 2001) as f64 - 1000.0) / 100_000.0;
    }
    Scenario {
        seed,
        interval,
        world,
    }
}

/// Random faults for 10–60 advert intervals.
fn fault_phase(s: &mut Scenario) {
    let w = &mut s.world;
    let n = w.nodes.len();
    let iv = s.interval;
    for i in 0..n {
        w.start(i);
    }
    let len = w.rng.range(10, 60) as u32;
    let end = iv * len;
    let ops = w.rng.range(0, 16);
    let mut times: Vec<Duration> = (0..ops).map(|_| w.rng.duration(end)).collect();
    times.sort();
    for t in times {
        w.run_until(t);
        let i = w.rng.range(0, n as u64) as usize;
        match w.rng.range(0, 14) {
            0 => w.net.loss = w.rng.pick(&[0.0, 0.1, 0.3, 0.7, 1.0]),
            1 => w.net.dup = w.rng.pick(&[0.0, 0.2, 0.5]),
            2 => w.net.delay_max = w.rng.duration(iv * 3 / 2),
            3 => w.net.jitter = w.rng.duration(iv / 2),
            4 => {
                let k = w.rng.range(2, 4);
                w.net.groups = Some((0..n).map(|_| w.rng.range(0, k) as u8).collect());
            }
            5 => w.net.groups = None,
            6 => w.crash(i),
            7 => w.start(i),
            8 => w.stop(i),
            9 => {
                let p = w.rng.range(1, 255) as u8;
                w.event(i, Event::PriorityChanged(p));
            }
            10 => {
                let hold = iv * w.rng.range(0, 6) as u32;
                w.event(i, Event::StepDown { hold });
            }
            11 => {
                let healthy = w.rng.chance(0.5);
                w.event(i, Event::HealthChanged { healthy });
            }
            12 => {
                let ev = if w.rng.chance(0.5) {
                    Event::Pause
                } else {
                    Event::Resume
                };
                w.event(i, ev);
            }
            _ => {
                let ev = if w.rng.chance(0.5) {
                    Event::LinkDown
                } else {
                    Event::LinkUp
                };
                w.event(i, ev);
            }
        }
    }
    w.run_until(end);
}

/// Heal the network and every router (some crashed ones stay dead).
fn heal(s: &mut Scenario) {
    let w = &mut s.world;
    w.net = Net::healthy(s.interval);
    w.net.dup = w.rng.pick(&[0.0, 0.1]);
    for i in 0..w.nodes.len() {
        if !w.alive(i) && w.rng.chance(0.6) {
            w.start(i);
        }
        w.event(i, Event::Resume);
        w.event(i, Event::HealthChanged { healthy: true });
        w.event(i, Event::LinkUp);
    }
    if (0..w.nodes.len()).all(|i| !w.alive(i)) {
        w.start(0);
    }
}

fn fail(s: &Scenario, what: String) -> Result<(), TestCaseError> {
    Err(TestCaseError::fail(format!(
        "seed {}: {what}\nreplay: VRRP_SIM_SEED={} cargo test --test vrrp_sim replay -- --nocapture\n{}",
        s.seed,
        s.seed,
        s.world.trace()
    )))
}

fn check_violations(s: &Scenario) -> Result<(), TestCaseError> {
    match s.world.violations.first() {
        Some(v) => fail(s, v.clone()),
        None => Ok(()),
    }
}

/// How long a healthy network needs to converge from now, per the issue:
/// Master_Down_Interval (of the lowest priority alive, the slowest to react)
/// and three adverts, plus what the configuration adds on purpose (a step-down
/// hold still running; a preempt delay and the master-down wait after it),
/// network delay and timer lateness.
fn settle(s: &Scenario) -> Duration {
    let w = &s.world;
    let now = w.t0 + w.now;
    let mut hold = Duration::ZERO;
    let mut mdi = Duration::ZERO;
    for i in alive_set(w) {
        let r = w.nodes[i].router.as_ref().unwrap();
        if let Some(h) = r.hold_until(now) {
            hold = hold.max(h - now);
        }
        mdi = mdi.max(rfc_master_down_interval(
            &w.nodes[i].cfg,
            r.effective_priority(),
        ));
    }
    // A preempt delay only starts once a lower master is heard, which may
    // itself take a Master_Down_Interval; then the preempting router still
    // waits out its own master-down timer.
    let delay = w.nodes[0].cfg.preempt_delay;
    let preempt_chain = if delay.is_zero() {
        Duration::ZERO
    } else {
        delay + mdi
    };
    hold + mdi + preempt_chain + s.interval * 3 + w.net.delay_max * 2 + w.net.jitter
}

fn alive_set(w: &World) -> Vec<usize> {
    (0..w.nodes.len()).filter(|&i| w.alive(i)).collect()
}

/// Invariant 1: exactly one master, the right one.
fn check_converged(s: &Scenario, since: Duration) -> Result<usize, TestCaseError> {
    let w = &s.world;
    let masters = w.masters();
    let m = match masters.as_slice() {
        [m] => *m,
        _ => {
            fail(
                s,
                format!("{:?}: expected one master, found {masters:?}", w.now),
            )?;
            return Err(TestCaseError::fail("unreachable"));
        }
    };
    let alive = alive_set(w);
    if w.nodes[m].cfg.preempt {
        let top = alive.iter().map(|&i| w.priority(i)).max().unwrap_or(0);
        if w.priority(m) != top {
            fail(
                s,
                format!(
                    "preempt on: master {m} has priority {}, highest alive is {top}",
                    w.priority(m)
                ),
            )?;
        }
    }
    // The best router that held mastership since `since` (or was master then) wins.
    let mut were_master: Vec<usize> = w
        .log
        .iter()
        .filter(|t| t.at >= since && t.to == State::Master)
        .map(|t| t.node)
        .filter(|&i| w.alive(i))
        .collect();
    were_master.push(m);
    if let Some(best) = w.best_of(&were_master) {
        if best != m && w.beats(best, m) {
            fail(
                s,
                format!("master {m} but node {best} (master since the heal) beats it"),
            )?;
        }
    }
    Ok(m)
}

fn run_scenario(seed: u64) -> Result<(), TestCaseError> {
    let mut s = build(seed);
    run_phases(&mut s)
}

/// Fault phase, then the four checks in a healthy network.
fn run_phases(s: &mut Scenario) -> Result<(), TestCaseError> {
    let iv = s.interval;
    fault_phase(s);
    check_violations(s)?;

    // 1. convergence once the network is healthy
    heal(s);
    let healed = s.world.now;
    s.world.run_until(healed + settle(s));
    check_violations(s)?;
    check_converged(s, healed)?;

    // 2. no flapping
    let quiet_from = s.world.now;
    let changes_before = s.world.log.len();
    s.world.run_until(quiet_from + iv * 30);
    check_violations(s)?;
    if s.world.log.len() != changes_before {
        let t = &s.world.log[changes_before];
        fail(
            s,
            format!(
                "flapping in a healthy network: node {} {} -> {} at {:?} ({})",
                t.node, t.from, t.to, t.at, t.reason
            ),
        )?;
    }

    // 3. crash the master: a new one within Master_Down_Interval + 1 interval
    if alive_set(&s.world).len() >= 2 {
        let old = s.world.masters()[0];
        s.world.crash(old);
        let crashed_at = s.world.now;
        let alive = alive_set(&s.world);
        let best = s.world.best_of(&alive).unwrap();
        let mdi = rfc_master_down_interval(&s.world.nodes[best].cfg, s.world.priority(best));
        let bound = crashed_at + mdi + iv;
        s.world.run_until(bound);
        check_violations(s)?;
        let took_over = s
            .world
            .log
            .iter()
            .any(|t| t.at > crashed_at && t.to == State::Master);
        if !took_over {
            fail(
                s,
                format!(
                    "no new master within {:?} (Master_Down_Interval {mdi:?} + {iv:?}) of the crash at {crashed_at:?}",
                    mdi + iv
                ),
            )?;
        }
        s.world.run_until(bound + settle(s));
        check_violations(s)?;
        check_converged(s, crashed_at)?;
        // the old master comes back (and takes over only with preempt)
        s.world.start(old);
        let restarted = s.world.now;
        s.world.run_until(restarted + settle(s));
        check_violations(s)?;
        check_converged(s, restarted)?;
    }

    // 4. partition heal: dual masters resolve within one interval, winner re-announces
    let alive = alive_set(&s.world);
    if alive.len() >= 2 {
        let mut groups = vec![0u8; s.world.nodes.len()];
        let split = s.world.rng.range(1, alive.len() as u64) as usize;
        for (k, &i) in alive.iter().enumerate() {
            groups[i] = u8::from(k >= split);
        }
        s.world.net.groups = Some(groups.clone());
        let parted = s.world.now;
        s.world.run_until(parted + settle(s));
        check_violations(s)?;
        for g in 0..2u8 {
            let in_group: Vec<usize> = s
                .world
                .masters()
                .into_iter()
                .filter(|&i| groups[i] == g)
                .collect();
            if in_group.len() != 1 {
                fail(
                    s,
                    format!("partition {g}: expected one master, found {in_group:?}"),
                )?;
            }
        }
        let duals = s.world.masters();
        let winner = s.world.best_of(&duals).unwrap();
        s.world.net.groups = None;
        let healed = s.world.now;
        // One advert interval on the slowest clock, then one advert each way
        // across the network, late by at most the timer lateness.
        let slowest = s
            .world
            .nodes
            .iter()
            .map(|n| n.rate)
            .fold(f64::MAX, f64::min);
        let one_interval = iv.div_f64(slowest);
        let slack = s.world.net.jitter + s.world.net.delay_max * 2 + Duration::from_millis(1);
        let bound = healed + one_interval + slack;
        s.world.run_until(bound);
        check_violations(s)?;
        let masters = s.world.masters();
        if masters != [winner] {
            fail(
                s,
                format!(
                    "dual masters {duals:?} not resolved to {winner} within {:?} of the heal: masters {masters:?}",
                    one_interval + slack
                ),
            )?;
        }
        let announced = s
            .world
            .garps
            .iter()
            .any(|&(t, i)| i == winner && t > healed && t <= bound);
        if !announced {
            fail(
                s,
                format!("winner {winner} did not re-announce the VIPs after the partition healed"),
            )?;
        }
        s.world.run_until(bound + settle(s));
        check_violations(s)?;
        check_converged(s, healed)?;
    }
    Ok(())
}

/// Master_Down_Interval computed independently of the router: RFC 5798 §6.1
/// (v3) and RFC 3768 §6.1 (v2, skew in fractions of a second).
fn rfc_master_down_interval(cfg: &RouterConfig, priority: u8) -> Duration {
    let unit = match cfg.version {
        Version::V3 => cfg.advert_interval,
        Version::V2 => Duration::from_secs(1),
    };
    let skew = unit * (256 - u32::from(priority)) / 256;
    cfg.advert_interval * 3 + skew
}

fn cases() -> u32 {
    std::env::var("VRRP_SIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_under_random_faults(seed in any::<u64>()) {
        run_scenario(seed)?;
    }
}

/// Replays one seed (from a failure message) and prints its transition log.
#[test]
fn replay() {
    let Some(seed) = std::env::var("VRRP_SIM_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        println!("set VRRP_SIM_SEED=<seed> to replay one simulation");
        return;
    };
    let mut s = build(seed);
    let result = run_phases(&mut s);
    println!("seed {seed}:\n{}", s.world.trace());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn same_seed_same_history() {
    for seed in [1u64, 42, 0xdead_beef] {
        let run = |seed| {
            let mut s = build(seed);
            fault_phase(&mut s);
            heal(&mut s);
            let end = s.world.now + settle(&s);
            s.world.run_until(end);
            (s.world.log, s.world.garps)
        };
        assert_eq!(run(seed), run(seed), "seed {seed} is not deterministic");
    }
}

#[test]
fn seven_routers_elect_the_highest_and_fail_over_in_time() {
    // A fixed, readable scenario: priorities 10..70, preempt on, 100 ms adverts.
    let iv = Duration::from_millis(100);
    let cfgs = (0..7)
        .map(|i| {
            let mut c = RouterConfig::new(
                51,
                format!("192.0.2.{}", 11 + i).parse().unwrap(),
                vec!["192.0.2.100".parse().unwrap()],
            );
            c.priority = 10 * (i as u8 + 1);
            c.advert_interval = iv;
            c.preempt = true;
            c
        })
        .collect();
    let mut w = World::new(Rng(7), cfgs, Net::healthy(iv));
    for i in 0..7 {
        w.start(i);
    }
    w.run_until(iv * 10);
    assert_eq!(w.masters(), vec![6]);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
    w.crash(6);
    let crashed = w.now;
    w.run_until(crashed + iv * 10);
    let first = w
        .log
        .iter()
        .find(|t| t.at > crashed && t.to == State::Master)
        .expect("a new master");
    assert_eq!(first.node, 5, "the next highest priority takes over first");
    // 3 × 100 ms + (256 − 60) × 100 ms / 256 = 376.5625 ms after its last advert
    assert!(
        first.at - crashed <= iv * 4 + iv / 10,
        "{:?}",
        first.at - crashed
    );
    assert_eq!(w.masters(), vec![5]);
}
