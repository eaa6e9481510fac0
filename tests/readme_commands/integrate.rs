//! `juju integrate` lines: both endpoints exist with one interface and
//! opposite roles, and in the simulated model the relation does what the
//! docs say (the loadbalancer response they show, the VIP published).

use serde_json::{json, Value};

use crate::commands::{at, distinct_commands_of, read_yaml, Kind};
use crate::deployment::{configured, in_parallel, unit_status, QUICK_START_VIP, UNITS};
use crate::docs;
use crate::markdown::CommandLine;
use crate::APP;

/// The Kubernetes charms' endpoints the docs relate k8s-vip to, as their
/// metadata declares them (see the REFERENCES of the relation protocols):
/// (application, endpoint, interface, role). `juju-info` is the implicit
/// endpoint every principal charm provides.
pub const KUBERNETES_ENDPOINTS: &[(&str, &str, &str, &str)] = &[
    (
        "kubernetes-control-plane",
        "juju-info",
        "juju-info",
        "provides",
    ),
    (
        "kubernetes-control-plane",
        "loadbalancer-internal",
        "loadbalancer",
        "requires",
    ),
    (
        "kubernetes-control-plane",
        "loadbalancer-external",
        "loadbalancer",
        "requires",
    ),
    ("kubernetes-master", "juju-info", "juju-info", "provides"),
    (
        "kubernetes-master",
        "loadbalancer",
        "public-address",
        "requires",
    ),
    ("kubernetes-worker", "juju-info", "juju-info", "provides"),
    ("kubernetes-worker", "kube-api-endpoint", "http", "requires"),
    // The COS collectors (machine subordinates), from their charm metadata.
    ("grafana-agent", "cos-agent", "cos_agent", "requires"),
    (
        "opentelemetry-collector",
        "cos-agent",
        "cos_agent",
        "requires",
    ),
];

/// The loadbalancer v1 request kubernetes-control-plane sends on
/// `endpoint` (its name, and the JSON of `request_<name>`).
fn control_plane_request(endpoint: &str) -> (String, Value) {
    let (name, mapping, public) = if endpoint == "loadbalancer-external" {
        ("api-server-external", json!({"443": 6443}), true)
    } else {
        ("api-server-internal", json!({"6443": 6443}), false)
    };
    let request = json!({
        "algorithm": [], "backends": [],
        "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}],
        "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": name,
        "port_mapping": mapping, "protocol": "tcp", "public": public,
        "sent_hash": format!("hash-of-{name}"), "sticky": false,
        "tls_cert": null, "tls_key": null, "tls_termination": false
    });
    (name.to_string(), request)
}

