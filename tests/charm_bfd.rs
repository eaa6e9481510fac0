//! Fast failover (BFD between units) through the real binary under the
//! simulated Juju model: the two options validated, the `bfd:` block in
//! agent.yaml with every peer's priority for each VIP, none when off or with
//! keepalived, and the BFD sessions in `juju status` and the `status` action.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::juju::Model;

const VIPS: &str = "192.0.2.100 192.0.2.101";

fn read(model: &Model, unit: &str, path: &str) -> String {
    std::fs::read_to_string(model.path(unit, path)).unwrap_or_else(|e| panic!("{unit}:{path}: {e}"))
}

fn agent_yaml(model: &Model, unit: &str) -> Value {
    serde_yaml::from_str(&read(model, unit, "/etc/k8s-vip/agent.yaml")).expect("agent.yaml is YAML")
}

/// `n` units floating two VIPs, hooks run until every unit knows the others.
fn deploy(n: usize, extra: &[(&str, Value)]) -> Model {
    let model = Model::new("k8s-vip", n);
    model.set_config("virtual-ip", VIPS);
    for (k, v) in extra {
        model.set_config(k, v.clone());
    }
    model.run_install_and_elect();
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    for _round in 0..2 {
        for u in model.units().to_vec() {
            model.run_peers_changed(&u);
        }
    }
    model
}

/// Each unit's own address (the unicast source of its first instance).
fn address_of(model: &Model, unit: &str) -> String {
    agent_yaml(model, unit)["instances"][0]["unicast-source"]
        .as_str()
        .unwrap_or_else(|| panic!("{unit} has no unicast source"))
        .to_string()
}

