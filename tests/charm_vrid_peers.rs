//! VRID derivation, interface choice, and the priorities that decide which
//! unit normally holds which VIP.

use std::collections::{BTreeMap, BTreeSet};

use k8s_vip::charm::config::{parse, Config};
use k8s_vip::charm::instances::{build, Instance};
use k8s_vip::charm::net::{default_route_v4, default_route_v6, place};
use k8s_vip::charm::peers::{priority, sorted_units, unit_order};
use k8s_vip::charm::types::{IfaceAddr, Interface, NetworkView, Peer, VipSpec};
use k8s_vip::charm::vrid::{base, derived_base, fnv1a32, for_index};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn fnv1a_matches_published_vectors() {
    // Reference values of FNV-1a 32 bit.
    assert_eq!(fnv1a32(b""), 0x811c9dc5);
    assert_eq!(fnv1a32(b"a"), 0xe40c292c);
    assert_eq!(fnv1a32(b"foobar"), 0xbf9cf968);
}

#[test]
fn derived_vrid_is_documented_formula() {
    let want = (1 + fnv1a32(b"prod/k8s-vip") % 255) as u8;
    assert_eq!(derived_base("prod", "k8s-vip"), want);
    assert_eq!(base(0, "prod", "k8s-vip"), want);
    assert_eq!(base(42, "prod", "k8s-vip"), 42);
    // Different applications in one model get different VRIDs here.
    assert_ne!(
        derived_base("prod", "k8s-vip"),
        derived_base("prod", "k8s-vip-workers")
    );
}

#[test]
fn vrid_per_index_wraps_within_1_255() {
    assert_eq!(for_index(51, 0), 51);
    assert_eq!(for_index(51, 2), 53);
    assert_eq!(for_index(255, 0), 255);
    assert_eq!(for_index(255, 1), 1);
    assert_eq!(for_index(254, 3), 2);
}

proptest! {
    #[test]
    fn derived_vrid_always_in_range(model in ".{0,40}", app in ".{0,40}") {
        let v = derived_base(&model, &app);
        prop_assert!(v >= 1);
    }

    #[test]
    fn priorities_distinct_for_every_vip(n in 1usize..40, index in 0usize..16) {
        let ps: BTreeSet<u8> = (0..n).map(|rank| priority(rank, n, index)).collect();
        prop_assert_eq!(ps.len(), n);
        prop_assert!(ps.iter().all(|p| (1..=254).contains(p)));
        // The preferred unit (highest priority) is rank index mod n.
        let best = (0..n).max_by_key(|r| priority(*r, n, index)).unwrap_or(0);
        prop_assert_eq!(best, index % n);
    }
}

#[test]
fn units_sort_by_number() {
    let peers = vec![
        Peer {
            unit: "k8s-vip/10".into(),
            data: BTreeMap::new(),
        },
        Peer {
            unit: "k8s-vip/2".into(),
            data: BTreeMap::new(),
        },
    ];
    assert_eq!(
        sorted_units("k8s-vip/9", &peers),
        ["k8s-vip/2", "k8s-vip/9", "k8s-vip/10"]
    );
    assert_eq!(unit_order("a/1", "a/1"), std::cmp::Ordering::Equal);
}

fn net(addrs: &[(&str, &str, u8)]) -> NetworkView {
    let mut interfaces: Vec<Interface> = Vec::new();
    for (ifname, addr, prefix) in addrs {
        let a = IfaceAddr {
            addr: addr.parse().expect("addr"),
            prefix: *prefix,
        };
        match interfaces.iter_mut().find(|i| i.name == *ifname) {
            Some(i) => i.addrs.push(a),
            None => interfaces.push(Interface {
                name: ifname.to_string(),
                addrs: vec![a],
            }),
        }
    }
    NetworkView {
        interfaces,
        ..Default::default()
    }
}

fn vip(s: &str) -> VipSpec {
    s.parse().expect("vip")
}

#[test]
fn interface_from_subnet_then_default_route() {
    let n = NetworkView {
        default_v4: Some("eth1".into()),
        ..net(&[
            ("eth0", "192.0.2.11", 24),
            ("eth1", "198.51.100.11", 24),
            ("eth0", "2001:db8::11", 64),
        ])
    };
    let p = place(&vip("192.0.2.100"), &n, None).expect("placed");
    assert_eq!((p.interface.as_str(), p.prefix), ("eth0", 24));
    assert_eq!(p.local, Some("192.0.2.11".parse().expect("ip")));
    let p = place(&vip("198.51.100.7/28"), &n, None).expect("placed");
    assert_eq!((p.interface.as_str(), p.prefix), ("eth1", 28));
    let p = place(&vip("2001:db8::100"), &n, None).expect("placed");
    assert_eq!((p.interface.as_str(), p.prefix), ("eth0", 64));
    // Outside every subnet: the default-route interface is chosen, and it must hold the VIP's subnet.
    let e = place(&vip("203.0.113.5"), &n, None).expect_err("not in eth1's subnet");
    assert!(e.contains("eth1") && e.contains("198.51.100.11/24"), "{e}");
    // No IPv6 default route.
    let e = place(&vip("2001:db9::1"), &n, None).expect_err("no v6 route");
    assert!(e.contains("IPv6 default route"), "{e}");
}

