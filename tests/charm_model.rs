//! The charm under the simulated Juju model: the real binary through the real
//! `dispatch`, for 1, 2 and 3 units. Covers reconcile, idempotence of every
//! hook, peers, leadership, relations, actions (with a fake agent on the
//! control socket), pause persistence, backends and teardown.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use support::juju::Model;

const VIP: &str = "192.0.2.100";

fn vrid() -> u8 {
    k8s_vip::charm::vrid::derived_base("test", "k8s-vip")
}

/// Every file under a unit's root with its content and mtime.
fn snapshot(model: &Model, unit: &str) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, SystemTime)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                walk(&p, out);
            } else if meta.is_file() {
                let content = std::fs::read(&p).unwrap_or_default();
                out.insert(
                    p,
                    (content, meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)),
                );
            } else {
                out.insert(p, (Vec::new(), SystemTime::UNIX_EPOCH));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&model.root(unit), &mut out);
    out
}

/// Calls that change something (not queries).
fn mutating_calls(model: &Model, unit: &str) -> Vec<String> {
    model
        .all_calls(unit)
        .into_iter()
        .filter(|c| match c.tool.as_str() {
            "systemctl" => !c
                .args
                .iter()
                .any(|a| ["is-active", "is-enabled", "status", "show"].contains(&a.as_str())),
            "sysctl" => c
                .args
                .iter()
                .any(|a| a == "-w" || a == "-p" || a.contains('=')),
            "apt-get" | "relation-set" | "state-set" | "open-port" | "close-port" => true,
            _ => false,
        })
        .map(|c| format!("{} {}", c.tool, c.args.join(" ")))
        .collect()
}

fn systemctl_verbs(model: &Model, unit: &str) -> Vec<String> {
    model
        .calls(unit, "systemctl")
        .into_iter()
        .map(|a| a.join(" "))
        .filter(|a| {
            !a.contains("is-active") && !a.contains("is-enabled") && !a.starts_with("show ")
        })
        .collect()
}

fn status(model: &Model, unit: &str) -> (String, String) {
    let s = model.status(unit).expect("unit status set");
    (s.state, s.message)
}

fn read(model: &Model, unit: &str, path: &str) -> String {
    std::fs::read_to_string(model.path(unit, path)).unwrap_or_else(|e| panic!("{unit}:{path}: {e}"))
}

fn agent_yaml(model: &Model, unit: &str) -> Value {
    serde_yaml::from_str(&read(model, unit, "/etc/k8s-vip/agent.yaml")).expect("agent.yaml is YAML")
}

/// Deploys n units with a VIP and runs hooks until the peers have exchanged data.
fn deploy(n: usize) -> Model {
    let model = Model::new("k8s-vip", n);
    model.set_config("virtual-ip", VIP);
    model.run_install_and_elect();
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    // Peers see each other's data now, and the cluster-relation-changed
    // hooks Juju owes them for what they wrote then (the peers each knows).
    for u in model.units().to_vec() {
        model.run_peers_changed(&u);
    }
    model.settle();
    model
}

/// Writes the agent's state file as a running agent would.
fn write_state(model: &Model, unit: &str, instances: Value) {
    let doc = json!({"pid": 4242, "updated": "2026-11-26T12:00:00Z", "paused": false, "instances": instances});
    let path = model.path(unit, "/run/k8s-vip/state.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, doc.to_string()).expect("write state");
}

/// The unit's (state, message) after its agent reported `instances` and
/// update-status ran.
fn status_after_report(model: &Model, unit: &str, instances: Value) -> (String, String) {
    write_state(model, unit, instances);
    model.run_hook(unit, "update-status").assert_success();
    status(model, unit)
}

fn instance_state(state: &str, master: Option<&str>, address: &str) -> Value {
    json!({"name": "v4-1", "vrid": vrid(), "version": 3, "interface": "eth0", "state": state,
           "priority": 200, "effective-priority": 200, "address": address, "master": master,
           "vips": [format!("{VIP}/24")], "advert-interval-ms": 250, "transitions": 1,
           "last-transition": "2026-11-26T11:59:00Z", "last-transition-reason": "master down timer expired",
           "checks": [{"name": "http https://127.0.0.1:6443/livez", "healthy": true, "last-error": null}],
           "foreign-routers": []})
}

// ===== config and blocked =====

#[test]
fn unset_vip_blocks_with_the_command_to_type_and_changes_nothing() {
    let model = Model::new("k8s-vip", 1);
    let u = model.unit(0);
    model.run_hook(&u, "install").assert_success();
    assert_eq!(
        status(&model, &u),
        (
            "blocked".into(),
            "virtual-ip: set virtual-ip (juju config k8s-vip virtual-ip=ADDRESS)".into()
        )
    );
    assert!(!model.path(&u, "/etc/k8s-vip/agent.yaml").exists());
    assert!(
        systemctl_verbs(&model, &u).is_empty(),
        "{:?}",
        systemctl_verbs(&model, &u)
    );
}

#[test]
fn every_invalid_option_blocks_naming_it_and_keeps_the_running_config() {
    let model = deploy(1);
    let u = model.unit(0);
    let before = read(&model, &u, "/etc/k8s-vip/agent.yaml");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("virtual-ip", json!("10.0.0.300"), "virtual-ip:"),
        (
            "virtual-ip",
            json!("198.51.100.5"),
            "virtual-ip: 198.51.100.5 is in no subnet of eth0 (192.0.2.11/24)",
        ),
        ("vip-hostname", json!("not a name"), "vip-hostname:"),
        ("port", json!(0), "port:"),
        ("virtual-router-id", json!(300), "virtual-router-id:"),
        (
            "network-interface",
            json!("bond0"),
            "network-interface: network-interface \"bond0\"",
        ),
        ("network-interface", json!("a/b"), "network-interface:"),
        ("advert-interval", json!(0.001), "advert-interval:"),
        ("vrrp-version", json!(4), "vrrp-version:"),
        ("health-check", json!("ping"), "health-check:"),
        ("garp-refresh", json!(-5), "garp-refresh:"),
        ("vip-agent", json!("vrrpd"), "vip-agent:"),
    ];
    for (key, value, prefix) in cases {
        model.set_config(key, value.clone());
        model.clear_calls(&u);
        model.run_hook(&u, "config-changed").assert_success();
        let (state, msg) = status(&model, &u);
        assert_eq!(state, "blocked", "{key}={value}: {msg}");
        assert!(
            msg.starts_with(prefix),
            "{key}={value}: {msg:?} does not start with {prefix:?}"
        );
        assert_eq!(
            read(&model, &u, "/etc/k8s-vip/agent.yaml"),
            before,
            "{key}={value} half-applied"
        );
        assert!(
            systemctl_verbs(&model, &u).is_empty(),
            "{key}={value}: {:?}",
            systemctl_verbs(&model, &u)
        );
        model.reset_config(key);
        if key == "virtual-ip" {
            model.set_config("virtual-ip", VIP);
        }
    }
    // Valid again: back to waiting for the agent, with the same file.
    model.run_hook(&u, "config-changed").assert_success();
    assert_eq!(
        status(&model, &u),
        ("waiting".into(), "agent starting".into())
    );
}

