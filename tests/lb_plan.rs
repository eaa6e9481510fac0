//! The load balancer inside the charm's plan: kubernetes-control-plane's two
//! requests go through the charm's lb-consumers provider, the one the VIP
//! cannot serve directly gets an HAProxy frontend, and the response names the VIP.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use k8s_vip::charm::haproxy::names::{HAPROXY_CONFIG, HAPROXY_SERVICE, HAPROXY_UNIT_FILE};
use k8s_vip::charm::haproxy::options::LbOptions;
use k8s_vip::charm::haproxy::options::LoadBalancerMode;
use k8s_vip::charm::haproxy::plan::{plan_load_balancer, teardown_load_balancer, LbInputs};
use k8s_vip::charm::lb_consumers::{answer, proxy_needs, ProviderContext};
use k8s_vip::charm::plan::{FileSpec, ServiceAction, ServiceState, When};
use k8s_vip::charm::types::BackendHealth;
use k8s_vip::charm::types::ConsumerRelation;
use k8s_vip::charm::types::PortOwners;
use k8s_vip::charm::types::{Listener, Owner};

const EXTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "0d5b1b0f3a1c4e1b9a4c1e5d6f7a8b9c", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "9a0b5d0e6c2f4a3b8e1d7c6b5a4f3e2d", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
const INTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": "api-server-internal", "port_mapping": {"6443": 6443}, "protocol": "tcp", "public": false, "sent_hash": "4f4a9a40ec63ae08000f439c6786ea09", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn relation(request: &str) -> ConsumerRelation {
    let name: String = serde_json::from_str::<serde_json::Value>(request).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let units = (11..=13)
        .map(|i| {
            (
                format!("kubernetes-control-plane/{}", i - 11),
                BTreeMap::from([("ingress-address".to_string(), format!("192.0.2.{i}"))]),
            )
        })
        .collect();
    ConsumerRelation {
        id: "lb-consumers:7".into(),
        remote_app: Some("kubernetes-control-plane".into()),
        remote_app_data: BTreeMap::from([
            ("version".to_string(), "1".to_string()),
            (format!("request_{name}"), request.to_string()),
        ]),
        remote_units: units,
        our_app_data: BTreeMap::new(),
    }
}

struct World {
    options: LbOptions,
    vips: Vec<IpAddr>,
    units: Vec<IpAddr>,
    listeners: Vec<Listener>,
    installed: bool,
    service: ServiceState,
    health: Option<Vec<BackendHealth>>,
}

impl World {
    fn new() -> World {
        World {
            options: LbOptions::from_config(&serde_json::Map::new()).unwrap(),
            vips: vec![ip("192.0.2.100")],
            units: vec![ip("192.0.2.11"), ip("192.0.2.12"), ip("192.0.2.13")],
            listeners: vec![],
            installed: false,
            service: ServiceState::default(),
            health: None,
        }
    }

    fn inputs(&self) -> LbInputs<'_> {
        LbInputs {
            options: &self.options,
            vips: &self.vips,
            unit_addresses: &self.units,
            root: Path::new("/"),
            haproxy_installed: self.installed,
            haproxy_installed_by_us: self.installed,
            service: self.service,
            distro_service: ServiceState::default(),
            listeners: &self.listeners,
            health: self.health.as_deref(),
            exporter: None,
            check_with: None,
            port_owners: &NO_OWNERS,
        }
    }
}

/// The planned haproxy.cfg among `files` (the test fails when there is none).
fn haproxy_cfg(files: &[FileSpec]) -> &str {
    &files
        .iter()
        .find(|f| f.path == HAPROXY_CONFIG)
        .expect("haproxy.cfg planned")
        .content
}

static NO_OWNERS: PortOwners = PortOwners::new();

fn ctx<'a>(w: &'a World, me: &'a [IpAddr]) -> ProviderContext<'a> {
    ProviderContext {
        vips: &w.vips,
        hostname: None,
        my_addrs: me,
        peer_addrs: &w.units,
        port_owners: &NO_OWNERS,
        cluster_relation: None,
    }
}

