//! The model and haproxy.cfg rendering, checked by the real `haproxy -c`.

#[path = "support/skip.rs"]
mod skip;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use k8s_vip::charm::haproxy::frontend::{Balance, CheckStep, Origin};
use k8s_vip::charm::haproxy::options::{parse_ingress_ports, parse_lb_timeout};
use k8s_vip::charm::haproxy::{
    render_haproxy_cfg, render_haproxy_unit, HaproxyPaths, LbRequest, LoadBalancerModel,
    RequestContext, RequestError, Timeouts,
};

/// What kubernetes-control-plane sends on loadbalancer-internal (REFERENCES.md).
const INTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}],
 "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": "api-server-internal",
 "port_mapping": {"6443": 6443}, "protocol": "tcp", "public": false, "sent_hash": "4f4a9a40ec63ae08000f439c6786ea09",
 "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

/// The external twin: 443 → 6443, public.
const EXTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}],
 "id": "0d5b1b0f3a1c4e1b9a4c1e5d6f7a8b9c", "ingress_address": null, "name": "api-server-external",
 "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "9a0b5d0e6c2f4a3b8e1d7c6b5a4f3e2d",
 "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn empty_model() -> LoadBalancerModel {
    LoadBalancerModel::new(
        HaproxyPaths::under(Path::new("/")),
        Timeouts::with_idle(Duration::from_secs(3600)),
    )
}

/// Adds `req` to `model` with the VIPs `vips`, the consumer units
/// `consumers` and the ports served directly `direct`.
fn add(
    model: &mut LoadBalancerModel,
    req: &LbRequest,
    vips: &[IpAddr],
    consumers: &[IpAddr],
    direct: &BTreeSet<u16>,
) -> Result<Vec<u16>, RequestError> {
    model.add_request(
        req,
        &RequestContext {
            vips,
            consumer_addresses: consumers,
            any_backend: true,
            direct_ports: direct,
        },
    )
}

fn with_request(
    json: &str,
    overrides: &[(&str, serde_json::Value)],
) -> Result<LoadBalancerModel, RequestError> {
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
    for (k, v) in overrides {
        value[*k] = v.clone();
    }
    let request = LbRequest::from_json(&value.to_string())?;
    let mut model = empty_model();
    let vips = ips(&["192.0.2.100", "2001:db8::100"]);
    let consumers = ips(&["192.0.2.11", "192.0.2.12", "192.0.2.13"]);
    let direct = BTreeSet::new();
    add(&mut model, &request, &vips, &consumers, &direct)?;
    Ok(model)
}