// ===== one unit =====

#[test]
fn one_unit_installs_the_agent_and_reports_master() {
    let model = deploy(1);
    let u = model.unit(0);
    // Files.
    assert!(model.path(&u, "/usr/local/lib/k8s-vip/k8s-vip").is_file());
    let unit_file = read(&model, &u, "/etc/systemd/system/k8s-vip-agent.service");
    assert!(unit_file.contains("ExecStart="), "{unit_file}");
    // No host-wide sysctl: HAProxy binds the VIP with `transparent`.
    assert!(!model.path(&u, "/etc/sysctl.d/60-k8s-vip.conf").exists());
    assert_ne!(
        model
            .sysctls(&u)
            .get("net.ipv4.ip_nonlocal_bind")
            .map(String::as_str),
        Some("1")
    );
    let y = agent_yaml(&model, &u);
    let i = &y["instances"][0];
    assert_eq!(i["vrid"], json!(vrid()));
    assert_eq!(i["interface"], "eth0");
    assert_eq!(i["vips"], json!([format!("{VIP}/24")]));
    assert_eq!(i["advert-interval-ms"], 250);
    // kubernetes-control-plane principal: auto check = the local API server.
    assert_eq!(i["checks"][0]["http"], "https://127.0.0.1:6443/livez");
    // Service enabled and started, never restarted or reloaded.
    assert!(model.is_active(&u, "k8s-vip-agent"));
    let svc = model.services(&u)["k8s-vip-agent.service"].clone();
    assert!(svc.enabled);
    assert_eq!((svc.starts, svc.reloads), (1, 0));
    assert_eq!(
        status(&model, &u),
        ("waiting".into(), "agent starting".into())
    );
    // The agent reports; update-status shows it.
    assert_eq!(
        status_after_report(
            &model,
            &u,
            json!([instance_state("MASTER", Some("192.0.2.11"), "192.0.2.11")])
        ),
        ("active".into(), format!("MASTER {VIP} (vrid {})", vrid()))
    );
    let app = model.app_status().expect("leader sets app status");
    assert_eq!(app.message, format!("VIP {VIP} (vrid {})", vrid()));
}

#[test]
fn foreign_router_warning_in_status() {
    let model = deploy(1);
    let u = model.unit(0);
    let mut st = instance_state("MASTER", Some("192.0.2.11"), "192.0.2.11");
    st["foreign-routers"] = json!(["192.0.2.50"]);
    let (_, msg) = status_after_report(&model, &u, json!([st]));
    assert!(
        msg.contains("WARNING") && msg.contains("192.0.2.50") && msg.contains("virtual-router-id"),
        "{msg}"
    );
}

#[test]
fn config_change_reloads_never_restarts() {
    let model = deploy(1);
    let u = model.unit(0);
    model.set_config("advert-interval", 0.1);
    model.run_hook(&u, "config-changed").assert_success();
    let svc = model.services(&u)["k8s-vip-agent.service"].clone();
    assert_eq!((svc.starts, svc.reloads), (1, 1));
    assert_eq!(
        agent_yaml(&model, &u)["instances"][0]["advert-interval-ms"],
        100
    );
}

#[test]
fn every_hook_is_idempotent() {
    for n in [1, 2, 3] {
        let model = deploy(n);
        let rel = model.relation_id("cluster");
        for u in model.units().to_vec() {
            // One more round so every unit has seen every peer's final data.
            model.run_hook(&u, "config-changed").assert_success();
        }
        for u in model.units().to_vec() {
            let other = model.units().iter().find(|o| **o != u).cloned();
            let hooks: Vec<(String, Option<String>)> = vec![
                ("install".into(), None),
                ("config-changed".into(), None),
                ("start".into(), None),
                ("upgrade-charm".into(), None),
                ("update-status".into(), None),
                ("leader-elected".into(), None),
                ("leader-settings-changed".into(), None),
                ("cluster-relation-joined".into(), other.clone()),
                ("cluster-relation-changed".into(), other.clone()),
            ];
            for (hook, remote) in hooks {
                let before = snapshot(&model, &u);
                model.clear_calls(&u);
                match hook.strip_prefix("cluster-relation-") {
                    Some(kind) if remote.is_some() => {
                        model
                            .run_relation_hook(&u, &rel, kind, remote.as_deref())
                            .assert_success();
                    }
                    _ => {
                        model.run_hook(&u, &hook).assert_success();
                    }
                }
                let after = snapshot(&model, &u);
                assert_eq!(
                    before.keys().collect::<Vec<_>>(),
                    after.keys().collect::<Vec<_>>(),
                    "{n} units, {u} {hook}: files appeared or vanished"
                );
                for (path, (content, mtime)) in &before {
                    let (c2, m2) = &after[path];
                    assert!(
                        content == c2 && mtime == m2,
                        "{n} units, {u} {hook}: {} rewritten",
                        path.display()
                    );
                }
                assert_eq!(
                    mutating_calls(&model, &u),
                    Vec::<String>::new(),
                    "{n} units, {u} {hook}"
                );
            }
        }
    }
}

