//! The whole chain for real (root): the charm binary under the simulated Juju
//! model, with the systemctl shim running the services it configures — our
//! VRRP agent and k8s-vip-haproxy.service from the rendered unit file — in two
//! k8s-vip unit namespaces, in front of three fake API servers (TLS /livez).
//! kubernetes-control-plane's requests go in; a client reaches all three API
//! servers through the VIP; the unit status reports them; a changed backend
//! set is applied by a reload that keeps established connections.

mod lb_support;
mod support;

use std::time::Duration;

use lb_support::{client_report, names, Assets};
use serde_json::json;
use support::juju::Model;
use support::netns::{require_root, wait_for, Lab};

const VIP: &str = "192.0.2.100";

fn request(name: &str, port: u16) -> String {
    json!({
        "algorithm": [], "backends": [],
        "health_checks": [{"interval": 1, "path": "/livez", "port": 6443, "protocol": "http", "retries": 2}],
        "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": name,
        "port_mapping": {port.to_string(): 6443}, "protocol": "tcp", "public": port == 443,
        "sent_hash": format!("hash-{name}"), "sticky": false,
        "tls_cert": null, "tls_key": null, "tls_termination": false
    })
    .to_string()
}

/// Waits (20 s) until a client spreading 15 connections over VIP:443 reaches
/// exactly the API servers `want` without a failure; fails with `what`.
fn wait_spread(assets: &Assets, lab: &Lab, want: &[&str], what: &str) {
    let mut out = serde_json::Value::Null;
    wait_for(Duration::from_secs(20), || {
        out = assets.client(lab, &["spread", VIP, "443", "15"]);
        names(&out) == want && out["failures"] == json!([])
    })
    .unwrap_or_else(|| panic!("{what}: {out}"));
}

#[test]
fn charm_runs_haproxy_and_the_agent_in_front_of_three_api_servers() {
    if !require_root() {
        return;
    }
    // Lab units 0-2: API servers; 3-4: the two k8s-vip units.
    let lab = Lab::new("lbcharm", 5);
    let assets = Assets::create(lab.dir());
    let _api = assets.start_api_servers(&lab, 0..3);
    let mut model = Model::options("k8s-vip", 2)
        .real_services(true)
        .principal(Some("ubuntu"))
        .build();
    for i in 0..2 {
        let unit = model.unit(i);
        let node = lab.unit(3 + i);
        model.set_netns(&unit, &node.ns);
        let addr = node.ipv4.to_string();
        model.set_network(
            &unit,
            "cluster",
            json!({
                "bind-addresses": [{"mac-address": lab.mac(node), "interface-name": "eth0",
                    "addresses": [{"hostname": "", "value": addr, "cidr": "192.0.2.0/24"}]}],
                "egress-subnets": [format!("{addr}/32")], "ingress-addresses": [addr],
            }),
        );
    }
    model.set_config("virtual-ip", VIP);
    model.set_config("advert-interval", 0.1);
    model.run_install_and_elect();
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
        model.run_peers_changed(&u);
    }
    let ingress: Vec<String> = (0..3).map(|i| lab.unit(i).ipv4.to_string()).collect();
    let external = request("api-server-external", 443);
    let internal = request("api-server-internal", 6443);
    let (lbc, cp) = model.add_lb_consumers(
        &ingress,
        &[
            ("api-server-external", &external),
            ("api-server-internal", &internal),
        ],
    );
    model.run_relation_changed_on_all(&lbc, &cp[0]);
    let answers = model.app_data(&lbc, "k8s-vip");
    for name in ["api-server-external", "api-server-internal"] {
        let r: serde_json::Value =
            serde_json::from_str(answers.get(&format!("response_{name}")).expect("response"))
                .expect("json");
        assert_eq!(r["address"], VIP, "{name}: {r}");
    }
    for u in model.units().to_vec() {
        assert!(
            model.is_active(&u, "k8s-vip-haproxy.service"),
            "{u}: HAProxy not running: {:?}",
            model.services(&u)
        );
    }

    // The VIP lands on one unit (the agent checks HAProxy's monitor) and the
    // client reaches every API server through it, on both ports.
    wait_for(Duration::from_secs(20), || lab.holders(VIP).len() == 1)
        .unwrap_or_else(|| panic!("no single VIP holder: {:?}", lab.holders(VIP)));
    wait_spread(
        &assets,
        &lab,
        &["api0", "api1", "api2"],
        "443 did not spread over all API servers",
    );
    assets.expect_answers(
        &lab,
        &["spread", VIP, "6443", "15"],
        &["api0", "api1", "api2"],
    );

    // update-status reports HAProxy's view.
    let holder = model.unit(lab.holders(VIP)[0] - 3);
    let mut status = String::new();
    wait_for(Duration::from_secs(20), || {
        model.run_hook(&holder, "update-status").assert_success();
        status = format!("{:?}", model.status(&holder));
        status.contains("3/3 API servers up")
    })
    .unwrap_or_else(|| panic!("status without backends: {status}"));

    // api2 leaves the consumer: its backends change, the hook reloads HAProxy
    // (same master pid), and a connection held across it survives.
    let mut holder_client = assets.start_holder(&lab, VIP, "443", "6", "6");
    let pid_before = model
        .services(&holder)
        .get("k8s-vip-haproxy.service")
        .and_then(|s| s.pid);
    model.set_unit_data(&lbc, &cp[2], &[("ingress-address", "")]);
    model.remove_remote_unit(&lbc, &cp[2]);
    model.run_relation_changed_on_all(&lbc, &cp[0]);
    let pid_after = model
        .services(&holder)
        .get("k8s-vip-haproxy.service")
        .and_then(|s| s.pid);
    assert_eq!(pid_before, pid_after, "a reload, not a restart");
    let cfg = std::fs::read_to_string(model.path(&holder, "/etc/k8s-vip/haproxy.cfg")).unwrap();
    assert!(!cfg.contains("192.0.2.13"), "{cfg}");
    let held = client_report(&mut holder_client, "hold");
    assert_eq!(held["failures"], json!([]), "{held}");
    wait_spread(
        &assets,
        &lab,
        &["api0", "api1"],
        "new connections still reach api2",
    );
    model.stop_services();
}
