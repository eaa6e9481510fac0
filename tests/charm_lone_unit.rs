//! A unicast unit with no peers waits for them, unless Juju's goal state says
//! it is its application's only unit: then agent.yaml says `alone: true` and
//! the unit holds the VIP (issue 17 item 6, the lone-unit rule).
//!
//! - one unit: `alone: true`, and the agent's MASTER report is shown as is;
//! - the first of three units (peers not joined yet, goal-state lists three):
//!   no `alone`, and the unit waits for unicast peers;
//! - scale 2 → 1: once the peer departs, `alone: true`;
//! - a peered application never asks goal-state (no extra hook-tool call).

mod support;

use serde_json::{json, Value};
use support::juju::Model;

const VIP: &str = "192.0.2.100";
const AGENT_YAML: &str = "/etc/k8s-vip/agent.yaml";

fn deploy(units: usize) -> Model {
    let model = Model::new("k8s-vip", units);
    model.set_config("virtual-ip", VIP);
    model.run_install_and_elect();
    model
}

fn instance(model: &Model, unit: &str) -> Value {
    let text = std::fs::read_to_string(model.path(unit, AGENT_YAML)).expect("agent.yaml");
    let y: Value = serde_yaml::from_str(&text).expect("agent.yaml is YAML");
    y["instances"][0].clone()
}

/// Writes the agent's status document as the agent does, runs update-status
/// and returns the unit status.
fn status_with_agent_saying(
    model: &Model,
    unit: &str,
    state: &str,
    waiting: Value,
) -> (String, String) {
    let vrid = instance(model, unit)["vrid"].clone();
    let doc = json!({"pid": 4242, "paused": false, "instances": [{
        "name": "v4-1", "vrid": vrid, "state": state, "master": null,
        "mode": "unicast", "waiting-for": waiting, "foreign-routers": [], "checks": []}]});
    let path = model.path(unit, "/run/k8s-vip/state.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, doc.to_string()).expect("state");
    model.run_hook(unit, "update-status").assert_success();
    let s = model.status(unit).expect("unit status set");
    (s.state, s.message)
}

fn agent_accepts(model: &Model, unit: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_k8s-vip"))
        .args(["agent", "--check", "--config"])
        .arg(model.path(unit, AGENT_YAML))
        .output()
        .expect("k8s-vip runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "agent --check refused agent.yaml: {err}"
    );
    err
}

#[test]
fn a_single_unit_is_alone_and_shows_master() {
    let model = deploy(1);
    let u = model.unit(0);
    model.run_hook(&u, "config-changed").assert_success();
    let i = instance(&model, &u);
    assert_eq!(i["unicast"], true);
    assert_eq!(i["unicast-peers"], json!([]));
    assert_eq!(i["alone"], true, "{i}");
    let note = agent_accepts(&model, &u);
    assert!(!note.contains("stay BACKUP"), "{note}");
    let (state, message) = status_with_agent_saying(&model, &u, "MASTER", Value::Null);
    assert_eq!(
        (state.as_str(), message.as_str()),
        ("active", &*format!("MASTER {VIP} (vrid {})", i["vrid"]))
    );
}

#[test]
fn the_first_of_three_units_waits_for_its_peers() {
    let model = Model::new("k8s-vip", 3);
    model.set_config("virtual-ip", VIP);
    let u = model.unit(0);
    let cluster = model.relation_id("cluster");
    // No peer has joined this unit's view of the relation yet.
    model.update(|s| {
        let rel = s
            .relations
            .iter_mut()
            .find(|r| r.key() == cluster)
            .expect("cluster");
        rel.visible = Some(Default::default());
    });
    model.run_hook(&u, "install").assert_success();
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert!(
        model.all_calls(&u).iter().any(|c| c.tool == "goal-state"),
        "goal-state asked"
    );
    let i = instance(&model, &u);
    assert_eq!(i["unicast-peers"], json!([]));
    assert!(i.get("alone").is_none(), "{i}");
    assert!(agent_accepts(&model, &u).contains("stay BACKUP"));
    let (state, message) = status_with_agent_saying(&model, &u, "BACKUP", json!("unicast peers"));
    assert_eq!(state, "waiting", "{message}");
}

#[test]
fn scale_two_to_one_makes_the_survivor_alone() {
    let mut model = deploy(2);
    let (u0, u1) = (model.unit(0), model.unit(1));
    for _ in 0..2 {
        model.run_peers_changed(&u0);
        model.run_peers_changed(&u1);
    }
    model.clear_calls(&u0);
    model.run_hook(&u0, "config-changed").assert_success();
    assert!(instance(&model, &u0).get("alone").is_none());
    assert!(
        !model.all_calls(&u0).iter().any(|c| c.tool == "goal-state"),
        "a unit with peers listed does not ask goal-state"
    );
    let cluster = model.relation_id("cluster");
    model.remove_unit(&u1);
    model
        .run_relation_hook(&u0, &cluster, "departed", Some(&u1))
        .assert_success();
    let i = instance(&model, &u0);
    assert_eq!(i["unicast-peers"], json!([]));
    assert_eq!(i["alone"], true, "{i}");
}