/// Runs the real `haproxy -c -f` on `cfg`; panics with its output on failure.
fn haproxy_check(cfg: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let out = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("haproxy must be installed (Debian package haproxy)");
    assert!(
        out.status.success(),
        "haproxy -c rejected the config:\n{cfg}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("[WARNING]"),
        "haproxy -c warned:\n{cfg}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn control_plane_requests_render_and_pass_haproxy_check() {
    let mut model = with_request(EXTERNAL, &[]).unwrap();
    let internal = LbRequest::from_json(INTERNAL).unwrap();
    let vips = ips(&["192.0.2.100"]);
    let consumers = ips(&["192.0.2.13", "192.0.2.11", "192.0.2.12", "192.0.2.11"]);
    let ports = add(&mut model, &internal, &vips, &consumers, &BTreeSet::new()).unwrap();
    assert_eq!(ports, vec![6443]);
    assert_eq!(model.frontends.len(), 2);
    let ext = &model.frontends[0];
    assert_eq!(ext.port, 443);
    assert_eq!(ext.name, "api-server-external-443");
    assert_eq!(ext.binds.len(), 2, "binds every VIP");
    assert_eq!(ext.backend.balance, Balance::RoundRobin);
    assert_eq!(ext.backend.label, "API servers");
    let servers: Vec<String> = ext
        .backend
        .servers
        .iter()
        .map(|s| s.addr.to_string())
        .collect();
    assert_eq!(
        servers,
        ["192.0.2.11:6443", "192.0.2.12:6443", "192.0.2.13:6443"]
    );
    assert_eq!(
        ext.backend.check.steps,
        vec![CheckStep::Http {
            port: 6443,
            path: "/livez".into(),
            tls: true
        }],
        "an http check on a tcp (TLS passthrough) service is made over TLS"
    );
    assert_eq!(ext.backend.check.interval_s, 30);
    assert_eq!(ext.backend.check.fall, 3);
    let int = &model.frontends[1];
    assert_eq!(int.backend.servers.len(), 3, "duplicates removed");
    assert_eq!(
        int.origin,
        Origin::Request {
            name: "api-server-internal".into()
        }
    );

    let cfg = render_haproxy_cfg(&model).unwrap();
    haproxy_check(&cfg);
    assert!(cfg.contains("bind 192.0.2.100:443 transparent"), "{cfg}");
    assert!(
        cfg.contains("bind [2001:db8::100]:443 transparent"),
        "{cfg}"
    );
    assert!(cfg.contains("http-check connect port 6443 ssl"), "{cfg}");
    assert!(cfg.contains("uri /livez"), "{cfg}");
    assert!(cfg.contains("inter 30s"), "{cfg}");
    assert!(cfg.contains("fall 3"), "{cfg}");
    assert!(cfg.contains("verify none"), "{cfg}");
    assert!(cfg.contains("server 192.0.2.12 192.0.2.12:6443"), "{cfg}");
    assert!(
        cfg.contains("stats socket /run/k8s-vip/haproxy.sock"),
        "{cfg}"
    );
    assert!(cfg.contains("timeout client 3600s"), "{cfg}");
    assert!(cfg.contains("timeout server 3600s"), "{cfg}");
    assert!(cfg.contains("master-worker"), "{cfg}");
}

#[test]
fn explicit_backends_algorithms_and_sticky() {
    let m = with_request(
        EXTERNAL,
        &[
            (
                "backends",
                serde_json::json!(["198.51.100.7", "2001:db8::7"]),
            ),
            ("algorithm", serde_json::json!(["leastconn"])),
        ],
    )
    .unwrap();
    let b = &m.frontends[0].backend;
    assert_eq!(b.balance, Balance::LeastConn);
    let servers: Vec<String> = b.servers.iter().map(|s| s.addr.to_string()).collect();
    assert_eq!(servers, ["198.51.100.7:6443", "[2001:db8::7]:6443"]);
    haproxy_check(&render_haproxy_cfg(&m).unwrap());

    let m = with_request(EXTERNAL, &[("algorithm", serde_json::json!(["source"]))]).unwrap();
    assert_eq!(m.frontends[0].backend.balance, Balance::Source);
    let cfg = render_haproxy_cfg(&m).unwrap();
    assert!(cfg.contains("balance source"));
    haproxy_check(&cfg);

    let m = with_request(
        EXTERNAL,
        &[
            ("sticky", serde_json::json!(true)),
            ("algorithm", serde_json::json!(["leastconn"])),
        ],
    )
    .unwrap();
    assert_eq!(
        m.frontends[0].backend.balance,
        Balance::Source,
        "sticky → source"
    );

    // First supported algorithm in preference order wins.
    let m = with_request(
        EXTERNAL,
        &[(
            "algorithm",
            serde_json::json!(["weighted-magic", "least_connections"]),
        )],
    )
    .unwrap();
    assert_eq!(m.frontends[0].backend.balance, Balance::LeastConn);
}

#[test]
fn unsupported_and_invalid_requests_name_the_field() {
    let cases: Vec<(&str, serde_json::Value, &str, &str)> = vec![
        (
            "algorithm",
            serde_json::json!(["random"]),
            "algorithm",
            "unsupported",
        ),
        (
            "protocol",
            serde_json::json!("udp"),
            "protocol",
            "unsupported",
        ),
        (
            "protocol",
            serde_json::json!("sctp"),
            "protocol",
            "unsupported",
        ),
        (
            "tls_termination",
            serde_json::json!(true),
            "tls_termination",
            "unsupported",
        ),
        (
            "backends",
            serde_json::json!(["not-an-ip"]),
            "backends",
            "provider_error",
        ),
        (
            "port_mapping",
            serde_json::json!({"0": 6443}),
            "port_mapping",
            "provider_error",
        ),
        (
            "port_mapping",
            serde_json::json!({"443": 70000}),
            "port_mapping",
            "provider_error",
        ),
        (
            "port_mapping",
            serde_json::json!({}),
            "port_mapping",
            "provider_error",
        ),
        (
            "health_checks",
            serde_json::json!([{"protocol": "udp", "port": 53}]),
            "health_checks",
            "unsupported",
        ),
        (
            "health_checks",
            serde_json::json!([{"protocol": "http", "port": 6443, "path": "/livez\nbind :1"}]),
            "health_checks",
            "provider_error",
        ),
        (
            "health_checks",
            serde_json::json!([{"protocol": "http", "port": 6443, "path": "/a b"}]),
            "health_checks",
            "provider_error",
        ),
        (
            "health_checks",
            serde_json::json!([{"protocol": "tcp", "port": 6443, "interval": 0}]),
            "health_checks",
            "provider_error",
        ),
    ];
    for (key, value, field, code) in cases {
        let err = with_request(EXTERNAL, &[(key, value.clone())]).unwrap_err();
        assert_eq!(err.code(), code, "{key}={value}: {err}");
        assert!(
            err.error_fields().contains_key(field),
            "{key}={value}: error_fields {:?} must name {field}",
            err.error_fields()
        );
    }
    let err = LbRequest::from_json("{not json").unwrap_err();
    assert_eq!(err.code(), "provider_error");
    let err = LbRequest::from_json(r#"{"name": "x"}"#).unwrap_err();
    assert_eq!(err.code(), "provider_error");
}

#[test]
fn a_port_taken_by_another_request_is_refused_without_changing_the_model() {
    let mut model = with_request(EXTERNAL, &[]).unwrap();
    let before = model.clone();
    let mut other: serde_json::Value = serde_json::from_str(INTERNAL).unwrap();
    other["name"] = "other".into();
    other["port_mapping"] = serde_json::json!({"443": 8443, "8444": 8444});
    let req = LbRequest::from_json(&other.to_string()).unwrap();
    let vips = ips(&["192.0.2.100"]);
    let units = ips(&["192.0.2.11"]);
    let err = add(&mut model, &req, &vips, &units, &BTreeSet::new()).unwrap_err();
    assert!(err.error_fields().contains_key("port_mapping"), "{err}");
    assert!(err.to_string().contains("443"), "{err}");
    assert_eq!(model, before, "nothing half-applied");
}

#[test]
fn direct_ports_get_no_frontend() {
    let req = LbRequest::from_json(INTERNAL).unwrap();
    let mut model = empty_model();
    let vips = ips(&["192.0.2.100"]);
    let direct = BTreeSet::from([6443]);
    let units = ips(&["192.0.2.11"]);
    let ports = add(&mut model, &req, &vips, &units, &direct).unwrap();
    assert!(ports.is_empty());
    assert!(model.is_empty());
    // An empty load balancer is still a valid config (load-balancer=on).
    haproxy_check(&render_haproxy_cfg(&model).unwrap());
}

#[test]
fn requests_without_a_vip_are_an_error_not_a_frontend_without_bind() {
    let req = LbRequest::from_json(INTERNAL).unwrap();
    let mut model = empty_model();
    let consumers = ips(&["192.0.2.11"]);
    let err = add(&mut model, &req, &[], &consumers, &BTreeSet::new()).unwrap_err();
    assert!(err.to_string().contains("no virtual-ip"), "{err}");
    assert!(model.is_empty());
}

#[test]
fn requests_without_backends_or_consumers_are_an_error() {
    let req = LbRequest::from_json(INTERNAL).unwrap();
    let mut model = empty_model();
    let vips = ips(&["192.0.2.100"]);
    let err = add(&mut model, &req, &vips, &[], &BTreeSet::new()).unwrap_err();
    assert!(err.error_fields().contains_key("backends"), "{err}");
}

#[test]
fn several_and_mixed_health_checks_render_one_sequence() {
    let m = with_request(
        EXTERNAL,
        &[(
            "health_checks",
            serde_json::json!([
                {"protocol": "https", "port": 6443, "path": "/readyz?verbose", "interval": 10, "retries": 5},
                {"protocol": "tcp", "port": 10250, "interval": 20, "retries": 2}
            ]),
        )],
    )
    .unwrap();
    let c = &m.frontends[0].backend.check;
    assert_eq!(
        (c.interval_s, c.fall),
        (10, 2),
        "shortest interval, fewest retries"
    );
    let cfg = render_haproxy_cfg(&m).unwrap();
    assert!(cfg.contains("tcp-check connect port 10250\n"), "{cfg}");
    assert!(cfg.contains("tcp-check connect port 6443 ssl"), "{cfg}");
    haproxy_check(&cfg);

    let m = with_request(
        EXTERNAL,
        &[(
            "health_checks",
            serde_json::json!([{"protocol": "tcp", "port": 6443}]),
        )],
    )
    .unwrap();
    let cfg = render_haproxy_cfg(&m).unwrap();
    assert!(cfg.contains("option tcp-check"), "{cfg}");
    assert!(cfg.contains("inter 30s"), "defaults from schema v1: {cfg}");
    haproxy_check(&cfg);

    // Plain-HTTP services (protocol http) are checked without TLS.
    let m = with_request(EXTERNAL, &[("protocol", serde_json::json!("http"))]).unwrap();
    assert!(matches!(
        m.frontends[0].backend.check.steps[0],
        CheckStep::Http { tls: false, .. }
    ));
    haproxy_check(&render_haproxy_cfg(&m).unwrap());

    // No checks requested: a TCP check on the backend port.
    let m = with_request(EXTERNAL, &[("health_checks", serde_json::json!([]))]).unwrap();
    assert_eq!(
        m.frontends[0].backend.check.steps,
        vec![CheckStep::Tcp { port: 6443 }]
    );
    haproxy_check(&render_haproxy_cfg(&m).unwrap());
}

#[test]
fn worker_ingress_renders_tcp_checked_nodeport_backends() {
    let mut model = empty_model();
    let ports = parse_ingress_ports("80:30080 443:30443").unwrap();
    model
        .add_ingress(
            &ports,
            &ips(&["192.0.2.11", "192.0.2.12", "192.0.2.13"]),
            &ips(&["192.0.2.100"]),
        )
        .unwrap();
    assert_eq!(model.frontends.len(), 2);
    let f = &model.frontends[0];
    assert_eq!((f.port, f.name.as_str()), (80, "ingress-80"));
    assert_eq!(f.backend.label, "workers");
    assert_eq!(f.backend.check.steps, vec![CheckStep::Tcp { port: 30080 }]);
    assert_eq!(f.backend.servers[2].addr.to_string(), "192.0.2.13:30080");
    let cfg = render_haproxy_cfg(&model).unwrap();
    haproxy_check(&cfg);

    // Ingress on a port a request already uses is refused.
    let mut m = with_request(EXTERNAL, &[]).unwrap();
    let before = m.clone();
    let err = m
        .add_ingress(
            &parse_ingress_ports("443:30443").unwrap(),
            &ips(&["192.0.2.11"]),
            &ips(&["192.0.2.100"]),
        )
        .unwrap_err();
    assert!(
        err.to_string().starts_with("ingress-ports: port 443"),
        "{err}"
    );
    assert_eq!(m, before);
}

#[test]
fn lb_timeout_is_the_idle_timeout_and_never_below_ten_minutes() {
    let t = parse_lb_timeout("90m").unwrap();
    let model = LoadBalancerModel::new(HaproxyPaths::under(Path::new("/")), Timeouts::with_idle(t));
    let cfg = render_haproxy_cfg(&model).unwrap();
    assert!(cfg.contains("timeout client 5400s"), "{cfg}");
    assert!(cfg.contains("timeout server 5400s"), "{cfg}");
    haproxy_check(&cfg);
    assert!(parse_lb_timeout("5m").is_err());
}

#[test]
fn paths_follow_the_unit_root() {
    let root = tempfile::tempdir().unwrap();
    let paths = HaproxyPaths::under(root.path());
    assert_eq!(
        paths.stats_socket,
        root.path().join("run/k8s-vip/haproxy.sock")
    );
    assert_eq!(paths.config, root.path().join("etc/k8s-vip/haproxy.cfg"));
    let model = LoadBalancerModel::new(paths, Timeouts::with_idle(Duration::from_secs(600)));
    let cfg = render_haproxy_cfg(&model).unwrap();
    assert!(cfg.contains(&format!(
        "stats socket {}",
        root.path().join("run/k8s-vip/haproxy.sock").display()
    )));
    let long = Path::new("/tmp").join("x".repeat(120));
    let model = LoadBalancerModel::new(
        HaproxyPaths::under(&long),
        Timeouts::with_idle(Duration::from_secs(600)),
    );
    assert!(
        render_haproxy_cfg(&model).is_err(),
        "socket path too long for sun_path"
    );
}

#[test]
fn systemd_unit_uses_master_worker_and_seamless_reload() {
    let unit = render_haproxy_unit(&HaproxyPaths::under(Path::new("/"))).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -p $PIDFILE"),
        "{unit}"
    );
    assert!(
        unit.contains("ExecReload=/bin/kill -USR2 $MAINPID"),
        "{unit}"
    );
    assert!(unit.contains("Type=notify"), "{unit}");
    assert!(unit.contains("CONFIG=/etc/k8s-vip/haproxy.cfg"), "{unit}");
    assert!(unit.contains("RuntimeDirectoryPreserve=yes"), "{unit}");
    // systemd-analyze must accept the unit.
    if skip::need_program("systemd-analyze") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k8s-vip-haproxy.service");
        std::fs::write(&path, &unit).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("k8s-vip-haproxy.service:"),
            "systemd-analyze verify complained:\n{stderr}"
        );
    }
}
