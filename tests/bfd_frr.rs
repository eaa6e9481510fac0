//! Interop with FRR's bfdd (an independent RFC 5880/5881 implementation):
//! sessions come Up whoever starts first, over IPv4 and IPv6, and tear-down
//! is seen on both sides: FRR's peer shut down (AdminDown) or killed
//! (detection time expires: Down with diag 1), and our AdminDown seen by FRR.
//!
//! Needs root (network namespaces) and FRR (Debian package `frr`); skips with
//! a message naming what is missing otherwise. bfdd runs standalone (no
//! zebra) in unit 0, our session and sockets in a thread inside unit 1.

mod bfd_support;
mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bfd_support::{Driver, FrrDir};
use k8s_vip::bfd::packet::{Diag, SessionState};
use k8s_vip::bfd::session::{Event, SessionConfig};
use support::netns::{require_root, wait_for, Lab, Proc};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn can_run() -> bool {
    require_root()
        && support::skip::need_program("/usr/lib/frr/bfdd")
        && support::skip::need_program("vtysh")
}

/// A bfdd peer block; `fast` = 20 ms × 3, otherwise FRR's defaults (300 ms × 3).
fn peer_block(peer: IpAddr, local: IpAddr, fast: bool) -> String {
    let timers = if fast {
        "  receive-interval 20\n  transmit-interval 20\n  detect-multiplier 3\n"
    } else {
        ""
    };
    format!(" peer {peer} local-address {local}\n{timers} !\n")
}

struct Frr {
    dir: FrrDir,
    ns: String,
    proc: Proc,
}

impl Frr {
    fn start(lab: &Lab, peers: &[String]) -> Frr {
        let config = format!("bfd\n{}!\n", peers.concat());
        let dir = FrrDir::new(&config);
        let args = dir.bfdd_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ns = lab.unit(0).ns.clone();
        let proc = lab.spawn_logged(&ns, "bfdd", &args);
        let vty = dir.path().join("bfdd.vty");
        assert!(
            wait_for(Duration::from_secs(10), || vty.exists()).is_some(),
            "bfdd did not start: {}",
            proc.log()
        );
        Frr { dir, ns, proc }
    }

    fn vtysh(&self, lab: &Lab, commands: &[&str]) -> String {
        let sock = self.dir.path().display().to_string();
        let mut args = vec!["vtysh", "--vty_socket", &sock];
        for c in commands {
            args.push("-c");
            args.push(c);
        }
        lab.exec_ok(&self.ns, &args)
    }

