//! HAProxy's Prometheus exporter (`frontend prometheus`, appended to
//! templates/haproxy.cfg while COS is related): the config passes the real
//! `haproxy -c`, and a real HAProxy in a network namespace serves `/metrics`
//! on the unit's address and 404 for anything else.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_vip::charm::haproxy::options::parse_ingress_ports;
use k8s_vip::charm::haproxy::{render_haproxy_cfg, HaproxyPaths, LoadBalancerModel, Timeouts};
use k8s_vip::charm::metrics_endpoint::HAPROXY_EXPORTER_PORT;
use support::netns::Lab;
use support::skip;

fn model(root: &Path, exporter: Option<SocketAddr>) -> LoadBalancerModel {
    let mut model = LoadBalancerModel::new(
        HaproxyPaths::under(root),
        Timeouts::with_idle(Duration::from_secs(3600)),
    );
    let ips = |l: &[&str]| {
        l.iter()
            .map(|s| s.parse().unwrap())
            .collect::<Vec<IpAddr>>()
    };
    model
        .add_ingress(
            &parse_ingress_ports("80:30080").unwrap(),
            &ips(&["192.0.2.11", "192.0.2.12"]),
            &ips(&["192.0.2.100"]),
        )
        .unwrap();
    model.exporter = exporter;
    model
}

fn haproxy_check(cfg: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let out = Command::new("haproxy")
        .args(["-c", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "haproxy -c rejected:\n{cfg}\n{stderr}"
    );
    assert!(
        !stderr.contains("[WARNING]"),
        "haproxy -c warned:\n{cfg}\n{stderr}"
    );
}

#[test]
fn the_exporter_frontend_renders_only_when_asked_and_passes_haproxy_check() {
    if !skip::need_program("haproxy") {
        return;
    }
    let without = render_haproxy_cfg(&model(Path::new("/"), None)).unwrap();
    assert!(!without.contains("prometheus"), "{without}");
    let at: SocketAddr = "192.0.2.11:8404".parse().unwrap();
    let with = render_haproxy_cfg(&model(Path::new("/"), Some(at))).unwrap();
    assert!(with.contains("frontend prometheus"), "{with}");
    assert!(with.contains("    bind 192.0.2.11:8404\n"), "{with}");
    assert!(with.contains("use-service prometheus-exporter if { path /metrics }"));
    haproxy_check(&with);
    // The exporter's port counts in port-conflict detection.
    assert!(model(Path::new("/"), Some(at))
        .bind_addresses()
        .contains(&at));
}

/// `curl` from the lab's client: (HTTP status, body).
fn get(lab: &Lab, url: &str) -> (String, String) {
    let out = lab.exec(
        lab.client(),
        &["curl", "-s", "-m", "2", "-w", "\n%{http_code}", url],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_string(), body.to_string())
}

#[test]
fn a_running_haproxy_serves_metrics_on_the_unit_address_only_at_metrics() {
    if !skip::need_root() || !skip::need_program("haproxy") || !skip::need_program("curl") {
        return;
    }
    let lab = Lab::new("promex", 1);
    let unit = lab.unit(0).clone();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("run/k8s-vip")).unwrap();
    let at = SocketAddr::new(IpAddr::V4(unit.ipv4), HAPROXY_EXPORTER_PORT);
    let cfg = render_haproxy_cfg(&model(root.path(), Some(at))).unwrap();
    let cfg_path = root.path().join("haproxy.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let haproxy = lab.spawn(&unit, &["haproxy", "-db", "-f", cfg_path.to_str().unwrap()]);
    let url = format!("http://{at}/metrics");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (code, body) = loop {
        let answer = get(&lab, &url);
        if answer.0 == "200" || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        code,
        "200",
        "no metrics at {url}; haproxy said:\n{}",
        haproxy.log()
    );
    assert!(body.contains("# TYPE haproxy_process_"), "{body}");
    assert!(body.contains("haproxy_backend_status"), "{body}");
    let (code, _) = get(&lab, &format!("http://{at}/"));
    assert_eq!(code, "404");
}
