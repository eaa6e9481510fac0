use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::vrrp::packet::Version;

const GOOD: &str = r#"
control-socket: /run/k8s-vip/agent.sock
state-file: /run/k8s-vip/state.json
metrics-listen: 127.0.0.1:9742
instances:
  - name: api
    interface: eth0
    vrid: 51
    version: 3
    priority: 100
    advert-interval-ms: 1000
    preempt: false
    preempt-delay-ms: 0
    vips: ["10.0.0.100/24"]
    unicast-peers: []
    unicast-source: null
    garp: {repeat: 5, interval-ms: 100, refresh-s: 60}
    checks:
      - {tcp: "127.0.0.1:6443", interval-ms: 1000, timeout-ms: 500, rise: 2, fall: 3}
      - {http: "https://127.0.0.1:6443/livez", insecure-tls: true, interval-ms: 1000, timeout-ms: 800, rise: 2, fall: 3}
      - {exec: ["/usr/bin/pgrep", "-x", "haproxy"], interval-ms: 2000, rise: 1, fall: 2}
"#;

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn issue_example_parses() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.pause_file, PathBuf::from("/var/lib/k8s-vip/paused"));
    assert_eq!(c.metrics_listen, Some("127.0.0.1:9742".parse().unwrap()));
    let i = &c.instances[0];
    assert_eq!((i.vrid, i.priority, i.version), (51, 100, Version::V3));
    assert_eq!(i.vips[0].to_string(), "10.0.0.100/24");
    assert_eq!(i.garp.refresh, Some(Duration::from_secs(60)));
    assert_eq!(i.checks.len(), 3);
    assert_eq!(i.checks[0].name, "tcp 127.0.0.1:6443");
    assert_eq!(i.checks[2].timeout, Duration::from_millis(1000));
}

#[test]
fn unknown_key_names_its_path() {
    let text = GOOD.replace("interval-ms: 100,", "intervl-ms: 100,");
    let e = err(&text);
    assert!(
        e.starts_with("instances[0].garp.intervl-ms: unknown key"),
        "{e}"
    );
    let e = err("instancez: []\n");
    assert!(e.starts_with("instancez: unknown key"), "{e}");
}

#[test]
fn wrong_type_names_its_path() {
    let e = err(&GOOD.replace("priority: 100", "priority: high"));
    assert!(e.starts_with("instances[0].priority: "), "{e}");
}

/// Each bad value: (text replaced in GOOD, replacement, what the error must
/// contain, naming the field).
const BAD_VALUES: &[(&str, &str, &str)] = &[
    (
        "vrid: 51",
        "vrid: 0",
        "instances[0].vrid: 0 is out of range",
    ),
    ("vrid: 51", "vrid: 256", "instances[0].vrid: 256"),
    (
        "version: 3",
        "version: 4",
        "instances[0].version: 4 is not 2 or 3",
    ),
    ("priority: 100", "priority: 0", "instances[0].priority: 0"),
    (
        "advert-interval-ms: 1000",
        "advert-interval-ms: 5",
        "instances[0].advert-interval-ms: 5 ms",
    ),
    (
        "advert-interval-ms: 1000",
        "advert-interval-ms: 105",
        "instances[0].advert-interval-ms: 105 ms",
    ),
    (
        "version: 3",
        "version: 2\n    unicast-peers: []\n    x: 1",
        "x: unknown key",
    ),
    (
        "[\"10.0.0.100/24\"]",
        "[\"10.0.0.100/24\", \"fd00::1/64\"]",
        "instances[0].vips[1]: fd00::1/64 is IPv6",
    ),
    (
        "[\"10.0.0.100/24\"]",
        "[\"10.0.0.300/24\"]",
        "instances[0].vips[0]: ",
    ),
    (
        "[\"10.0.0.100/24\"]",
        "[]",
        "instances[0].vips: at least one",
    ),
    (
        "unicast-peers: []",
        "unicast-peers: [\"fd00::2\"]",
        "instances[0].unicast-peers[0]: fd00::2 is IPv6",
    ),
    ("repeat: 5", "repeat: 0", "instances[0].garp.repeat: 0"),
    (
        "{tcp: \"127.0.0.1:6443\"",
        "{tcp: \"127.0.0.1\"",
        "instances[0].checks[0].tcp: ",
    ),
    (
        "{tcp: \"127.0.0.1:6443\"",
        "{tcp: \"localhost:6443\"",
        "instances[0].checks[0].tcp: \"localhost:6443\" names a host",
    ),
    (
        "{tcp: \"127.0.0.1:6443\",",
        "{tcp: \"127.0.0.1:6443\", exec: [x],",
        "instances[0].checks[0]: give exactly one",
    ),
    ("rise: 1", "rise: 0", "instances[0].checks[2].rise: 0"),
    (
        "metrics-listen: 127.0.0.1:9742",
        "metrics-listen: nowhere",
        "metrics-listen: ",
    ),
];