// ===== peers =====

#[test]
fn three_units_publish_addresses_and_use_each_other_as_unicast_peers() {
    let model = deploy(3);
    let rel = model.relation_id("cluster");
    let mut priorities = Vec::new();
    for (i, u) in model.units().iter().enumerate() {
        let data = model.relation_data(&rel, u);
        assert_eq!(
            data.get("address").map(String::as_str),
            Some(format!("192.0.2.{}", 11 + i).as_str())
        );
        assert_eq!(data.get("interface").map(String::as_str), Some("eth0"));
        let y = agent_yaml(&model, u);
        let inst = &y["instances"][0];
        let mut peers: Vec<String> = inst["unicast-peers"]
            .as_array()
            .expect("peers")
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        peers.sort();
        let want: Vec<String> = (0..3)
            .filter(|j| *j != i)
            .map(|j| format!("192.0.2.{}", 11 + j))
            .collect();
        assert_eq!(peers, want, "{u}");
        assert_eq!(inst["unicast-source"], json!(format!("192.0.2.{}", 11 + i)));
        priorities.push(inst["priority"].as_u64().expect("priority"));
        // Peers joining after start reload the agent; nothing restarts it.
        let svc = model.services(u)["k8s-vip-agent.service"].clone();
        assert_eq!(svc.starts, 1, "{u} restarted");
    }
    let mut distinct = priorities.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "priorities {priorities:?}");
}

