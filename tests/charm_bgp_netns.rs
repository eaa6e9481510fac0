//! BGP mode end to end: the real charm binary under the simulated Juju
//! model in real-services mode, so each unit's hooks run the real agent and
//! the real FRR (bgpd, bfdd) under the unit's root inside its namespace, on
//! its own subnet of the routed lab, behind a real FRR router. One lab, one
//! scenario after another:
//!
//! - a foreign frr.conf blocks its unit and stays byte-identical, FRR not
//!   restarted; moved away, the unit joins;
//! - every unit lists every router (one `bgp-peers` for the application)
//!   and peers only with the router of its own subnet, naming the others
//!   as skipped; IPv4 and IPv6 sessions come up;
//! - without ECMP one unit announces both VIPs (IPv6 over the IPv6
//!   session), and the client behind the router reaches them;
//! - `bgp-ecmp=true`: every healthy unit is a next hop; a unit whose
//!   health check fails leaves the set and comes back when it passes;
//! - `stop` (the agent's SIGTERM) withdraws the unit's routes;
//! - a wrong router ASN and a missing or wrong TCP-MD5 password leave the session
//!   down and block the unit with a message that says what to check;
//!   fixed, the unit is active again.
//!
//! Needs root (namespaces) and FRR; skips with a message otherwise.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use support::frr::Frr;
use support::juju::Model;
use support::routed::{RoutedLab, RouterOptions, Server, ROUTER_ASN, VIP4, VIP6};

const APP: &str = "k8s-vip";
const PORT: u16 = 6443;
/// Generous bound for anything BGP does (sessions, routes) on a loaded machine.
const SETTLE: Duration = Duration::from_secs(60);
const PASSWORD: &str = "lab-secret";

fn can_run() -> bool {
    support::netns::require_root() && support::frr::available()
}

fn prefix(ip: IpAddr) -> String {
    format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 })
}

/// Every router of the lab, IPv4 and IPv6, with `asn` for unit 0's.
fn all_routers(lab: &RoutedLab, asn0: u32) -> String {
    let mut out = Vec::new();
    for (i, u) in lab.units().iter().enumerate() {
        let asn = if i == 0 { asn0 } else { ROUTER_ASN };
        out.push(format!("{}:{asn}", u.gateway4));
        out.push(format!("[{}]:{asn}", u.gateway6));
    }
    out.join(" ")
}

fn status(model: &Model, unit: &str) -> (String, String) {
    model
        .status(unit)
        .map(|s| (s.state.to_string(), s.message.clone()))
        .unwrap_or_default()
}