fn response(
    rel: &ConsumerRelation,
    c: &ProviderContext<'_>,
    outcome: &k8s_vip::charm::types::ProxyOutcome,
    name: &str,
) -> serde_json::Value {
    let ans = answer(rel, c, outcome);
    serde_json::from_str(
        ans.app_data
            .get(&format!("response_{name}"))
            .expect("response written"),
    )
    .unwrap()
}

#[test]
fn external_request_gets_a_frontend_and_the_vip_internal_stays_direct() {
    let w = World::new();
    let me = [ip("192.0.2.11")];
    let c = ctx(&w, &me);
    let ext = relation(EXTERNAL);
    let int = relation(INTERNAL);
    let needs = proxy_needs(&[ext.clone(), int.clone()], &c);
    assert_eq!(needs.len(), 1, "6443 -> 6443 is direct here: {needs:?}");
    let lb = plan_load_balancer(&needs, &w.inputs());
    assert_eq!(lb.blocked, None);
    assert!(lb.outcome.rejected.is_empty(), "{:?}", lb.outcome.rejected);
    assert_eq!(
        lb.install_packages,
        ["haproxy"],
        "auto installs HAProxy when needed"
    );
    let cfg = haproxy_cfg(&lb.outcome.files);
    assert!(cfg.contains("frontend api-server-external-443"), "{cfg}");
    assert!(cfg.contains("bind 192.0.2.100:443"), "{cfg}");
    assert!(!cfg.contains("api-server-internal"), "{cfg}");
    for s in ["192.0.2.11:6443", "192.0.2.12:6443", "192.0.2.13:6443"] {
        assert!(cfg.contains(s), "{cfg}");
    }
    assert!(lb.outcome.files.iter().any(|f| f.path == HAPROXY_UNIT_FILE));
    let starts: Vec<_> = lb
        .outcome
        .services
        .iter()
        .filter(|s| s.unit == HAPROXY_SERVICE)
        .map(|s| s.action)
        .collect();
    assert_eq!(
        starts,
        [
            ServiceAction::DaemonReload,
            ServiceAction::Enable,
            ServiceAction::Start
        ]
    );
    assert_eq!(lb.agent_check_url, Some("http://127.0.0.1:9744/healthz"));

    let r = response(&ext, &c, &lb.outcome, "api-server-external");
    assert_eq!(r["address"], "192.0.2.100", "{r}");
    assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    assert_eq!(r["received_hash"], "9a0b5d0e6c2f4a3b8e1d7c6b5a4f3e2d");
    let r = response(&int, &c, &lb.outcome, "api-server-internal");
    assert_eq!(r["address"], "192.0.2.100", "{r}");
}

#[test]
fn running_haproxy_is_reloaded_only_on_change_and_reports_backends() {
    let mut w = World::new();
    w.installed = true;
    w.service = ServiceState {
        active: true,
        enabled: true,
    };
    w.health = Some(vec![BackendHealth {
        backend: "api-server-external-443".into(),
        up: 2,
        total: 3,
        down: vec!["192.0.2.13".into()],
    }]);
    let me = [ip("192.0.2.11")];
    let needs = proxy_needs(&[relation(EXTERNAL)], &ctx(&w, &me));
    let lb = plan_load_balancer(&needs, &w.inputs());
    assert!(lb.install_packages.is_empty());
    let ops: Vec<_> = lb
        .outcome
        .services
        .iter()
        .filter(|s| s.unit == HAPROXY_SERVICE)
        .map(|s| (s.action, s.when.clone()))
        .collect();
    assert!(
        ops.contains(&(
            ServiceAction::Reload,
            When::Changed {
                any_of: vec![HAPROXY_CONFIG.into()],
                unless: vec![HAPROXY_UNIT_FILE.into()],
            }
        )),
        "{ops:?}"
    );
    assert!(ops
        .iter()
        .all(|(a, w)| *a != ServiceAction::Restart || *w == When::changed(HAPROXY_UNIT_FILE)));
    assert!(!ops.iter().any(|(a, _)| *a == ServiceAction::Start));
    assert_eq!(lb.status_suffix.as_deref(), Some("2/3 API servers up"));
}

