//! The load balancer in real network namespaces (root): three fake API servers
//! (TLS, /livez), k8s-vip units running real HAProxy with configs rendered by
//! the charm for the requests kubernetes-control-plane sends, and a client
//! talking HTTPS to the VIP.

mod lb_support;
mod support;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use k8s_vip::charm::haproxy::options::parse_ingress_ports;
use k8s_vip::charm::haproxy::stats::status_fragment;
use k8s_vip::charm::haproxy::{HaproxyPaths, LoadBalancerModel, Timeouts};

use lb_support::{
    add_address, api_model, client_report, expect_up, health, monitor_status, reload,
    start_haproxy, unit_root, Assets,
};
use support::netns::{require_root, wait_for, Lab, Node, Prober, Proc};

const VIP: &str = "192.0.2.100";
const VIP6: &str = "2001:db8::100";
/// Check timing of the tests (the request's interval and retries).
const INTERVAL: u32 = 1;
const RETRIES: u32 = 2;

/// Units 0-2: API servers; unit 3: the k8s-vip unit holding the VIP.
fn api_servers(lab: &Lab) -> Vec<IpAddr> {
    (0..3).map(|i| IpAddr::V4(lab.unit(i).ipv4)).collect()
}

/// An empty load-balancer model for `node` (idle timeout 1 h), for the
/// tests that add their own frontends.
fn empty_model(lab: &Lab, node: &Node) -> LoadBalancerModel {
    LoadBalancerModel::new(
        HaproxyPaths::under(&unit_root(lab, node)),
        Timeouts::with_idle(Duration::from_secs(3600)),
    )
}

/// Ingress "80:30080" to the NodePorts of the three workers (units 0-2) on
/// `vips`, HAProxy started on every worker; returns their models and HAProxy
/// processes, in unit order.
fn ingress_on_every_worker(lab: &Lab, vips: &[IpAddr]) -> (Vec<LoadBalancerModel>, Vec<Proc>) {
    let workers: Vec<IpAddr> = (0..3).map(|i| IpAddr::V4(lab.unit(i).ipv4)).collect();
    let ports = parse_ingress_ports("80:30080").unwrap();
    let mut models = Vec::new();
    let mut haproxies = Vec::new();
    for i in 0..3 {
        let mut model = empty_model(lab, lab.unit(i));
        model.add_ingress(&ports, &workers, vips).unwrap();
        haproxies.push(start_haproxy(lab, lab.unit(i), &model));
        models.push(model);
    }
    (models, haproxies)
}

/// Connects `n` times to `addr` from the client and returns who answered
/// (sorted, once each); every connection must be answered.
fn answered_by(prober: &Prober, addr: SocketAddr, n: usize) -> Vec<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..n {
        let got = prober.probe(addr, Duration::from_secs(2));
        seen.insert(got.unwrap_or_else(|| panic!("{addr} did not answer")));
    }
    seen.into_iter().collect()
}

