//! The load balancer in real network namespaces (root): three fake API servers
//! (TLS, /livez), k8s-vip units running real HAProxy with configs rendered by
//! the charm for the requests kubernetes-control-plane sends, and a client
//! talking HTTPS to the VIP.

mod lb_support;
mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_vip::charm::haproxy::stats::status_fragment;

use lb_support::{api_model, health, reload, start_haproxy, unit_root, wait_up, Assets};
use support::netns::{require_root, wait_for, Lab};

const VIP: &str = "192.0.2.100";
/// Check timing of the tests (the request's interval and retries).
const INTERVAL: u32 = 1;
const RETRIES: u32 = 2;

/// Units 0-2: API servers; unit 3: the k8s-vip unit holding the VIP.
fn api_servers(lab: &Lab) -> Vec<IpAddr> {
    (0..3).map(|i| IpAddr::V4(lab.unit(i).ipv4)).collect()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v["counts"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn api_servers_behind_the_vip_get_all_traffic_and_health_checks() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbapi", 4);
    let assets = Assets::create(lab.dir());
    let _servers: Vec<_> = (0..3)
        .map(|i| assets.start_api_server(&lab, lab.unit(i), &format!("api{i}"), 6443))
        .collect();
    let lb = lab.unit(3);
    lab.exec_ok(
        lb,
        &["ip", "addr", "add", &format!("{VIP}/24"), "dev", "eth0"],
    );
    let model = api_model(
        &unit_root(&lab, lb),
        &[VIP.parse().unwrap()],
        &api_servers(&lab),
        INTERVAL,
        RETRIES,
    );
    let _haproxy = start_haproxy(&lab, lb, &model);
    wait_up(&model, 3, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("backends never all UP: {:?}", health(&model)));
    assert_eq!(
        status_fragment(&model, &health(&model)),
        "3/3 API servers up"
    );

    // Both requested frontends spread over all three API servers.
    for port in ["443", "6443"] {
        let out = assets.client(&lab, &["spread", VIP, port, "30"]);
        assert_eq!(out["failures"], serde_json::json!([]), "port {port}: {out}");
        assert_eq!(names(&out), ["api0", "api1", "api2"], "port {port}: {out}");
    }

    // An API server answering /livez with 500 is taken out within
    // interval × retries (plus one check timeout of slack).
    let bound = Duration::from_secs(u64::from(INTERVAL * RETRIES) + 5);
    std::fs::write(assets.unhealthy_flag("api1"), "").unwrap();
    let took = wait_up(&model, 2, bound)
        .unwrap_or_else(|| panic!("unhealthy api1 still UP: {:?}", health(&model)));
    eprintln!("unhealthy backend marked DOWN after {took:?}");
    assert_eq!(
        status_fragment(&model, &health(&model)),
        "2/3 API servers up"
    );
    let down: Vec<String> = health(&model).iter().flat_map(|b| b.down.clone()).collect();
    assert!(down.iter().all(|s| s == "192.0.2.12"), "{down:?}");
    let out = assets.client(&lab, &["spread", VIP, "443", "20"]);
    assert_eq!(out["failures"], serde_json::json!([]), "{out}");
    assert_eq!(names(&out), ["api0", "api2"], "{out}");

    // Healthy again → back in the pool.
    std::fs::remove_file(assets.unhealthy_flag("api1")).unwrap();
    wait_up(&model, 3, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("recovered api1 not UP: {:?}", health(&model)));
}

#[test]
fn a_stopped_api_server_leaves_the_pool_and_clients_never_fail_after() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbstop", 4);
    let assets = Assets::create(lab.dir());
    let mut servers: Vec<_> = (0..3)
        .map(|i| assets.start_api_server(&lab, lab.unit(i), &format!("api{i}"), 6443))
        .collect();
    let lb = lab.unit(3);
    lab.exec_ok(
        lb,
        &["ip", "addr", "add", &format!("{VIP}/24"), "dev", "eth0"],
    );
    let model = api_model(
        &unit_root(&lab, lb),
        &[VIP.parse().unwrap()],
        &api_servers(&lab),
        INTERVAL,
        RETRIES,
    );
    let _haproxy = start_haproxy(&lab, lb, &model);
    wait_up(&model, 3, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("backends never all UP: {:?}", health(&model)));

    let stopped = Instant::now();
    servers[2].kill();
    let bound = Duration::from_secs(u64::from(INTERVAL * RETRIES) + 5);
    wait_up(&model, 2, bound).unwrap_or_else(|| panic!("dead api2 still UP: {:?}", health(&model)));
    eprintln!("stopped backend marked DOWN after {:?}", stopped.elapsed());

    let out = assets.client(&lab, &["poll", VIP, "443", "3", "20"]);
    assert_eq!(out["failures"], serde_json::json!([]), "{out}");
    assert_eq!(names(&out), ["api0", "api1"], "{out}");
}

