//! The routed lab and the seam BGP mode relies on, with real FRR on both
//! sides: a unit's FRR, configured the way the charm configures it
//! (prefix-list K8S-VIP-OUT, `redistribute connected route-map K8S-VIP-OUT`,
//! everything denied inbound, eBGP 64512 to the router's 65000, BFD
//! 100 ms × 3), announces a VIP exactly while the VIP sits on the dummy
//! interface `k8s-vip-bgp` — what the agent does — and the router and the
//! client behind it follow. Also: ECMP with two announcers, IPv6 over an
//! IPv6 session, wrong password / wrong ASN, a unit that dies (cable pulled,
//! FRR SIGKILLed: BFD), and the fake `systemctl` running frr.service for a
//! unit of the simulated model.
//!
//! Needs root (network namespaces) and FRR (Debian package `frr`); skips
//! with a message naming what is missing otherwise. Labs run one at a time:
//! BFD at 100 ms on a loaded two-core machine is what is measured.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::frr::Frr;
use support::routed::{RoutedLab, RouterOptions, ROUTER_ASN, UNIT_ASN, VIP4, VIP6};

const PORT: u16 = 8443;
const SETTLE: Duration = Duration::from_secs(30);

static ONE_LAB: Mutex<()> = Mutex::new(());

fn one_lab() -> std::sync::MutexGuard<'static, ()> {
    ONE_LAB.lock().unwrap_or_else(|e| e.into_inner())
}

fn can_run() -> bool {
    support::netns::require_root() && support::frr::available()
}

/// The unit side's BGP settings (what the charm's options become).
struct UnitBgp {
    asn: u32,
    password: Option<&'static str>,
    ipv6: bool,
    graceful_restart: bool,
}

impl Default for UnitBgp {
    fn default() -> Self {
        UnitBgp {
            asn: UNIT_ASN,
            password: None,
            ipv6: true,
            graceful_restart: true,
        }
    }
}

/// A unit's FRR configuration of the shape the charm renders. Written the
/// way FRR 8.4 shows its running config, because frr-reload.py compares the
/// two line by line and turns every difference into commands: a lone
/// `neighbor X bfd profile P` makes it run `no neighbor X bfd` (the BFD
/// session goes down and the router resets BGP); a `hostname` differing
/// from the running one is flipped on every reload. What it cannot know
/// (`detect-multiplier 3`, the default, is not shown) is re-applied
/// harmlessly. It also turns a running `no ip forwarding` that the file
/// lacks into `ip forwarding` (these units forward nothing, and do after a
/// reload; Kubernetes nodes forward anyway).
fn unit_config(lab: &RoutedLab, i: usize, opts: &UnitBgp) -> String {
    let unit = lab.unit(i);
    let mut peers = vec![(IpAddr::V4(unit.gateway4), "ipv4")];
    if opts.ipv6 {
        peers.push((IpAddr::V6(unit.gateway6), "ipv6"));
    }
    let mut c = format!(
        "! Managed by k8s-vip (juju application k8s-vip); changes here are overwritten.\n\
         !\n\
         ip prefix-list K8S-VIP-OUT seq 10 permit {VIP4}/32\n\
         ipv6 prefix-list K8S-VIP-OUT seq 10 permit {VIP6}/128\n\
         !\n\
         route-map K8S-VIP-OUT permit 10\n match ip address prefix-list K8S-VIP-OUT\nexit\n\
         route-map K8S-VIP-OUT permit 20\n match ipv6 address prefix-list K8S-VIP-OUT\nexit\n\
         route-map K8S-VIP-IN deny 10\nexit\n\
         !\n\
         bfd\n profile k8s-vip\n  detect-multiplier 3\n  receive-interval 100\n  transmit-interval 100\n exit\nexit\n\
         !\n\
         router bgp {asn}\n bgp router-id {id}\n no bgp default ipv4-unicast\n",
        asn = opts.asn,
        id = unit.ipv4,
    );
    if opts.graceful_restart {
        c.push_str(" bgp graceful-restart\n");
    }
    for (peer, _) in &peers {
        c.push_str(&format!(" neighbor {peer} remote-as {ROUTER_ASN}\n"));
        c.push_str(&format!(" neighbor {peer} timers connect 2\n"));
        // Both lines, as FRR shows them: frr-reload.py compares with the
        // running config, and would otherwise remove `neighbor X bfd`
        // (the BFD session goes down, the router resets BGP) and add it back.
        c.push_str(&format!(
            " neighbor {peer} bfd\n neighbor {peer} bfd profile k8s-vip\n"
        ));
        if let Some(pw) = opts.password {
            c.push_str(&format!(" neighbor {peer} password {pw}\n"));
        }
    }
    for (peer, af) in &peers {
        c.push_str(&format!(
            " address-family {af} unicast\n  redistribute connected route-map K8S-VIP-OUT\n  \
             neighbor {peer} activate\n  neighbor {peer} route-map K8S-VIP-IN in\n  \
             neighbor {peer} route-map K8S-VIP-OUT out\n exit-address-family\n"
        ));
    }
    c.push_str("exit\n!\n");
    c
}