#[test]
fn load_balancer_off_refuses_requests_that_need_a_proxy() {
    let mut w = World::new();
    w.options.mode = LoadBalancerMode::Off;
    let me = [ip("192.0.2.11")];
    let c = ctx(&w, &me);
    let ext = relation(EXTERNAL);
    let needs = proxy_needs(std::slice::from_ref(&ext), &c);
    let lb = plan_load_balancer(&needs, &w.inputs());
    assert!(lb.install_packages.is_empty());
    assert!(lb.outcome.files.is_empty());
    let r = response(&ext, &c, &lb.outcome, "api-server-external");
    assert_eq!(r["address"], serde_json::Value::Null, "{r}");
    assert!(
        r["error_fields"]["port_mapping"]
            .as_str()
            .unwrap()
            .contains("load-balancer=off"),
        "{r}"
    );
}

#[test]
fn auto_without_needs_installs_nothing_and_on_runs_haproxy_anyway() {
    let mut w = World::new();
    let lb = plan_load_balancer(&[], &w.inputs());
    assert!(lb.install_packages.is_empty());
    assert!(lb.outcome.files.is_empty());
    assert!(lb.outcome.services.is_empty());
    assert_eq!(lb.agent_check_url, None);

    w.options.mode = LoadBalancerMode::On;
    let lb = plan_load_balancer(&[], &w.inputs());
    assert_eq!(lb.install_packages, ["haproxy"]);
    assert!(lb.outcome.files.iter().any(|f| f.path == HAPROXY_CONFIG));
}

#[test]
fn a_held_port_refuses_that_request_alone_and_the_unit_runs_on() {
    let mut w = World::new();
    w.listeners = vec![Listener {
        addr: "0.0.0.0:443".parse().unwrap(),
        owners: vec![Owner {
            pid: 812,
            name: "nginx".into(),
            cmdline: "nginx: master process".into(),
            ..Owner::default()
        }],
    }];
    let me = [ip("192.0.2.11")];
    let c = ctx(&w, &me);
    let ext = relation(EXTERNAL);
    let lb = plan_load_balancer(&proxy_needs(std::slice::from_ref(&ext), &c), &w.inputs());
    assert_eq!(lb.blocked, None, "one request never blocks the unit");
    let r = response(&ext, &c, &lb.outcome, "api-server-external");
    assert_eq!(r["address"], serde_json::Value::Null, "{r}");
    assert_eq!(r["error"], "provider_error", "{r}");
    let why = r["error_fields"]["port_mapping"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("port 443 is held by nginx (pid 812)"), "{r}");
}

#[test]
fn a_held_monitor_port_blocks_the_unit_and_writes_nothing() {
    let mut w = World::new();
    w.listeners = vec![Listener {
        addr: "127.0.0.1:9744".parse().unwrap(),
        owners: vec![Owner {
            pid: 77,
            name: "python3".into(),
            ..Owner::default()
        }],
    }];
    let me = [ip("192.0.2.11")];
    let c = ctx(&w, &me);
    let ext = relation(EXTERNAL);
    let lb = plan_load_balancer(&proxy_needs(std::slice::from_ref(&ext), &c), &w.inputs());
    let blocked = lb.blocked.clone().expect("blocked");
    assert!(
        blocked.contains("port 9744 is held by python3 (pid 77)"),
        "{blocked}"
    );
    assert!(lb.outcome.files.is_empty(), "nothing half-applied");
    assert!(lb.outcome.services.is_empty());
}

