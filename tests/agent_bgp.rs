//! BGP mode of the agent (issue 14) with the real binary in network
//! namespaces: units on different subnets joined by a plain Linux router
//! (see `agent_bgp_lab`). No routing daemon runs here: what is tested is the
//! agent's half of the contract, the VIP as a /32 on the dummy interface of
//! exactly the units that should announce it, and VRRP electing across the
//! router. Root only; each test builds its own lab and tears it down.
mod agent_bgp_lab;
mod agent_util;
mod support;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use agent_bgp_lab::*;
use agent_util::*;
use serde_json::json;
use support::netns::{require_root, wait_for, Lab};

/// One lab at a time: three agents at 100 ms adverts each, and several labs
/// at once on a small machine would starve them.
static ONE_LAB: Mutex<()> = Mutex::new(());

fn one_lab() -> MutexGuard<'static, ()> {
    ONE_LAB.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts units 0..n (priorities 100, 90, 80...) in BGP mode, unit0 first
/// so it is the master; returns them once every backup follows it.
fn cluster(lab: &Lab, n: usize, ecmp: bool) -> Vec<Agent> {
    let a0 = start_bgp(lab, 0, &routed_inst(0, n, 100), ecmp);
    a0.expect_state("api", "MASTER", Duration::from_secs(3));
    let mut agents = vec![a0];
    for i in 1..n {
        agents.push(start_bgp(
            lab,
            i,
            &routed_inst(i, n, 100 - 10 * i as u8),
            ecmp,
        ));
    }
    let master = unit_v4(0).to_string();
    let follow = wait_for(Duration::from_secs(5), || {
        agents[1..].iter().all(|a| {
            a.try_status()
                .is_some_and(|s| s["instances"][0]["master"] == master.as_str())
        })
    });
    assert!(
        follow.is_some(),
        "backups do not follow unit0 across the router\n{}",
        logs(&agents)
    );
    agents
}

#[test]
fn only_the_master_announces_and_the_route_moves_when_it_dies() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgpmove", 3);
    let mut a = cluster(&lab, 3, false);
    assert!(
        wait_announcers(&lab, 3, &[0], Duration::from_secs(3)),
        "only unit0 should announce: {:?}\n{}",
        announcers(&lab, 3),
        logs(&a)
    );
    assert!(
        lab.holders(VIP).is_empty(),
        "a VIP went on a VRRP interface"
    );
    assert_eq!(announced_status(&a[0]), Some(true));
    assert_eq!(announced_status(&a[1]), Some(false));
    assert_eq!(a[1].state("api"), "BACKUP");
    // A crash: the agent dies with the route on its dummy (the routers
    // notice by BFD); unit1 takes over and announces.
    a[0].proc.kill();
    let moved = wait_for(Duration::from_secs(3), || {
        announces(&lab, 1) && !announces(&lab, 2)
    });
    assert!(
        moved.is_some(),
        "unit1 did not take over\n{}",
        logs(&a[1..])
    );
    assert_eq!(a[1].state("api"), "MASTER");
    assert!(!announces(&lab, 2));
    // The restarted agent removes what the crash left on its dummy.
    assert!(announces(&lab, 0), "the crash left the route on unit0");
    a[0] = start_bgp(&lab, 0, &routed_inst(0, 3, 100), false);
    assert!(
        wait_announcers(&lab, 3, &[1], Duration::from_secs(3)),
        "stale VIP not removed on restart: {:?}\n{}",
        announcers(&lab, 3),
        logs(&a)
    );
    a[0].expect_state("api", "BACKUP", Duration::from_secs(2));
    a[0].expect_log("removing stale 192.0.2.100/32", Duration::from_secs(1));
}

#[test]
fn sigterm_withdraws_before_the_agent_exits() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgpterm", 2);
    let mut a = cluster(&lab, 2, false);
    assert!(wait_announcers(&lab, 2, &[0], Duration::from_secs(3)));
    a[0].stop();
    assert!(
        !announces(&lab, 0),
        "still announced after SIGTERM\n{}",
        a[0].log()
    );
    assert!(
        wait_announcers(&lab, 2, &[1], Duration::from_secs(2)),
        "unit1 did not take over after the graceful stop\n{}",
        logs(&a)
    );
}

