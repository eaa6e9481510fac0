//! The load-balancer charm options: valid values parse, invalid ones name the option.

use std::time::Duration;

use k8s_vip::charm::haproxy::options::{
    parse_ingress_ports, parse_lb_timeout, IngressPort, LoadBalancerMode,
};

#[test]
fn load_balancer_mode() {
    assert_eq!(
        LoadBalancerMode::parse("auto").unwrap(),
        LoadBalancerMode::Auto
    );
    assert_eq!(LoadBalancerMode::parse("").unwrap(), LoadBalancerMode::Auto);
    assert_eq!(LoadBalancerMode::parse("on").unwrap(), LoadBalancerMode::On);
    assert_eq!(
        LoadBalancerMode::parse(" off ").unwrap(),
        LoadBalancerMode::Off
    );
    let err = LoadBalancerMode::parse("yes").unwrap_err();
    assert_eq!(err.option, "load-balancer");
    assert!(
        err.to_string().starts_with("load-balancer: \"yes\""),
        "{err}"
    );

    assert!(LoadBalancerMode::Auto.haproxy_wanted(true));
    assert!(!LoadBalancerMode::Auto.haproxy_wanted(false));
    assert!(LoadBalancerMode::On.haproxy_wanted(false));
    assert!(!LoadBalancerMode::Off.haproxy_wanted(true));
}

#[test]
fn lb_timeout() {
    assert_eq!(
        parse_lb_timeout("").unwrap(),
        Duration::from_secs(3600),
        "default 1h"
    );
    assert_eq!(parse_lb_timeout("600").unwrap(), Duration::from_secs(600));
    assert_eq!(parse_lb_timeout("10m").unwrap(), Duration::from_secs(600));
    assert_eq!(parse_lb_timeout("2h").unwrap(), Duration::from_secs(7200));
    assert_eq!(parse_lb_timeout("900s").unwrap(), Duration::from_secs(900));
    for bad in ["599", "9m", "1d", "abc", "-5m", "1.5h", "25h", "m"] {
        let err = parse_lb_timeout(bad).unwrap_err();
        assert_eq!(err.option, "lb-timeout", "{bad}");
        assert!(err.to_string().starts_with("lb-timeout: "), "{err}");
    }
    assert!(parse_lb_timeout("5m")
        .unwrap_err()
        .to_string()
        .contains("10m"));
}

#[test]
fn ingress_ports() {
    assert_eq!(parse_ingress_ports("").unwrap(), vec![]);
    assert_eq!(
        parse_ingress_ports("443:30443 80:30080").unwrap(),
        vec![
            IngressPort {
                port: 80,
                node_port: 30080
            },
            IngressPort {
                port: 443,
                node_port: 30443
            },
        ]
    );
    assert_eq!(parse_ingress_ports("80:30080,443:30443").unwrap().len(), 2);
    for bad in [
        "80",
        "80:",
        ":30080",
        "0:30080",
        "80:70000",
        "80:30080 80:30081",
        "http:30080",
    ] {
        let err = parse_ingress_ports(bad).unwrap_err();
        assert_eq!(err.option, "ingress-ports", "{bad}");
        assert!(err.to_string().starts_with("ingress-ports: "), "{err}");
    }
}