#[test]
fn worker_ingress_comes_from_the_option_and_peers() {
    let mut cfg = serde_json::Map::new();
    cfg.insert("ingress-ports".into(), "80:30080 443:30443".into());
    cfg.insert("lb-timeout".into(), "2h".into());
    let mut w = World::new();
    w.options = LbOptions::from_config(&cfg).unwrap();
    let lb = plan_load_balancer(&[], &w.inputs());
    let text = haproxy_cfg(&lb.outcome.files);
    assert!(text.contains("frontend ingress-80"), "{text}");
    assert!(
        text.contains("server 192.0.2.13 192.0.2.13:30443"),
        "{text}"
    );
    assert!(text.contains("timeout client 7200s"), "{text}");

    // ingress-ports without the load balancer is a contradiction: blocked.
    w.options.mode = LoadBalancerMode::Off;
    let lb = plan_load_balancer(&[], &w.inputs());
    let blocked = lb.blocked.expect("blocked");
    assert!(blocked.starts_with("ingress-ports"), "{blocked}");

    // No VIP yet: blocked, not an invalid haproxy.cfg.
    w.options.mode = LoadBalancerMode::Auto;
    w.vips.clear();
    let lb = plan_load_balancer(&[], &w.inputs());
    assert_eq!(
        lb.blocked.as_deref(),
        Some("ingress-ports: no virtual-ip to listen on")
    );

    cfg.insert("ingress-ports".into(), "80".into());
    let err = LbOptions::from_config(&cfg).unwrap_err();
    assert_eq!(err.option, "ingress-ports");
    cfg.insert("ingress-ports".into(), "".into());
    cfg.insert("load-balancer".into(), "maybe".into());
    assert_eq!(
        LbOptions::from_config(&cfg).unwrap_err().option,
        "load-balancer"
    );
}

#[test]
fn teardown_stops_removes_and_purges_what_we_installed() {
    let mut w = World::new();
    w.installed = true;
    w.service = ServiceState {
        active: true,
        enabled: true,
    };
    let lb = teardown_load_balancer(&w.inputs());
    let ops: Vec<_> = lb
        .outcome
        .services
        .iter()
        .map(|s| (s.unit.as_str(), s.action))
        .collect();
    assert_eq!(
        ops,
        [
            (HAPROXY_SERVICE, ServiceAction::Stop),
            (HAPROXY_SERVICE, ServiceAction::Disable)
        ]
    );
    assert!(lb.remove_files.contains(&HAPROXY_CONFIG.to_string()));
    assert!(lb.remove_files.contains(&HAPROXY_UNIT_FILE.to_string()));
    assert_eq!(lb.purge_packages, ["haproxy"]);
}

mod seam {
    //! The HAProxy planner in the charm's terms: `haproxy::seam::plan_proxy` / `teardown_proxy`.

    use super::*;
    use k8s_vip::charm::config;
    use k8s_vip::charm::haproxy::seam::{plan_proxy, teardown_proxy};
    use k8s_vip::charm::plan::Inputs;
    use k8s_vip::charm::types::HealthCheck;
    use k8s_vip::charm::types::LbWorld;
    use k8s_vip::charm::types::Peer;

    fn inputs(extra: &[(&str, &str)]) -> Inputs {
        let mut cfg = serde_json::Map::new();
        cfg.insert("virtual-ip".into(), "192.0.2.100/24".into());
        for (k, v) in extra {
            cfg.insert((*k).into(), (*v).into());
        }
        let mut i = Inputs {
            unit: "k8s-vip/0".into(),
            app: "k8s-vip".into(),
            config: cfg,
            root: "/".into(),
            ..Inputs::default()
        };
        i.network.ingress = vec![ip("192.0.2.11")];
        i.peers = (12..=13)
            .map(|n| Peer {
                unit: format!("k8s-vip/{}", n - 11),
                data: BTreeMap::from([("address".to_string(), format!("192.0.2.{n}"))]),
            })
            .collect();
        i.consumers = vec![relation(EXTERNAL), relation(INTERNAL)];
        i
    }