/// An exec check passing while `<lab dir>/unitI.ok` exists.
fn file_check(lab: &Lab, i: usize) -> (serde_json::Value, std::path::PathBuf) {
    let flag = lab.dir().join(format!("unit{i}.ok"));
    std::fs::write(&flag, "ok").unwrap();
    let check =
        json!({"exec": ["/usr/bin/test", "-e", flag], "interval-ms": 100, "rise": 1, "fall": 1});
    (check, flag)
}

#[test]
fn with_ecmp_every_healthy_unit_announces() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgpecmp", 3);
    let mut agents = Vec::new();
    let mut flags = Vec::new();
    for i in 0..3 {
        let mut inst = routed_inst(i, 3, 100 - 10 * i as u8);
        let (check, flag) = file_check(&lab, i);
        inst.checks = vec![check];
        flags.push(flag);
        let path = write_edited(&lab, i, &inst, |doc| {
            doc["bgp"] = json!({"interface": DUMMY, "ecmp": true});
            doc["metrics-listen"] = json!(format!("127.0.0.1:{}", 9750 + i));
        });
        agents.push(start_with(&lab, i, path));
    }
    assert!(
        wait_announcers(&lab, 3, &[0, 1, 2], Duration::from_secs(3)),
        "every healthy unit should announce: {:?}\n{}",
        announcers(&lab, 3),
        logs(&agents)
    );
    std::fs::remove_file(&flags[1]).unwrap();
    assert!(
        wait_announcers(&lab, 3, &[0, 2], Duration::from_secs(2)),
        "the failing unit still announces: {:?}\n{}",
        announcers(&lab, 3),
        logs(&agents)
    );
    assert_eq!(announced_status(&agents[1]), Some(false));
    let text = metrics(&lab, lab.unit(1), 9751);
    let gauge = r#"k8s_vip_bgp_announced{instance="api",vip="192.0.2.100"}"#;
    assert_eq!(metric(&text, gauge), 0.0, "{text}");
    let changes = r#"k8s_vip_bgp_announce_changes_total{instance="api"}"#;
    assert_eq!(metric(&text, changes), 2.0, "{text}");
    assert!(text.contains(&format!("{gauge} 0")), "{text}");
    std::fs::write(&flags[1], "ok").unwrap();
    assert!(
        wait_announcers(&lab, 3, &[0, 1, 2], Duration::from_secs(2)),
        "the recovered unit does not announce again\n{}",
        logs(&agents)
    );
    // Pausing withdraws too.
    agents[2].cli_ok(&["pause"]);
    assert!(wait_announcers(&lab, 3, &[0, 1], Duration::from_secs(2)));
}

#[test]
fn stale_addresses_on_an_existing_dummy_are_removed_at_start() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgpstale", 2);
    let u0 = lab.unit(0).ns.clone();
    // As the agent does: a dummy, or an ifb where the kernel has no dummies.
    let made = ["dummy", "ifb"].iter().any(|kind| {
        let out = lab.exec(&u0, &["ip", "link", "add", DUMMY, "type", kind]);
        out.status.success()
    });
    assert!(made, "cannot create {DUMMY}");
    for stale in ["192.0.2.100/32", "192.0.2.200/32"] {
        lab.exec_ok(&u0, &["ip", "addr", "add", stale, "dev", DUMMY]);
    }
    // unit1 (higher priority) is the master; unit0 starts as a backup.
    let a1 = start_bgp(&lab, 1, &routed_inst(1, 2, 200), false);
    a1.expect_state("api", "MASTER", Duration::from_secs(3));
    let a0 = start_bgp(&lab, 0, &routed_inst(0, 2, 100), false);
    a0.expect_state("api", "BACKUP", Duration::from_secs(3));
    let left = addrs_on(&lab, 0, DUMMY);
    assert!(
        !left.iter().any(|a| a.starts_with("192.0.2.")),
        "stale addresses left: {left:?}\n{}",
        a0.log()
    );
    assert!(announces(&lab, 1));
}