fn start_unit(lab: &RoutedLab, i: usize, opts: &UnitBgp) -> Frr {
    Frr::start(&lab.unit(i).ns, &unit_config(lab, i, opts))
}

fn v4(i: &support::routed::Host) -> IpAddr {
    IpAddr::V4(i.ipv4)
}

fn established(router: &Frr, peer: IpAddr) {
    assert!(
        router.wait_established(peer, SETTLE).is_some(),
        "router: session with {peer} not Established: {:?}\n{}",
        router.peer_states(),
        router.logs()
    );
}

fn vip4() -> IpAddr {
    IpAddr::V4(VIP4)
}

fn vip6() -> IpAddr {
    IpAddr::V6(VIP6)
}

fn prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[test]
fn a_vip_on_the_dummy_is_announced_reached_and_withdrawn() {
    if !can_run() {
        return;
    }
    let _one = one_lab();
    let lab = RoutedLab::new("frrvip", 1);
    let router = lab.start_router(&RouterOptions::default());
    let unit = start_unit(&lab, 0, &UnitBgp::default());
    let u0 = v4(lab.unit(0));
    established(&router, u0);
    // Nothing announced yet: the unit's own subnet and loopback stay home.
    assert_eq!(
        router.neighbor(u0)["addressFamilyInfo"]["ipv4Unicast"]["acceptedPrefixCounter"],
        0
    );
    // The router sends its networks; the unit's inbound policy takes none.
    let c_net = "192.0.2.0/28";
    assert_eq!(
        unit.route_protocol(c_net),
        None,
        "unit learnt {c_net} despite deny in"
    );
    assert!(unit
        .wait_until(Duration::from_secs(2), |u| u
            .route_protocol(c_net)
            .is_some())
        .is_none());

    let _server = lab.serve(&lab.unit(0).ns, PORT, "unit0");
    lab.add_vip(0, vip4());
    let took = router.wait_fib(&prefix(vip4()), &[u0], SETTLE);
    assert!(
        took.is_some(),
        "router never learnt {VIP4}: {}",
        router.logs()
    );
    println!(
        "announce: router FIB has {VIP4} {} ms after the address was added",
        ms(took.unwrap())
    );
    assert_eq!(lab.router_kernel_hops(vip4()), vec![u0]);
    let n = router.neighbor(u0);
    assert_eq!(
        n["addressFamilyInfo"]["ipv4Unicast"]["acceptedPrefixCounter"], 1,
        "only the VIP: {n}"
    );
    let got = lab.probe(
        &lab.client().ns,
        SocketAddr::new(vip4(), PORT),
        Duration::from_secs(2),
    );
    assert_eq!(
        got.as_deref(),
        Some("unit0"),
        "client could not reach the VIP through the router"
    );

    lab.del_vip(0, vip4());
    let took = router.wait_fib(&prefix(vip4()), &[], SETTLE);
    assert!(
        took.is_some(),
        "router kept {VIP4} after the unit removed it"
    );
    println!(
        "withdraw: router FIB lost {VIP4} {} ms after the address was removed",
        ms(took.unwrap())
    );
    assert!(lab.router_kernel_hops(vip4()).is_empty());
    let got = lab.probe(
        &lab.client().ns,
        SocketAddr::new(vip4(), PORT),
        Duration::from_millis(500),
    );
    assert_eq!(
        got, None,
        "client still reached the VIP after the withdrawal"
    );
}