#[test]
fn bad_values_name_the_field() {
    for (from, to, want) in BAD_VALUES {
        let text = GOOD.replacen(from, to, 1);
        assert_ne!(text, GOOD, "replacement {from} not applied");
        let e = err(&text);
        assert!(e.contains(want), "for {to}: got {e:?}, want {want:?}");
    }
}

#[test]
fn v2_needs_whole_seconds_and_ipv4() {
    let v2 = GOOD.replace("version: 3", "version: 2");
    assert!(parse(&v2).is_ok());
    let e = err(&v2.replace("advert-interval-ms: 1000", "advert-interval-ms: 500"));
    assert!(e.contains("advert-interval-ms: 500 ms; VRRPv2"), "{e}");
    let e = err(&v2.replace("10.0.0.100/24", "fd00::100/64"));
    assert!(
        e.contains("instances[0].version: VRRPv2 is IPv4 only"),
        "{e}"
    );
}

#[test]
fn duplicates_are_rejected() {
    let two = format!("{GOOD}{}", &GOOD[GOOD.find("  - name").unwrap()..]);
    let e = err(&two);
    assert!(
        e.contains("instances[1].name: \"api\" is used by two"),
        "{e}"
    );
    let two = two.replacen("name: api", "name: api6", 1);
    let e = err(&two);
    assert!(
        e.contains("instances[1].vrid: VRID 51 is used twice"),
        "{e}"
    );
}

#[test]
fn defaults_apply() {
    let c =
        parse("instances:\n  - {name: a, interface: eth0, vrid: 7, vips: [\"2001:db8::100\"]}\n")
            .unwrap();
    let i = &c.instances[0];
    assert_eq!(i.vips[0].prefix, 128);
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.advert_interval, Duration::from_secs(1));
    assert_eq!(i.garp.repeat, 5);
    assert!(!i.preempt);
    assert_eq!(c.control_socket, PathBuf::from("/run/k8s-vip/agent.sock"));
}

#[test]
fn empty_file_is_valid_but_has_no_instances() {
    assert!(parse("{}").unwrap().instances.is_empty());
}

#[test]
fn unicast_without_peers_is_held_not_multicast() {
    let text = "instances:\n  - {name: api, interface: eth0, vrid: 51, vips: [192.0.2.100], unicast: true}\n";
    let i = &parse(text).unwrap().instances[0];
    assert!(i.unicast && i.unicast_peers.is_empty());
    assert!(!i.multicast(), "never a silent multicast fallback");
    assert!(i.held_for_peers());
    let plain = "instances:\n  - {name: api, interface: eth0, vrid: 51, vips: [192.0.2.100]}\n";
    let i = &parse(plain).unwrap().instances[0];
    assert!(i.multicast() && !i.held_for_peers());
}

#[test]
fn alone_lifts_the_hold_and_needs_unicast_without_peers() {
    let one = |extra: &str| {
        format!("instances:\n  - {{name: api, interface: eth0, vrid: 51, vips: [192.0.2.100]{extra}}}\n")
    };
    let i = &parse(&one(", unicast: true, alone: true"))
        .unwrap()
        .instances[0];
    assert!(i.alone && !i.multicast() && !i.held_for_peers());
    for bad in [
        ", alone: true",
        ", unicast: true, unicast-peers: [192.0.2.2], alone: true",
    ] {
        let e = err(&one(bad));
        assert!(
            e.starts_with("instances[0].alone: only for a lone unit"),
            "{e}"
        );
    }
}

// ===== bfd: =====

fn with_bfd(bfd: &str) -> String {
    format!(
        "instances:\n  - {{name: api, interface: eth0, vrid: 51, vips: [192.0.2.100], unicast-peers: [192.0.2.2]{bfd}}}\n"
    )
}

#[test]
fn absent_means_no_bfd_and_empty_block_means_defaults() {
    assert_eq!(parse(&with_bfd("")).unwrap().instances[0].bfd, None);
    let b = parse(&with_bfd(", bfd: {}")).unwrap().instances[0]
        .bfd
        .clone()
        .unwrap();
    assert_eq!((b.interval, b.multiplier), (Duration::from_millis(20), 3));
    assert_eq!(b.detection_time(), Duration::from_millis(60));
    let b = parse(&with_bfd(", bfd: {interval-ms: 300, multiplier: 5}"))
        .unwrap()
        .instances[0]
        .bfd
        .clone()
        .unwrap();
    assert_eq!((b.interval, b.multiplier), (Duration::from_millis(300), 5));
}