#[test]
fn api_servers_behind_the_vip_get_all_traffic_and_health_checks() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbapi", 4);
    let assets = Assets::create(lab.dir());
    let _servers = assets.start_api_servers(&lab, 0..3);
    let lb = lab.unit(3);
    add_address(&lab, lb, &format!("{VIP}/24"));
    lab.exec_ok(
        lb,
        &[
            "ip",
            "addr",
            "add",
            &format!("{VIP6}/64"),
            "dev",
            "eth0",
            "nodad",
        ],
    );
    let model = api_model(
        &unit_root(&lab, lb),
        &[VIP.parse().unwrap(), VIP6.parse().unwrap()],
        &api_servers(&lab),
        INTERVAL,
        RETRIES,
    );
    let _haproxy = start_haproxy(&lab, lb, &model);
    expect_up(&model, 3, Duration::from_secs(15), "backends never all UP");
    assert_eq!(
        status_fragment(&model, &health(&model)),
        "3/3 API servers up"
    );

    // Both requested frontends, on the IPv4 and the IPv6 VIP, spread over
    // all three API servers.
    for vip in [VIP, VIP6] {
        for port in ["443", "6443"] {
            assets.expect_answers(
                &lab,
                &["spread", vip, port, "30"],
                &["api0", "api1", "api2"],
            );
        }
    }

    // An API server answering /livez with 500 is taken out within
    // interval × retries (plus one check timeout of slack).
    let bound = Duration::from_secs(u64::from(INTERVAL * RETRIES) + 5);
    std::fs::write(assets.unhealthy_flag("api1"), "").unwrap();
    let took = expect_up(&model, 2, bound, "unhealthy api1 still UP");
    eprintln!("unhealthy backend marked DOWN after {took:?}");
    assert_eq!(
        status_fragment(&model, &health(&model)),
        "2/3 API servers up"
    );
    let down: Vec<String> = health(&model).iter().flat_map(|b| b.down.clone()).collect();
    assert!(down.iter().all(|s| s == "192.0.2.12"), "{down:?}");
    assets.expect_answers(&lab, &["spread", VIP, "443", "20"], &["api0", "api2"]);

    // Healthy again → back in the pool.
    std::fs::remove_file(assets.unhealthy_flag("api1")).unwrap();
    expect_up(&model, 3, Duration::from_secs(15), "recovered api1 not UP");
}

#[test]
fn a_stopped_api_server_leaves_the_pool_and_clients_never_fail_after() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbstop", 4);
    let assets = Assets::create(lab.dir());
    let mut servers = assets.start_api_servers(&lab, 0..3);
    let lb = lab.unit(3);
    add_address(&lab, lb, &format!("{VIP}/24"));
    let model = api_model(
        &unit_root(&lab, lb),
        &[VIP.parse().unwrap()],
        &api_servers(&lab),
        INTERVAL,
        RETRIES,
    );
    let haproxy = start_haproxy(&lab, lb, &model);
    expect_up(&model, 3, Duration::from_secs(15), "backends never all UP");

    // Steady state first: HAProxy starts servers one failure away from DOWN.
    std::thread::sleep(Duration::from_secs(u64::from(INTERVAL * (RETRIES + 1))));
    let stopped = Instant::now();
    servers[2].kill();
    let bound = Duration::from_secs(u64::from(INTERVAL * RETRIES) + 5);
    expect_up(&model, 2, bound, "dead api2 still UP");
    eprintln!("stopped backend marked DOWN after {:?}", stopped.elapsed());

    assets.expect_answers(&lab, &["poll", VIP, "443", "3", "20"], &["api0", "api1"]);

    // The monitor endpoint the agent checks: healthy while a server is up in
    // every backend, failing once none is, and gone with HAProxy.
    assert_eq!(monitor_status(&lab, lb), Some(200));
    servers[0].kill();
    servers[1].kill();
    expect_up(&model, 0, Duration::from_secs(15), "dead servers still UP");
    assert_eq!(monitor_status(&lab, lb), Some(503));
    // systemctl stop: SIGTERM to the master, which stops its worker and exits.
    let mut haproxy = haproxy;
    haproxy.signal(nix::sys::signal::SIGTERM);
    haproxy
        .wait_timeout(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("HAProxy ignored SIGTERM: {}", haproxy.log()));
    assert_eq!(monitor_status(&lab, lb), None);
}

