//! Multihop BFD (RFC 5883) between agents on different subnets, with the
//! real agent in network namespaces behind a plain Linux router (see
//! `agent_bgp_lab`). Single-hop BFD needs TTL 255 on arrival and cannot
//! cross the router; with `bfd: {multihop: true}` the sessions run on UDP
//! 4784, come Up across it, and a killed master is detected long before
//! the VRRP timers (adverts every second here: about 3.6 s). The other side
//! of the wire is checked too: FRR's bfdd brings a multihop session Up with
//! the agent across the router. Root only.
mod agent_bgp_lab;
mod agent_util;
mod bfd_support;
mod support;

use std::time::{Duration, Instant};

use agent_bgp_lab::*;
use agent_util::*;
use bfd_support::FrrDir;
use serde_json::{json, Value};
use support::netns::{require_root, wait_for, Lab};

const PRIOS: [u8; 3] = [100, 90, 80];

/// Unit `i`'s agent: BGP mode, adverts every second, multihop BFD 50 ms x 3.
fn start_unit(lab: &Lab, i: usize) -> Agent {
    let mut inst = routed_inst(i, 3, PRIOS[i]);
    inst.advert_ms = 1000;
    let prios: serde_json::Map<String, Value> = (0..3)
        .filter(|j| *j != i)
        .map(|j| (unit_v4(j).to_string(), json!(PRIOS[j])))
        .collect();
    let path = write_edited(lab, i, &inst, |doc| {
        doc["bgp"] = json!({"interface": DUMMY});
        doc["instances"][0]["bfd"] = json!({
            "interval-ms": 50, "multiplier": 3, "multihop": true, "peer-priorities": prios,
        });
    });
    start_with(lab, i, path)
}

/// The BFD session states agent `a` shows for its peers.
fn bfd_states(a: &Agent) -> Vec<String> {
    a.try_status()
        .and_then(|s| {
            let peers = s["instances"][0]["bfd"].as_array()?.clone();
            Some(
                peers
                    .iter()
                    .map(|p| p["state"].as_str().unwrap_or("").to_string())
                    .collect(),
            )
        })
        .unwrap_or_default()
}

#[test]
fn multihop_sessions_come_up_across_the_router_and_detect_a_killed_master() {
    if !require_root() {
        return;
    }
    let lab = routed_lab("bgpbfd", 3);
    let a0 = start_unit(&lab, 0);
    a0.expect_state("api", "MASTER", Duration::from_secs(5));
    let mut a = vec![a0, start_unit(&lab, 1), start_unit(&lab, 2)];
    // Sessions Up, and the backups follow unit0 (they heard its routed
    // adverts: BFD only acts for the master a backup follows).
    let master = unit_v4(0).to_string();
    let up = wait_for(Duration::from_secs(10), || {
        a.iter().all(|x| bfd_states(x) == ["up", "up"])
            && a[1..].iter().all(|x| {
                x.try_status()
                    .is_some_and(|s| s["instances"][0]["master"] == master.as_str())
            })
    });
    assert!(
        up.is_some(),
        "multihop sessions not Up across the router\n{}",
        logs(&a)
    );
    a[1].expect_log(", multihop)", Duration::from_secs(1));
    assert!(wait_announcers(&lab, 3, &[0], Duration::from_secs(2)));
    let t0 = Instant::now();
    a[0].proc.kill();
    let took = wait_for(Duration::from_secs(3), || announces(&lab, 1));
    assert!(took.is_some(), "unit1 did not take over\n{}", logs(&a[1..]));
    let elapsed = t0.elapsed();
    println!(
        "MEASURED bgp multihop BFD takeover: {} ms",
        elapsed.as_millis()
    );
    // VRRP alone would need 3 x 1 s + skew; BFD detects in about 150 ms.
    assert!(
        elapsed < Duration::from_millis(2500),
        "took {elapsed:?}: not BFD\n{}",
        logs(&a[1..])
    );
    assert_eq!(a[1].status()["instances"][0]["bfd-takeovers"], 1);
    assert!(
        !announces(&lab, 2),
        "unit2 announces too\n{}",
        logs(&a[1..])
    );
}

#[test]
fn a_multihop_session_comes_up_with_frr_bfdd_across_the_router() {
    if !require_root()
        || !support::skip::need_program("/usr/lib/frr/bfdd")
        || !support::skip::need_program("chrt")
    {
        return;
    }
    let lab = routed_lab("bgpfrrbfd", 2);
    let (frr_ip, ours_ip) = (unit_v4(0), unit_v4(1));
    let dir = FrrDir::new(&format!(
        "bfd\n peer {ours_ip} local-address {frr_ip} multihop\n  receive-interval 50\n  \
         transmit-interval 50\n  detect-multiplier 3\n !\n!\n"
    ));
    let args = dir.bfdd_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut frr = lab.spawn_logged(lab.unit(0), "bfdd", &args);
    let mut inst = routed_inst(1, 2, 100);
    inst.advert_ms = 1000;
    let path = write_edited(&lab, 1, &inst, |doc| {
        doc["bgp"] = json!({"interface": DUMMY});
        doc["instances"][0]["bfd"] = json!({"interval-ms": 50, "multiplier": 3, "multihop": true});
    });
    let a = start_with(&lab, 1, path);
    let up = wait_for(Duration::from_secs(10), || bfd_states(&a) == ["up"]);
    assert!(
        up.is_some(),
        "no multihop session Up with bfdd\n{}\n--- bfdd ---\n{}",
        a.log(),
        frr.log()
    );
    frr.kill();
    let down = wait_for(Duration::from_secs(3), || bfd_states(&a) != ["up"]);
    assert!(down.is_some(), "bfdd's death not seen\n{}", a.log());
}