#[test]
fn two_units_announcing_make_an_ecmp_route() {
    if !can_run() {
        return;
    }
    let _one = one_lab();
    let lab = RoutedLab::new("frrecmp", 2);
    let router = lab.start_router(&RouterOptions::default());
    let _units: Vec<Frr> = (0..2)
        .map(|i| start_unit(&lab, i, &UnitBgp::default()))
        .collect();
    let (u0, u1) = (v4(lab.unit(0)), v4(lab.unit(1)));
    established(&router, u0);
    established(&router, u1);
    let _servers: Vec<_> = (0..2)
        .map(|i| lab.serve(&lab.unit(i).ns, PORT, &format!("unit{i}")))
        .collect();
    lab.add_vip(0, vip4());
    lab.add_vip(1, vip4());
    assert!(
        router
            .wait_fib(&prefix(vip4()), &[u0, u1], SETTLE)
            .is_some(),
        "no ECMP route: {:?}",
        router.fib_next_hops(&prefix(vip4()))
    );
    let mut kernel = lab.router_kernel_hops(vip4());
    kernel.sort();
    assert_eq!(kernel, vec![u0, u1], "the kernel route is not multipath");
    // Connections from one client spread over both units (ports in the hash).
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..40 {
        if let Some(who) = lab.probe(
            &lab.client().ns,
            SocketAddr::new(vip4(), PORT),
            Duration::from_secs(1),
        ) {
            *seen.entry(who).or_insert(0) += 1;
        }
    }
    println!("ecmp: 40 connections went to {seen:?}");
    assert_eq!(seen.len(), 2, "connections did not spread: {seen:?}");

    lab.del_vip(1, vip4());
    assert!(
        router.wait_fib(&prefix(vip4()), &[u0], SETTLE).is_some(),
        "unit1's withdrawal did not leave unit0 alone: {:?}",
        router.fib_next_hops(&prefix(vip4()))
    );
}

#[test]
fn an_ipv6_vip_goes_over_an_ipv6_session() {
    if !can_run() {
        return;
    }
    let _one = one_lab();
    let lab = RoutedLab::new("frrv6", 1);
    let router = lab.start_router(&RouterOptions::default());
    let _unit = start_unit(&lab, 0, &UnitBgp::default());
    let u0v6 = IpAddr::V6(lab.unit(0).ipv6);
    established(&router, u0v6);
    let _server = lab.serve(&lab.unit(0).ns, PORT, "unit0");
    lab.add_vip(0, vip6());
    let p = prefix(vip6());
    assert!(
        router.wait_fib_count(&p, 1, SETTLE).is_some(),
        "router never learnt {VIP6}: {}",
        router.json("show bgp ipv6 unicast json")
    );
    assert_eq!(router.route_protocol(&p).as_deref(), Some("bgp"));
    // Learnt over the IPv6 session only: the IPv4 session carries no IPv6.
    let n4 = router.neighbor(v4(lab.unit(0)));
    assert!(
        n4["addressFamilyInfo"]["ipv6Unicast"].is_null(),
        "IPv6 over the IPv4 session: {n4}"
    );
    let got = lab.probe(
        &lab.client().ns,
        SocketAddr::new(vip6(), PORT),
        Duration::from_secs(2),
    );
    assert_eq!(
        got.as_deref(),
        Some("unit0"),
        "client could not reach [{VIP6}]"
    );
    lab.del_vip(0, vip6());
    assert!(
        router.wait_fib(&p, &[], SETTLE).is_some(),
        "router kept {VIP6}"
    );
}

#[test]
fn a_wrong_password_or_asn_never_establishes() {
    if !can_run() {
        return;
    }
    let _one = one_lab();
    let lab = RoutedLab::new("frrauth", 3);
    let opts = RouterOptions {
        password: Some("lab-secret".into()),
        ipv6: false,
        ..RouterOptions::default()
    };
    let router = lab.start_router(&opts);
    let v4only = |password, asn| UnitBgp {
        password,
        asn,
        ipv6: false,
        ..UnitBgp::default()
    };
    let _good = start_unit(&lab, 0, &v4only(Some("lab-secret"), UNIT_ASN));
    let _bad_pw = start_unit(&lab, 1, &v4only(Some("not-the-secret"), UNIT_ASN));
    let _bad_asn = start_unit(&lab, 2, &v4only(Some("lab-secret"), UNIT_ASN + 1));
    // The control: the right password and ASN establish.
    established(&router, v4(lab.unit(0)));
    // Several connect retries (2 s) later, the others still are not.
    std::thread::sleep(Duration::from_secs(8));
    let states = router.peer_states();
    for i in [1, 2] {
        let peer = v4(lab.unit(i)).to_string();
        assert_ne!(
            states.get(&peer).map(String::as_str),
            Some("Established"),
            "unit{i}: {states:?}"
        );
    }
    let bad_asn = router.neighbor(v4(lab.unit(2)));
    println!(
        "wrong ASN, router's view: state {} last reset {:?} notification {:?}",
        bad_asn["bgpState"], bad_asn["lastResetDueTo"], bad_asn["lastNotificationReason"]
    );
    assert_eq!(
        bad_asn["lastNotificationReason"], "OPEN Message Error/Bad Peer AS",
        "{bad_asn}"
    );
    // The wrong password never gets past TCP: the router's kernel drops
    // the segments whose MD5 signature does not match.
    let md5_failures = md5_failures(&lab, lab.router());
    println!("wrong password: the router's kernel rejected {md5_failures} segments (TCP-MD5)");
    assert!(md5_failures > 0, "no TCP-MD5 failure counted on the router");
}