#[test]
fn reload_with_a_changed_backend_set_drops_no_established_connection() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbrel", 5);
    let assets = Assets::create(lab.dir());
    let _servers = assets.start_api_servers(&lab, [0, 1, 2]);
    // Unit 3 becomes a fourth API server later; unit 4 is the k8s-vip unit.
    let lb = lab.unit(4);
    add_address(&lab, lb, &format!("{VIP}/24"));
    let root = unit_root(&lab, lb);
    let vips = [VIP.parse().unwrap()];
    let model = api_model(&root, &vips, &api_servers(&lab), INTERVAL, RETRIES);
    let haproxy = start_haproxy(&lab, lb, &model);
    expect_up(&model, 3, Duration::from_secs(15), "backends never all UP");

    // Six keep-alive connections (two per API server) held through the reload,
    // and a poller making new connections all along.
    let mut holder = assets.start_holder(&lab, VIP, "443", "6", "8");
    let client = assets.client.to_str().unwrap().to_string();
    let mut poller = lab.spawn_logged(
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
    let old_worker = reload(&haproxy, &new_model);
    expect_up(
        &new_model,
        3,
        Duration::from_secs(15),
        "new backend set not UP",
    );

    let held = client_report(&mut holder, "hold");
    let polled = client_report(&mut poller, "poll");
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
    assert_eq!(polled["failures"], serde_json::json!([]), "{polled}");

    // Once its connections are gone the old worker exits (the master, root,
    // may signal the haproxy-user workers under the unit's capability set).
    wait_for(Duration::from_secs(10), || {
        !lb_support::process_alive(old_worker)
    })
    .unwrap_or_else(|| panic!("old worker {old_worker} lingers: {}", haproxy.log()));

    // After the reload new connections go to the new set only.
    assets.expect_answers(
        &lab,
        &["spread", VIP, "443", "30"],
        &["api0", "api1", "api3"],
    );
}

#[test]
fn worker_ingress_spreads_over_every_workers_nodeport() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbing", 3);
    // Every worker answers on its NodePort (kube-proxy's job in real life).
    let mut nodeports: Vec<_> = lab.serve_units(30080).into_iter().map(Some).collect();
    // HAProxy runs on every worker (the VIP may land on any); unit 0 holds it.
    let (models, _haproxies) = ingress_on_every_worker(&lab, &[VIP.parse().unwrap()]);
    add_address(&lab, lab.unit(0), &format!("{VIP}/24"));
    expect_up(
        &models[0],
        3,
        Duration::from_secs(15),
        "workers never all UP",
    );
    assert_eq!(
        status_fragment(&models[0], &health(&models[0])),
        "3/3 workers up"
    );

    let vip = support::netns::sock(VIP.parse::<IpAddr>().unwrap(), 80);
    let prober = lab.prober(lab.client());
    assert_eq!(answered_by(&prober, vip, 30), ["unit0", "unit1", "unit2"]);

    // A dead worker leaves the pool; afterwards every connection succeeds.
    // Let the checks reach full health (HAProxy starts servers one failure
    // away from DOWN), then measure from the kill: bound inter (2 s) × fall (3).
    std::thread::sleep(Duration::from_secs(6));
    let t0 = Instant::now();
    nodeports[1] = None;
    expect_up(
        &models[0],
        2,
        Duration::from_secs(6 + 5),
        "dead worker still UP",
    );
    eprintln!("dead worker marked DOWN after {:?}", t0.elapsed());
    // No connection fails after the worker left the pool.
    assert_eq!(answered_by(&prober, vip, 30), ["unit0", "unit2"]);
}

#[test]
fn a_port_held_by_another_process_in_the_unit_is_named() {
    if !require_root() {
        return;
    }
    use k8s_vip::charm::haproxy::ports::{blocked_message, find_conflicts, read_listeners};
    let lab = Lab::new("lbport", 1);
    let squatter = lab.spawn_logged(
        lab.unit(0),
        "squatter",
        &["python3", "-m", "http.server", "443", "--bind", "::"],
    );
    let net = std::path::PathBuf::from(format!("/proc/{}/net", squatter.pid()));
    let wanted = [support::netns::sock(VIP.parse::<IpAddr>().unwrap(), 443)];
    let mut conflicts = Vec::new();
    wait_for(Duration::from_secs(10), || {
        let listeners = read_listeners(&net, std::path::Path::new("/proc")).unwrap_or_default();
        conflicts = find_conflicts(&wanted, &listeners, &|_| false);
        !conflicts.is_empty()
    })
    .unwrap_or_else(|| panic!("squatter on 443 not seen: {}", squatter.log()));
    let msg = blocked_message(&conflicts);
    assert!(
        msg.contains(&format!(
            "port 443 is held by python3 (pid {})",
            squatter.pid()
        )),
        "{msg}"
    );
    // The same port in the host namespace is not this unit's business.
    let host = read_listeners(
        std::path::Path::new("/proc/self/net"),
        std::path::Path::new("/proc"),
    )
    .unwrap();
    assert!(host
        .iter()
        .all(|l| l.owners.iter().all(|o| o.pid != squatter.pid())));
}

