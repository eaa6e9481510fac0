//! The loadbalancer v1 provider, through the pure plan: exact response JSON,
//! sent_hash echo, version gating, unsupported and malformed requests, the
//! direct rule, and the legacy public-address / http relations.

mod support;

use std::collections::BTreeMap;

use k8s_vip::charm::plan::{plan, Inputs, RelationSet};
use k8s_vip::charm::types::ConsumerRelation;
use k8s_vip::charm::types::Peer;
use k8s_vip::charm::types::UnitRelation;
use serde_json::{json, Value};
use support::net::eth0;

const INTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": "api-server-internal", "port_mapping": {"6443": 6443}, "protocol": "tcp", "public": false, "sent_hash": "4f4a9a40ec63ae08000f439c6786ea09", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// kubernetes-control-plane's application data: version 1 and `request` as
/// its api-server-internal request.
fn internal_request(request: &str) -> BTreeMap<String, String> {
    bag(&[("version", "1"), ("request_api-server-internal", request)])
}

fn inputs(n_units: usize, consumer_app_data: BTreeMap<String, String>) -> Inputs {
    let me = 0;
    Inputs {
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
        peers: (1..n_units)
            .map(|i| Peer {
                unit: format!("k8s-vip/{i}"),
                data: bag(&[("address", &format!("192.0.2.{}", 11 + i))]),
            })
            .collect(),
        cluster_relation: Some("cluster:0".into()),
        consumers: vec![ConsumerRelation {
            id: "lb-consumers:5".into(),
            remote_app: Some("kubernetes-control-plane".into()),
            remote_app_data: consumer_app_data,
            remote_units: (0..n_units)
                .map(|i| {
                    (
                        format!("kubernetes-control-plane/{i}"),
                        bag(&[("ingress-address", &format!("192.0.2.{}", 11 + i + me))]),
                    )
                })
                .collect(),
            our_app_data: BTreeMap::new(),
        }],
        ..Default::default()
    }
}

fn app_set(p: &k8s_vip::charm::Plan) -> BTreeMap<String, String> {
    p.relation_sets
        .iter()
        .filter(|s| s.app && s.relation_id == "lb-consumers:5")
        .flat_map(|s| s.data.clone())
        .collect()
}

/// The unit data the plan sets on relation `id`, if any.
fn unit_set(p: &k8s_vip::charm::Plan, id: &str) -> Option<BTreeMap<String, String>> {
    p.relation_sets
        .iter()
        .find(|s| s.relation_id == id && !s.app)
        .map(|s| s.data.clone())
}

fn response(p: &k8s_vip::charm::Plan, name: &str) -> Value {
    let set = app_set(p);
    let raw = set
        .get(&format!("response_{name}"))
        .unwrap_or_else(|| panic!("no response_{name} in {set:?}"));
    serde_json::from_str(raw).expect("response is JSON")
}

#[test]
fn direct_request_gets_the_exact_response_json() {
    let p = plan(&inputs(3, internal_request(INTERNAL)));
    let set = app_set(&p);
    assert_eq!(set.get("version").map(String::as_str), Some("1"));
    assert_eq!(
        set.get("response_api-server-internal").map(String::as_str),
        Some(
            r#"{"address":"192.0.2.100","error":null,"error_fields":{},"error_message":null,"received_hash":"4f4a9a40ec63ae08000f439c6786ea09"}"#
        )
    );
}

#[test]
fn second_run_sets_nothing() {
    let mut inp = inputs(3, internal_request(INTERNAL));
    let first = plan(&inp);
    inp.consumers[0].our_app_data = app_set(&first);
    // Peer data as the first plan published it.
    for s in first.relation_sets.iter().filter(|s| !s.app) {
        if s.relation_id == "cluster:0" {
            inp.own_cluster_data.extend(s.data.clone());
        }
    }
    let second = plan(&inp);
    assert_eq!(second.relation_sets, Vec::<RelationSet>::new());
}

#[test]
fn no_version_no_answer_but_our_version_is_published() {
    let p = plan(&inputs(
        1,
        bag(&[("request_api-server-internal", INTERNAL)]),
    ));
    let set = app_set(&p);
    assert_eq!(set, bag(&[("version", "1")]));
}