#[test]
fn forced_interface() {
    let n = net(&[("eth0", "192.0.2.11", 24), ("eth1", "198.51.100.11", 24)]);
    let p = place(&vip("192.0.2.100"), &n, Some("eth0")).expect("placed");
    assert_eq!(p.interface, "eth0");
    let e = place(&vip("192.0.2.100"), &n, Some("eth1")).expect_err("wrong subnet");
    assert!(e.contains("eth1 (198.51.100.11/24)"), "{e}");
    let e = place(&vip("192.0.2.100"), &n, Some("bond0")).expect_err("unknown");
    assert!(e.contains("bond0") && e.contains("eth0, eth1"), "{e}");
}

#[test]
fn proc_route_parsing() {
    let v4 =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
              eth1\t00000000\t0102000A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n\
              eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
              eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    assert_eq!(default_route_v4(v4).as_deref(), Some("eth0"));
    let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n\
              20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
              00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
    assert_eq!(default_route_v6(v6).as_deref(), Some("eth0"));
    assert_eq!(default_route_v4("Iface\n"), None);
}

fn peers(n: usize, me: usize) -> Vec<Peer> {
    (0..n)
        .filter(|i| *i != me)
        .map(|i| Peer {
            unit: format!("k8s-vip/{i}"),
            data: BTreeMap::from([
                ("address".to_string(), format!("192.0.2.{}", 11 + i)),
                ("address-v6".to_string(), format!("2001:db8::{}", 11 + i)),
            ]),
        })
        .collect()
}

/// The charm config for the options `options` of application k8s-vip.
fn config(options: serde_json::Value) -> Config {
    parse(options.as_object().expect("obj"), "k8s-vip").expect("cfg")
}

/// The VRRP instances unit `k8s-vip/{me}` of model "m" builds with `peers`
/// on the network `n`.
fn build_for(cfg: &Config, me: usize, peers: &[Peer], n: &NetworkView) -> Vec<Instance> {
    build(cfg, "m", "k8s-vip", &format!("k8s-vip/{me}"), peers, n, &[]).expect("built")
}

#[test]
fn three_units_three_vips_each_unit_prefers_one() {
    let cfg = config(json!({"virtual-ip": "192.0.2.100 192.0.2.101 192.0.2.102"}));
    let mut preferred_by_vip = BTreeMap::new();
    // What each unit believes the preferred unit of each VIP is.
    let mut claimed_by_vip: BTreeMap<_, BTreeSet<String>> = BTreeMap::new();
    let mut vrids = BTreeSet::new();
    for me in 0..3 {
        let n = net(&[("eth0", &format!("192.0.2.{}", 11 + me), 24)]);
        let list = build_for(&cfg, me, &peers(3, me), &n);
        assert_eq!(list.len(), 3);
        for inst in &list {
            vrids.insert(inst.vrid);
            // Unicast peers are the other two units.
            assert_eq!(inst.unicast_peers.len(), 2);
            assert!(!inst
                .unicast_peers
                .contains(&format!("192.0.2.{}", 11 + me).parse().expect("ip")));
            let entry = preferred_by_vip
                .entry(inst.vip)
                .or_insert((0u8, String::new()));
            if inst.priority > entry.0 {
                *entry = (inst.priority, format!("k8s-vip/{me}"));
            }
            claimed_by_vip
                .entry(inst.vip)
                .or_default()
                .insert(inst.preferred_unit.clone());
        }
    }
    assert_eq!(vrids.len(), 3, "each VIP has its own VRID");
    // Every unit names, for each VIP, the unit that really has the highest
    // priority for it (what the status and the failover action report).
    for (vip, (_, highest)) in &preferred_by_vip {
        assert_eq!(
            claimed_by_vip.get(vip),
            Some(&BTreeSet::from([highest.clone()])),
            "preferred unit of {vip}"
        );
    }
    let holders: BTreeSet<String> = preferred_by_vip.values().map(|(_, u)| u.clone()).collect();
    assert_eq!(
        holders.len(),
        3,
        "each unit normally holds one VIP: {preferred_by_vip:?}"
    );
}

#[test]
fn dual_stack_vips_prefer_the_same_unit_and_use_v6_peers() {
    let cfg = config(json!({"virtual-ip": "192.0.2.100 2001:db8::100"}));
    let n = net(&[("eth0", "192.0.2.11", 24), ("eth0", "2001:db8::11", 64)]);
    let list = build_for(&cfg, 0, &peers(2, 0), &n);
    assert_eq!(list[0].name, "v4-1");
    assert_eq!(list[1].name, "v6-1");
    assert_eq!(list[0].priority, list[1].priority);
    assert_eq!(
        list[0].vrid, list[1].vrid,
        "v4 and v6 VRIDs are separate spaces, numbered alike"
    );
    assert_eq!(
        list[1].unicast_peers,
        vec!["2001:db8::12".parse::<std::net::IpAddr>().expect("ip")]
    );
    assert_eq!(
        list[1].local_address,
        Some("2001:db8::11".parse().expect("ip"))
    );
}

#[test]
fn multicast_when_unicast_off() {
    let cfg = config(json!({"virtual-ip": "192.0.2.100", "unicast": false}));
    let n = net(&[("eth0", "192.0.2.11", 24)]);
    let list = build_for(&cfg, 0, &peers(3, 0), &n);
    assert!(list[0].unicast_peers.is_empty());
}

#[test]
fn priorities_ignore_leadership_and_peer_data_order() {
    let cfg = config(json!({"virtual-ip": "192.0.2.100"}));
    let n = net(&[("eth0", "192.0.2.12", 24)]);
    let mut p = peers(3, 1);
    let a = build_for(&cfg, 1, &p, &n);
    p.reverse();
    let b = build_for(&cfg, 1, &p, &n);
    assert_eq!(a, b);
}
