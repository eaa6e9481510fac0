//! The `cos-agent` relation under the simulated Juju model: the real binary
//! through `dispatch` publishes the `config` key the collector reads, keeps it
//! current when `metrics-port` changes, publishes no agent job when the
//! endpoint is off, blocks naming `metrics-port` when another program holds
//! the port, and leaves nothing behind when the relation goes.

mod support;

use std::net::TcpListener;

use k8s_vip::cos::decode_dashboard;
use serde_json::{json, Value};
use support::juju::Model;

const VIP: &str = "192.0.2.100";
/// The unit's address in the simulated model (`default_network(0)`).
const UNIT_ADDR: &str = "192.0.2.11";
const COLLECTOR: &str = "grafana-agent/0";

/// One unit with a VIP, installed and leading.
fn model() -> Model {
    let model = Model::new("k8s-vip", 1);
    model.set_config("virtual-ip", VIP);
    model.set_leader(&model.unit(0));
    model.add_peer_relation("cluster");
    model.run_install_and_elect();
    model
}

/// Relates cos-agent and runs its joined and changed hooks.
fn relate(model: &Model) -> String {
    let rel = model.add_relation("cos-agent", "grafana-agent", &[COLLECTOR]);
    for kind in ["joined", "changed"] {
        model
            .run_relation_hook(&model.unit(0), &rel, kind, Some(COLLECTOR))
            .assert_success();
    }
    rel
}

/// The decoded `config` key of our unit bag.
fn published(model: &Model, rel: &str) -> Value {
    let bag = model.relation_data(rel, &model.unit(0));
    let text = bag.get("config").expect("the unit bag has a config key");
    serde_json::from_str(text).expect("config is JSON")
}