#[test]
fn bounds_are_inclusive_and_errors_name_the_key() {
    for ok in [
        "interval-ms: 10",
        "interval-ms: 10000",
        "multiplier: 2",
        "multiplier: 255",
    ] {
        assert!(
            parse(&with_bfd(&format!(", bfd: {{{ok}}}"))).is_ok(),
            "{ok}"
        );
    }
    for (bad, key) in [
        (
            "interval-ms: 9",
            "instances[0].bfd.interval-ms: 9 is out of range",
        ),
        ("interval-ms: 10001", "instances[0].bfd.interval-ms: 10001"),
        (
            "multiplier: 1",
            "instances[0].bfd.multiplier: 1 is out of range",
        ),
        ("multiplier: 256", "instances[0].bfd.multiplier: 256"),
    ] {
        let e = parse(&with_bfd(&format!(", bfd: {{{bad}}}")))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(key), "{bad}: {e}");
    }
    let e = parse(&with_bfd(", bfd: {peer-priorities: {192.0.2.2: 0}}"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("instances[0].bfd.peer-priorities.192.0.2.2: 0 is out of range"),
        "{e}"
    );
    let ok = parse(&with_bfd(", bfd: {peer-priorities: {192.0.2.2: 99}}")).unwrap();
    let want: std::net::IpAddr = "192.0.2.2".parse().unwrap();
    assert_eq!(
        ok.instances[0].bfd.as_ref().unwrap().peer_priorities[&want],
        99
    );
    let e = parse(&with_bfd(", bfd: {interval: 5}"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("instances[0].bfd.interval: unknown key"),
        "{e}"
    );
}

#[test]
fn bfd_needs_unicast() {
    let text =
        "instances:\n  - {name: api, interface: eth0, vrid: 51, vips: [192.0.2.100], bfd: {}}\n";
    let e = parse(text).unwrap_err().to_string();
    assert!(
        e.starts_with("instances[0].bfd: BFD runs to each unicast peer"),
        "{e}"
    );
    let held = "instances:\n  - {name: api, interface: eth0, vrid: 51, vips: [192.0.2.100], unicast: true, bfd: {}}\n";
    assert!(parse(held).unwrap().instances[0].bfd.is_some());
}

// ===== the bgp block =====

const BGP_ONE: &str = "instances:\n  - {name: api, interface: eth0, vrid: 51, vips: [\"192.0.2.100\"], unicast-peers: [\"198.51.100.18\"]}\n";

fn with_bgp(bgp: &str) -> String {
    format!("{BGP_ONE}{bgp}")
}

#[test]
fn bgp_absent_means_l2_mode() {
    assert_eq!(parse(BGP_ONE).unwrap().bgp, None);
}

#[test]
fn bgp_defaults_and_explicit_values() {
    let b = parse(&with_bgp("bgp: {}\n")).unwrap().bgp.unwrap();
    assert_eq!((b.interface.as_str(), b.ecmp), ("k8s-vip-bgp", false));
    let b = parse(&with_bgp("bgp: {interface: vip0, ecmp: true}\n"))
        .unwrap()
        .bgp
        .unwrap();
    assert_eq!((b.interface.as_str(), b.ecmp), ("vip0", true));
}

#[test]
fn bgp_bad_values_name_the_key() {
    for (bgp, want) in [
        (
            "bgp: {interface: \"\"}\n",
            "bgp.interface: \"\" is not a valid",
        ),
        ("bgp: {interface: a-name-far-too-long}\n", "bgp.interface: "),
        ("bgp: {interface: \"a/b\"}\n", "bgp.interface: "),
        (
            "bgp: {interface: eth0}\n",
            "bgp.interface: \"eth0\" is an interface the agent does not own",
        ),
        ("bgp: {interface: lo}\n", "bgp.interface: \"lo\""),
        ("bgp: {ecmp: maybe}\n", "bgp.ecmp: "),
        ("bgp: {intrface: x}\n", "bgp.intrface: unknown key"),
    ] {
        let e = parse(&with_bgp(bgp)).unwrap_err().to_string();
        assert!(e.starts_with(want), "{bgp}: {e}");
    }
}

#[test]
fn bfd_multihop_is_off_unless_asked() {
    let bfd = |b: &str| {
        parse(&format!(
            "instances:\n  - {{name: api, interface: eth0, vrid: 51, vips: [\"192.0.2.100\"], unicast-peers: [\"198.51.100.18\"], bfd: {b}}}\n"
        ))
        .unwrap()
        .instances[0]
            .bfd
            .clone()
            .unwrap()
    };
    assert!(!bfd("{}").multihop);
    assert!(bfd("{multihop: true}").multihop);
}