#[test]
fn other_version_is_ignored_and_logged() {
    let p = plan(&inputs(
        1,
        bag(&[("version", "2"), ("request_api-server-internal", INTERNAL)]),
    ));
    assert_eq!(app_set(&p), bag(&[("version", "1")]));
    assert!(
        p.logs.iter().any(|l| l.contains("version \"2\"")),
        "{:?}",
        p.logs
    );
}

fn external() -> String {
    INTERNAL
        .replace("api-server-internal", "api-server-external")
        .replace(r#"{"6443": 6443}"#, r#"{"443": 6443}"#)
        .replace(r#""public": false"#, r#""public": true"#)
}

fn lb_off(mut inp: Inputs) -> Inputs {
    inp.config.insert("load-balancer".into(), json!("off"));
    inp
}

#[test]
fn external_443_to_6443_is_proxied_by_haproxy() {
    let p = plan(&inputs(
        3,
        bag(&[
            ("version", "1"),
            ("request_api-server-external", &external()),
        ]),
    ));
    assert_eq!(
        app_set(&p)
            .get("response_api-server-external")
            .map(String::as_str),
        Some(
            r#"{"address":"192.0.2.100","error":null,"error_fields":{},"error_message":null,"received_hash":"4f4a9a40ec63ae08000f439c6786ea09"}"#
        )
    );
    // The load balancer joined the plan: package, config, and the agent checks HAProxy.
    assert!(
        p.install_packages.contains(&"haproxy".to_string()),
        "{:?}",
        p.install_packages
    );
    let cfg = p
        .files
        .iter()
        .find(|f| f.path == "/etc/k8s-vip/haproxy.cfg")
        .expect("haproxy.cfg");
    assert!(cfg.content.contains("443"), "{}", cfg.content);
    let agent = p
        .files
        .iter()
        .find(|f| f.path == "/etc/k8s-vip/agent.yaml")
        .expect("agent.yaml");
    assert!(
        agent.content.contains("127.0.0.1:9744"),
        "{}",
        agent.content
    );
}

#[test]
fn external_without_a_load_balancer_gets_a_clear_error() {
    let p = plan(&lb_off(inputs(
        3,
        bag(&[
            ("version", "1"),
            ("request_api-server-external", &external()),
        ]),
    )));
    let r = response(&p, "api-server-external");
    assert_eq!(r["error"], "unsupported");
    assert!(r["address"].is_null());
    assert_eq!(r["received_hash"], "4f4a9a40ec63ae08000f439c6786ea09");
    let msg = r["error_fields"]["port_mapping"]
        .as_str()
        .expect("port_mapping field");
    assert!(msg.contains("443 -> 6443"), "{msg}");
    assert_eq!(r["error_message"].as_str(), Some(msg));
    assert!(p.files.iter().all(|f| !f.path.contains("haproxy")));
}

#[test]
fn identity_mapping_but_not_a_backend_is_refused_without_a_load_balancer() {
    let req = INTERNAL.replace(
        r#""backends": []"#,
        r#""backends": ["198.51.100.7", "198.51.100.8"]"#,
    );
    let p = plan(&lb_off(inputs(1, internal_request(&req))));
    let r = response(&p, "api-server-internal");
    assert_eq!(r["error"], "unsupported");
    assert!(r["error_message"]
        .as_str()
        .expect("msg")
        .contains("not one of the backends"));
}

#[test]
fn a_peer_that_is_not_a_backend_prevents_direct() {
    // Backends given explicitly: only this unit, but a peer exists that is not a backend.
    let req = INTERNAL.replace(r#""backends": []"#, r#""backends": ["192.0.2.11"]"#);
    let p = plan(&lb_off(inputs(2, internal_request(&req))));
    let r = response(&p, "api-server-internal");
    assert_eq!(r["error"], "unsupported");
    assert!(r["error_message"]
        .as_str()
        .expect("msg")
        .contains("192.0.2.12"));
    // With the load balancer (default auto) the request is served: this unit
    // is a backend, so its own API server answers on VIP:6443 here and
    // HAProxy leaves 6443 alone (it could not bind it next to the API
    // server's *:6443); only a peer that is not a backend proxies it.
    let p = plan(&inputs(2, internal_request(&req)));
    assert!(response(&p, "api-server-internal")["error"].is_null());
    let no_6443 = p
        .files
        .iter()
        .filter(|f| f.path == "/etc/k8s-vip/haproxy.cfg")
        .all(|f| !f.content.contains(":6443 "));
    assert!(no_6443, "HAProxy must not bind the backend's own port here");
}

#[test]
fn a_unit_that_is_not_yet_a_backend_proxies_the_same_port() {
    // The relation lists only the peer's principal so far (this unit's has
    // not joined): the VIP landing here needs HAProxy on 6443.
    let req = INTERNAL.replace(r#""backends": []"#, r#""backends": ["192.0.2.12"]"#);
    let p = plan(&inputs(2, internal_request(&req)));
    assert!(response(&p, "api-server-internal")["error"].is_null());
    let cfg = p
        .files
        .iter()
        .find(|f| f.path == "/etc/k8s-vip/haproxy.cfg")
        .expect("haproxy.cfg");
    assert!(
        cfg.content.contains("bind 192.0.2.100:6443"),
        "{}",
        cfg.content
    );
}

#[test]
fn udp_and_tls_termination_are_unsupported_naming_the_field() {
    let udp = INTERNAL.replace(r#""protocol": "tcp""#, r#""protocol": "udp""#);
    let tls = INTERNAL.replace(r#""tls_termination": false"#, r#""tls_termination": true"#);
    let p = plan(&inputs(
        1,
        bag(&[("version", "1"), ("request_a", &udp), ("request_b", &tls)]),
    ));
    let a = response(&p, "a");
    assert_eq!(a["error"], "unsupported");
    assert!(a["error_fields"]["protocol"].is_string());
    assert_eq!(a["received_hash"], "4f4a9a40ec63ae08000f439c6786ea09");
    let b = response(&p, "b");
    assert_eq!(b["error"], "unsupported");
    assert!(b["error_fields"]["tls_termination"].is_string());
}

#[test]
fn garbage_json_is_a_provider_error_not_a_crash() {
    let p = plan(&inputs(
        1,
        bag(&[
            ("version", "1"),
            ("request_junk", "{not json"),
            (
                "request_noports",
                r#"{"protocol": "tcp", "sent_hash": "abc"}"#,
            ),
            (
                "request_badtype",
                r#"{"protocol": "tcp", "port_mapping": {"6443": "x"}}"#,
            ),
            ("request_list", "[1,2]"),
        ]),
    ));
    for name in ["junk", "noports", "badtype", "list"] {
        let r = response(&p, name);
        assert_eq!(r["error"], "provider_error", "{name}");
        assert!(
            r["error_message"]
                .as_str()
                .expect("message")
                .contains("malformed"),
            "{name}"
        );
    }
    assert_eq!(response(&p, "noports")["received_hash"], "abc");
    assert!(response(&p, "junk")["received_hash"].is_null());
    // A field of the wrong type is named; unreadable JSON names none.
    assert!(response(&p, "noports")["error_fields"]["port_mapping"].is_string());
    assert!(response(&p, "badtype")["error_fields"]["port_mapping"].is_string());
    assert_eq!(response(&p, "junk")["error_fields"], json!({}));
    assert_eq!(response(&p, "list")["error_fields"], json!({}));
    assert!(p.logs.iter().any(|l| l.contains("request_junk")));
}

#[test]
fn hostname_and_ingress_address() {
    let mut inp = inputs(1, internal_request(INTERNAL));
    inp.config
        .insert("vip-hostname".into(), json!("api.example.com"));
    assert_eq!(
        response(&plan(&inp), "api-server-internal")["address"],
        "api.example.com"
    );

    let wanted = INTERNAL.replace(
        r#""ingress_address": null"#,
        r#""ingress_address": "192.0.2.100""#,
    );
    let inp = inputs(1, bag(&[("version", "1"), ("request_x", &wanted)]));
    assert_eq!(response(&plan(&inp), "x")["address"], "192.0.2.100");

    let foreign = INTERNAL.replace(
        r#""ingress_address": null"#,
        r#""ingress_address": "192.0.2.200""#,
    );
    let inp = inputs(1, bag(&[("version", "1"), ("request_x", &foreign)]));
    let r = response(&plan(&inp), "x");
    assert_eq!(r["error"], "unsupported");
    assert!(r["error_fields"]["ingress_address"].is_string());
}

#[test]
fn removed_request_deletes_its_response() {
    let mut inp = inputs(1, bag(&[("version", "1")]));
    inp.consumers[0].our_app_data = bag(&[("version", "1"), ("response_old", "{}")]);
    let set = app_set(&plan(&inp));
    assert_eq!(set, bag(&[("response_old", "")]));
}

#[test]
fn non_leader_writes_no_app_data() {
    let mut inp = inputs(1, internal_request(INTERNAL));
    inp.leader = false;
    assert!(app_set(&plan(&inp)).is_empty());
}

#[test]
fn legacy_public_address_and_http() {
    let mut inp = inputs(1, BTreeMap::new());
    inp.consumers.clear();
    inp.config.insert("port".into(), json!(443));
    inp.public_address = vec![UnitRelation {
        id: "loadbalancer:3".into(),
        our_unit_data: bag(&[("private-address", "192.0.2.11")]),
    }];
    inp.website = vec![UnitRelation {
        id: "website:4".into(),
        our_unit_data: BTreeMap::new(),
    }];
    let p = plan(&inp);
    let get = |id: &str| unit_set(&p, id);
    assert_eq!(
        get("loadbalancer:3"),
        Some(bag(&[("public-address", "192.0.2.100"), ("port", "443")]))
    );
    assert_eq!(
        get("website:4"),
        Some(bag(&[
            ("hostname", "192.0.2.100"),
            ("private-address", "192.0.2.100"),
            ("port", "443")
        ]))
    );
    inp.config
        .insert("vip-hostname".into(), json!("api.example.com"));
    let p = plan(&inp);
    let get = |id: &str| unit_set(&p, id);
    assert_eq!(
        get("loadbalancer:3")
            .and_then(|d| d.get("public-address").cloned())
            .as_deref(),
        Some("api.example.com")
    );
    assert_eq!(
        get("website:4")
            .and_then(|d| d.get("hostname").cloned())
            .as_deref(),
        Some("api.example.com")
    );
}

/// loadbalancer-interface v1: a value the provider cannot serve is a
/// `provider error`, a feature it does not offer is `unsupported`; both name
/// the field. The load balancer's verdict must reach the consumer unchanged.
#[test]
fn proxied_requests_answer_provider_error_for_bad_values_and_unsupported_for_features() {
    let bad_backend = external()
        .replace("api-server-external", "bad-backend")
        .replace(r#""backends": []"#, r#""backends": ["not-an-ip"]"#);
    let bad_algo = external()
        .replace("api-server-external", "bad-algo")
        .replace(
            r#""algorithm": []"#,
            r#""algorithm": ["no-such-algorithm"]"#,
        );
    let p = plan(&inputs(
        3,
        bag(&[
            ("version", "1"),
            ("request_bad-backend", &bad_backend),
            ("request_bad-algo", &bad_algo),
            ("request_api-server-external", &external()),
        ]),
    ));
    let r = response(&p, "bad-backend");
    assert_eq!(r["error"], "provider_error", "{r}");
    assert!(r["address"].is_null(), "{r}");
    let msg = r["error_fields"]["backends"]
        .as_str()
        .unwrap_or_else(|| panic!("no backends field: {r}"));
    assert!(msg.contains("not-an-ip"), "{msg}");
    assert_eq!(r["error_message"].as_str(), Some(msg));
    assert_eq!(r["received_hash"], "4f4a9a40ec63ae08000f439c6786ea09");
    let r = response(&p, "bad-algo");
    assert_eq!(r["error"], "unsupported", "{r}");
    assert!(r["error_fields"]["algorithm"].is_string(), "{r}");
    // The good request next to them is still served.
    let r = response(&p, "api-server-external");
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(r["address"], "192.0.2.100");
}
