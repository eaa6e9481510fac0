//! Hostile lb-consumers requests, generated in the library's JSON shape
//! (every field present, as loadbalancer-interface dumps them) with
//! hostile values, next to kubernetes-control-plane's own request. For
//! every case, through the whole pure plan:
//!
//! - the hostile answer is well-formed by the library's rules (checked here
//!   in Rust: tests/lb_library.rs reads a fixed corpus with the library);
//! - the rendered haproxy.cfg passes the real `haproxy -c`;
//! - the control plane's answer and its frontend are exactly as without
//!   the hostile request;
//! - the unit is not blocked.

mod support;
#[path = "lb_support/wire.rs"]
mod wire;

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use k8s_vip::charm::plan::{plan, Inputs, Plan};
use k8s_vip::charm::types::{ConsumerRelation, State};
use support::net::eth0;
use wire::{control_plane_external, frontend_block, response_problems};

fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn relation(id: &str, app: &str, unit_ip: &str, requests: &[(&str, &str)]) -> ConsumerRelation {
    let mut data = bag(&[("version", "1")]);
    for (name, raw) in requests {
        data.insert(format!("request_{name}"), raw.to_string());
    }
    ConsumerRelation {
        id: id.into(),
        remote_app: Some(app.into()),
        remote_app_data: data,
        remote_units: vec![(format!("{app}/0"), bag(&[("ingress-address", unit_ip)]))],
        our_app_data: BTreeMap::new(),
    }
}

fn inputs(consumers: Vec<ConsumerRelation>) -> Inputs {
    let mut i = Inputs {
        hook: "lb-consumers-relation-changed".into(),
        unit: "k8s-vip/0".into(),
        app: "k8s-vip".into(),
        model: "m".into(),
        config: json!({"virtual-ip": "192.0.2.100"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        leader: true,
        network: eth0(&[("192.0.2.11", 24)]),
        cluster_relation: Some("cluster:0".into()),
        consumers,
        root: "/".into(),
        ..Default::default()
    };
    i.lb.haproxy_binary = support::skip::find_program("haproxy");
    i
}

fn haproxy_cfg(p: &Plan) -> String {
    p.files
        .iter()
        .find(|f| f.path.ends_with("haproxy.cfg"))
        .map(|f| f.content.clone())
        .unwrap_or_default()
}

fn response(p: &Plan, rel: &str, name: &str) -> Value {
    let raw = p
        .relation_sets
        .iter()
        .filter(|s| s.relation_id == rel)
        .find_map(|s| s.data.get(&format!("response_{name}")).cloned())
        .unwrap_or_else(|| panic!("no response_{name} on {rel}"));
    serde_json::from_str(&raw).expect("response is JSON")
}

fn addr() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("127.0.0.1".to_string()),
        Just("169.254.169.254".to_string()),
        Just("0.0.0.0".to_string()),
        Just("255.255.255.255".to_string()),
        Just("224.0.0.18".to_string()),
        Just("192.0.2.100".to_string()),
        Just("::1".to_string()),
        Just("fe80::1".to_string()),
        Just("::ffff:127.0.0.1".to_string()),
        Just("192.0.2.50".to_string()),
        (1u8..=254).prop_map(|h| format!("198.51.100.{h}")),
        "[ -~]{0,12}",
    ]
}

fn number() -> impl Strategy<Value = i64> {
    prop_oneof![
        0i64..=5,
        1i64..=65535,
        Just(65536),
        Just(3_000_000),
        Just(2_000_000_000),
        Just(4_294_967_295),
        Just(-1)
    ]
}

fn health_check() -> impl Strategy<Value = Value> {
    (prop_oneof![Just("tcp"), Just("http"), Just("https"), Just("udp")], number(), "[ -~]{0,16}", number(), number())
        .prop_map(|(protocol, port, path, interval, retries)| {
            json!({"protocol": protocol, "port": port, "path": path, "interval": interval, "retries": retries})
        })
}

/// A request in the library's shape (all fields, sorted keys) with hostile values.
fn hostile() -> impl Strategy<Value = String> {
    (
        (prop_oneof![Just("tcp"), Just("udp"), Just("http"), Just("https")], prop::collection::vec(addr(), 0..4)),
        prop::collection::btree_map(number(), number(), 0..5),
        prop::collection::vec(health_check(), 0..3),
        (prop::collection::vec("[ -~]{0,10}", 0..2), any::<bool>(), any::<bool>()),
        "[a-z0-9._-]{1,12}",
    )
        .prop_map(|((protocol, backends), ports, checks, (algorithm, sticky, tls), hash)| {
            let ports: serde_json::Map<String, Value> = ports.into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            json!({"algorithm": algorithm, "backends": backends, "health_checks": checks,
                   "id": "0123456789abcdef0123456789abcdef", "ingress_address": null, "name": "hostile",
                   "port_mapping": ports, "protocol": protocol, "public": true, "sent_hash": hash,
                   "sticky": sticky, "tls_cert": null, "tls_key": null, "tls_termination": tls})
            .to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn one_hostile_request_only_ever_hurts_itself(raw in hostile(), first in any::<bool>()) {
        let ext = control_plane_external();
        let cp = relation("lb-consumers:3", "kubernetes-control-plane", "192.0.2.11", &[("api-server-external", &ext)]);
        let evil = relation("lb-consumers:10", "evil", "192.0.2.50", &[("hostile", &raw)]);
        let alone = plan(&inputs(vec![cp.clone()]));
        let both = if first { vec![evil, cp] } else { vec![cp, evil] };
        let p = plan(&inputs(both));
        prop_assert_ne!(p.unit_status.state, State::Blocked, "{}", p.unit_status.message);
        prop_assert_eq!(
            response(&p, "lb-consumers:3", "api-server-external"),
            response(&alone, "lb-consumers:3", "api-server-external")
        );
        let cfg = haproxy_cfg(&p);
        prop_assert_eq!(frontend_block(&cfg, "api-server-external-443"), frontend_block(&haproxy_cfg(&alone), "api-server-external-443"));
        prop_assert!(frontend_block(&cfg, "api-server-external-443").is_some(), "{}", cfg);
        let answer = response(&p, "lb-consumers:10", "hostile");
        let problems = response_problems(&answer, &raw);
        prop_assert!(problems.is_empty(), "{problems:?}: {answer}");
        if let Some(path) = support::skip::find_program("haproxy") {
            wire::haproxy_check(&path, &cfg).map_err(TestCaseError::fail)?;
        }
    }
}