/// Runs update-status on `unit` until its status satisfies `want`, at most
/// for SETTLE; panics with the last status otherwise.
fn wait_status(model: &Model, unit: &str, what: &str, want: impl Fn(&str, &str) -> bool) {
    let end = Instant::now() + SETTLE;
    loop {
        model.run_hook(unit, "update-status").assert_success();
        let (state, message) = status(model, unit);
        if want(&state, &message) {
            println!("{unit} {what}: {state}: {message}");
            return;
        }
        assert!(
            Instant::now() < end,
            "{unit}: no {what} status within {SETTLE:?}; last: {state}: {message}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn wait_hops(router: &Frr, vip: IpAddr, hops: &[IpAddr], why: &str) {
    let took = router.wait_fib(&prefix(vip), hops, SETTLE);
    assert!(
        took.is_some(),
        "{why}: the router's next hops for {vip} are {:?}, expected {hops:?}",
        router.fib_next_hops(&prefix(vip))
    );
}

/// The lab's network-get answer with the unit's IPv6 address too, as Juju
/// lists it on a dual-stack subnet.
fn dual_stack(mut info: serde_json::Value, lab: &RoutedLab, i: usize) -> serde_json::Value {
    let v6 = lab.unit(i).ipv6;
    let net = std::net::Ipv6Addr::from(u128::from(v6) & !0xffff_ffff_ffff_ffff);
    let entry =
        serde_json::json!({"hostname": "", "value": v6.to_string(), "cidr": format!("{net}/64")});
    if let Some(list) = info["bind-addresses"][0]["addresses"].as_array_mut() {
        list.push(entry);
    }
    info
}

fn v4(lab: &RoutedLab, i: usize) -> IpAddr {
    IpAddr::V4(lab.unit(i).ipv4)
}

#[test]
fn bgp_mode_end_to_end_through_the_charm() {
    if !can_run() {
        return;
    }
    let lab = RoutedLab::new("charmbgp", 2);
    let router = lab.start_router(&RouterOptions::default());
    let mut servers: Vec<Option<Server>> = (0..2)
        .map(|i| Some(lab.serve(&lab.unit(i).ns, PORT, &format!("{APP}/{i}"))))
        .collect();
    // The model drops before the lab: it stops the units' services first.
    let mut model = Model::options(APP, 2)
        .real_services(true)
        .principal(Some("kubernetes-control-plane"))
        .build();
    lab.place_units(&mut model);
    for i in 0..2 {
        model.set_network(&model.unit(i), "*", dual_stack(lab.network_get(i), &lab, i));
    }
    let router = scenarios(&lab, router, &model, &mut servers);
    drop(model);
    drop(servers);
    drop(router);
}

fn scenarios(lab: &RoutedLab, router: Frr, model: &Model, servers: &mut [Option<Server>]) -> Frr {
    let (u0, u1) = (model.unit(0), model.unit(1));
    let foreign = foreign_frr_before_deploy(model, &u1);
    deploy(lab, model);
    foreign_frr_is_left_alone(model, &u1, &foreign);
    sessions_only_with_the_own_router(lab, &router, model);
    one_announcer_without_ecmp(lab, &router);
    ecmp_follows_health(lab, &router, model, servers);
    graceful_stop_withdraws(lab, &router, model, &u1);
    wrong_asn_blocks(lab, model, &u0);
    missing_password_blocks(lab, router, model, &u0)
}

/// What unit 1 looked like before the charm ran: its frr.conf and FRR's PIDs.
struct Foreign {
    conf: Vec<u8>,
    pids: Vec<(u32, Option<u64>)>,
}

const FOREIGN_CONF: &str = "frr version 8.4\nfrr defaults traditional\nhostname edge\n!\nrouter bgp 65123\n bgp router-id 10.9.9.9\nexit\n!\n";

/// FRR installed and running on unit 1 with someone else's frr.conf.
fn foreign_frr_before_deploy(model: &Model, unit: &str) -> Foreign {
    model
        .run_tool(unit, &["apt-get", "install", "-y", "frr"], None)
        .assert_success();
    let path = model.path(unit, "/etc/frr/frr.conf");
    std::fs::write(&path, FOREIGN_CONF).expect("write foreign frr.conf");
    let pids = model
        .services(unit)
        .get("frr.service")
        .map(|s| s.processes())
        .unwrap_or_default();
    assert!(!pids.is_empty(), "frr.service does not run on {unit}");
    Foreign {
        conf: FOREIGN_CONF.as_bytes().to_vec(),
        pids,
    }
}

fn deploy(lab: &RoutedLab, model: &Model) {
    let units = model.units().to_vec();
    for u in &units {
        model.run_hook(u, "install").assert_success();
    }
    let peers = model.relation_id("cluster");
    for u in &units {
        for other in units.iter().filter(|o| *o != u) {
            model
                .run_relation_hook(u, &peers, "joined", Some(other))
                .assert_success();
            model
                .run_relation_hook(u, &peers, "changed", Some(other))
                .assert_success();
        }
    }
    model.set_config("virtual-ip", format!("{VIP4} {VIP6}"));
    model.set_config("health-check", format!("tcp:127.0.0.1:{PORT}"));
    model.set_config("bgp-peers", all_routers(lab, ROUTER_ASN));
    for u in &units {
        model.run_hook(u, "config-changed").assert_success();
        model.run_hook(u, "start").assert_success();
    }
    model.settle();
}

fn foreign_frr_is_left_alone(model: &Model, unit: &str, before: &Foreign) {
    let (state, message) = status(model, unit);
    assert_eq!(state, "blocked", "{unit}: {message}");
    assert!(
        message.contains("FRR is configured by someone else") && message.contains("router bgp"),
        "{unit}: {message}"
    );
    let now = std::fs::read(model.path(unit, "/etc/frr/frr.conf")).expect("frr.conf");
    assert_eq!(now, before.conf, "the foreign frr.conf changed");
    let pids = model
        .services(unit)
        .get("frr.service")
        .map(|s| s.processes())
        .unwrap_or_default();
    assert_eq!(pids, before.pids, "FRR was restarted on {unit}");
    assert!(pids
        .iter()
        .all(|&(p, s)| support::juju::state::same_process_alive(p, s)));
    // The operator moves that configuration away: the unit joins.
    std::fs::remove_file(model.path(unit, "/etc/frr/frr.conf")).expect("rm frr.conf");
    model.run_hook(unit, "config-changed").assert_success();
    model.settle();
}

fn sessions_only_with_the_own_router(lab: &RoutedLab, router: &Frr, model: &Model) {
    for (i, host) in lab.units().iter().enumerate() {
        for peer in [IpAddr::V4(host.ipv4), IpAddr::V6(host.ipv6)] {
            assert!(
                router.wait_established(peer, SETTLE).is_some(),
                "router's session with {peer}: {:?}",
                router.peer_states()
            );
        }
        let unit = model.unit(i);
        let other = lab.unit(1 - i);
        let conf = std::fs::read_to_string(model.path(&unit, "/etc/frr/frr.conf")).unwrap();
        assert!(
            conf.contains(&format!("neighbor {} ", host.gateway4))
                && conf.contains(&format!("neighbor {} ", host.gateway6))
                && !conf.contains(&format!("neighbor {} ", other.gateway4))
                && !conf.contains(&format!("neighbor {} ", other.gateway6)),
            "{unit}'s frr.conf must peer with its own router only:\n{conf}"
        );
        wait_status(model, &unit, "active 2/2", |state, m| {
            state == "active" && m.contains("BGP: 2/2 peers established")
        });
        let (_, message) = status(model, &unit);
        assert!(
            message.contains("skipped") && message.contains(&other.gateway4.to_string()),
            "{unit} must name the routers it skipped: {message}"
        );
        status_action_lists_the_sessions(model, &unit, host.gateway4, other.gateway4);
    }
}

/// `key` of the status action: an address with `.` and `:` as `-`.
fn action_key(addr: impl std::fmt::Display) -> String {
    addr.to_string().replace(['.', ':'], "-")
}

fn status_action_lists_the_sessions(
    model: &Model,
    unit: &str,
    own: std::net::Ipv4Addr,
    other: std::net::Ipv4Addr,
) {
    let a = model.run_action(unit, "status", serde_json::json!({}));
    a.assert_completed();
    let own_session = a.result(&format!("bgp.peers.{}", action_key(own)));
    assert!(
        own_session
            .as_deref()
            .is_some_and(|s| s.starts_with("AS 65000, Established")),
        "{unit}: bgp.peers for {own}: {own_session:?}"
    );
    let skipped = a.result(&format!("bgp.peers.{}", action_key(other)));
    assert!(
        skipped
            .as_deref()
            .is_some_and(|s| s.starts_with("skipped: reached via")),
        "{unit}: bgp.peers for {other}: {skipped:?}"
    );
    assert!(a
        .result("bgp.summary")
        .is_some_and(|s| s.starts_with("BGP: 2/2")));
}

/// The client's answer through `vip`, retried until SETTLE.
fn reach(lab: &RoutedLab, vip: IpAddr) -> Option<String> {
    let end = Instant::now() + SETTLE;
    while Instant::now() < end {
        let got = lab.probe(
            &lab.client().ns,
            SocketAddr::new(vip, PORT),
            Duration::from_secs(1),
        );
        if got.is_some() {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

fn one_announcer_without_ecmp(lab: &RoutedLab, router: &Frr) {
    let v4hops = router.wait_fib_count(&prefix(IpAddr::V4(VIP4)), 1, SETTLE);
    assert!(v4hops.is_some(), "one next hop for {VIP4}");
    let v6hops = router.wait_fib_count(&prefix(IpAddr::V6(VIP6)), 1, SETTLE);
    assert!(v6hops.is_some(), "one next hop for {VIP6} over IPv6");
    let by4 = reach(lab, IpAddr::V4(VIP4)).expect("client reaches the IPv4 VIP");
    let by6 = reach(lab, IpAddr::V6(VIP6)).expect("client reaches the IPv6 VIP");
    assert_eq!(by4, by6, "the VRRP master announces both VIPs");
}

fn ecmp_follows_health(
    lab: &RoutedLab,
    router: &Frr,
    model: &Model,
    servers: &mut [Option<Server>],
) {
    let vip = IpAddr::V4(VIP4);
    model.set_config("bgp-ecmp", true);
    for u in model.units() {
        model.run_hook(u, "config-changed").assert_success();
    }
    wait_hops(router, vip, &[v4(lab, 0), v4(lab, 1)], "bgp-ecmp=true");
    // Unit 1's API server stops: its health check fails, it leaves the set.
    servers[1] = None;
    wait_hops(router, vip, &[v4(lab, 0)], "unit 1's check failed");
    servers[1] = Some(lab.serve(&lab.unit(1).ns, PORT, &format!("{APP}/1")));
    wait_hops(
        router,
        vip,
        &[v4(lab, 0), v4(lab, 1)],
        "unit 1's check passes",
    );
}

fn graceful_stop_withdraws(lab: &RoutedLab, router: &Frr, model: &Model, unit: &str) {
    model.run_hook(unit, "stop").assert_success();
    wait_hops(router, IpAddr::V4(VIP4), &[v4(lab, 0)], "unit 1 stopped");
    let on_dummy = lab.exec(&lab.unit(1).ns, &["ip", "-o", "addr", "show"]);
    let text = String::from_utf8_lossy(&on_dummy.stdout);
    assert!(
        !text.contains(&VIP4.to_string()),
        "the stopped unit still holds the VIP:\n{text}"
    );
}

fn wrong_asn_blocks(lab: &RoutedLab, model: &Model, unit: &str) {
    model.set_config("bgp-peers", all_routers(lab, 65099));
    model.run_hook(unit, "config-changed").assert_success();
    wait_status(model, unit, "blocked on the ASN", |state, m| {
        state == "blocked" && m.contains("Bad Peer AS") && m.contains("bgp-peers")
    });
    model.set_config("bgp-peers", all_routers(lab, ROUTER_ASN));
    model.run_hook(unit, "config-changed").assert_success();
    wait_status(model, unit, "active again", |state, m| {
        state == "active" && m.contains("BGP: 2/2 peers established")
    });
}

/// The router now wants TCP-MD5: unit 0 without the password, or with a
/// wrong one, is blocked naming bgp-password; with the right one, active.
fn missing_password_blocks(lab: &RoutedLab, router: Frr, model: &Model, unit: &str) -> Frr {
    drop(router);
    let router = lab.start_router(&RouterOptions {
        password: Some(PASSWORD.into()),
        ..RouterOptions::default()
    });
    // Both sessions (IPv4 and IPv6) name the password.
    let names_password = |state: &str, m: &str| {
        state == "blocked" && m.matches("check that bgp-password matches").count() == 2
    };
    wait_status(model, unit, "blocked on the password", names_password);
    assert_ne!(
        router.peer_state(v4(lab, 0)).as_deref(),
        Some("Established")
    );
    // A wrong password: bgpd gets its chance to connect, then the same.
    model.set_config("bgp-password", "not-the-secret");
    model.run_hook(unit, "config-changed").assert_success();
    wait_status(model, unit, "blocked on a wrong password", names_password);
    assert_ne!(
        router.peer_state(v4(lab, 0)).as_deref(),
        Some("Established")
    );
    model.set_config("bgp-password", PASSWORD);
    model.run_hook(unit, "config-changed").assert_success();
    wait_status(model, unit, "active with the password", |state, m| {
        state == "active" && m.contains("BGP: 2/2 peers established")
    });
    router
}
