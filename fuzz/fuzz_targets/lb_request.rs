//! Fuzz lb-consumers relation data → plan → rendered haproxy.cfg: one
//! consumer's bag (its request JSON and unit address come from the input)
//! next to kubernetes-control-plane's request. Whatever it sends, the plan
//! must not panic, the unit is not blocked, the control plane's answer and
//! frontend are unchanged, the hostile answers are well-formed for the
//! loadbalancer-interface library, and haproxy.cfg passes `haproxy -c`
//! (when /usr/sbin/haproxy is installed).
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use k8s_vip::charm::plan::{plan, Inputs, Plan};
use k8s_vip::charm::types::{ConsumerRelation, IfaceAddr, Interface, NetworkView, State};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/lb_support/wire.rs"]
mod wire;

fn relation(id: &str, app: &str, unit_ip: &str, bag: BTreeMap<String, String>) -> ConsumerRelation {
    ConsumerRelation {
        id: id.into(),
        remote_app: Some(app.into()),
        remote_app_data: bag,
        remote_units: vec![(
            format!("{app}/0"),
            BTreeMap::from([("ingress-address".to_string(), unit_ip.to_string())]),
        )],
        our_app_data: BTreeMap::new(),
    }
}

fn inputs(consumers: Vec<ConsumerRelation>) -> Inputs {
    let me = "192.0.2.11".parse().unwrap();
    let mut i = Inputs {
        hook: "lb-consumers-relation-changed".into(),
        unit: "k8s-vip/0".into(),
        app: "k8s-vip".into(),
        model: "m".into(),
        leader: true,
        network: NetworkView {
            interfaces: vec![Interface {
                name: "eth0".into(),
                addrs: vec![IfaceAddr { addr: me, prefix: 24 }],
            }],
            ingress: vec![me],
            ..Default::default()
        },
        cluster_relation: Some("cluster:0".into()),
        consumers,
        root: "/".into(),
        ..Default::default()
    };
    i.config.insert("virtual-ip".into(), "192.0.2.100".into());
    let haproxy = Path::new("/usr/sbin/haproxy");
    i.lb.haproxy_binary = haproxy.exists().then(|| haproxy.to_path_buf());
    i
}

fn response(p: &Plan, rel: &str, key: &str) -> Option<String> {
    p.relation_sets
        .iter()
        .filter(|s| s.relation_id == rel)
        .find_map(|s| s.data.get(key).cloned())
}

fn cfg(p: &Plan) -> String {
    p.files
        .iter()
        .find(|f| f.path.ends_with("haproxy.cfg"))
        .map(|f| f.content.clone())
        .unwrap_or_default()
}

// Input: `UNIT-ADDRESS \n NAME \n REQUEST-JSON`.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (unit_ip, name, raw) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("x"),
        parts.next().unwrap_or(""),
    );
    let cp_bag = BTreeMap::from([
        ("version".to_string(), "1".to_string()),
        ("request_api-server-external".to_string(), wire::control_plane_external()),
    ]);
    let cp = relation("lb-consumers:3", "kubernetes-control-plane", "192.0.2.11", cp_bag);
    let evil_bag = BTreeMap::from([
        ("version".to_string(), "1".to_string()),
        (format!("request_{name}"), raw.to_string()),
    ]);
    let evil = relation("lb-consumers:10", "evil", unit_ip, evil_bag);
    let alone = plan(&inputs(vec![cp.clone()]));
    let both = plan(&inputs(vec![evil, cp]));
    assert_ne!(both.unit_status.state, State::Blocked, "{}", both.unit_status.message);
    let key = "response_api-server-external";
    assert_eq!(response(&both, "lb-consumers:3", key), response(&alone, "lb-consumers:3", key));
    let section = |p: &Plan| wire::frontend_block(&cfg(p), "api-server-external-443");
    assert_eq!(section(&both), section(&alone));
    if let Some(answer) = response(&both, "lb-consumers:10", &format!("response_{name}")) {
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("answer is JSON");
        let problems = wire::response_problems(&answer, raw);
        assert!(problems.is_empty(), "{problems:?}: {answer}");
    }
    let haproxy = Path::new("/usr/sbin/haproxy");
    if haproxy.exists() {
        wire::haproxy_check(haproxy, &cfg(&both)).expect("haproxy -c accepts the file");
    }
});
