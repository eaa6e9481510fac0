//! The load balancer through the real charm binary under the simulated Juju
//! model: kubernetes-control-plane's requests in, HAProxy package, config,
//! unit and service out, the response naming the VIP, idempotent hooks,
//! load-balancer=off taking it all away.
//!
//! Parts that cannot run in a tree without the charm's delegation to
//! `charm::haproxy::plan` or without the three options in config.yaml print
//! SKIPPED (both are present once the branches are merged).

mod support;

use std::process::Command;

use serde_json::Value;
use support::juju::Model;

const VIP: &str = "192.0.2.100";

const EXTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "0d5b1b0f3a1c4e1b9a4c1e5d6f7a8b9c", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "9a0b5d0e6c2f4a3b8e1d7c6b5a4f3e2d", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
const INTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": "api-server-internal", "port_mapping": {"6443": 6443}, "protocol": "tcp", "public": false, "sent_hash": "4f4a9a40ec63ae08000f439c6786ea09", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

const HAPROXY_SERVICE: &str = "k8s-vip-haproxy.service";

/// Three k8s-vip units on three control-plane units, related over lb-consumers.
fn deploy() -> (Model, String) {
    let model = Model::new("k8s-vip", 3);
    model.set_config("virtual-ip", VIP);
    model.run_install_and_elect();
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
        model.run_peers_changed(&u);
    }
    let ingress: Vec<String> = (0..3).map(|i| format!("192.0.2.{}", 11 + i)).collect();
    let (lbc, cp) = model.add_lb_consumers(
        &ingress,
        &[
            ("api-server-external", EXTERNAL),
            ("api-server-internal", INTERNAL),
        ],
    );
    model.run_relation_changed_on_all(&lbc, &cp[0]);
    (model, lbc)
}

fn response(model: &Model, lbc: &str, name: &str) -> Value {
    let data = model.app_data(lbc, "k8s-vip");
    let raw = data
        .get(&format!("response_{name}"))
        .unwrap_or_else(|| panic!("no response_{name} in {data:?}"));
    serde_json::from_str(raw).expect("response JSON")
}

/// False (with a SKIPPED line) while the charm's seam still refuses proxies.
fn hook_in_applied(model: &Model, lbc: &str) -> bool {
    let r = response(model, lbc, "api-server-external");
    let refused = r["error_message"]
        .as_str()
        .is_some_and(|m| m.contains("no load balancer runs in this k8s-vip"));
    if refused {
        eprintln!(
            "SKIPPED: the charm's proxy seam does not call charm::haproxy yet \
             (charm::plan must call charm::haproxy::seam)"
        );
    }
    !refused
}

fn mutating_calls(model: &Model, unit: &str) -> Vec<String> {
    model
        .all_calls(unit)
        .into_iter()
        .filter(|c| match c.tool.as_str() {
            "systemctl" => !c
                .args
                .iter()
                .any(|a| ["is-active", "is-enabled", "status", "show"].contains(&a.as_str())),
            "apt-get" | "relation-set" => true,
            _ => false,
        })
        .map(|c| format!("{} {}", c.tool, c.args.join(" ")))
        .collect()
}

#[test]
fn control_plane_requests_get_haproxy_and_answers_naming_the_vip() {
    let (model, lbc) = deploy();
    if !hook_in_applied(&model, &lbc) {
        return;
    }
    for name in ["api-server-external", "api-server-internal"] {
        let r = response(&model, &lbc, name);
        assert_eq!(r["address"], VIP, "{name}: {r}");
        assert_eq!(r["error"], Value::Null, "{name}: {r}");
    }
    for u in model.units().to_vec() {
        assert!(
            model.packages(&u).contains("haproxy"),
            "{u}: auto installs haproxy"
        );
        let cfg_path = model.path(&u, "/etc/k8s-vip/haproxy.cfg");
        let cfg = std::fs::read_to_string(&cfg_path).expect("haproxy.cfg written");
        assert!(cfg.contains(&format!("bind {VIP}:443")), "{cfg}");
        assert!(
            !cfg.contains(":6443 transparent"),
            "6443 -> 6443 is direct: {cfg}"
        );
        let out = Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&cfg_path)
            .output()
            .expect("haproxy");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svc = model
            .services(&u)
            .get(HAPROXY_SERVICE)
            .cloned()
            .expect("k8s-vip-haproxy.service known");
        assert!(svc.enabled && svc.active, "{u}: {svc:?}");
        let agent = std::fs::read_to_string(model.path(&u, "/etc/k8s-vip/agent.yaml")).unwrap();
        assert!(
            agent.contains("http://127.0.0.1:9744/healthz"),
            "the agent checks HAProxy: {agent}"
        );
    }

    // A second run changes nothing.
    let u = model.unit(0);
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert_eq!(mutating_calls(&model, &u), Vec::<String>::new());
}

#[test]
fn load_balancer_off_removes_haproxy_and_refuses_the_proxied_request() {
    let config_yaml = include_str!("../config.yaml");
    if !["load-balancer:", "lb-timeout:", "ingress-ports:"]
        .iter()
        .all(|o| config_yaml.contains(o))
    {
        eprintln!(
            "SKIPPED: config.yaml lacks the load-balancer options \
             (README.md, Options)"
        );
        return;
    }
    let (model, lbc) = deploy();
    if !hook_in_applied(&model, &lbc) {
        return;
    }
    model.set_config("load-balancer", "off");
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
        assert!(!model.path(&u, "/etc/k8s-vip/haproxy.cfg").exists());
        assert!(!model.is_active(&u, HAPROXY_SERVICE), "{u}");
    }
    let r = response(&model, &lbc, "api-server-external");
    assert_eq!(r["address"], Value::Null, "{r}");
    assert!(
        r["error_message"]
            .as_str()
            .unwrap_or("")
            .contains("load-balancer=off"),
        "{r}"
    );
    // Internal stays direct and answered.
    assert_eq!(
        response(&model, &lbc, "api-server-internal")["address"],
        VIP
    );

    model.set_config("lb-timeout", "5m");
    let run = model.run_hook(&model.unit(0), "config-changed");
    run.assert_success();
    let st = model.status(&model.unit(0)).expect("status");
    assert!(format!("{st:?}").contains("lb-timeout"), "{st:?}");
}
