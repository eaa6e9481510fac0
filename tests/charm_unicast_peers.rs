//! Unicast peers are mutual: a unit sends its adverts only to peers that
//! know it (they would drop them as a stranger's otherwise), publishes the
//! units it knows under `knows`, and with no such peer its instance waits
//! in BACKUP (`unicast: true`, no peers) rather than taking the VIP alone.

use k8s_vip::charm::plan::{plan, Inputs, Plan};
use serde_json::{json, Value};

fn inputs(peers: Value) -> Inputs {
    serde_json::from_value(json!({
        "hook": "config-changed", "unit": "k8s-vip/0", "app": "k8s-vip", "model": "test",
        "config": {"virtual-ip": "192.0.2.100", "health-check": "none"},
        "network": {"interfaces": [{"name": "eth0", "addrs": [{"addr": "192.0.2.11", "prefix": 24}]}],
                    "ingress": ["192.0.2.11"]},
        "peers": peers,
        "cluster-relation": "cluster:0"
    }))
    .expect("inputs")
}

fn agent_yaml(p: &Plan) -> Value {
    let text = &p
        .files
        .iter()
        .find(|f| f.path == "/etc/k8s-vip/agent.yaml")
        .expect("agent.yaml planned")
        .content;
    serde_yaml::from_str(text).expect("yaml")
}

fn published(p: &Plan) -> Option<String> {
    p.relation_sets
        .iter()
        .find(|s| s.relation_id == "cluster:0")
        .and_then(|s| s.data.get("knows").cloned())
}

#[test]
fn only_peers_that_know_us_are_unicast_peers() {
    let p = plan(&inputs(json!([
        {"unit": "k8s-vip/1", "data": {"address": "192.0.2.12", "knows": "k8s-vip/0 k8s-vip/1"}},
        {"unit": "k8s-vip/2", "data": {"address": "192.0.2.13", "knows": "k8s-vip/2"}},
        {"unit": "k8s-vip/3", "data": {"address": "192.0.2.14"}},
        {"unit": "k8s-vip/4", "data": {}}
    ])));
    let i = &agent_yaml(&p)["instances"][0];
    assert_eq!(i["unicast"], true);
    // k8s-vip/2 does not know us yet; k8s-vip/3 predates `knows`.
    assert_eq!(i["unicast-peers"], json!(["192.0.2.12", "192.0.2.14"]));
    assert_eq!(
        published(&p).as_deref(),
        Some("k8s-vip/0 k8s-vip/1 k8s-vip/2 k8s-vip/3")
    );
}

#[test]
fn with_no_peer_that_knows_us_the_instance_waits() {
    let p = plan(&inputs(json!([
        {"unit": "k8s-vip/1", "data": {"address": "192.0.2.12", "knows": "k8s-vip/1"}},
        {"unit": "k8s-vip/2", "data": {}}
    ])));
    let i = &agent_yaml(&p)["instances"][0];
    assert_eq!(i["unicast"], true);
    assert_eq!(i["unicast-peers"], json!([]));
    assert!(i["unicast-source"].is_null());
    // We publish that we know k8s-vip/1, so it can list us next.
    assert_eq!(published(&p).as_deref(), Some("k8s-vip/0 k8s-vip/1"));
}