/// `TcpExtTCPMD5Failure` of namespace `ns` (segments with a wrong signature).
fn md5_failures(lab: &RoutedLab, ns: &str) -> u64 {
    let out = lab.exec_ok(ns, &["nstat", "-asz", "TcpExtTCPMD5Failure"]);
    out.lines()
        .find_map(|l| l.strip_prefix("TcpExtTCPMD5Failure"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_dead_unit_is_withdrawn_by_bfd() {
    if !can_run() {
        return;
    }
    let _one = one_lab();
    let lab = RoutedLab::new("frrbfd", 2);
    let router = lab.start_router(&RouterOptions::default());
    let mut units: Vec<Frr> = (0..2)
        .map(|i| start_unit(&lab, i, &UnitBgp::default()))
        .collect();
    let (u0, u1) = (v4(lab.unit(0)), v4(lab.unit(1)));
    established(&router, u0);
    established(&router, u1);
    lab.add_vip(0, vip4());
    lab.add_vip(1, vip4());
    assert!(
        router
            .wait_fib(&prefix(vip4()), &[u0, u1], SETTLE)
            .is_some(),
        "no ECMP route"
    );
    assert!(
        router
            .wait_until(SETTLE, |r| r.bfd_status(u0).as_deref() == Some("up"))
            .is_some(),
        "BFD with unit0 never came up: {}",
        router.bfd_peers()
    );
    // Power off unit0: its cable goes dead, then its FRR dies without a word.
    let start = Instant::now();
    lab.set_cable(0, false);
    units[0].kill();
    let mut gone = None;
    let deadline = start + Duration::from_secs(20);
    while Instant::now() < deadline {
        if lab.router_kernel_hops(vip4()) == vec![u1] {
            gone = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let n = router.neighbor(u0);
    let Some(took) = gone else {
        panic!(
            "router still forwards {VIP4} to the dead unit0 after 20 s: {:?}\n{n}",
            lab.router_kernel_hops(vip4())
        );
    };
    println!(
        "bfd: router withdrew dead unit0 after {} ms (BFD 100 ms x 3, graceful restart on)",
        ms(took)
    );
    assert_eq!(
        n["lastNotificationReason"], "Cease/BFD Down",
        "the session did not go down because of BFD: {n}"
    );
}

// ===== frr.service under the simulated Juju model =====

use support::juju::Model;

const FRR: &str = "frr.service";

/// The daemons (by process name) of the unit's frr.service, in start order;
/// each must still be alive.
fn frr_daemons(model: &Model, unit: &str) -> Vec<String> {
    let svc = model.services(unit).get(FRR).cloned().unwrap_or_default();
    svc.processes()
        .into_iter()
        .map(|(pid, start)| {
            assert!(
                support::juju::state::same_process_alive(pid, start),
                "{FRR} process {pid} is gone"
            );
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

fn frr_pids(model: &Model, unit: &str) -> Vec<(u32, Option<u64>)> {
    model
        .services(unit)
        .get(FRR)
        .map(|s| s.processes())
        .unwrap_or_default()
}

fn all_gone(pids: &[(u32, Option<u64>)]) -> bool {
    pids.iter()
        .all(|&(p, s)| !support::juju::state::same_process_alive(p, s))
}

/// The charm's edit of the distribution's daemons file: bgpd and bfdd on,
/// every other line kept.
fn enable_bgp_daemons(model: &Model, unit: &str) {
    let path = model.path(unit, "/etc/frr/daemons");
    let text = std::fs::read_to_string(&path).expect("daemons file");
    let edited: String = text
        .lines()
        .map(|l| match l {
            "bgpd=no" => "bgpd=yes".to_string(),
            "bfdd=no" => "bfdd=yes".to_string(),
            other => other.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(
        text, edited,
        "the daemons file has no bgpd=no / bfdd=no lines"
    );
    std::fs::write(&path, edited).expect("write daemons");
}

fn systemctl(model: &Model, unit: &str, args: &[&str]) {
    let mut full = vec!["systemctl"];
    full.extend_from_slice(args);
    model.run_tool(unit, &full, None).assert_success();
}

#[test]
fn frr_service_runs_under_a_unit_root_in_the_simulated_model() {
    if !can_run() {
        return;
    }
    let _one = one_lab();
    let lab = RoutedLab::new("frrsvc", 1);
    let router = lab.start_router(&RouterOptions::default());
    let mut model = Model::options("k8s-vip", 1).real_services(true).build();
    let unit = model.unit(0);
    model.set_netns(&unit, &lab.unit(0).ns);
    let u0 = v4(lab.unit(0));

    // apt-get install frr: the distribution's conffiles, the service running
    // with its default daemons (bgpd=no), as Debian's maintainer scripts do.
    model
        .run_tool(&unit, &["apt-get", "install", "-y", "frr"], None)
        .assert_success();
    assert!(model.is_active(&unit, FRR));
    assert_eq!(frr_daemons(&model, &unit), ["zebra", "staticd"]);
    let conf = model.path(&unit, "/etc/frr/frr.conf");
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("log syslog informational"));

    // The charm's part, by hand: daemons file, its frr.conf, a restart.
    enable_bgp_daemons(&model, &unit);
    std::fs::write(&conf, unit_config(&lab, 0, &UnitBgp::default())).unwrap();
    systemctl(&model, &unit, &["restart", FRR]);
    assert_eq!(
        frr_daemons(&model, &unit),
        ["zebra", "bgpd", "staticd", "bfdd"]
    );
    established(&router, u0);
    // The charm's status query, with the unit's socket directory.
    let run_dir = model.path(&unit, "/run/frr").display().to_string();
    let q = model.run_tool(
        &unit,
        &[
            "vtysh",
            "--vty_socket",
            &run_dir,
            "-c",
            "show bgp summary json",
        ],
        None,
    );
    q.assert_success();
    let summary: serde_json::Value = serde_json::from_str(&q.stdout).expect("summary JSON");
    let router_addr = lab.unit(0).gateway4.to_string();
    assert_eq!(
        summary["ipv4Unicast"]["peers"][&router_addr]["state"],
        "Established"
    );
    lab.add_vip(0, vip4());
    assert!(
        router.wait_fib(&prefix(vip4()), &[u0], SETTLE).is_some(),
        "VIP not learnt"
    );

    // reload: frr-reload.py applies a changed frr.conf; bgpd keeps running
    // and the session stays up.
    let bgpd = frr_pids(&model, &unit)[1];
    let sessions = router.neighbor(u0)["connectionsEstablished"].clone();
    let second = "192.0.2.101";
    let text = std::fs::read_to_string(&conf).unwrap().replace(
        "ipv6 prefix-list",
        &format!("ip prefix-list K8S-VIP-OUT seq 20 permit {second}/32\nipv6 prefix-list"),
    );
    std::fs::write(&conf, &text).unwrap();
    lab.add_vip(0, second.parse().unwrap());
    systemctl(&model, &unit, &["reload", FRR]);
    assert!(
        router
            .wait_fib(&format!("{second}/32"), &[u0], SETTLE)
            .is_some(),
        "the reloaded prefix-list did not let {second} out"
    );
    assert_eq!(frr_pids(&model, &unit)[1], bgpd, "reload restarted bgpd");
    assert_eq!(
        router.neighbor(u0)["connectionsEstablished"],
        sessions,
        "reload reset the session"
    );
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        text,
        "frr-reload.py rewrote the unit's frr.conf"
    );

    // stop: exactly the recorded daemons end, and the router's session with
    // them. (Whether the router then keeps the routes as stale, graceful
    // restart, or drops them, BFD seeing bfdd gone, is a race inside FRR
    // between the TCP close and the BFD timeout: not asserted here.)
    let pids = frr_pids(&model, &unit);
    systemctl(&model, &unit, &["stop", FRR]);
    assert!(!model.is_active(&unit, FRR));
    assert!(all_gone(&pids), "a daemon outlived systemctl stop");
    assert!(
        router
            .wait_until(SETTLE, |r| r.peer_state(u0).as_deref()
                != Some("Established"))
            .is_some(),
        "the router's session outlived the unit's FRR"
    );

    // enable --now starts it again; the model's drop stops it.
    systemctl(&model, &unit, &["disable", FRR]);
    systemctl(&model, &unit, &["enable", "--now", FRR]);
    assert_eq!(
        frr_daemons(&model, &unit),
        ["zebra", "bgpd", "staticd", "bfdd"]
    );
    established(&router, u0);
    let pids = frr_pids(&model, &unit);
    drop(model);
    assert!(all_gone(&pids), "a daemon outlived the model");
}

#[test]
fn frr_package_without_real_services_is_recorded_only() {
    let model = Model::new("k8s-vip", 1);
    let unit = model.unit(0);
    model
        .run_tool(&unit, &["apt-get", "install", "-y", "frr"], None)
        .assert_success();
    let daemons = std::fs::read_to_string(model.path(&unit, "/etc/frr/daemons")).unwrap();
    assert!(daemons.lines().any(|l| l == "bgpd=no"), "{daemons}");
    assert!(model.path(&unit, "/etc/frr/vtysh.conf").exists());
    let svc = model.services(&unit)[FRR].clone();
    assert!(svc.active && svc.enabled && svc.pid.is_none(), "{svc:?}");
    assert_eq!(svc.starts, 1);
    // A conffile the admin (or the charm) changed survives a reinstall.
    std::fs::write(model.path(&unit, "/etc/frr/daemons"), "bgpd=yes\n").unwrap();
    model
        .run_tool(&unit, &["apt-get", "install", "--reinstall", "frr"], None)
        .assert_success();
    assert_eq!(
        std::fs::read_to_string(model.path(&unit, "/etc/frr/daemons")).unwrap(),
        "bgpd=yes\n"
    );
    let q = model.run_tool(&unit, &["dpkg-query", "-W", "-f=${Status}", "frr"], None);
    assert_eq!(q.stdout, "install ok installed");
    model
        .run_tool(&unit, &["apt-get", "purge", "-y", "frr"], None)
        .assert_success();
    let svc = model.services(&unit)[FRR].clone();
    assert!(!svc.active && !svc.enabled, "{svc:?}");
    assert!(!model.path(&unit, "/etc/frr/daemons").exists());
    let q = model.run_tool(&unit, &["dpkg-query", "-W", "-f=${Status}", "frr"], None);
    assert!(!q.success());
}

#[test]
fn frr_service_refuses_to_run_outside_a_namespace() {
    let model = Model::options("k8s-vip", 1).real_services(true).build();
    let unit = model.unit(0);
    model
        .run_tool(&unit, &["apt-get", "install", "-y", "frr"], None)
        .assert_success();
    assert!(model.services(&unit)[FRR].enabled);
    assert!(!model.is_active(&unit, FRR));
    let run = model.run_tool(&unit, &["systemctl", "start", FRR], None);
    assert!(!run.success());
    assert!(run.stderr.contains("network namespace"), "{}", run.stderr);
}

/// The charm's check before it replaces frr.conf: `vtysh --dryrun
/// --config_dir DIR -f CANDIDATE` exits 0 for a config FRR accepts and
/// non-zero (naming the line) for one it does not; no daemon is needed.
#[test]
fn vtysh_dryrun_tells_a_bad_candidate_from_a_good_one() {
    if !support::skip::need_program("vtysh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vtysh.conf"),
        "service integrated-vtysh-config\n",
    )
    .unwrap();
    let lab_free_config = "ip prefix-list K8S-VIP-OUT seq 10 permit 192.0.2.100/32\n\
                           router bgp 64512\n neighbor 198.51.100.1 remote-as 65000\nexit\n";
    let dryrun = |text: &str| {
        let file = dir.path().join("candidate.conf");
        std::fs::write(&file, text).unwrap();
        std::process::Command::new("vtysh")
            .arg("--dryrun")
            .arg("--config_dir")
            .arg(dir.path())
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap()
    };
    let good = dryrun(lab_free_config);
    assert!(good.status.success(), "{good:?}");
    let bad = dryrun(&format!(
        "{lab_free_config}router bgp 64512\n neighbour 198.51.100.1 remote-as 65000\n"
    ));
    assert!(
        !bad.status.success(),
        "a misspelt command passed the dry run"
    );
    let said =
        String::from_utf8_lossy(&bad.stdout).to_string() + &String::from_utf8_lossy(&bad.stderr);
    assert!(
        said.contains("line 6") && said.contains("Unknown command"),
        "{said}"
    );
}