#[test]
fn leadership_change_changes_nothing_on_the_wire() {
    let model = deploy(3);
    let before: Vec<String> = model
        .units()
        .iter()
        .map(|u| read(&model, u, "/etc/k8s-vip/agent.yaml"))
        .collect();
    model.set_leader(&model.unit(2));
    for u in model.units().to_vec() {
        model.clear_calls(&u);
        model
            .run_hook(
                &u,
                if u == model.unit(2) {
                    "leader-elected"
                } else {
                    "leader-settings-changed"
                },
            )
            .assert_success();
        assert!(
            systemctl_verbs(&model, &u).is_empty(),
            "{u}: {:?}",
            systemctl_verbs(&model, &u)
        );
    }
    let after: Vec<String> = model
        .units()
        .iter()
        .map(|u| read(&model, u, "/etc/k8s-vip/agent.yaml"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn peer_departure_reloads_the_others() {
    let model = deploy(3);
    let rel = model.relation_id("cluster");
    let gone = model.unit(2);
    model.update(|s| {
        s.units.remove(&gone);
    });
    for u in [model.unit(0), model.unit(1)] {
        let reloads = model.services(&u)["k8s-vip-agent.service"].reloads;
        model
            .run_relation_hook(&u, &rel, "departed", Some(&gone))
            .assert_success();
        let y = agent_yaml(&model, &u);
        let peers = y["instances"][0]["unicast-peers"]
            .as_array()
            .expect("peers")
            .clone();
        assert_eq!(peers.len(), 1, "{u}: {peers:?}");
        assert!(!peers.contains(&json!("192.0.2.13")));
        let svc = model.services(&u)["k8s-vip-agent.service"].clone();
        assert_eq!(svc.reloads, reloads + 1, "{u} not reloaded");
        assert_eq!(svc.starts, 1, "{u} restarted");
    }
}

#[test]
fn backup_status_names_the_master_unit() {
    let model = deploy(2);
    let u = model.unit(1);
    assert_eq!(
        status_after_report(
            &model,
            &u,
            json!([instance_state("BACKUP", Some("192.0.2.11"), "192.0.2.12")])
        ),
        (
            "active".into(),
            format!("BACKUP, VIP on k8s-vip/0 (vrid {})", vrid())
        )
    );
}

#[test]
fn active_active_three_vips_rotate_preferred_masters() {
    let model = Model::new("k8s-vip", 3);
    model.set_config("virtual-ip", "192.0.2.100 192.0.2.101 192.0.2.102");
    let rel = model.relation_id("cluster");
    for _round in 0..2 {
        for u in model.units().to_vec() {
            model.run_hook(&u, "config-changed").assert_success();
        }
    }
    let _ = rel;
    let mut best: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for u in model.units().to_vec() {
        let y = agent_yaml(&model, &u);
        for inst in y["instances"].as_array().expect("instances") {
            let vip = inst["vips"][0].as_str().expect("vip").to_string();
            let p = inst["priority"].as_u64().expect("prio");
            let e = best.entry(vip).or_insert((0, String::new()));
            if p > e.0 {
                *e = (p, u.clone());
            }
        }
    }
    let holders: std::collections::BTreeSet<&String> = best.values().map(|(_, u)| u).collect();
    assert_eq!(holders.len(), 3, "{best:?}");
}

// ===== relations =====

const INTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": "api-server-internal", "port_mapping": {"6443": 6443}, "protocol": "tcp", "public": false, "sent_hash": "4f4a9a40ec63ae08000f439c6786ea09", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

#[test]
fn lb_consumers_round_trip() {
    let model = deploy(2);
    let leader = model.unit(0);
    let rel = model.add_relation(
        "lb-consumers",
        "kubernetes-control-plane",
        &["kubernetes-control-plane/0", "kubernetes-control-plane/1"],
    );
    model.set_unit_data(
        &rel,
        "kubernetes-control-plane/0",
        &[("ingress-address", "192.0.2.11")],
    );
    model.set_unit_data(
        &rel,
        "kubernetes-control-plane/1",
        &[("ingress-address", "192.0.2.12")],
    );
    // No version yet: we publish ours, answer nothing.
    model.set_app_data(
        &rel,
        "kubernetes-control-plane",
        &[("request_api-server-internal", INTERNAL)],
    );
    model
        .run_relation_hook(&leader, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    let ours = model.app_data(&rel, "k8s-vip");
    assert_eq!(ours.get("version").map(String::as_str), Some("1"));
    assert!(!ours.contains_key("response_api-server-internal"));
    // Versioned request: exact response.
    model.set_app_data(
        &rel,
        "kubernetes-control-plane",
        &[("version", "1"), ("request_api-server-internal", INTERNAL)],
    );
    model
        .run_relation_hook(&leader, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    assert_eq!(
        model
            .app_data(&rel, "k8s-vip")
            .get("response_api-server-internal")
            .map(String::as_str),
        Some(
            r#"{"address":"192.0.2.100","error":null,"error_fields":{},"error_message":null,"received_hash":"4f4a9a40ec63ae08000f439c6786ea09"}"#
        )
    );
    // Garbage: answered as provider error, the hook does not fail.
    model.set_app_data(&rel, "kubernetes-control-plane", &[("request_bad", "{{{")]);
    model
        .run_relation_hook(&leader, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    let bad: Value =
        serde_json::from_str(&model.app_data(&rel, "k8s-vip")["response_bad"]).expect("json");
    assert_eq!(bad["error"], "provider_error");
    // The non-leader runs the same hook fine and writes no app data.
    model.clear_calls(&model.unit(1));
    model
        .run_relation_hook(
            &model.unit(1),
            &rel,
            "changed",
            Some("kubernetes-control-plane/1"),
        )
        .assert_success();
    assert!(model
        .calls(&model.unit(1), "relation-set")
        .iter()
        .all(|a| !a.contains(&"--app".to_string())));
}

#[test]
fn legacy_relations_publish_vip_and_port() {
    let model = deploy(1);
    let u = model.unit(0);
    model.set_config("port", 443);
    let lb = model.add_relation(
        "loadbalancer",
        "kubernetes-master",
        &["kubernetes-master/0"],
    );
    let web = model.add_relation("website", "kubernetes-worker", &["kubernetes-worker/0"]);
    model
        .run_relation_hook(&u, &lb, "joined", Some("kubernetes-master/0"))
        .assert_success();
    model
        .run_relation_hook(&u, &web, "joined", Some("kubernetes-worker/0"))
        .assert_success();
    let d = model.relation_data(&lb, &u);
    assert_eq!(d.get("public-address").map(String::as_str), Some(VIP));
    assert_eq!(d.get("port").map(String::as_str), Some("443"));
    let d = model.relation_data(&web, &u);
    assert_eq!(d.get("hostname").map(String::as_str), Some(VIP));
    assert_eq!(d.get("private-address").map(String::as_str), Some(VIP));
    assert_eq!(d.get("port").map(String::as_str), Some("443"));
}

// ===== actions with a fake agent =====

/// A fake server on a Unix socket: one line in, `reply(line, n)` out, then close.
struct FakeSocket {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeSocket {
    fn start(path: PathBuf, reply: impl Fn(&str, usize) -> String + Send + 'static) -> FakeSocket {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind fake socket");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut n = 0;
            while !s.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut line = String::new();
                        let mut reader = BufReader::new(&stream);
                        if reader.read_line(&mut line).is_ok() {
                            let answer = reply(line.trim(), n);
                            n += 1;
                            if let Ok(mut v) = r.lock() {
                                v.push(line.trim().to_string());
                            }
                            let mut w = &stream;
                            let _ = w.write_all(answer.as_bytes());
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeSocket {
            stop,
            thread: Some(thread),
            requests,
        }
    }
}

impl Drop for FakeSocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A fake agent answering JSON on a unit's control socket with `reply(request, n)`.
struct FakeAgent(FakeSocket);

impl FakeAgent {
    fn start(
        model: &Model,
        unit: &str,
        reply: impl Fn(&Value, usize) -> Value + Send + 'static,
    ) -> FakeAgent {
        let path = model.path(unit, "/run/k8s-vip/agent.sock");
        FakeAgent(FakeSocket::start(path, move |line, n| {
            let req: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            format!("{}\n", reply(&req, n))
        }))
    }

    fn requests(&self) -> Vec<Value> {
        self.0
            .requests
            .lock()
            .map(|v| {
                v.iter()
                    .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn status_reply(state: &str, master: &str) -> Value {
    let mut doc = json!({"ok": true, "pid": 1, "paused": false, "instances": [instance_state(state, Some(master), "192.0.2.11")]});
    doc["instances"][0]["address"] = json!("192.0.2.11");
    doc
}

/// Unit 1's agent (192.0.2.12) as a backup of unit 0 (192.0.2.11).
fn unit1_backup_reply() -> Value {
    let mut d = status_reply("BACKUP", "192.0.2.11");
    d["instances"][0]["address"] = json!("192.0.2.12");
    d
}

#[test]
fn status_action_reports_role_vip_master_unit_and_checks() {
    let model = deploy(2);
    let u = model.unit(1);
    let _agent = FakeAgent::start(&model, &u, |_, _| unit1_backup_reply());
    let a = model.run_action(&u, "status", json!({}));
    a.assert_completed();
    assert_eq!(a.result("instances.v4-1.state").as_deref(), Some("BACKUP"));
    assert_eq!(
        a.result("instances.v4-1.master-unit").as_deref(),
        Some("k8s-vip/0")
    );
    assert_eq!(
        a.result("instances.v4-1.master").as_deref(),
        Some("192.0.2.11")
    );
    assert_eq!(a.result("instances.v4-1.vips").as_deref(), Some(VIP));
    assert_eq!(a.result("instances.v4-1.priority").as_deref(), Some("200"));
    assert!(a
        .result("instances.v4-1.checks.check-1")
        .is_some_and(|c| c.contains("healthy")));
    assert_eq!(
        a.result("instances.v4-1.last-transition").as_deref(),
        Some("2026-11-26T11:59:00Z")
    );
    assert!(a.result("vips").is_some_and(|v| v.contains("on k8s-vip/0")));
    assert_eq!(
        a.result("instances.v4-1.preferred-unit").as_deref(),
        Some("k8s-vip/0")
    );
    assert_eq!(
        a.result("instances.v4-1.priorities.k8s-vip-0").as_deref(),
        Some("200")
    );
    assert_eq!(
        a.result("instances.v4-1.priorities.k8s-vip-1").as_deref(),
        Some("199")
    );
}

#[test]
fn actions_fail_clearly_without_an_agent() {
    let model = deploy(1);
    let u = model.unit(0);
    for name in ["status", "failover"] {
        let a = model.run_action(&u, name, json!({}));
        let msg = a.failed.unwrap_or_default();
        assert!(msg.contains("not running"), "{name}: {msg}");
    }
}

#[test]
fn failover_reports_who_took_over() {
    let model = deploy(2);
    let u = model.unit(0);
    let agent = FakeAgent::start(&model, &u, |req, n| match req["cmd"].as_str() {
        Some("step-down") => json!({"ok": true, "stepped-down": ["v4-1"]}),
        Some("status") if n == 0 => status_reply("MASTER", "192.0.2.11"),
        Some("status") => status_reply("BACKUP", "192.0.2.12"),
        _ => json!({"ok": false, "error": "unexpected"}),
    });
    let a = model.run_action(&u, "failover", json!({"hold": 30}));
    a.assert_completed();
    assert_eq!(a.result("new-master").as_deref(), Some("k8s-vip/1"));
    assert!(a.result("took-ms").is_some());
    assert!(agent
        .requests()
        .iter()
        .any(|r| r == &json!({"cmd": "step-down", "hold-s": 30})));
}

#[test]
fn failover_on_a_backup_names_the_holder() {
    let model = deploy(2);
    let u = model.unit(1);
    let _agent = FakeAgent::start(&model, &u, |_, _| unit1_backup_reply());
    let a = model.run_action(&u, "failover", json!({}));
    let msg = a.failed.expect("must fail");
    assert!(
        msg.contains("k8s-vip/0") && msg.contains("does not hold"),
        "{msg}"
    );
}

#[test]
fn pause_persists_until_resume() {
    let model = deploy(1);
    let u = model.unit(0);
    let agent = FakeAgent::start(&model, &u, |_, _| json!({"ok": true}));
    model.run_action(&u, "pause", json!({})).assert_completed();
    assert!(model.path(&u, "/var/lib/k8s-vip/paused").exists());
    assert_eq!(
        status(&model, &u),
        ("maintenance".into(), "paused, VIP released".into())
    );
    // Survives hooks (and agent restarts: the agent reads the marker).
    model.run_hook(&u, "config-changed").assert_success();
    model.run_hook(&u, "upgrade-charm").assert_success();
    assert!(model.path(&u, "/var/lib/k8s-vip/paused").exists());
    assert_eq!(status(&model, &u).0, "maintenance");
    assert_eq!(
        agent_yaml(&model, &u)["pause-file"],
        json!(model
            .path(&u, "/var/lib/k8s-vip/paused")
            .display()
            .to_string())
    );
    model.run_action(&u, "resume", json!({})).assert_completed();
    assert!(!model.path(&u, "/var/lib/k8s-vip/paused").exists());
    assert_eq!(status(&model, &u).0, "waiting");
    let cmds: Vec<Value> = agent.requests().iter().map(|r| r["cmd"].clone()).collect();
    assert!(
        cmds.contains(&json!("pause")) && cmds.contains(&json!("resume")),
        "{cmds:?}"
    );
}

// ===== upgrade, backends, teardown =====

#[test]
fn upgrade_charm_with_a_new_binary_hands_over_then_starts_the_new_agent() {
    let model = deploy(1);
    let u = model.unit(0);
    // An older binary is installed.
    std::fs::write(model.path(&u, "/usr/local/lib/k8s-vip/k8s-vip"), b"old").expect("write");
    // The "old agent": its pid is a process that has already exited, as after a handover.
    let mut gone = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let gone_pid = gone.id();
    let _ = gone.wait();
    let agent = FakeAgent::start(&model, &u, move |req, _| match req["cmd"].as_str() {
        Some("status") => json!({"ok": true, "pid": gone_pid, "instances": []}),
        _ => json!({"ok": true}),
    });
    model.clear_calls(&u);
    model.run_hook(&u, "upgrade-charm").assert_success();
    // Never a graceful stop (it would release the VIP): the new agent is started.
    let verbs = systemctl_verbs(&model, &u);
    assert_eq!(
        verbs,
        vec!["start k8s-vip-agent.service".to_string()],
        "{verbs:?}"
    );
    assert!(agent.requests().contains(&json!({"cmd": "handover"})));
    let installed = std::fs::read(model.path(&u, "/usr/local/lib/k8s-vip/k8s-vip")).expect("read");
    assert_eq!(
        installed.len() as u64,
        std::fs::metadata(support::juju::CHARM_BINARY)
            .expect("meta")
            .len()
    );
}

#[test]
fn upgrade_charm_without_a_handover_restarts() {
    let model = deploy(1);
    let u = model.unit(0);
    std::fs::write(model.path(&u, "/usr/local/lib/k8s-vip/k8s-vip"), b"old").expect("write");
    let _agent = FakeAgent::start(
        &model,
        &u,
        |_, _| json!({"ok": false, "error": "unknown command"}),
    );
    model.clear_calls(&u);
    model.run_hook(&u, "upgrade-charm").assert_success();
    assert_eq!(
        systemctl_verbs(&model, &u),
        vec!["restart k8s-vip-agent.service".to_string()]
    );
}

#[test]
fn keepalived_backend_round_trip() {
    let model = deploy(1);
    let u = model.unit(0);
    model.set_config("vip-agent", "keepalived");
    model.run_hook(&u, "config-changed").assert_success();
    assert!(model.packages(&u).contains("keepalived"));
    let conf = read(&model, &u, "/etc/keepalived/keepalived.conf");
    assert!(
        conf.contains(&format!("virtual_router_id {}", vrid())),
        "{conf}"
    );
    assert!(conf.contains(&format!("{VIP}/24 dev eth0")));
    assert!(!model.is_active(&u, "k8s-vip-agent"));
    assert!(model.is_active(&u, "keepalived"));
    assert!(status(&model, &u).1.starts_with("keepalived: "));
    // Idempotent.
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert_eq!(mutating_calls(&model, &u), Vec::<String>::new());
    // Back to builtin.
    model.set_config("vip-agent", "builtin");
    model.run_hook(&u, "config-changed").assert_success();
    assert!(model.is_active(&u, "k8s-vip-agent"));
    assert!(!model.is_active(&u, "keepalived"));
    // Remove purges what we installed.
    model.run_hook(&u, "stop").assert_success();
    model.run_hook(&u, "remove").assert_success();
    assert!(!model.packages(&u).contains("keepalived"));
}

#[test]
fn remove_leaves_the_unit_as_before_install() {
    for n in [1, 3] {
        let model = Model::new("k8s-vip", n);
        let u = model.unit(0);
        let before = snapshot(&model, &u);
        let sysctl_before = model.sysctls(&u);
        model.set_config("virtual-ip", VIP);
        model.run_hook(&u, "install").assert_success();
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
        assert!(model.is_active(&u, "k8s-vip-agent"));
        model.run_hook(&u, "stop").assert_success();
        model.run_hook(&u, "remove").assert_success();
        let after = snapshot(&model, &u);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "files left behind"
        );
        let left: Vec<_> = std::fs::read_dir(model.root(&u))
            .expect("root")
            .flatten()
            .map(|e| e.path())
            .collect();
        for dir in [
            "etc/k8s-vip",
            "usr/local/lib/k8s-vip",
            "var/lib/k8s-vip",
            "run/k8s-vip",
        ] {
            assert!(!model.root(&u).join(dir).exists(), "{dir} left: {left:?}");
        }
        assert!(!model.is_active(&u, "k8s-vip-agent"));
        assert!(!model
            .services(&u)
            .get("k8s-vip-agent.service")
            .is_some_and(|s| s.enabled));
        let mut restored = model.sysctls(&u);
        restored.retain(|k, _| sysctl_before.contains_key(k) || k.contains("nonlocal"));
        for (k, v) in &restored {
            assert_eq!(
                Some(v.as_str()),
                sysctl_before.get(k).map(String::as_str).or(Some("0")),
                "{k} not restored"
            );
        }
        // stop/remove again: nothing to do.
        model.clear_calls(&u);
        model.run_hook(&u, "remove").assert_success();
        assert_eq!(mutating_calls(&model, &u), Vec::<String>::new());
    }
}

#[test]
fn dual_stack_vips_use_ipv6_peers_and_the_vip_subnets() {
    let model = Model::new("k8s-vip", 2);
    for i in 0..2 {
        let v4 = format!("192.0.2.{}", 11 + i);
        let v6 = format!("2001:db8::{}", 11 + i);
        model.set_network(
            &model.unit(i),
            "*",
            json!({
                "bind-addresses": [{"interface-name": "eth0", "mac-address": "02:00:00:00:00:11",
                    "addresses": [{"value": v4, "cidr": "192.0.2.0/24"}, {"value": v6, "cidr": "2001:db8::/64"}]}],
                "ingress-addresses": [v4],
                "egress-subnets": [],
            }),
        );
    }
    model.set_config("virtual-ip", "2001:db8::100 192.0.2.100");
    let rel = model.relation_id("cluster");
    // As Juju: the peers join each other, then each unit's config-changed
    // publishes its addresses and the other gets a cluster-relation-changed
    // for it (the model fires it), which is how it learns the IPv6 peer.
    for u in model.units().to_vec() {
        for other in model.remote_units(&u, &rel) {
            for kind in ["joined", "changed"] {
                model
                    .run_relation_hook(&u, &rel, kind, Some(&other))
                    .assert_success();
            }
        }
    }
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
    }
    model.settle();
    let d = model.relation_data(&rel, &model.unit(0));
    assert_eq!(d.get("address").map(String::as_str), Some("192.0.2.11"));
    assert_eq!(
        d.get("address-v6").map(String::as_str),
        Some("2001:db8::11")
    );
    let y = agent_yaml(&model, &model.unit(0));
    let names: Vec<&str> = y["instances"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["v4-1", "v6-1"]);
    assert_eq!(y["instances"][1]["vips"], json!(["2001:db8::100/64"]));
    assert_eq!(y["instances"][1]["unicast-peers"], json!(["2001:db8::12"]));
    assert_eq!(y["instances"][1]["unicast-source"], json!("2001:db8::11"));
    assert_eq!(y["instances"][0]["unicast-peers"], json!(["192.0.2.12"]));
    // The agent accepts what the charm rendered.
    let text = read(&model, &model.unit(0), "/etc/k8s-vip/agent.yaml");
    if let Err(e) = k8s_vip::agent::config::parse(&text) {
        panic!("agent rejects the rendered dual-stack config: {e}");
    }
}

#[test]
fn relation_hooks_are_idempotent() {
    for n in [1, 3] {
        let model = deploy(n);
        let ingress: Vec<String> = (0..n).map(|i| format!("192.0.2.{}", 11 + i)).collect();
        let (lbc, cp) = model.add_lb_consumers(&ingress, &[("api-server-internal", INTERNAL)]);
        let lb = model.add_relation(
            "loadbalancer",
            "kubernetes-master",
            &["kubernetes-master/0"],
        );
        let web = model.add_relation("website", "kubernetes-worker", &["kubernetes-worker/0"]);
        let info = model.relation_id("juju-info");
        // Every remote unit joins, as in Juju (relation-list in a `-joined`
        // lists the units joined so far).
        let mut runs: Vec<(String, &str, String)> = cp
            .iter()
            .flat_map(|u| {
                [
                    (lbc.clone(), "joined", u.clone()),
                    (lbc.clone(), "changed", u.clone()),
                ]
            })
            .collect();
        runs.extend([
            (lb.clone(), "joined", "kubernetes-master/0".into()),
            (lb.clone(), "changed", "kubernetes-master/0".into()),
            (web.clone(), "joined", "kubernetes-worker/0".into()),
            (web.clone(), "changed", "kubernetes-worker/0".into()),
        ]);
        for u in model.units().to_vec() {
            // Converge once, the principal (juju-info) joined too.
            let principal = model.remote_units(&u, &info).into_iter().next();
            let runs: Vec<(String, &str, String)> = principal
                .iter()
                .flat_map(|p| {
                    [
                        (info.clone(), "joined", p.clone()),
                        (info.clone(), "changed", p.clone()),
                    ]
                })
                .chain(runs.iter().cloned())
                .collect();
            for (rel, kind, remote) in &runs {
                model
                    .run_relation_hook(&u, rel, kind, Some(remote))
                    .assert_success();
            }
            for (rel, kind, remote) in runs.iter().cloned() {
                let before = snapshot(&model, &u);
                model.clear_calls(&u);
                model
                    .run_relation_hook(&u, &rel, kind, Some(&remote))
                    .assert_success();
                assert_eq!(
                    before,
                    snapshot(&model, &u),
                    "{n} units, {u} {rel} {kind}: files changed"
                );
                assert_eq!(
                    mutating_calls(&model, &u),
                    Vec::<String>::new(),
                    "{n} units, {u} {rel} {kind}"
                );
            }
        }
        // The response is there and stable.
        assert!(model
            .app_data(&lbc, "k8s-vip")
            .contains_key("response_api-server-internal"));
    }
}

/// Relates one kubernetes-control-plane unit (192.0.2.11) over lb-consumers
/// asking for api-server-external on port 443 (runs no hook); returns the
/// relation id.
fn relate_external_request(model: &Model) -> String {
    let external = INTERNAL
        .replace("api-server-internal", "api-server-external")
        .replace(r#"{"6443": 6443}"#, r#"{"443": 6443}"#);
    let (rel, _) = model.add_lb_consumers(
        &["192.0.2.11".into()],
        &[("api-server-external", &external)],
    );
    rel
}

#[test]
fn external_request_brings_up_haproxy_idempotently_and_remove_purges_it() {
    let model = deploy(1);
    let u = model.unit(0);
    let before_install = {
        let fresh = Model::new("k8s-vip", 1);
        snapshot(&fresh, &fresh.unit(0)).len()
    };
    let rel = relate_external_request(&model);
    model
        .run_relation_hook(&u, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    let resp: Value =
        serde_json::from_str(&model.app_data(&rel, "k8s-vip")["response_api-server-external"])
            .expect("json");
    assert_eq!(resp["address"], VIP);
    assert!(resp["error"].is_null());
    assert!(model.packages(&u).contains("haproxy"));
    assert!(model.is_active(&u, "k8s-vip-haproxy"));
    assert!(read(&model, &u, "/etc/k8s-vip/haproxy.cfg").contains(":443"));
    // The agent now also checks this unit's HAProxy.
    assert!(read(&model, &u, "/etc/k8s-vip/agent.yaml").contains("127.0.0.1:9744"));
    // Idempotent.
    let before = snapshot(&model, &u);
    model.clear_calls(&u);
    model
        .run_relation_hook(&u, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    assert_eq!(before, snapshot(&model, &u));
    assert_eq!(mutating_calls(&model, &u), Vec::<String>::new());
    // Teardown removes it all.
    model.run_hook(&u, "stop").assert_success();
    model.run_hook(&u, "remove").assert_success();
    assert!(!model.packages(&u).contains("haproxy"));
    assert!(!model.is_active(&u, "k8s-vip-haproxy"));
    assert_eq!(
        snapshot(&model, &u).len(),
        before_install,
        "files left behind"
    );
}

/// `show stat` CSV (HAProxy 2.6 header columns that matter) for one backend.
fn show_stat(backend: &str, servers: &[(&str, &str)]) -> String {
    let mut out = String::from("# pxname,svname,status,type,\n");
    out.push_str(&format!("{backend},FRONTEND,OPEN,0,\n"));
    for (name, status) in servers {
        out.push_str(&format!("{backend},{name},{status},2,\n"));
    }
    out.push_str(&format!("{backend},BACKEND,UP,1,\n\n"));
    out
}

#[test]
fn status_shows_load_balancer_backends() {
    let model = deploy(1);
    let u = model.unit(0);
    let rel = relate_external_request(&model);
    model
        .run_relation_hook(&u, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    let cfg = read(&model, &u, "/etc/k8s-vip/haproxy.cfg");
    let backend = cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("backend "))
        .map(|b| b.trim().to_string())
        .expect("a backend in haproxy.cfg");
    let csv = show_stat(&backend, &[("s1", "UP"), ("s2", "UP"), ("s3", "DOWN")]);
    let _stats = FakeSocket::start(model.path(&u, "/run/k8s-vip/haproxy.sock"), move |_, _| {
        csv.clone()
    });
    let _agent = FakeAgent::start(&model, &u, |_, _| status_reply("MASTER", "192.0.2.11"));
    let a = model.run_action(&u, "status", json!({}));
    a.assert_completed();
    let key = format!("load-balancer.{backend}");
    assert_eq!(
        a.result(&key).as_deref(),
        Some("2/3 up (down: s3)"),
        "{:?}",
        a.results
    );
    let (state, msg) = status_after_report(
        &model,
        &u,
        json!([instance_state("MASTER", Some("192.0.2.11"), "192.0.2.11")]),
    );
    assert_eq!(state, "active");
    assert!(
        msg.starts_with(&format!("MASTER {VIP} (vrid {}), ", vrid())) && msg.contains("2/3"),
        "{msg}"
    );
}

#[test]
fn install_leaves_the_peer_relation_to_its_own_hooks() {
    let model = Model::new("k8s-vip", 3);
    model.set_config("virtual-ip", VIP);
    let u = model.unit(1);
    let rel = model.relation_id("cluster");
    model.run_hook(&u, "install").assert_success();
    // Juju refuses peer relation data during install, and no peer has joined.
    let peer_calls: Vec<String> = model
        .all_calls(&u)
        .into_iter()
        .filter(|c| c.tool.starts_with("relation-") && c.args.contains(&rel))
        .map(|c| format!("{} {}", c.tool, c.args.join(" ")))
        .collect();
    assert_eq!(peer_calls, Vec::<String>::new());
    assert!(model.relation_data(&rel, &u).is_empty());
    // The unit is set up all the same: its agent runs, waiting for peers.
    assert!(model.is_active(&u, "k8s-vip-agent"));
    model
        .run_relation_hook(&u, &rel, "created", None)
        .assert_success();
    assert_eq!(
        model
            .relation_data(&rel, &u)
            .get("address")
            .map(String::as_str),
        Some("192.0.2.12")
    );
}

#[test]
fn install_sets_the_workload_version() {
    let model = Model::new("k8s-vip", 1);
    let u = model.unit(0);
    model.run_hook(&u, "install").assert_success();
    assert_eq!(model.workload_version(&u), env!("CARGO_PKG_VERSION"));
}

/// Position of the first systemctl call that does `verb unit` for one of
/// `verbs`, if any: `enable --now U` starts U and `disable --now U` stops it,
/// as systemctl does.
fn call_at(calls: &[Vec<String>], verbs: &[&str], unit: &str) -> Option<usize> {
    calls.iter().position(|c| {
        let now = c.iter().any(|a| a == "--now");
        let words: Vec<&str> = c
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "--now")
            .collect();
        let does = |verb: &str| {
            verbs.contains(&verb)
                || (now && verb == "enable" && verbs.contains(&"start"))
                || (now && verb == "disable" && verbs.contains(&"stop"))
        };
        matches!(words.as_slice(), [verb, u] if does(verb) && *u == unit)
    })
}

/// The agent's new health check is HAProxy's monitor: HAProxy must be up
/// before the agent is reloaded with it (else the master's first probe is
/// refused), and the agent must drop the check before HAProxy stops.
#[test]
fn haproxy_comes_up_before_the_agent_reload_and_goes_down_after_it() {
    let model = deploy(1);
    let u = model.unit(0);
    let rel = relate_external_request(&model);
    model.clear_calls(&u);
    model
        .run_relation_hook(&u, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    let calls = model.calls(&u, "systemctl");
    let haproxy_up = call_at(
        &calls,
        &["start", "restart", "reload"],
        "k8s-vip-haproxy.service",
    )
    .unwrap_or_else(|| panic!("HAProxy was not started: {calls:?}"));
    let agent_reload = call_at(&calls, &["reload", "restart"], "k8s-vip-agent.service")
        .unwrap_or_else(|| panic!("the agent was not reloaded: {calls:?}"));
    assert!(
        haproxy_up < agent_reload,
        "the agent was reloaded with HAProxy's check before HAProxy started: {calls:?}"
    );
    assert!(read(&model, &u, "/etc/k8s-vip/agent.yaml").contains("127.0.0.1:9744"));

    // The request goes away: the agent drops the check, then HAProxy stops.
    model.set_app_data(
        &rel,
        "kubernetes-control-plane",
        &[("request_api-server-external", "")],
    );
    model.clear_calls(&u);
    model
        .run_relation_hook(&u, &rel, "changed", Some("kubernetes-control-plane/0"))
        .assert_success();
    let calls = model.calls(&u, "systemctl");
    let agent_reload = call_at(&calls, &["reload", "restart"], "k8s-vip-agent.service")
        .unwrap_or_else(|| panic!("the agent was not reloaded: {calls:?}"));
    let haproxy_down = call_at(&calls, &["stop"], "k8s-vip-haproxy.service")
        .unwrap_or_else(|| panic!("HAProxy was not stopped: {calls:?}"));
    assert!(
        agent_reload < haproxy_down,
        "HAProxy stopped while the agent still checked it: {calls:?}"
    );
    let haproxy = model.services(&u)["k8s-vip-haproxy.service"].clone();
    assert!(
        !haproxy.active && !haproxy.enabled,
        "HAProxy must end stopped and disabled: {haproxy:?}"
    );
    assert!(!read(&model, &u, "/etc/k8s-vip/agent.yaml").contains("127.0.0.1:9744"));
}