    /// What the seam's unit (`inputs`: 192.0.2.11, peers .12 and .13) offers
    /// for the VIP 192.0.2.100.
    fn unit0_context() -> ProviderContext<'static> {
        static ME: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11))];
        static PEERS: [IpAddr; 2] = [
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 13)),
        ];
        static VIPS: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))];
        ProviderContext {
            vips: &VIPS,
            hostname: None,
            my_addrs: &ME,
            peer_addrs: &PEERS,
            port_owners: &NO_OWNERS,
            cluster_relation: None,
        }
    }

    #[test]
    fn plan_proxy_serves_the_external_request_and_adds_the_haproxy_check() {
        let i = inputs(&[]);
        let cfg = config::parse(&i.config, &i.app).unwrap();
        let c = unit0_context();
        let needs = proxy_needs(&i.consumers, &c);
        let out = plan_proxy(&needs, &i, &cfg, &LbWorld::default());
        assert_eq!(out.blocked, None);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert_eq!(out.install_packages, ["haproxy"]);
        assert_eq!(
            out.auto_checks,
            vec![HealthCheck::Http {
                url: "http://127.0.0.1:9744/healthz".into()
            }]
        );
        let r = response(&i.consumers[0], &c, &out, "api-server-external");
        assert_eq!(r["address"], "192.0.2.100", "{r}");
    }

    #[test]
    fn worker_ingress_backends_are_this_unit_and_its_peers() {
        let i = inputs(&[("ingress-ports", "80:30080")]);
        let cfg = config::parse(&i.config, &i.app).unwrap();
        let out = plan_proxy(&[], &i, &cfg, &LbWorld::default());
        let text = haproxy_cfg(&out.files);
        for n in 11..=13 {
            assert!(text.contains(&format!("192.0.2.{n}:30080")), "{text}");
        }
    }

    #[test]
    fn bad_options_block_naming_the_option() {
        let i = inputs(&[("lb-timeout", "30s")]);
        let cfg = config::parse(&i.config, &i.app).unwrap();
        let out = plan_proxy(&[], &i, &cfg, &LbWorld::default());
        assert!(
            out.blocked
                .as_deref()
                .unwrap_or("")
                .starts_with("lb-timeout: "),
            "{out:?}"
        );
        assert!(out.files.is_empty());
    }

    #[test]
    fn status_note_and_teardown() {
        let i = inputs(&[]);
        let cfg = config::parse(&i.config, &i.app).unwrap();
        let world = LbWorld {
            haproxy_installed: true,
            haproxy_installed_by_us: true,
            service: ServiceState {
                active: true,
                enabled: true,
            },
            health: Some(vec![BackendHealth {
                backend: "api-server-external-443".into(),
                up: 3,
                total: 3,
                down: vec![],
            }]),
            ..LbWorld::default()
        };
        let c = unit0_context();
        let out = plan_proxy(&proxy_needs(&i.consumers, &c), &i, &cfg, &world);
        assert_eq!(out.status_note.as_deref(), Some("3/3 API servers up"));
        let down = teardown_proxy(&i, &world);
        assert_eq!(down.purge_packages, ["haproxy"]);
        assert!(down.remove_files.contains(&HAPROXY_CONFIG.to_string()));
        assert!(down
            .services
            .iter()
            .any(|s| s.unit == HAPROXY_SERVICE && s.action == ServiceAction::Stop));
    }
}

#[test]
fn lb_world_reads_package_marker_and_listeners() {
    use k8s_vip::charm::haproxy::names::HAPROXY_INSTALLED_MARKER;
    use k8s_vip::charm::types::LbWorld;
    let root = tempfile::tempdir().unwrap();
    let sys = k8s_vip::charm::system::System::with_root(root.path());
    // /proc under the root is the machine's own, as on a unit.
    std::os::unix::fs::symlink("/proc", root.path().join("proc")).unwrap();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let w = LbWorld::gather(&sys);
    assert!(!w.haproxy_installed_by_us, "no marker yet");
    assert_eq!(w.health, None, "no stats socket, no health");
    assert!(
        w.listeners
            .iter()
            .any(|l| l.addr == held.local_addr().unwrap()),
        "listeners come from /proc/net"
    );
    for p in [
        "usr/sbin/haproxy",
        HAPROXY_INSTALLED_MARKER.trim_start_matches('/'),
    ] {
        let p = root.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
    let w = LbWorld::gather(&sys);
    assert!(w.haproxy_installed && w.haproxy_installed_by_us);
}
