//! VRRP across routers in BGP mode, and reloads into and out of it, with the
//! real agent in network namespaces (units on different subnets behind a
//! plain Linux router, see `agent_bgp_lab`). Root only.
//!
//! - In BGP mode an advert from a listed unicast peer is accepted with TTL
//!   < 255 (it crossed the router); an advert with TTL < 255 from any other
//!   source is dropped and counted (`bad_ttl`), and an agent without a
//!   `bgp` block keeps the RFC 5798 TTL 255 check for every advert.
//! - SIGHUP moves the VIP between the VRRP interface and the dummy in place.
mod agent_bgp_lab;
mod agent_util;
mod support;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use agent_bgp_lab::*;
use agent_util::*;
use nix::sys::signal::Signal;
use serde_json::json;
use support::netns::{require_root, wait_for};

static ONE_LAB: Mutex<()> = Mutex::new(());

fn one_lab() -> MutexGuard<'static, ()> {
    ONE_LAB.lock().unwrap_or_else(|p| p.into_inner())
}

const BAD_TTL: &str = r#"k8s_vip_packets_dropped_total{interface="eth0",reason="bad_ttl"}"#;

#[test]
fn routed_adverts_count_only_from_listed_peers() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgpttl", 4);
    let peers = |list: &[usize]| list.iter().map(|j| unit_v4(*j).to_string()).collect();
    let metrics_on = |port: u16| {
        move |doc: &mut serde_json::Value| {
            doc["metrics-listen"] = json!(format!("127.0.0.1:{port}"));
        }
    };
    // unit0 (100) and unit1 (90): a BGP-mode pair; unit0 also lists unit3.
    let mut i0 = routed_inst(0, 2, 100);
    i0.unicast_peers = peers(&[1, 3]);
    let p0 = write_edited(&lab, 0, &i0, |doc| {
        metrics_on(9760)(doc);
        doc["bgp"] = json!({"interface": DUMMY});
    });
    let a0 = start_with(&lab, 0, p0);
    a0.expect_state("api", "MASTER", Duration::from_secs(3));
    let a1 = start_bgp(&lab, 1, &routed_inst(1, 2, 90), false);
    // unit2 (200) is not unit0's peer: its routed adverts must not win.
    let mut i2 = routed_inst(2, 3, 200);
    i2.unicast_peers = peers(&[0]);
    let a2 = start_bgp(&lab, 2, &i2, false);
    // unit3 (50) runs without a bgp block: unit0's routed adverts fail its
    // TTL check, so it hears no master and takes over itself.
    let mut i3 = routed_inst(3, 4, 50);
    i3.unicast_peers = peers(&[0]);
    let a3 = start_with(&lab, 3, write_edited(&lab, 3, &i3, metrics_on(9763)));
    let all = [&a0, &a1, &a2, &a3];
    let master = unit_v4(0).to_string();
    let follows = wait_for(Duration::from_secs(5), || {
        a1.try_status()
            .is_some_and(|s| s["instances"][0]["master"] == master.as_str())
    });
    assert!(
        follows.is_some(),
        "unit1 does not follow unit0\n{}",
        logs(all)
    );
    a3.expect_state("api", "MASTER", Duration::from_secs(3));
    let dropped = wait_for(Duration::from_secs(3), || {
        metric(&metrics(&lab, lab.unit(0), 9760), BAD_TTL) >= 5.0
    });
    assert!(
        dropped.is_some(),
        "unit2's adverts not counted as bad_ttl on unit0\n{}",
        logs(all)
    );
    assert_eq!(
        a0.state("api"),
        "MASTER",
        "a routed advert from a stranger won\n{}",
        logs(all)
    );
    assert_eq!(a0.status()["instances"][0]["foreign-adverts"], 0);
    assert!(metric(&metrics(&lab, lab.unit(3), 9763), BAD_TTL) >= 1.0);
}

#[test]
fn reload_moves_the_vip_between_the_interface_and_the_dummy() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgpreload", 2);
    // unit1 never runs: unit0 becomes master on its own.
    let inst = routed_inst(0, 2, 100);
    let a = start_with(&lab, 0, write_edited(&lab, 0, &inst, |_| {}));
    a.expect_state("api", "MASTER", Duration::from_secs(3));
    assert!(wait_for(Duration::from_secs(1), || lab.has_addr(lab.unit(0), VIP)).is_some());
    let transitions = a.transitions();
    let reload = |bgp: Option<serde_json::Value>| {
        write_edited(&lab, 0, &inst, |doc| {
            if let Some(b) = bgp {
                doc["bgp"] = b;
            }
        });
        a.proc.signal(Signal::SIGHUP);
    };
    reload(Some(json!({"interface": DUMMY})));
    let moved = wait_for(Duration::from_secs(3), || {
        announces(&lab, 0) && !lab.has_addr(lab.unit(0), VIP)
    });
    assert!(
        moved.is_some(),
        "L2 -> BGP did not move the VIP\n{}",
        a.log()
    );
    assert_eq!(announced_status(&a), Some(true));
    reload(Some(json!({"interface": DUMMY, "ecmp": true})));
    a.expect_log(
        "reload: BGP mode on k8s-vip-bgp (ecmp true)",
        Duration::from_secs(3),
    );
    assert!(announces(&lab, 0));
    reload(None);
    let back = wait_for(Duration::from_secs(3), || {
        !announces(&lab, 0) && lab.has_addr(lab.unit(0), VIP)
    });
    assert!(
        back.is_some(),
        "BGP -> L2 did not move the VIP back\n{}",
        a.log()
    );
    assert_eq!(a.state("api"), "MASTER");
    assert_eq!(
        a.transitions(),
        transitions,
        "a reload restarted the instance"
    );
    assert_eq!(
        announced_status(&a),
        None,
        "announced shown outside BGP mode"
    );
}
