//! BGP mode's decisions on what the kernel and bgpd report, without FRR:
//! which routers of `bgp-peers` a unit peers with (only those on its own
//! subnets), and when a session that is down blocks the unit (a
//! configuration only the operator can fix) or keeps it waiting (a router
//! not up yet). The netns suite (charm_bgp_netns) shows the same with real
//! FRR; this one covers every case of the table in the how-to.

use k8s_vip::charm::bgp::{select, summary};
use k8s_vip::charm::config::{parse, BgpOptions};
use k8s_vip::charm::types::{
    BgpSession, BgpWorld, IfaceAddr, PeerRoute, ServiceState, State, TcpProbe,
};
use serde_json::{json, Map, Value};

const ROUTER: &str = "198.51.100.1";

fn options(pairs: Value) -> BgpOptions {
    let mut map: Map<String, Value> = pairs.as_object().cloned().unwrap_or_default();
    map.entry("virtual-ip").or_insert(json!("192.0.2.100"));
    parse(&map, "k8s-vip").expect("valid").bgp.expect("BGP on")
}

fn route(address: &str, gateway: Option<&str>) -> PeerRoute {
    PeerRoute {
        address: address.into(),
        gateway: gateway.map(str::to_string),
        error: None,
    }
}

/// bgpd running, one session to ROUTER in `state`, reached directly.
fn world(state: &str) -> BgpWorld {
    BgpWorld {
        service: ServiceState {
            active: true,
            enabled: true,
        },
        sessions: Some(vec![BgpSession {
            peer: ROUTER.into(),
            state: state.into(),
            ..BgpSession::default()
        }]),
        routes: vec![route(ROUTER, None)],
        ..BgpWorld::default()
    }
}

#[test]
fn only_routers_on_the_units_subnets_are_peered_with() {
    let o = options(json!({"bgp-peers": "198.51.100.1:65000 198.51.100.17:65000 198.51.100.33"}));
    let mut w = world("Established");
    w.subnets = vec![IfaceAddr::parse("198.51.100.2", "198.51.100.0/28").expect("addr")];
    w.routes = vec![
        route(ROUTER, None),
        route("198.51.100.17", Some(ROUTER)),
        PeerRoute {
            address: "198.51.100.33".into(),
            gateway: None,
            error: Some("Network is unreachable".into()),
        },
    ];
    let (kept, skipped) = select::select(&o, &w);
    let kept: Vec<String> = kept.peers.iter().map(|p| p.address.to_string()).collect();
    assert_eq!(kept, [ROUTER]);
    assert_eq!(skipped.len(), 2);
    assert!(
        skipped[0].why.contains("reached via 198.51.100.1"),
        "{skipped:?}"
    );
    assert!(skipped[1].why.contains("no route"), "{skipped:?}");
    let (state, line) = summary::status_line(&o, &w, None);
    assert_eq!(state, State::Active, "{line}");
    assert_eq!(
        line,
        "BGP: 1/1 peers established, announcing nothing; skipped 198.51.100.17, 198.51.100.33 (not on this unit's subnets)"
    );
    // Juju's subnets win over the kernel; no answer from the kernel keeps all.
    w.subnets = vec![IfaceAddr::parse("198.51.100.18", "198.51.100.0/24").expect("addr")];
    assert_eq!(select::select(&o, &w).0.peers.len(), 3);
    w.subnets.clear();
    w.routes.clear();
    assert_eq!(select::select(&o, &w).0.peers.len(), 3);
}

fn line_for(o: &BgpOptions, w: &BgpWorld) -> (State, String) {
    summary::status_line(o, w, None)
}

#[test]
fn a_refused_open_blocks_naming_what_to_check() {
    let o = options(json!({"bgp-peers": "198.51.100.1:65099"}));
    let mut w = world("Active");
    w.sessions.as_mut().expect("sessions")[0].last_notification =
        Some("OPEN Message Error/Bad Peer AS".into());
    let (state, line) = line_for(&o, &w);
    assert_eq!(state, State::Blocked, "{line}");
    assert!(
        line.contains("Bad Peer AS")
            && line.contains("198.51.100.1:ASN")
            && line.contains("bgp-asn (64512)"),
        "{line}"
    );
    // Any other NOTIFICATION (BFD down, hold timer) passes by itself...
    w.sessions.as_mut().expect("sessions")[0].last_notification = Some("Cease/BFD Down".into());
    let (state, line) = line_for(&o, &w);
    assert_eq!(state, State::Waiting, "{line}");
    assert!(line.contains("Cease/BFD Down"), "{line}");
    // ...and says nothing about a password mismatch found since.
    w.probes = vec![(ROUTER.to_string(), TcpProbe::Silent)];
    let (state, line) = line_for(&o, &w);
    assert_eq!(state, State::Blocked, "{line}");
    assert!(line.contains("bgp-password"), "{line}");
    // An IPv6 router is named as bgp-peers writes it.
    let v6 =
        options(json!({"bgp-peers": "[2001:db8::1]:65099", "virtual-ip": "2001:db8:100::100"}));
    let mut w = world("Active");
    let s = &mut w.sessions.as_mut().expect("sessions")[0];
    s.peer = "2001:db8::1".into();
    s.last_notification = Some("OPEN Message Error/Bad Peer AS".into());
    let (state, line) = line_for(&v6, &w);
    assert_eq!(state, State::Blocked, "{line}");
    assert!(line.contains("([2001:db8::1]:ASN)"), "{line}");
}

#[test]
fn tcp_md5_mismatches_block_and_a_router_not_up_waits() {
    let none = options(json!({"bgp-peers": ROUTER}));
    let with = options(json!({"bgp-peers": ROUTER, "bgp-password": "s3cret"}));
    let probed = |probe: TcpProbe, age: Option<u64>| {
        let mut w = world("Active");
        w.probes = vec![(ROUTER.to_string(), probe)];
        w.config_age_secs = age;
        w
    };
    // Silence from a host that answers ARP, no password here: the router wants one.
    let (state, line) = line_for(&none, &probed(TcpProbe::Silent, Some(1)));
    assert_eq!(state, State::Blocked, "{line}");
    assert!(line.contains("check that bgp-password matches"), "{line}");
    // With a password, bgpd first gets its chance to connect.
    let (state, line) = line_for(&with, &probed(TcpProbe::Silent, Some(5)));
    assert_eq!(state, State::Waiting, "{line}");
    let (state, line) = line_for(&with, &probed(TcpProbe::Silent, Some(60)));
    assert_eq!(state, State::Blocked, "{line}");
    // The router takes TCP without a password while we sign ours.
    let (state, line) = line_for(&with, &probed(TcpProbe::Accepted, Some(1)));
    assert_eq!(state, State::Blocked, "{line}");
    assert!(
        line.contains("router takes TCP without a password"),
        "{line}"
    );
    // Not a configuration problem: wait.
    for probe in [
        TcpProbe::Accepted,
        TcpProbe::Refused,
        TcpProbe::Unreachable("neighbour FAILED".into()),
    ] {
        let (state, line) = line_for(&none, &probed(probe.clone(), Some(600)));
        assert_eq!(state, State::Waiting, "{probe:?}: {line}");
    }
    let (_, line) = line_for(&none, &probed(TcpProbe::Refused, None));
    assert!(line.contains("refuses TCP port 179"), "{line}");
}