/// One `juju integrate` line: both endpoints exist with one interface and
/// opposite roles, and the relation does its job in the model.
fn integrate(cmd: &CommandLine, a: &(String, String), b: &(String, String)) {
    let (ours, theirs) = if a.0 == APP { (a, b) } else { (b, a) };
    assert_eq!(ours.0, APP, "{}: relates no {APP} endpoint", at(cmd));
    let meta = read_yaml("metadata.yaml");
    let (role, spec) = ["requires", "provides"]
        .into_iter()
        .find_map(|r| meta[r].get(&ours.1).map(|s| (r, s.clone())))
        .unwrap_or_else(|| panic!("{}: metadata.yaml has no endpoint `{}`", at(cmd), ours.1));
    let interface = spec["interface"].as_str().unwrap_or_default();
    let Some(&(_, _, their_interface, their_role)) = KUBERNETES_ENDPOINTS
        .iter()
        .find(|(app, ep, _, _)| *app == theirs.0 && *ep == theirs.1)
    else {
        panic!(
            "{}: `{}:{}` is not an endpoint of the Kubernetes charms this test knows \
             (KUBERNETES_ENDPOINTS in tests/readme_commands/integrate.rs)",
            at(cmd),
            theirs.0,
            theirs.1
        );
    };
    assert_eq!(interface, their_interface, "{}: interfaces differ", at(cmd));
    assert_ne!(role, their_role, "{}: both sides {role} it", at(cmd));

    let model = configured(&theirs.0);
    let remote_units: Vec<String> = (0..UNITS).map(|i| format!("{}/{i}", theirs.0)).collect();
    let remote: Vec<&str> = remote_units.iter().map(String::as_str).collect();
    match ours.1.as_str() {
        "juju-info" => {
            // Container scope: the model attached each unit to its principal.
            let rel = model.relation_id("juju-info");
            assert_eq!(model.relation(&rel).remote_app, theirs.0);
            for (i, u) in model.units().iter().enumerate() {
                model
                    .run_relation_hook(u, &rel, "joined", Some(&remote_units[i]))
                    .assert_success();
                assert_eq!(model.remote_units(u, &rel), vec![remote_units[i].clone()]);
            }
        }
        "lb-consumers" => {
            let rel = model.add_relation("lb-consumers", &theirs.0, &remote);
            for (i, r) in remote_units.iter().enumerate() {
                model.set_unit_data(
                    &rel,
                    r,
                    &[("ingress-address", &format!("10.0.0.{}", 11 + i))],
                );
            }
            let (name, request) = control_plane_request(&theirs.1);
            model.set_app_data(
                &rel,
                &theirs.0,
                &[
                    ("version", "1"),
                    (&format!("request_{name}"), &request.to_string()),
                ],
            );
            for u in model.units() {
                model
                    .run_relation_hook(u, &rel, "joined", Some(&remote_units[0]))
                    .assert_success();
                model
                    .run_relation_hook(u, &rel, "changed", Some(&remote_units[0]))
                    .assert_success();
            }
            let ours_data = model.app_data(&rel, APP);
            assert_eq!(
                ours_data.get("version").map(String::as_str),
                Some("1"),
                "{}",
                at(cmd)
            );
            let response: Value = ours_data
                .get(&format!("response_{name}"))
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_else(|| panic!("{}: no response_{name}: {ours_data:?}", at(cmd)));
            assert_eq!(
                response["address"],
                json!(QUICK_START_VIP),
                "{}: {response}",
                at(cmd)
            );
            assert_eq!(response["error"], Value::Null, "{}: {response}", at(cmd));
            assert_eq!(
                response["received_hash"],
                request["sent_hash"],
                "{}",
                at(cmd)
            );
            // Exactly the response the docs show (its placeholder hash
            // being the request's).
            let shown = docs::blocks()
                .into_iter()
                .filter(|b| b.info == "json")
                .find(|b| b.text().contains("received_hash"))
                .map(|b| b.text())
                .expect("the docs' loadbalancer response");
            let shown = shown.replace(
                "<the request's sent_hash>",
                request["sent_hash"].as_str().unwrap_or_default(),
            );
            let shown: Value = serde_json::from_str(&shown).expect("the docs' response is JSON");
            assert_eq!(response, shown, "{}: not the docs' response", at(cmd));
        }
        "loadbalancer" | "website" => {
            let rel = model.add_relation(&ours.1, &theirs.0, &remote);
            for u in model.units() {
                model
                    .run_relation_hook(u, &rel, "joined", Some(&remote_units[0]))
                    .assert_success();
                let data = model.relation_data(&rel, u);
                let port = model.config()["port"].to_string();
                let want: &[(&str, &str)] = if ours.1 == "loadbalancer" {
                    &[("public-address", QUICK_START_VIP), ("port", &port)]
                } else {
                    &[
                        ("hostname", QUICK_START_VIP),
                        ("private-address", QUICK_START_VIP),
                        ("port", &port),
                    ]
                };
                for (k, v) in want {
                    assert_eq!(
                        data.get(*k).map(String::as_str),
                        Some(*v),
                        "{}: {u}: {data:?}",
                        at(cmd)
                    );
                }
            }
        }
        "cos-agent" => {
            // Container scope: one collector unit beside each of ours.
            for (i, u) in model.units().iter().enumerate() {
                let rel = model.add_relation("cos-agent", &theirs.0, &[&remote_units[i]]);
                model
                    .run_relation_hook(u, &rel, "joined", Some(&remote_units[i]))
                    .assert_success();
                let config: Value = model
                    .relation_data(&rel, u)
                    .get("config")
                    .and_then(|c| serde_json::from_str(c).ok())
                    .unwrap_or_else(|| panic!("{}: {u} published no config", at(cmd)));
                let jobs = config["metrics_scrape_jobs"].as_array().cloned();
                let job = jobs.as_deref().and_then(<[Value]>::first);
                let name = job.and_then(|j| j["job_name"].as_str()).unwrap_or_default();
                assert!(name.starts_with("k8s-vip_agent_"), "{}: {config}", at(cmd));
            }
        }
        other => panic!("{}: no relation check for endpoint `{other}`", at(cmd)),
    }
    for u in model.units() {
        let (state, message) = unit_status(&model, u);
        assert!(
            state == "active" || state == "waiting",
            "{}: {u} is `{state}: {message}`",
            at(cmd)
        );
    }
}

#[test]
fn juju_integrate_lines_name_real_endpoints_and_the_relations_work() {
    let cmds = distinct_commands_of(|k| matches!(k, Kind::Integrate { .. }));
    assert!(!cmds.is_empty());
    in_parallel(&cmds, |(cmd, kind)| {
        if let Kind::Integrate { a, b } = kind {
            integrate(cmd, a, b);
        }
    });
    eprintln!("{} `juju integrate` lines related", cmds.len());
}