#[test]
fn three_units_two_vips_get_bfd_with_every_peers_priority() {
    let model = deploy(3, &[]);
    let units = model.units().to_vec();
    let addrs: Vec<String> = units.iter().map(|u| address_of(&model, u)).collect();
    // priority[instance][unit], from each unit's own agent.yaml.
    let own: Vec<Vec<u64>> = (0..2)
        .map(|i| {
            units
                .iter()
                .map(|u| {
                    agent_yaml(&model, u)["instances"][i]["priority"]
                        .as_u64()
                        .expect("prio")
                })
                .collect()
        })
        .collect();
    // Active-active: the two VIPs prefer different units.
    let top = |i: usize| {
        own[i]
            .iter()
            .enumerate()
            .max_by_key(|(_, p)| **p)
            .map(|(u, _)| u)
    };
    assert_ne!(top(0), top(1), "priorities {own:?}");
    for (me, u) in units.iter().enumerate() {
        let y = agent_yaml(&model, u);
        for (i, inst) in y["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .enumerate()
        {
            let bfd = &inst["bfd"];
            assert_eq!(bfd["interval-ms"], 20, "{u}: {inst}");
            assert_eq!(bfd["multiplier"], 3, "{u}: {inst}");
            let mut want = serde_json::Map::new();
            for (other, addr) in addrs.iter().enumerate().filter(|(o, _)| *o != me) {
                want.insert(addr.clone(), json!(own[i][other]));
            }
            assert_eq!(
                bfd["peer-priorities"],
                Value::Object(want),
                "{u} instance {i}"
            );
        }
    }
}

#[test]
fn interval_and_multiplier_are_rendered_and_zero_turns_bfd_off() {
    let model = deploy(
        2,
        &[
            ("fast-failover-interval", json!(50)),
            ("fast-failover-multiplier", json!(5)),
        ],
    );
    let u = model.unit(0);
    let bfd = &agent_yaml(&model, &u)["instances"][1]["bfd"];
    assert_eq!(
        (bfd["interval-ms"].clone(), bfd["multiplier"].clone()),
        (json!(50), json!(5))
    );
    model.set_config("fast-failover-interval", 0);
    model.run_hook(&u, "config-changed").assert_success();
    let text = read(&model, &u, "/etc/k8s-vip/agent.yaml");
    assert!(!text.contains("bfd"), "{text}");
    assert_eq!(model.status(&u).expect("status").state, "waiting");
}

#[test]
fn a_lone_unit_and_keepalived_mode_get_no_bfd() {
    let lone = deploy(1, &[]);
    let text = read(&lone, &lone.unit(0), "/etc/k8s-vip/agent.yaml");
    assert!(!text.contains("bfd"), "no unicast peer, no BFD: {text}");
    let model = deploy(2, &[("vip-agent", json!("keepalived"))]);
    let u = model.unit(0);
    let conf = read(&model, &u, "/etc/keepalived/keepalived.conf");
    assert!(!conf.to_lowercase().contains("bfd"), "{conf}");
    assert!(
        !model.path(&u, "/etc/k8s-vip/agent.yaml").exists()
            || !read(&model, &u, "/etc/k8s-vip/agent.yaml").contains("bfd")
    );
}

#[test]
fn bad_values_block_naming_the_option_and_apply_nothing() {
    let model = deploy(2, &[]);
    let u = model.unit(0);
    let before = read(&model, &u, "/etc/k8s-vip/agent.yaml");
    let cases = [
        ("fast-failover-interval", json!(5)),
        ("fast-failover-interval", json!(10_001)),
        ("fast-failover-interval", json!(-20)),
        ("fast-failover-multiplier", json!(1)),
        ("fast-failover-multiplier", json!(256)),
    ];
    for (key, value) in cases {
        model.set_config(key, value.clone());
        model.run_hook(&u, "config-changed").assert_success();
        let s = model.status(&u).expect("status");
        assert_eq!(s.state, "blocked", "{key}={value}: {}", s.message);
        assert!(s.message.contains(key), "{key}={value}: {}", s.message);
        assert_eq!(
            read(&model, &u, "/etc/k8s-vip/agent.yaml"),
            before,
            "{key}={value} half-applied"
        );
        model.reset_config(key);
    }
}

/// One instance of the agent's status document with BFD sessions to `peers`.
fn bfd_instance(name: &str, vip: &str, state: &str, peers: &[(&str, &str)]) -> Value {
    let bfd: Vec<Value> = peers
        .iter()
        .map(|(p, s)| json!({"peer": p, "state": s, "detection-ms": 60.0, "changes": 1}))
        .collect();
    json!({"name": name, "vrid": 1, "state": state, "priority": 200, "master": null,
           "vips": [format!("{vip}/24")], "transitions": 1, "bfd": bfd,
           "bfd-takeovers": 2, "bfd-contradicted": 0})
}

fn bfd_doc(model: &Model) -> Value {
    let (a1, a2) = (
        address_of(model, &model.unit(1)),
        address_of(model, &model.unit(2)),
    );
    json!({"ok": true, "pid": 1, "paused": false, "instances": [
        bfd_instance("v4-1", "192.0.2.100", "MASTER", &[(&a1, "up"), (&a2, "up")]),
        bfd_instance("v4-2", "192.0.2.101", "MASTER", &[(&a1, "up"), (&a2, "down")]),
    ]})
}

#[test]
fn unit_status_shows_bfd_sessions_and_detection_time() {
    let model = deploy(3, &[]);
    let u = model.unit(0);
    let path = model.path(&u, "/run/k8s-vip/state.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, bfd_doc(&model).to_string()).expect("state");
    model.run_hook(&u, "update-status").assert_success();
    let s = model.status(&u).expect("status");
    assert!(
        s.message.contains("192.0.2.100 (vrid") && s.message.contains("BFD 2/2 up, 60 ms"),
        "{}",
        s.message
    );
    assert!(s.message.contains("BFD 1/2 up, 60 ms"), "{}", s.message);
    assert!(s.message.len() <= 1024);
}

/// Answers one `status` request on the unit's control socket with `doc`.
fn serve_once(model: &Model, unit: &str, doc: Value) -> std::thread::JoinHandle<()> {
    let path = model.path(unit, "/run/k8s-vip/agent.sock");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((stream, _)) = listener.accept() {
                let _ = stream.set_nonblocking(false);
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                let _ = (&stream).write_all(format!("{doc}\n").as_bytes());
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

#[test]
fn status_action_lists_each_peers_bfd_state_and_detection_time() {
    let model = deploy(3, &[]);
    let u = model.unit(0);
    let server = serve_once(&model, &u, bfd_doc(&model));
    let a = model.run_action(&u, "status", json!({}));
    a.assert_completed();
    let _ = server.join();
    let one = a
        .result("instances.v4-2.bfd.k8s-vip-1")
        .expect("bfd to k8s-vip/1");
    assert!(
        one.starts_with("k8s-vip/1 (") && one.ends_with("up, detection 60 ms"),
        "{one}"
    );
    let two = a
        .result("instances.v4-2.bfd.k8s-vip-2")
        .expect("bfd to k8s-vip/2");
    assert!(two.ends_with("down, detection 60 ms"), "{two}");
    assert_eq!(
        a.result("instances.v4-1.bfd-takeovers").as_deref(),
        Some("2")
    );
}