/// (short job name, targets) of every scrape job, the `<app>_` prefix and
/// the `_<hash>` suffix the library adds taken off.
fn jobs(config: &Value) -> Vec<(String, Vec<String>)> {
    config["metrics_scrape_jobs"]
        .as_array()
        .expect("scrape jobs")
        .iter()
        .map(|job| {
            let name = job["job_name"].as_str().expect("job name");
            let rest = name.strip_prefix("k8s-vip_").expect("app prefix");
            let (short, hash) = rest.rsplit_once('_').expect("hash suffix");
            assert_eq!(hash.len(), 8, "{name}");
            assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
            assert_eq!(job["honor_labels"], true, "{name}");
            assert_eq!(job["metrics_path"], "/metrics", "{name}");
            let targets = job["static_configs"][0]["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .map(|t| t.as_str().expect("target").to_string())
                .collect();
            (short.to_string(), targets)
        })
        .collect()
}

/// Makes the unit's address one this machine has: 127.0.0.1 as the ingress
/// address (the VIP's subnet stays on eth0).
fn on_loopback(model: &Model) {
    let mut network = support::juju::default_network(0);
    network["bind-addresses"]
        .as_array_mut()
        .expect("bind addresses")
        .push(json!({
            "interface-name": "lo",
            "addresses": [{"hostname": "", "value": "127.0.0.1", "cidr": "127.0.0.0/8"}],
        }));
    network["ingress-addresses"] = json!(["127.0.0.1"]);
    model.set_network(&model.unit(0), "cluster", network);
}

fn agent_yaml(model: &Model) -> String {
    std::fs::read_to_string(model.path(&model.unit(0), "/etc/k8s-vip/agent.yaml"))
        .expect("agent.yaml")
}

#[test]
fn relating_publishes_scrape_job_rules_and_dashboards() {
    let model = model();
    let rel = relate(&model);
    let config = published(&model, &rel);
    assert_eq!(
        jobs(&config),
        vec![("agent".to_string(), vec![format!("{UNIT_ADDR}:10042")])]
    );
    let groups = config["metrics_alert_rules"]["groups"]
        .as_array()
        .expect("rule groups");
    let alerts: Vec<&str> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .filter_map(|r| r["alert"].as_str())
        .collect();
    for alert in ["K8sVipNoHolder", "K8sVipAgentDown"] {
        assert!(alerts.contains(&alert), "{alert} missing from {alerts:?}");
    }
    let rule = &groups[0]["rules"][0];
    assert_eq!(rule["labels"]["juju_application"], "k8s-vip");
    assert_eq!(rule["labels"]["juju_charm"], "k8s-vip");
    assert_eq!(rule["labels"]["juju_model"], model.state().model_name);
    let dashboards = config["dashboards"].as_array().expect("dashboards");
    assert!(!dashboards.is_empty());
    for d in dashboards {
        let dashboard = decode_dashboard(d.as_str().expect("encoded")).expect("decodes");
        assert_eq!(dashboard["title"], "k8s-vip");
    }
    assert_eq!(config["log_slots"], json!([]));
    // The agent is told to serve what the collector scrapes.
    assert!(
        agent_yaml(&model).contains(&format!("metrics-listen: \"{UNIT_ADDR}:10042\"")),
        "{}",
        agent_yaml(&model)
    );
    // A second hook with nothing new writes nothing.
    model.clear_calls(&model.unit(0));
    model
        .run_relation_hook(&model.unit(0), &rel, "changed", Some(COLLECTOR))
        .assert_success();
    assert!(model.calls(&model.unit(0), "relation-set").is_empty());
}

#[test]
fn metrics_port_change_updates_the_job_and_restarts_the_agent() {
    let model = model();
    let rel = relate(&model);
    model.set_config("metrics-port", 10099);
    model.clear_calls(&model.unit(0));
    model
        .run_hook(&model.unit(0), "config-changed")
        .assert_success();
    let config = published(&model, &rel);
    assert_eq!(
        jobs(&config),
        vec![("agent".to_string(), vec![format!("{UNIT_ADDR}:10099")])]
    );
    assert!(agent_yaml(&model).contains(&format!("metrics-listen: \"{UNIT_ADDR}:10099\"")));
    // The agent binds its endpoint only at start: a restart, not a reload.
    let systemctl = model.calls(&model.unit(0), "systemctl");
    assert!(
        systemctl
            .iter()
            .any(|c| c.iter().any(|a| a == "restart") && c.iter().any(|a| a.contains("agent"))),
        "{systemctl:?}"
    );
}

#[test]
fn metrics_port_zero_publishes_no_agent_job() {
    let model = model();
    let rel = relate(&model);
    model.set_config("metrics-port", 0);
    model
        .run_hook(&model.unit(0), "config-changed")
        .assert_success();
    let config = published(&model, &rel);
    assert!(jobs(&config).is_empty(), "{:?}", jobs(&config));
    assert!(!agent_yaml(&model).contains("metrics-listen"));
    let status = model.status(&model.unit(0)).expect("status");
    assert_ne!(status.state, "blocked", "{}", status.message);
}

#[test]
fn removing_the_relation_clears_it() {
    let model = model();
    let rel = relate(&model);
    assert!(model
        .relation_data(&rel, &model.unit(0))
        .contains_key("config"));
    model.remove_remote_unit(&rel, COLLECTOR);
    model
        .run_relation_hook(&model.unit(0), &rel, "departed", Some(COLLECTOR))
        .assert_success();
    model.clear_calls(&model.unit(0));
    model
        .run_relation_hook(&model.unit(0), &rel, "broken", None)
        .assert_success();
    // Nothing is written to a relation being broken; Juju drops its data.
    assert!(model.calls(&model.unit(0), "relation-set").is_empty());
    model.remove_relation(&rel);
    model
        .run_hook(&model.unit(0), "update-status")
        .assert_success();
    assert!(model.calls(&model.unit(0), "relation-set").is_empty());
    // Relating again publishes afresh.
    let again = relate(&model);
    assert!(model
        .relation_data(&again, &model.unit(0))
        .contains_key("config"));
}

#[test]
fn a_taken_port_blocks_naming_metrics_port() {
    let model = model();
    // The unit's address is one this machine has, and another program holds
    // the port there.
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind a port to hold");
    let port = holder.local_addr().expect("addr").port();
    on_loopback(&model);
    model.set_config("metrics-port", i64::from(port));
    let rel = relate(&model);
    let status = model.status(&model.unit(0)).expect("status");
    assert_eq!(status.state, "blocked");
    assert!(
        status.message.starts_with("metrics-port:"),
        "{}",
        status.message
    );
    assert!(
        status.message.contains(&port.to_string()),
        "{}",
        status.message
    );
    // The agent is not told to bind it (it would fail to start), and the
    // collector is not told to scrape it; rules and dashboards still go.
    assert!(!agent_yaml(&model).contains("metrics-listen"));
    let config = published(&model, &rel);
    assert!(jobs(&config).is_empty());
    // Freed, the next hook serves it and the unit is no longer blocked.
    drop(holder);
    model
        .run_hook(&model.unit(0), "update-status")
        .assert_success();
    let status = model.status(&model.unit(0)).expect("status");
    assert_ne!(status.state, "blocked", "{}", status.message);
    assert_eq!(
        jobs(&published(&model, &rel)),
        vec![("agent".to_string(), vec![format!("127.0.0.1:{port}")])]
    );
}

#[test]
fn a_taken_port_without_cos_does_not_block() {
    let model = model();
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind a port to hold");
    let port = holder.local_addr().expect("addr").port();
    on_loopback(&model);
    model.set_config("metrics-port", i64::from(port));
    model
        .run_hook(&model.unit(0), "config-changed")
        .assert_success();
    let status = model.status(&model.unit(0)).expect("status");
    assert_ne!(status.state, "blocked", "{}", status.message);
    assert!(!agent_yaml(&model).contains("metrics-listen"));
}

#[test]
fn with_haproxy_running_its_exporter_is_scraped_too() {
    let model = model();
    model.set_config("load-balancer", "on");
    model
        .run_hook(&model.unit(0), "config-changed")
        .assert_success();
    let haproxy_cfg = || {
        std::fs::read_to_string(model.path(&model.unit(0), "/etc/k8s-vip/haproxy.cfg"))
            .expect("haproxy.cfg")
    };
    // Nobody scrapes it yet: no exporter.
    assert!(!haproxy_cfg().contains("frontend prometheus"));
    let rel = relate(&model);
    assert_eq!(
        jobs(&published(&model, &rel)),
        vec![
            ("agent".to_string(), vec![format!("{UNIT_ADDR}:10042")]),
            ("haproxy".to_string(), vec![format!("{UNIT_ADDR}:8404")]),
        ]
    );
    assert!(
        haproxy_cfg().contains(&format!(
            "frontend prometheus\n    mode http\n    bind {UNIT_ADDR}:8404\n"
        )),
        "{}",
        haproxy_cfg()
    );
}

#[test]
fn a_bad_metrics_port_blocks_naming_it_and_the_vip_stays_managed() {
    let model = model();
    model.set_config("metrics-port", 70000);
    model
        .run_hook(&model.unit(0), "config-changed")
        .assert_success();
    let status = model.status(&model.unit(0)).expect("status");
    assert_eq!(status.state, "blocked");
    assert!(
        status.message.starts_with("metrics-port: 70000"),
        "{}",
        status.message
    );
    let agent = agent_yaml(&model);
    assert!(
        agent.contains(VIP) && !agent.contains("metrics-listen"),
        "{agent}"
    );
}
