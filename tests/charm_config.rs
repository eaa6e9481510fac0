//! Every charm option, valid and invalid: invalid values must name the option
//! and say what to fix.

use k8s_vip::charm::config::{parse, VipAgent, VrrpVersion};
use k8s_vip::charm::types::HealthCheck;
use k8s_vip::health_check::{Host, TcpTarget};
use serde_json::{json, Map, Value};

fn cfg(pairs: Value) -> Map<String, Value> {
    let mut base = json!({"virtual-ip": "192.0.2.100"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Value::Object(extra) = pairs {
        base.extend(extra);
    }
    base
}

fn bad(pairs: Value, option: &str, needle: &str) {
    match parse(&cfg(pairs.clone()), "k8s-vip") {
        Ok(c) => panic!("{pairs} accepted as {c:?}"),
        Err(e) => {
            assert_eq!(e.option, option, "{pairs}: {e}");
            assert!(
                e.message.contains(needle),
                "{pairs}: message {:?} lacks {needle:?}",
                e.message
            );
        }
    }
}

/// [`bad`] for each (value, needle) of the option `option`.
fn bad_each(option: &str, cases: &[(Value, &str)]) {
    for (value, needle) in cases {
        let mut pairs = Map::new();
        pairs.insert(option.to_string(), value.clone());
        bad(Value::Object(pairs), option, needle);
    }
}

#[test]
fn defaults() {
    let c = parse(&cfg(json!({})), "k8s-vip").expect("defaults valid");
    assert_eq!(c.vips.len(), 1);
    assert_eq!(c.port, 6443);
    assert_eq!(c.virtual_router_id, 0);
    assert_eq!(c.network_interface, None);
    assert_eq!(c.advert_interval_cs, 25);
    assert_eq!(c.vrrp_version, VrrpVersion::V3);
    assert!(!c.preempt);
    assert!(c.unicast);
    assert_eq!(c.health_check, HealthCheck::Auto);
    assert_eq!(c.garp_refresh_s, 60);
    assert_eq!(c.vip_agent, VipAgent::Builtin);
    assert_eq!(c.vip_hostname, None);
}

#[test]
fn virtual_ip_empty_blocks_with_the_command_to_type() {
    let e = parse(&Map::new(), "vip").expect_err("empty must block");
    assert_eq!(e.option, "virtual-ip");
    assert_eq!(
        e.message,
        "set virtual-ip (juju config vip virtual-ip=ADDRESS)"
    );
    bad(json!({"virtual-ip": "   "}), "virtual-ip", "set virtual-ip");
}

#[test]
fn virtual_ip_valid_forms() {
    let c = parse(
        &cfg(json!({"virtual-ip": "2001:db8::100/64 192.0.2.100/24,192.0.2.101"})),
        "k8s-vip",
    )
    .expect("valid");
    let shown: Vec<String> = c.vips.iter().map(|v| v.to_string()).collect();
    // IPv4 first, each family in the given order.
    assert_eq!(shown, ["192.0.2.100/24", "192.0.2.101", "2001:db8::100/64"]);
}

#[test]
fn virtual_ip_invalid_forms() {
    bad_each(
        "virtual-ip",
        &[
            (json!("192.0.2.300"), "not an IPv4 or IPv6 address"),
            (json!("192.0.2.100/33"), "prefix length"),
            (json!("192.0.2.100/0"), "prefix length"),
            (json!("2001:db8::1/129"), "prefix length"),
            (json!("192.0.2.100/x"), "prefix length"),
            (json!("127.0.0.5"), "loopback"),
            (json!("::1"), "loopback"),
            (json!("224.0.0.18"), "multicast"),
            (json!("0.0.0.0"), "unspecified"),
            (json!("255.255.255.255"), "broadcast"),
            (json!("169.254.1.1"), "link-local"),
            (json!("fe80::1"), "link-local"),
            (json!("192.0.2.100 192.0.2.100/24"), "twice"),
            (json!(5), "expected a string"),
        ],
    );
    let many: Vec<String> = (100..120).map(|i| format!("192.0.2.{i}")).collect();
    bad(
        json!({"virtual-ip": many.join(" ")}),
        "virtual-ip",
        "at most 16",
    );
}

#[test]
fn vip_hostname() {
    let c = parse(&cfg(json!({"vip-hostname": "api.example.com"})), "k8s-vip").expect("valid");
    assert_eq!(c.vip_hostname.as_deref(), Some("api.example.com"));
    let c = parse(&cfg(json!({"vip-hostname": ""})), "k8s-vip").expect("valid");
    assert_eq!(c.vip_hostname, None);
    bad_each(
        "vip-hostname",
        &[
            (json!("bad host"), "not a DNS name"),
            (json!("-x.example.com"), "not a DNS name"),
            (json!("a..b"), "not a DNS name"),
        ],
    );
}

#[test]
fn port() {
    for (v, want) in [
        (json!(443), 443u16),
        (json!(65535), 65535),
        (json!("8443"), 8443),
    ] {
        assert_eq!(
            parse(&cfg(json!({"port": v})), "k8s-vip")
                .expect("valid")
                .port,
            want
        );
    }
    bad_each(
        "port",
        &[
            (json!(0), "1..65535"),
            (json!(65536), "1..65535"),
            (json!(-1), "1..65535"),
            (json!(1.5), "whole number"),
            (json!("https"), "whole number"),
        ],
    );
}

#[test]
fn virtual_router_id() {
    for v in [0, 1, 51, 255] {
        let c = parse(&cfg(json!({"virtual-router-id": v})), "k8s-vip").expect("valid");
        assert_eq!(i64::from(c.virtual_router_id), v);
    }
    bad(
        json!({"virtual-router-id": 256}),
        "virtual-router-id",
        "1..255",
    );
    bad(
        json!({"virtual-router-id": -3}),
        "virtual-router-id",
        "1..255",
    );
}

#[test]
fn network_interface() {
    let c = parse(&cfg(json!({"network-interface": "ens3"})), "k8s-vip").expect("valid");
    assert_eq!(c.network_interface.as_deref(), Some("ens3"));
    let c = parse(&cfg(json!({"network-interface": "br-eth0.100"})), "k8s-vip").expect("valid");
    assert_eq!(c.network_interface.as_deref(), Some("br-eth0.100"));
    bad_each(
        "network-interface",
        &[
            (json!("a/b"), "not an interface name"),
            (json!("eth0 eth1"), "not an interface name"),
            (json!("averyveryverylongname"), "15 characters"),
            (json!("eth0:1"), "not an interface name"),
        ],
    );
}

#[test]
fn advert_interval() {
    for (v, cs) in [
        (json!(0.25), 25u16),
        (json!(0.01), 1),
        (json!(1), 100),
        (json!(40.95), 4095),
        (json!(0.1), 10),
    ] {
        let c = parse(&cfg(json!({"advert-interval": v})), "k8s-vip").expect("valid");
        assert_eq!(c.advert_interval_cs, cs);
    }
    bad_each(
        "advert-interval",
        &[
            (json!(0.005), "multiple of 0.01"),
            (json!(0), "multiple of 0.01"),
            (json!(-1), "multiple of 0.01"),
            (json!(41), "40.95"),
            (json!(0.123), "multiple of 0.01"),
            (json!("fast"), "number of seconds"),
        ],
    );
}

#[test]
fn vrrp_version_and_its_interactions() {
    let c = parse(
        &cfg(json!({"vrrp-version": 2, "advert-interval": 1})),
        "k8s-vip",
    )
    .expect("valid");
    assert_eq!(c.vrrp_version, VrrpVersion::V2);
    assert_eq!(c.advert_interval_cs, 100);
    // The default 0.25 s cannot be carried by VRRPv2.
    bad(
        json!({"vrrp-version": 2}),
        "advert-interval",
        "whole seconds",
    );
    bad(
        json!({"vrrp-version": 2, "advert-interval": 1.5}),
        "advert-interval",
        "whole seconds",
    );
    bad(
        json!({"vrrp-version": 2, "advert-interval": 256}),
        "advert-interval",
        "whole seconds",
    );
    bad(
        json!({"vrrp-version": 2, "advert-interval": 1, "virtual-ip": "2001:db8::100"}),
        "virtual-ip",
        "VRRPv2 cannot carry",
    );
    bad(
        json!({"vrrp-version": 4}),
        "vrrp-version",
        "use 3 (default) or 2",
    );
    bad(
        json!({"vrrp-version": "three"}),
        "vrrp-version",
        "whole number",
    );
}

#[test]
fn booleans() {
    let c = parse(&cfg(json!({"preempt": true, "unicast": false})), "k8s-vip").expect("valid");
    assert!(c.preempt);
    assert!(!c.unicast);
    bad(json!({"preempt": "yes"}), "preempt", "true or false");
    bad(json!({"unicast": 1}), "unicast", "true or false");
}

#[test]
fn health_check() {
    let ok = |s: &str| {
        parse(&cfg(json!({"health-check": s})), "k8s-vip")
            .expect(s)
            .health_check
    };
    assert_eq!(ok("auto"), HealthCheck::Auto);
    assert_eq!(ok("none"), HealthCheck::None);
    let tcp = |host: Host, port: u16| HealthCheck::Tcp(TcpTarget { host, port });
    let ip = |s: &str| Host::Ip(s.parse().expect("ip"));
    assert_eq!(ok("tcp:127.0.0.1:6443"), tcp(ip("127.0.0.1"), 6443));
    assert_eq!(ok("tcp:[::1]:6443"), tcp(ip("::1"), 6443));
    assert_eq!(
        ok("tcp:localhost:80"),
        tcp(Host::Name("localhost".into()), 80)
    );
    assert_eq!(ok("tcp:[::1]:6443").to_string(), "tcp:[::1]:6443");
    assert_eq!(
        ok("https://127.0.0.1:6443/livez"),
        HealthCheck::Http {
            url: "https://127.0.0.1:6443/livez".into()
        }
    );
    assert_eq!(
        ok("http://localhost/healthz"),
        HealthCheck::Http {
            url: "http://localhost/healthz".into()
        }
    );
    assert_eq!(
        ok("exec:/usr/bin/pgrep -x haproxy"),
        HealthCheck::Exec {
            argv: vec!["/usr/bin/pgrep".into(), "-x".into(), "haproxy".into()]
        }
    );
    bad_each(
        "health-check",
        &[
            (json!("tcp:127.0.0.1"), "port"),
            (json!("tcp:127.0.0.1:0"), "1..65535"),
            (json!("tcp::6443"), "host"),
            (json!("tcp:::1:6443"), "brackets"),
            (json!("tcp:300.1.1.1:80"), "not an IPv4"),
            (json!("tcp:a;b:80"), "neither an IP address nor a host name"),
            (json!("https://"), "URL"),
            (json!("exec:pgrep haproxy"), "absolute path"),
            (json!("exec:"), "needs a command"),
            (json!("ping 1.2.3.4"), "use auto, none"),
        ],
    );
}

#[test]
fn health_check_auto_resolution() {
    assert_eq!(
        HealthCheck::Auto.resolve(true),
        Some(HealthCheck::Http {
            url: "https://127.0.0.1:6443/livez".into()
        })
    );
    assert_eq!(HealthCheck::Auto.resolve(false), None);
    assert_eq!(HealthCheck::None.resolve(true), None);
    assert!(k8s_vip::charm::types::health::is_apiserver_principal(
        "kubernetes-control-plane"
    ));
    assert!(k8s_vip::charm::types::health::is_apiserver_principal(
        "kubernetes-master"
    ));
    assert!(!k8s_vip::charm::types::health::is_apiserver_principal(
        "kubernetes-worker"
    ));
}

#[test]
fn garp_refresh() {
    for v in [0, 1, 60, 86400] {
        let c = parse(&cfg(json!({"garp-refresh": v})), "k8s-vip").expect("valid");
        assert_eq!(i64::from(c.garp_refresh_s), v);
    }
    bad(json!({"garp-refresh": -1}), "garp-refresh", "0..86400");
    bad(json!({"garp-refresh": 86401}), "garp-refresh", "0..86400");
}

#[test]
fn vip_agent() {
    let c = parse(&cfg(json!({"vip-agent": "keepalived"})), "k8s-vip").expect("valid");
    assert_eq!(c.vip_agent, VipAgent::Keepalived);
    let c = parse(&cfg(json!({"vip-agent": "builtin"})), "k8s-vip").expect("valid");
    assert_eq!(c.vip_agent, VipAgent::Builtin);
    bad(
        json!({"vip-agent": "kube-vip"}),
        "vip-agent",
        "builtin (default) or keepalived",
    );
}

#[test]
fn config_yaml_declares_every_option_with_a_type() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml"))
        .expect("config.yaml");
    let doc: serde_json::Value = serde_yaml::from_str(&text).expect("yaml");
    for opt in [
        "virtual-ip",
        "vip-hostname",
        "port",
        "virtual-router-id",
        "network-interface",
        "advert-interval",
        "vrrp-version",
        "preempt",
        "unicast",
        "health-check",
        "garp-refresh",
        "vip-agent",
    ] {
        let o = &doc["options"][opt];
        assert!(o["type"].is_string(), "{opt} has no type");
        assert!(o["description"].is_string(), "{opt} has no description");
    }
    // Defaults in config.yaml parse into a valid config (except the empty VIP).
    let mut defaults = Map::new();
    for (k, v) in doc["options"].as_object().expect("options") {
        defaults.insert(k.clone(), v["default"].clone());
    }
    defaults.insert("virtual-ip".into(), json!("192.0.2.100"));
    parse(&defaults, "k8s-vip").expect("config.yaml defaults are valid");
}

#[test]
fn fast_failover_defaults_off_and_ranges() {
    use k8s_vip::charm::config::FastFailover;
    let on = |pairs: Value| parse(&cfg(pairs), "k8s-vip").expect("valid").fast_failover;
    assert_eq!(
        on(json!({})),
        Some(FastFailover {
            interval_ms: 20,
            multiplier: 3
        })
    );
    assert_eq!(on(json!({"fast-failover-interval": 0})), None);
    assert_eq!(
        on(json!({"fast-failover-interval": "10000", "fast-failover-multiplier": 255}))
            .map(|f| f.detection_ms()),
        Some(2_550_000)
    );
    bad_each(
        "fast-failover-interval",
        &[
            (json!(9), "10..10000"),
            (json!(1.5), "whole number"),
            (json!(10_001), "0 to turn"),
        ],
    );
    bad_each(
        "fast-failover-multiplier",
        &[
            (json!(1), "2..255"),
            (json!(256), "2..255"),
            (json!("x"), "whole number"),
        ],
    );
}
