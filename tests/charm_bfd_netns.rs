//! Fast failover end to end: the charm under the simulated model drives real
//! agents in network namespaces (3 units, 2 VIPs, the default 20 ms × 3).
//! Every unit's BFD sessions to the other two come Up, `juju status` says so,
//! and when the link of a VIP's holder is cut the takeover is BFD's (counted
//! by the new holder's agent), not the VRRP timer's.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::juju::Model;
use support::netns::{require_root, wait_for, Lab};

const VIPS: [&str; 2] = ["192.0.2.100", "192.0.2.101"];

fn state(model: &Model, unit: &str) -> Value {
    std::fs::read_to_string(model.path(unit, "/run/k8s-vip/state.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// Whether every instance of `unit` reports `peers` BFD sessions, all Up at
/// the configured 60 ms detection time (they come Up at the 1 s slow rate
/// of RFC 5880 §6.8.3 and speed up after a Poll sequence).
fn all_up(model: &Model, unit: &str, peers: usize) -> bool {
    let doc = state(model, unit);
    let Some(list) = doc["instances"].as_array() else {
        return false;
    };
    list.len() == VIPS.len()
        && list.iter().all(|i| {
            i["bfd"].as_array().is_some_and(|b| {
                b.len() == peers
                    && b.iter()
                        .all(|s| s["state"] == "up" && s["detection-ms"].as_f64() == Some(60.0))
            })
        })
}

fn live_deploy(lab: &Lab) -> Model {
    let mut model = Model::options("k8s-vip", 3).real_services(true).build();
    model.place_units_in(lab);
    model.set_config("virtual-ip", VIPS.join(" "));
    model.set_config("health-check", "none");
    for u in model.units().to_vec() {
        model.run_hook(&u, "install").assert_success();
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    let rel = model.relation_id("cluster");
    for u in model.units() {
        for other in model.units().iter().filter(|o| *o != u) {
            model
                .run_relation_hook(u, &rel, "changed", Some(other))
                .assert_success();
        }
    }
    // And the hooks Juju owes the peers for what they wrote meanwhile: each
    // unit lists a peer once that peer knows it.
    model.settle();
    model
}

#[test]
fn bfd_sessions_come_up_between_units_and_a_cut_holder_is_replaced_by_bfd() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("bfdcharm", 3);
    let model = live_deploy(&lab);
    let units = model.units().to_vec();
    let up = wait_for(Duration::from_secs(20), || {
        units.iter().all(|u| all_up(&model, u, 2))
    });
    assert!(
        up.is_some(),
        "BFD not Up everywhere: {:?}",
        units.iter().map(|u| state(&model, u)).collect::<Vec<_>>()
    );
    for u in &units {
        model.run_hook(u, "update-status").assert_success();
        let s = model.status(u).expect("status");
        assert_eq!(
            s.message.matches("BFD 2/2 up, 60 ms").count(),
            2,
            "{u}: {}",
            s.message
        );
    }
    let holder = lab
        .wait_single_holder(VIPS[0], Duration::from_secs(10))
        .expect("one holder of the first VIP");
    lab.set_link(lab.unit(holder), false);
    let new = wait_for(Duration::from_secs(10), || {
        lab.holders(VIPS[0]).iter().any(|h| *h != holder)
    });
    assert!(new.is_some(), "no unit took over {}", VIPS[0]);
    let taker = lab
        .holders(VIPS[0])
        .into_iter()
        .find(|h| *h != holder)
        .expect("taker");
    let counted = wait_for(Duration::from_secs(5), || {
        state(&model, &units[taker])["instances"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["bfd-takeovers"].as_u64().unwrap_or(0) >= 1)
    });
    assert!(
        counted.is_some(),
        "takeover not BFD's: {}",
        state(&model, &units[taker])
    );
}
