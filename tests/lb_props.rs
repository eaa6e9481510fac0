//! Generated requests: every one the model accepts renders a config the real
//! `haproxy -c` accepts, and no request JSON, however odd, panics the model.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use proptest::prelude::*;

use k8s_vip::charm::haproxy::options::IngressPort;
use k8s_vip::charm::haproxy::{
    render_haproxy_cfg, HaproxyPaths, LbRequest, LoadBalancerModel, RequestContext, Timeouts,
};

fn haproxy_accepts(cfg: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).map_err(|e| e.to_string())?;
    let out = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && !stderr.contains("[WARNING]") {
        Ok(())
    } else {
        Err(format!("{cfg}\n{stderr}"))
    }
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (1u8..=254).prop_map(|h| format!("192.0.2.{h}").parse().unwrap()),
        (1u8..=254).prop_map(|h| format!("198.51.100.{h}").parse().unwrap()),
        (1u16..=0xffff).prop_map(|h| format!("2001:db8::{h:x}").parse().unwrap()),
    ]
}

fn check() -> impl Strategy<Value = serde_json::Value> {
    let path = proptest::string::string_regex("/[a-zA-Z0-9._~!&()*+,;=:@/?%-]{0,20}").unwrap();
    (
        prop_oneof![Just("tcp"), Just("http"), Just("https")],
        1u32..=65535,
        path,
        1u32..=120,
        1u32..=10,
    )
        .prop_map(|(protocol, port, path, interval, retries)| {
            serde_json::json!({"protocol": protocol, "port": port, "path": path,
                               "interval": interval, "retries": retries})
        })
}

fn request() -> impl Strategy<Value = serde_json::Value> {
    (
        "[a-z][a-z0-9-]{0,20}",
        prop_oneof![Just("tcp"), Just("http"), Just("https")],
        proptest::collection::btree_map(1u16..=65535, 1u16..=65535, 1..4),
        proptest::collection::vec(ip(), 0..5),
        proptest::collection::vec(
            prop_oneof![
                Just("roundrobin"),
                Just("leastconn"),
                Just("source"),
                Just("bogus")
            ],
            0..3,
        ),
        any::<bool>(),
        proptest::collection::vec(check(), 0..3),
    )
        .prop_map(
            |(name, protocol, ports, backends, algorithm, sticky, checks)| {
                let mapping: serde_json::Map<String, serde_json::Value> = ports
                    .into_iter()
                    .map(|(f, b)| (f.to_string(), b.into()))
                    .collect();
                let backends: Vec<String> = backends.iter().map(|b| b.to_string()).collect();
                serde_json::json!({"name": name, "protocol": protocol, "port_mapping": mapping,
                "backends": backends, "algorithm": algorithm, "sticky": sticky,
                "health_checks": checks})
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn accepted_requests_render_configs_haproxy_accepts(
        reqs in proptest::collection::vec(request(), 1..4),
        ingress in proptest::collection::btree_map(1u16..=65535, 30000u16..=32767, 0..3),
        idle_s in 600u64..=86400,
    ) {
        let mut model = LoadBalancerModel::new(
            HaproxyPaths::under(Path::new("/")),
            Timeouts::with_idle(Duration::from_secs(idle_s)),
        );
        let vips: Vec<IpAddr> = vec!["192.0.2.100".parse().unwrap(), "2001:db8::100".parse().unwrap()];
        let consumers: Vec<IpAddr> = vec!["192.0.2.11".parse().unwrap()];
        for r in &reqs {
            let req = LbRequest::from_json(&r.to_string()).unwrap();
            let before = model.clone();
            let result = model.add_request(&req, &RequestContext {
                vips: &vips,
                consumer_addresses: &consumers, any_backend: true,
                direct_ports: &BTreeSet::new(),
            });
            if result.is_err() {
                prop_assert_eq!(&model, &before, "a refused request changes nothing");
            }
        }
        let ports: Vec<IngressPort> =
            ingress.into_iter().map(|(port, node_port)| IngressPort { port, node_port }).collect();
        let _ = model.add_ingress(&ports, &consumers, &vips);
        let cfg = render_haproxy_cfg(&model).unwrap();
        if let Err(e) = haproxy_accepts(&cfg) {
            prop_assert!(false, "haproxy -c rejected: {}", e);
        }
    }

    #[test]
    fn any_json_is_parsed_or_refused_without_panicking(text in ".{0,300}") {
        let _ = LbRequest::from_json(&text);
    }

    #[test]
    fn odd_field_values_are_refused_or_rendered(
        name in ".{0,30}",
        path in ".{0,30}",
        backend in ".{0,20}",
        port in any::<u32>(),
    ) {
        let json = serde_json::json!({"name": name, "protocol": "tcp",
            "port_mapping": {port.to_string(): port}, "backends": [backend],
            "health_checks": [{"protocol": "http", "port": port, "path": path}]});
        let Ok(req) = LbRequest::from_json(&json.to_string()) else { return Ok(()) };
        let mut model = LoadBalancerModel::new(
            HaproxyPaths::under(Path::new("/")),
            Timeouts::with_idle(Duration::from_secs(3600)),
        );
        let vips: Vec<IpAddr> = vec!["192.0.2.100".parse().unwrap()];
        if model.add_request(&req, &RequestContext {
            vips: &vips, consumer_addresses: &vips, any_backend: true, direct_ports: &BTreeSet::new(),
        }).is_ok() {
            let cfg = render_haproxy_cfg(&model).unwrap();
            if let Err(e) = haproxy_accepts(&cfg) {
                prop_assert!(false, "haproxy -c rejected: {}", e);
            }
        }
    }
}