    /// FRR's JSON view of its session with `peer`.
    fn peer(&self, lab: &Lab, peer: IpAddr) -> serde_json::Value {
        let out = self.vtysh(lab, &["show bfd peers json"]);
        let all: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        all.as_array()
            .into_iter()
            .flatten()
            .find(|p| p["peer"].as_str() == Some(&peer.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    fn wait_status(&self, lab: &Lab, peer: IpAddr, status: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.peer(lab, peer)["status"] == status).is_some()
    }
}

fn fast() -> SessionConfig {
    SessionConfig {
        local_discriminator: 0x6b38_0001,
        desired_min_tx: ms(20),
        required_min_rx: ms(20),
        detect_mult: 3,
        passive: false,
    }
}

/// Addresses of FRR (unit 0) and ours (unit 1) in one family.
fn addrs(lab: &Lab, v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        (lab.unit(0).ipv6.into(), lab.unit(1).ipv6.into())
    } else {
        (lab.unit(0).ipv4.into(), lab.unit(1).ipv4.into())
    }
}

/// Brings a session Up with FRR first or ours first; returns both ends.
fn bring_up(
    lab: &Lab,
    v6: bool,
    frr_first: bool,
    fast_frr: bool,
    cfg: SessionConfig,
) -> (Frr, Driver) {
    let (theirs, ours) = addrs(lab, v6);
    let block = peer_block(ours, theirs, fast_frr);
    let start_ours = || Driver::start(&lab.unit(1).ns, ours, theirs, cfg);
    let (frr, driver) = if frr_first {
        let frr = Frr::start(lab, &[block]);
        std::thread::sleep(ms(1500));
        (frr, start_ours())
    } else {
        let driver = start_ours();
        std::thread::sleep(ms(1500));
        (Frr::start(lab, &[block]), driver)
    };
    let t = Instant::now();
    let up = driver.wait_state(SessionState::Up, Duration::from_secs(10));
    assert!(
        up.is_some(),
        "our session never came Up with FRR ({:?}); FRR says {}; log: {}",
        driver.seen.lock().unwrap(),
        frr.peer(lab, ours),
        frr.proc.log()
    );
    assert!(
        frr.wait_status(lab, ours, "up", Duration::from_secs(5)),
        "FRR: {}",
        frr.peer(lab, ours)
    );
    eprintln!(
        "{} {} first: Up {:?} after the second start",
        if v6 { "IPv6" } else { "IPv4" },
        if frr_first { "FRR" } else { "ours" },
        t.elapsed()
    );
    (frr, driver)
}

/// Once Up, both ends run at the negotiated rate: FRR's detection of us and
/// ours of FRR use the fast timers, and nothing was dropped.
fn check_steady(lab: &Lab, frr: &Frr, driver: &Driver, ours: IpAddr, want_detect: Duration) {
    let settled = wait_for(Duration::from_secs(3), || {
        driver.seen.lock().unwrap().detection_time == Some(want_detect)
    });
    assert!(
        settled.is_some(),
        "our detection time: {:?}",
        driver.seen.lock().unwrap().detection_time
    );
    let before = driver.seen.lock().unwrap().changes.len();
    std::thread::sleep(ms(1000));
    let ours_now = format!("{:?}", driver.seen.lock().unwrap());
    let frr_view = frr.peer(lab, ours);
    let (changes, drops) = {
        let s = driver.seen.lock().unwrap();
        (s.changes.len(), s.counters.dropped.len())
    };
    assert_eq!(changes, before, "flapped while steady: {ours_now}");
    assert_eq!(drops, 0, "drops: {ours_now}");
    assert_eq!(
        frr_view["status"],
        "up",
        "FRR: {frr_view}\nours: {ours_now}\nFRR log: {}",
        frr.proc.log()
    );
}

#[test]
fn ipv4_frr_first_then_frr_shuts_the_peer_down() {
    if !can_run() {
        return;
    }
    let lab = Lab::new("bfd4s", 2);
    let (theirs, ours) = addrs(&lab, false);
    let (frr, driver) = bring_up(&lab, false, true, true, fast());
    check_steady(&lab, &frr, &driver, ours, ms(60));
    // Our AdminDown: FRR sees the session go down, told why.
    driver.command(Event::AdminDown);
    assert!(
        frr.wait_status(&lab, ours, "down", Duration::from_secs(2)),
        "FRR: {}",
        frr.peer(&lab, ours)
    );
    let p = frr.peer(&lab, ours);
    assert_eq!(p["remote-diagnostic"], "administratively down", "FRR: {p}");
    driver.command(Event::AdminUp);
    assert!(driver
        .wait_state(SessionState::Up, Duration::from_secs(5))
        .is_some());
    assert!(frr.wait_status(&lab, ours, "up", Duration::from_secs(5)));
    // FRR's operator shuts the peer: we see AdminDown, go Down with diag 3.
    let t = Instant::now();
    frr.vtysh(
        &lab,
        &[
            "conf t",
            "bfd",
            &format!("peer {ours} local-address {theirs}"),
            "shutdown",
        ],
    );
    let done = Instant::now();
    let down = driver
        .wait_state(SessionState::Down, Duration::from_secs(2))
        .expect("Down after FRR shutdown");
    let change = driver.change_to(SessionState::Down, t).unwrap().1;
    assert_eq!(change.diag, Diag::NeighborSignaledDown);
    assert!(
        down <= done + ms(60),
        "Down {:?} after vtysh returned",
        down.saturating_duration_since(done)
    );
    eprintln!(
        "IPv4: FRR shutdown seen {:?} after vtysh started ({:?} after it returned)",
        down - t,
        down.saturating_duration_since(done)
    );
}

/// Kills FRR and checks that we go Down with diag 1 exactly one detection
/// time after the last packet (± one poll slice of the driver).
fn kill_and_check(mut frr: Frr, driver: &Driver, label: &str) {
    let detect = driver
        .seen
        .lock()
        .unwrap()
        .detection_time
        .expect("detection time");
    let t = Instant::now();
    frr.proc.kill();
    let down = driver
        .wait_state(SessionState::Down, detect + Duration::from_secs(2))
        .expect("Down after FRR was killed");
    let (at, change) = driver.change_to(SessionState::Down, t).unwrap();
    assert_eq!(change.diag, Diag::ControlDetectionTimeExpired);
    let last = driver.seen.lock().unwrap().last_rx.unwrap();
    let silent = at - last;
    assert!(
        silent >= detect,
        "{label}: Down {silent:?} after the last packet, detection time {detect:?}"
    );
    assert!(
        silent <= detect + ms(10),
        "{label}: Down {silent:?} after the last packet, detection time {detect:?}"
    );
    eprintln!("{label}: FRR killed, Down (diag 1) {:?} after the kill, {silent:?} after the last packet (detection time {detect:?})", down - t);
}

#[test]
fn ipv4_ours_first_then_frr_is_killed() {
    if !can_run() {
        return;
    }
    let lab = Lab::new("bfd4k", 2);
    let (_, ours) = addrs(&lab, false);
    let (frr, driver) = bring_up(&lab, false, false, true, fast());
    check_steady(&lab, &frr, &driver, ours, ms(60));
    kill_and_check(frr, &driver, "IPv4 20 ms x 3");
}

#[test]
fn ipv6_ours_first_then_frr_shuts_the_peer_down() {
    if !can_run() {
        return;
    }
    let lab = Lab::new("bfd6s", 2);
    let (theirs, ours) = addrs(&lab, true);
    let (frr, driver) = bring_up(&lab, true, false, true, fast());
    check_steady(&lab, &frr, &driver, ours, ms(60));
    driver.command(Event::AdminDown);
    assert!(
        frr.wait_status(&lab, ours, "down", Duration::from_secs(2)),
        "FRR: {}",
        frr.peer(&lab, ours)
    );
    assert_eq!(
        frr.peer(&lab, ours)["remote-diagnostic"],
        "administratively down"
    );
    driver.command(Event::AdminUp);
    assert!(driver
        .wait_state(SessionState::Up, Duration::from_secs(5))
        .is_some());
    let t = Instant::now();
    frr.vtysh(
        &lab,
        &[
            "conf t",
            "bfd",
            &format!("peer {ours} local-address {theirs}"),
            "shutdown",
        ],
    );
    let done = Instant::now();
    let down = driver
        .wait_state(SessionState::Down, Duration::from_secs(2))
        .expect("Down after FRR shutdown");
    assert_eq!(
        driver.change_to(SessionState::Down, t).unwrap().1.diag,
        Diag::NeighborSignaledDown
    );
    assert!(down <= done + ms(60));
    eprintln!("IPv6: FRR shutdown seen {:?} after vtysh started", down - t);
}

#[test]
fn ipv6_frr_first_at_frr_defaults_then_frr_is_killed() {
    if !can_run() {
        return;
    }
    let lab = Lab::new("bfd6k", 2);
    let (_, ours) = addrs(&lab, true);
    // FRR at its defaults (300 ms × 3): we send every 300 ms (its RX), and
    // detect it after 3 × 300 ms.
    let (frr, driver) = bring_up(&lab, true, true, false, fast());
    check_steady(&lab, &frr, &driver, ours, ms(900));
    kill_and_check(frr, &driver, "IPv6 FRR defaults 300 ms x 3");
}