#[test]
fn check_refuses_an_interface_that_is_not_a_dummy() {
    if !require_root() {
        return;
    }
    let lab = routed_lab("bgpcheck", 1);
    lab.exec_ok(
        lab.unit(0),
        &["ip", "link", "add", "notdummy", "type", "bridge"],
    );
    let path = write_edited(&lab, 0, &routed_inst(0, 1, 100), |doc| {
        doc["bgp"] = json!({"interface": "notdummy"});
    });
    let out = lab.exec(
        lab.unit(0),
        &[BIN, "agent", "--check", "--config", path.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "--check accepted a bridge");
    assert!(
        err.contains("bgp.interface: notdummy exists and is not a dummy"),
        "{err}"
    );
    let path = write_edited(&lab, 0, &routed_inst(0, 1, 100), |doc| {
        doc["bgp"] = json!({"interface": DUMMY});
    });
    let out = lab.exec(
        lab.unit(0),
        &[BIN, "agent", "--check", "--config", path.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_ipv6_vip_goes_on_the_masters_dummy_as_a_128() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgpv6", 2);
    let vip6 = "2001:db8:100::100";
    let inst = |i: usize, priority: u8| {
        let mut inst = routed_inst(i, 2, priority);
        inst.vips = vec![format!("{vip6}/128")];
        inst.unicast_peers = vec![unit_v6(1 - i).to_string()];
        inst
    };
    let a0 = start_bgp(&lab, 0, &inst(0, 100), false);
    a0.expect_state("api", "MASTER", Duration::from_secs(3));
    let a1 = start_bgp(&lab, 1, &inst(1, 90), false);
    let master = unit_v6(0).to_string();
    let follows = wait_for(Duration::from_secs(5), || {
        a1.try_status()
            .is_some_and(|s| s["instances"][0]["master"] == master.as_str())
    });
    assert!(
        follows.is_some(),
        "unit1 does not follow unit0 over IPv6\n{}",
        logs([&a0, &a1])
    );
    let on = |i: usize| addrs_on(&lab, i, DUMMY).contains(&format!("{vip6}/128"));
    assert!(
        wait_for(Duration::from_secs(2), || on(0)).is_some(),
        "{}",
        a0.log()
    );
    assert!(!on(1));
    let out = lab.exec_ok(lab.unit(0), &["ip", "-6", "addr", "show", "dev", DUMMY]);
    assert!(out.contains("nodad"), "{out}");
}

#[test]
fn a_handover_keeps_the_route_and_the_next_agent_adopts_it() {
    if !require_root() {
        return;
    }
    let _one = one_lab();
    let lab = routed_lab("bgphand", 2);
    let mut a = cluster(&lab, 2, false);
    assert!(wait_announcers(&lab, 2, &[0], Duration::from_secs(3)));
    assert_eq!(a[0].request(json!({"cmd": "handover"}))["ok"], true);
    assert!(
        a[0].proc.wait_timeout(Duration::from_secs(3)).is_some(),
        "the agent did not exit on handover\n{}",
        a[0].log()
    );
    assert!(announces(&lab, 0), "a handover withdrew the route");
    let marker = a[0].state_file.with_file_name("state.json.handover");
    assert!(
        marker.exists(),
        "no handover marker at {}",
        marker.display()
    );
    a[0] = start_bgp(&lab, 0, &routed_inst(0, 2, 100), false);
    a[0].expect_state("api", "MASTER", Duration::from_secs(2));
    a[0].expect_log("adopting them", Duration::from_secs(1));
    assert!(!a[0].log().contains("removing stale"), "{}", a[0].log());
    assert!(announces(&lab, 0) && !announces(&lab, 1), "{}", logs(&a));
    assert!(!marker.exists(), "the marker outlived the start");
    assert_eq!(
        a[1].state("api"),
        "BACKUP",
        "unit1 took over during the handover"
    );
}
