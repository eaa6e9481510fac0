//! Every charm option, valid and invalid: invalid values must name the option
//! and say what to fix.

use k8s_vip::charm::config::{parse, VipAgent, VrrpVersion};
use k8s_vip::charm::health::HealthCheck;
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
    bad(
        json!({"virtual-ip": "192.0.2.300"}),
        "virtual-ip",
        "not an IPv4 or IPv6 address",
    );
    bad(
        json!({"virtual-ip": "192.0.2.100/33"}),
        "virtual-ip",
        "prefix length",
    );
    bad(
        json!({"virtual-ip": "192.0.2.100/0"}),
        "virtual-ip",
        "prefix length",
    );
    bad(
        json!({"virtual-ip": "2001:db8::1/129"}),
        "virtual-ip",
        "prefix length",
    );
    bad(
        json!({"virtual-ip": "192.0.2.100/x"}),
        "virtual-ip",
        "prefix length",
    );
    bad(json!({"virtual-ip": "127.0.0.5"}), "virtual-ip", "loopback");
    bad(json!({"virtual-ip": "::1"}), "virtual-ip", "loopback");
    bad(
        json!({"virtual-ip": "224.0.0.18"}),
        "virtual-ip",
        "multicast",
    );
    bad(
        json!({"virtual-ip": "0.0.0.0"}),
        "virtual-ip",
        "unspecified",
    );
    bad(
        json!({"virtual-ip": "255.255.255.255"}),
        "virtual-ip",
        "broadcast",
    );
    bad(
        json!({"virtual-ip": "169.254.1.1"}),
        "virtual-ip",
        "link-local",
    );
    bad(json!({"virtual-ip": "fe80::1"}), "virtual-ip", "link-local");
    bad(
        json!({"virtual-ip": "192.0.2.100 192.0.2.100/24"}),
        "virtual-ip",
        "twice",
    );
    bad(json!({"virtual-ip": 5}), "virtual-ip", "expected a string");
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
    bad(
        json!({"vip-hostname": "bad host"}),
        "vip-hostname",
        "not a DNS name",
    );
    bad(
        json!({"vip-hostname": "-x.example.com"}),
        "vip-hostname",
        "not a DNS name",
    );
    bad(
        json!({"vip-hostname": "a..b"}),
        "vip-hostname",
        "not a DNS name",
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
    bad(json!({"port": 0}), "port", "1..65535");
    bad(json!({"port": 65536}), "port", "1..65535");
    bad(json!({"port": -1}), "port", "1..65535");
    bad(json!({"port": 1.5}), "port", "whole number");
    bad(json!({"port": "https"}), "port", "whole number");
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
    bad(
        json!({"network-interface": "a/b"}),
        "network-interface",
        "not an interface name",
    );
    bad(
        json!({"network-interface": "eth0 eth1"}),
        "network-interface",
        "not an interface name",
    );
    bad(
        json!({"network-interface": "averyveryverylongname"}),
        "network-interface",
        "15 characters",
    );
    bad(
        json!({"network-interface": "eth0:1"}),
        "network-interface",
        "not an interface name",
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
    bad(
        json!({"advert-interval": 0.005}),
        "advert-interval",
        "multiple of 0.01",
    );
    bad(
        json!({"advert-interval": 0}),
        "advert-interval",
        "multiple of 0.01",
    );
    bad(
        json!({"advert-interval": -1}),
        "advert-interval",
        "multiple of 0.01",
    );
    bad(json!({"advert-interval": 41}), "advert-interval", "40.95");
    bad(
        json!({"advert-interval": 0.123}),
        "advert-interval",
        "multiple of 0.01",
    );
    bad(
        json!({"advert-interval": "fast"}),
        "advert-interval",
        "number of seconds",
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
    assert_eq!(
        ok("tcp:127.0.0.1:6443"),
        HealthCheck::Tcp {
            host: "127.0.0.1".into(),
            port: 6443
        }
    );
    assert_eq!(
        ok("tcp:[::1]:6443"),
        HealthCheck::Tcp {
            host: "::1".into(),
            port: 6443
        }
    );
    assert_eq!(
        ok("tcp:localhost:80"),
        HealthCheck::Tcp {
            host: "localhost".into(),
            port: 80
        }
    );
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
    bad(
        json!({"health-check": "tcp:127.0.0.1"}),
        "health-check",
        "port",
    );
    bad(
        json!({"health-check": "tcp:127.0.0.1:0"}),
        "health-check",
        "1..65535",
    );
    bad(json!({"health-check": "tcp::6443"}), "health-check", "host");
    bad(json!({"health-check": "https://"}), "health-check", "URL");
    bad(
        json!({"health-check": "exec:pgrep haproxy"}),
        "health-check",
        "absolute path",
    );
    bad(
        json!({"health-check": "exec:"}),
        "health-check",
        "needs a command",
    );
    bad(
        json!({"health-check": "ping 1.2.3.4"}),
        "health-check",
        "use auto, none",
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
    assert!(k8s_vip::charm::health::is_apiserver_principal(
        "kubernetes-control-plane"
    ));
    assert!(k8s_vip::charm::health::is_apiserver_principal(
        "kubernetes-master"
    ));
    assert!(!k8s_vip::charm::health::is_apiserver_principal(
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
