//! The refusal rules one by one, through the pure plan: which backends are
//! never allowed, the numeric bounds at their edges, port owners remembered
//! across hooks (not re-derived from relation ids), and `haproxy -c` before
//! a new haproxy.cfg is planned (with a stand-in `haproxy` that refuses).

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use k8s_vip::charm::haproxy::backends::{allowed_backend, BackendRules};
use k8s_vip::charm::plan::{plan, Inputs, Plan};
use k8s_vip::charm::types::{ConsumerRelation, State};
use support::net::eth0;

fn request(name: &str, port: u16, extra: Value) -> String {
    let mut r = json!({"algorithm": [], "backends": [], "health_checks": [], "id": "i", "ingress_address": null,
        "name": name, "port_mapping": {port.to_string(): 6443}, "protocol": "tcp", "public": true,
        "sent_hash": format!("hash-{name}"), "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false});
    if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        r.extend(extra.clone());
    }
    r.to_string()
}

fn relation(id: &str, app: &str, unit_ip: &str, requests: &[(&str, String)]) -> ConsumerRelation {
    let mut data = BTreeMap::from([("version".to_string(), "1".to_string())]);
    for (name, raw) in requests {
        data.insert(format!("request_{name}"), raw.clone());
    }
    ConsumerRelation {
        id: id.into(),
        remote_app: Some(app.into()),
        remote_app_data: data,
        remote_units: vec![(
            format!("{app}/0"),
            BTreeMap::from([("ingress-address".to_string(), unit_ip.to_string())]),
        )],
        our_app_data: BTreeMap::new(),
    }
}

fn inputs(consumers: Vec<ConsumerRelation>) -> Inputs {
    Inputs {
        hook: "lb-consumers-relation-changed".into(),
        unit: "k8s-vip/0".into(),
        app: "k8s-vip".into(),
        config: json!({"virtual-ip": "192.0.2.100"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        leader: true,
        network: eth0(&[("192.0.2.11", 24)]),
        cluster_relation: Some("cluster:0".into()),
        root: "/".into(),
        consumers,
        ..Default::default()
    }
}

fn response(p: &Plan, rel: &str, name: &str) -> Value {
    p.relation_sets
        .iter()
        .filter(|s| s.relation_id == rel)
        .find_map(|s| s.data.get(&format!("response_{name}")).cloned())
        .map(|r| serde_json::from_str(&r).unwrap())
        .unwrap_or_else(|| panic!("no response_{name} on {rel}"))
}

fn haproxy_cfg(p: &Plan) -> Option<&str> {
    p.files
        .iter()
        .find(|f| f.path.ends_with("haproxy.cfg"))
        .map(|f| f.content.as_str())
}

#[test]
fn never_a_backend_whatever_the_option() {
    let units = ["192.0.2.11".parse().unwrap()];
    let vips = ["192.0.2.100".parse().unwrap()];
    for any_address in [false, true] {
        let rules = BackendRules {
            vips: &vips,
            units: &units,
            any_address,
        };
        for bad in [
            "127.0.0.1",
            "127.3.2.1",
            "::1",
            "0.0.0.0",
            "::",
            "169.254.169.254",
            "fe80::1",
            "224.0.0.18",
            "ff02::1",
            "255.255.255.255",
            "192.0.2.100",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(
                allowed_backend(bad.parse().unwrap(), &rules).is_err(),
                "{bad} allowed (any={any_address})"
            );
        }
        assert!(allowed_backend("192.0.2.11".parse().unwrap(), &rules).is_ok());
        assert_eq!(
            allowed_backend("198.51.100.7".parse().unwrap(), &rules).is_ok(),
            any_address
        );
    }
}

#[test]
fn health_check_numbers_are_bounded_at_the_documented_edges() {
    let check = |interval: u64, retries: u64| json!({"health_checks": [{"protocol": "tcp", "port": 6443, "interval": interval, "retries": retries}]});
    let cases = [
        (3600, 100, true),
        (1, 1, true),
        (3601, 3, false),
        (30, 101, false),
        (0, 3, false),
        (30, 0, false),
    ];
    let reqs: Vec<(String, String)> = cases
        .iter()
        .enumerate()
        .map(|(i, (iv, re, _))| {
            (
                format!("c{i}"),
                request(&format!("c{i}"), 8000 + i as u16, check(*iv, *re)),
            )
        })
        .collect();
    let refs: Vec<(&str, String)> = reqs.iter().map(|(n, r)| (n.as_str(), r.clone())).collect();
    let p = plan(&inputs(vec![relation(
        "lb-consumers:1",
        "app",
        "192.0.2.11",
        &refs,
    )]));
    assert_ne!(
        p.unit_status.state,
        State::Blocked,
        "{}",
        p.unit_status.message
    );
    for (i, (iv, re, ok)) in cases.iter().enumerate() {
        let r = response(&p, "lb-consumers:1", &format!("c{i}"));
        assert_eq!(r["error"].is_null(), *ok, "interval {iv} retries {re}: {r}");
        if !ok {
            assert!(r["error_fields"]["health_checks"].is_string(), "{r}");
        }
    }
    assert!(haproxy_cfg(&p).unwrap().contains("inter 3600s"));
}

#[test]
fn a_remembered_owner_keeps_its_port_against_a_lower_relation_id() {
    let owner = relation(
        "lb-consumers:10",
        "first",
        "192.0.2.11",
        &[("web", request("web", 443, json!({})))],
    );
    let newcomer = relation(
        "lb-consumers:3",
        "second",
        "192.0.2.11",
        &[("web", request("web", 443, json!({})))],
    );
    let mut i = inputs(vec![newcomer.clone(), owner.clone()]);
    i.cluster_app_data.insert(
        "lb-port-owners".into(),
        r#"{"443":{"relation":"lb-consumers:10","request":"web"}}"#.into(),
    );
    let p = plan(&i);
    assert_eq!(
        response(&p, "lb-consumers:10", "web")["address"],
        "192.0.2.100"
    );
    let r = response(&p, "lb-consumers:3", "web");
    assert_eq!(r["error"], "provider_error", "{r}");
    assert!(r["error_fields"]["port_mapping"].is_string(), "{r}");
    // Unchanged owners are not written again.
    assert!(
        !p.relation_sets
            .iter()
            .any(|s| s.relation_id == "cluster:0" && s.app),
        "{:?}",
        p.relation_sets
    );
    // Without memory, relation ids count as numbers: 3 before 10, and the leader writes it down.
    let p = plan(&inputs(vec![owner, newcomer]));
    assert_eq!(
        response(&p, "lb-consumers:3", "web")["address"],
        "192.0.2.100"
    );
    let set = p
        .relation_sets
        .iter()
        .find(|s| s.relation_id == "cluster:0" && s.app)
        .expect("owners written");
    assert!(
        set.data["lb-port-owners"].contains("lb-consumers:3"),
        "{set:?}"
    );
}

/// A stand-in `haproxy` that refuses any config containing `refuse`.
fn fake_haproxy(dir: &std::path::Path, refuse: &str) -> std::path::PathBuf {
    let path = dir.join("haproxy");
    let script = format!("#!/bin/sh\nif grep -q -- '{refuse}' \"$3\"; then echo \"[ALERT]    (123) : config : bad line with {refuse}\" >&2; exit 1; fi\nexit 0\n");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_config_haproxy_refuses_is_never_planned() {
    let dir = tempfile::tempdir().unwrap();
    let reqs = vec![
        ("good", request("good", 443, json!({}))),
        ("odd", request("odd", 8443, json!({}))),
    ];
    let rel = relation("lb-consumers:1", "app", "192.0.2.11", &reqs);
    // HAProxy refuses what the `odd` request brings: it alone is refused.
    let mut i = inputs(vec![rel.clone()]);
    i.lb.haproxy_binary = Some(fake_haproxy(dir.path(), "odd-8443"));
    let p = plan(&i);
    assert_ne!(p.unit_status.state, State::Blocked);
    assert_eq!(
        response(&p, "lb-consumers:1", "good")["address"],
        "192.0.2.100"
    );
    let r = response(&p, "lb-consumers:1", "odd");
    assert_eq!(r["error"], "provider_error", "{r}");
    let msg = r["error_message"].as_str().unwrap();
    assert!(
        msg.contains("bad line with odd-8443") && !msg.contains("123"),
        "{msg}"
    );
    let cfg = haproxy_cfg(&p).expect("the rest is written");
    assert!(cfg.contains("good-443") && !cfg.contains("odd-8443"));
    // HAProxy refuses everything: no file, no reload; every request says why.
    let sub = tempfile::tempdir().unwrap();
    i.lb.haproxy_binary = Some(fake_haproxy(sub.path(), "global"));
    let p = plan(&i);
    assert_ne!(p.unit_status.state, State::Blocked);
    assert!(haproxy_cfg(&p).is_none(), "the running haproxy.cfg stays");
    for name in ["good", "odd"] {
        let r = response(&p, "lb-consumers:1", name);
        assert_eq!(r["error"], "provider_error", "{r}");
        assert!(
            r["error_message"].as_str().unwrap().contains("haproxy -c"),
            "{r}"
        );
    }
    assert!(
        p.logs.iter().any(|l| l.contains("running one is kept")),
        "{:?}",
        p.logs
    );
}

#[test]
fn a_port_held_on_every_address_refuses_that_request_alone_for_every_vip() {
    let reqs = vec![
        ("web", request("web", 443, json!({}))),
        ("ok", request("ok", 8443, json!({}))),
    ];
    let mut i = inputs(vec![relation("lb-consumers:1", "app", "192.0.2.11", &reqs)]);
    i.config
        .insert("virtual-ip".into(), "192.0.2.100 192.0.2.101".into());
    i.lb.listeners = vec![k8s_vip::charm::types::Listener {
        addr: "0.0.0.0:443".parse().unwrap(),
        owners: vec![k8s_vip::charm::types::Owner {
            pid: 7,
            name: "nginx".into(),
            uid: Some(0),
            ..Default::default()
        }],
    }];
    let p = plan(&i);
    assert_ne!(
        p.unit_status.state,
        State::Blocked,
        "{}",
        p.unit_status.message
    );
    let r = response(&p, "lb-consumers:1", "web");
    assert!(
        r["error_fields"]["port_mapping"]
            .as_str()
            .unwrap()
            .contains("nginx (pid 7)"),
        "{r}"
    );
    assert!(response(&p, "lb-consumers:1", "ok")["error"].is_null());
    let cfg = haproxy_cfg(&p).unwrap();
    assert!(
        !cfg.contains(":443 ") && cfg.contains("192.0.2.101:8443"),
        "{cfg}"
    );
    // The monitor port held blocks the unit: nothing could be checked.
    i.lb.listeners[0].addr = "127.0.0.1:9744".parse().unwrap();
    let p = plan(&i);
    assert_eq!(p.unit_status.state, State::Blocked);
    assert!(
        p.unit_status.message.contains("9744"),
        "{}",
        p.unit_status.message
    );
}