#[test]
fn killing_haproxy_on_the_vip_holder_moves_the_vip() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lbkill", 5);
    let assets = Assets::create(lab.dir());
    let _servers = assets.start_api_servers(&lab, 0..3);
    // Units 3 and 4 run k8s-vip: HAProxy plus the agent checking HAProxy.
    let vips = [VIP.parse().unwrap()];
    let mut models = Vec::new();
    let mut haproxies = Vec::new();
    for i in [3, 4] {
        let model = api_model(
            &unit_root(&lab, lab.unit(i)),
            &vips,
            &api_servers(&lab),
            INTERVAL,
            RETRIES,
        );
        haproxies.push(Some(start_haproxy(&lab, lab.unit(i), &model)));
        models.push(model);
    }
    let addr = |i: usize| lab.unit(i).ipv4.to_string();
    let agents = [
        lb_support::start_agent(&lab, lab.unit(3), VIP, 110, &[addr(4)]),
        lb_support::start_agent(&lab, lab.unit(4), VIP, 100, &[addr(3)]),
    ];
    // Settled: one MASTER holding the VIP, one healthy BACKUP.
    let mut holder = None;
    wait_for(Duration::from_secs(10), || {
        let mut states: Vec<Option<String>> = agents
            .iter()
            .map(|(_, s)| lb_support::agent_state(s))
            .collect();
        states.sort();
        holder = lab.single_holder(VIP);
        holder.is_some() && states == [Some("BACKUP".to_string()), Some("MASTER".to_string())]
    })
    .unwrap_or_else(|| panic!("no settled VIP holder: {:?}", lab.holders(VIP)));
    let first = holder.unwrap();
    assets.expect_answers(
        &lab,
        &["spread", VIP, "443", "15"],
        &["api0", "api1", "api2"],
    );

    // HAProxy dies on the holder: its agent's check fails and the VIP moves.
    let killed = Instant::now();
    if let Some(mut p) = haproxies[first - 3].take() {
        p.kill();
    }
    let other = if first == 3 { 4 } else { 3 };
    wait_for(Duration::from_secs(10), || {
        lab.single_holder(VIP) == Some(other)
    })
    .unwrap_or_else(|| {
        panic!(
            "VIP did not move from unit{first} to unit{other}: holders {:?}",
            lab.holders(VIP)
        )
    });
    eprintln!("VIP moved {:?} after HAProxy was killed", killed.elapsed());
    assets.expect_answers(
        &lab,
        &["spread", VIP, "443", "15"],
        &["api0", "api1", "api2"],
    );
}