#[test]
fn reload_with_a_changed_backend_set_drops_no_established_connection() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbrel", 5);
    let assets = Assets::create(lab.dir());
    let _servers: Vec<_> = (0..4)
        .filter(|i| *i != 3)
        .map(|i| assets.start_api_server(&lab, lab.unit(i), &format!("api{i}"), 6443))
        .collect();
    // Unit 3 becomes a fourth API server later; unit 4 is the k8s-vip unit.
    let lb = lab.unit(4);
    lab.exec_ok(
        lb,
        &["ip", "addr", "add", &format!("{VIP}/24"), "dev", "eth0"],
    );
    let root = unit_root(&lab, lb);
    let vips = [VIP.parse().unwrap()];
    let model = api_model(&root, &vips, &api_servers(&lab), INTERVAL, RETRIES);
    let haproxy = start_haproxy(&lab, lb, &model);
    wait_up(&model, 3, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("backends never all UP: {:?}", health(&model)));

    // Six keep-alive connections (two per API server) held through the reload,
    // and a poller making new connections all along.
    let ready = lab.dir().join("hold.ready");
    let client = assets.client.to_str().unwrap().to_string();
    let ready_s = ready.to_str().unwrap().to_string();
    let holder = lab.spawn(
        lab.client(),
        "hold",
        &["python3", &client, "hold", VIP, "443", "6", "8", &ready_s],
    );
    wait_for(Duration::from_secs(10), || ready.exists())
        .unwrap_or_else(|| panic!("held connections not opened: {}", holder.log()));
    let poller = lab.spawn(
        lab.client(),
        "poll",
        &["python3", &client, "poll", VIP, "443", "5", "20"],
    );

    // New backend set: api2 removed, api3 added.
    let _api3 = assets.start_api_server(&lab, lab.unit(3), "api3", 6443);
    let new_set: Vec<IpAddr> = [0, 1, 3]
        .iter()
        .map(|i| IpAddr::V4(lab.unit(*i).ipv4))
        .collect();
    let new_model = api_model(&root, &vips, &new_set, INTERVAL, RETRIES);
    std::thread::sleep(Duration::from_secs(1));
    reload(&haproxy, &new_model);
    wait_up(&new_model, 3, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("new backend set not UP: {:?}", health(&new_model)));

    let mut holder = holder;
    let mut poller = poller;
    holder
        .wait_timeout(Duration::from_secs(30))
        .expect("hold client finished");
    poller
        .wait_timeout(Duration::from_secs(30))
        .expect("poll client finished");
    let held: serde_json::Value = serde_json::from_str(holder.log().trim())
        .unwrap_or_else(|e| panic!("hold output: {e}: {}", holder.log()));
    assert_eq!(held["failures"], serde_json::json!([]), "{held}");
    assert!(held["requests"].as_u64().unwrap_or(0) > 100, "{held}");
    let mut held_on: Vec<String> = held["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect();
    held_on.sort();
    held_on.dedup();
    assert_eq!(
        held_on,
        ["api0", "api1", "api2"],
        "connections spread before the reload"
    );
    let polled: serde_json::Value = serde_json::from_str(poller.log().trim())
        .unwrap_or_else(|e| panic!("poll output: {e}: {}", poller.log()));
    assert_eq!(polled["failures"], serde_json::json!([]), "{polled}");

    // After the reload new connections go to the new set only.
    let out = assets.client(&lab, &["spread", VIP, "443", "30"]);
    assert_eq!(out["failures"], serde_json::json!([]), "{out}");
    assert_eq!(names(&out), ["api0", "api1", "api3"], "{out}");
}