#[test]
fn active_active_vips_spread_over_units_and_survive_a_dead_haproxy() {
    if !require_root() {
        return;
    }
    // Three workers, three VIPs: each VIP its own VRRP instance, each unit
    // the preferred master of one; every HAProxy binds all three VIPs.
    let lab = Lab::new("lbaa", 3);
    let vips = ["192.0.2.101", "192.0.2.102", "192.0.2.103"];
    let _nodeports = lab.serve_units(30080);
    let vip_addrs: Vec<IpAddr> = vips.iter().map(|v| v.parse().unwrap()).collect();
    let (_models, haproxies) = ingress_on_every_worker(&lab, &vip_addrs);
    let mut haproxies: Vec<Option<Proc>> = haproxies.into_iter().map(Some).collect();
    let mut agents = Vec::new();
    for i in 0..3 {
        let instances: Vec<(String, u8, u8)> = (0..3)
            .map(|j| {
                let prio = if i == j {
                    150
                } else {
                    100 - 10 * ((i + 3 - j) % 3) as u8
                };
                (vips[j].to_string(), 61 + j as u8, prio)
            })
            .collect();
        let others: Vec<String> = (0..3)
            .filter(|k| *k != i)
            .map(|k| lab.unit(k).ipv4.to_string())
            .collect();
        agents.push(lb_support::start_agent_instances(
            &lab,
            lab.unit(i),
            &instances,
            &others,
            true,
        ));
    }
    let layout = || -> Vec<Vec<usize>> { vips.iter().map(|v| lab.holders(v)).collect() };
    wait_for(Duration::from_secs(10), || {
        layout() == [vec![0], vec![1], vec![2]]
    })
    .unwrap_or_else(|| panic!("VIPs not one per unit: {:?}", layout()));

    let prober = lab.prober(lab.client());
    let spread_through = |vip: &str| {
        answered_by(
            &prober,
            support::netns::sock(vip.parse::<IpAddr>().unwrap(), 80),
            15,
        )
    };
    for vip in vips {
        assert_eq!(
            spread_through(vip),
            ["unit0", "unit1", "unit2"],
            "via {vip}"
        );
    }

    // HAProxy dies on unit 1: its VIP moves to another unit; all three VIPs
    // keep answering and spreading.
    if let Some(mut p) = haproxies[1].take() {
        p.kill();
    }
    wait_for(Duration::from_secs(10), || {
        let l = layout();
        l.iter().all(|h| h.len() == 1) && !l.iter().any(|h| h == &vec![1])
    })
    .unwrap_or_else(|| panic!("VIP of unit1 did not move: {:?}", layout()));
    for vip in vips {
        assert_eq!(
            spread_through(vip),
            ["unit0", "unit1", "unit2"],
            "via {vip}"
        );
    }
}

#[test]
fn mixed_tcp_and_https_checks_really_check_livez() {
    if !require_root() {
        return;
    }
    use k8s_vip::charm::haproxy::{LbRequest, RequestContext};
    let lab = Lab::new("lbmix", 4);
    let assets = Assets::create(lab.dir());
    let _servers = assets.start_api_servers(&lab, 0..3);
    let lb = lab.unit(3);
    add_address(&lab, lb, &format!("{VIP}/24"));
    // A TCP check and an https /livez check: one tcp-check sequence.
    let req = LbRequest::from_json(
        &serde_json::json!({"name": "api-server-external", "protocol": "tcp",
            "port_mapping": {"443": 6443}, "backends": [],
            "health_checks": [
                {"protocol": "tcp", "port": 6443, "interval": INTERVAL, "retries": RETRIES},
                {"protocol": "https", "port": 6443, "path": "/livez", "interval": INTERVAL, "retries": RETRIES}
            ]})
        .to_string(),
    )
    .unwrap();
    let mut model = empty_model(&lab, lb);
    let servers = api_servers(&lab);
    model
        .add_request(
            &req,
            &RequestContext {
                vips: &[VIP.parse().unwrap()],
                consumer_addresses: &servers,
                any_backend: true,
                direct_ports: &Default::default(),
            },
        )
        .unwrap();
    assert!(model.frontends[0].backend.check.mixed);
    let _haproxy = start_haproxy(&lab, lb, &model);
    // Healthy servers pass the whole sequence (not just the initial UP state).
    std::thread::sleep(Duration::from_secs(u64::from(INTERVAL * (RETRIES + 1))));
    expect_up(&model, 3, Duration::from_secs(15), "healthy servers not UP");
    // /livez answering 500 fails the https step although TCP still connects.
    std::fs::write(assets.unhealthy_flag("api0"), "").unwrap();
    expect_up(
        &model,
        2,
        Duration::from_secs(u64::from(INTERVAL * RETRIES) + 5),
        "unhealthy api0 still UP",
    );
    assets.expect_answers(&lab, &["spread", VIP, "443", "10"], &["api1", "api2"]);
}
