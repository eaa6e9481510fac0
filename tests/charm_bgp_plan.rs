//! BGP mode in the pure planner: the `bgp-*` options validated, frr.conf
//! rendered from them and accepted by FRR's own parser (`vtysh --dryrun`),
//! the daemons file edited, a foreign frr.conf recognised, agent.yaml's
//! `bgp` block and multihop BFD, and the unit status built from bgpd's
//! sessions and the agent's `announced`.

#[path = "support/skip.rs"]
mod skip;

use std::net::IpAddr;
use std::process::Command;

use k8s_vip::charm::bgp::frr_conf::{foreign_config, render, FrrInputs};
use k8s_vip::charm::bgp::{daemons, summary};
use k8s_vip::charm::config::{parse, BgpOptions};
use k8s_vip::charm::plan::plan;
use k8s_vip::charm::types::{
    BgpWorld, IfaceAddr, Inputs, Interface, ServiceState, State, StatusDoc,
};
use serde_json::{json, Map, Value};

fn cfg(pairs: Value) -> Map<String, Value> {
    let mut base = json!({"virtual-ip": "192.0.2.100 2001:db8:100::100"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Value::Object(extra) = pairs {
        base.extend(extra);
    }
    base
}

const PEERS: &str = "198.51.100.1:65000 [2001:db8:0:1::1]:65000";

fn options(pairs: Value) -> BgpOptions {
    match parse(&cfg(pairs.clone()), "k8s-vip") {
        Ok(c) => c.bgp.unwrap_or_else(|| panic!("{pairs}: BGP off")),
        Err(e) => panic!("{pairs}: {e}"),
    }
}

fn bad(pairs: Value, option: &str, needle: &str) {
    match parse(&cfg(pairs.clone()), "k8s-vip") {
        Ok(c) => panic!("{pairs} accepted as {:?}", c.bgp),
        Err(e) => {
            assert_eq!(e.option, option, "{pairs}: {e}");
            assert!(
                e.message.contains(needle),
                "{pairs}: {:?} lacks {needle:?}",
                e.message
            );
        }
    }
}

#[test]
fn bgp_is_off_by_default_and_every_option_is_checked_even_then() {
    let c = parse(&cfg(json!({})), "k8s-vip").expect("defaults");
    assert_eq!(c.bgp, None);
    bad(json!({"bgp-asn": 0}), "bgp-asn", "out of range");
    bad(
        json!({"bgp-password": "has space"}),
        "bgp-password",
        "without spaces",
    );
}

#[test]
fn peers_take_every_documented_form() {
    let o = options(
        json!({"bgp-peers": "198.51.100.1 198.51.100.17:65001 [2001:db8::1]:4200000000 2001:db8::2 [2001:db8::3]"}),
    );
    let want = [
        ("198.51.100.1", None),
        ("198.51.100.17", Some(65001)),
        ("2001:db8::1", Some(4_200_000_000)),
        ("2001:db8::2", None),
        ("2001:db8::3", None),
    ];
    let got: Vec<(String, Option<u32>)> = o
        .peers
        .iter()
        .map(|p| (p.address.to_string(), p.asn))
        .collect();
    let want: Vec<(String, Option<u32>)> = want.iter().map(|(a, n)| (a.to_string(), *n)).collect();
    assert_eq!(got, want);
    assert_eq!(
        (o.asn, o.ecmp, o.bfd, o.password),
        (64512, false, true, None)
    );
}

#[test]
fn bad_values_name_their_option() {
    let cases: &[(Value, &str, &str)] = &[
        (
            json!({"bgp-peers": "router1"}),
            "bgp-peers",
            "not an IP address",
        ),
        (
            json!({"bgp-peers": "198.51.100.1:0"}),
            "bgp-peers",
            "out of range",
        ),
        (
            json!({"bgp-peers": "198.51.100.1:4294967296"}),
            "bgp-peers",
            "out of range",
        ),
        (
            json!({"bgp-peers": "198.51.100.1:23456"}),
            "bgp-peers",
            "AS_TRANS",
        ),
        (
            json!({"bgp-peers": "198.51.100.1:x"}),
            "bgp-peers",
            "not a whole number",
        ),
        (
            json!({"bgp-peers": "2001:db8::1:65000:1:1:1:1:1"}),
            "bgp-peers",
            "[ADDRESS]:ASN",
        ),
        (
            json!({"bgp-peers": "[198.51.100.1]:65000"}),
            "bgp-peers",
            "IPv6",
        ),
        (
            json!({"bgp-peers": "[2001:db8::1:65000"}),
            "bgp-peers",
            "closing",
        ),
        (json!({"bgp-peers": "127.0.0.1"}), "bgp-peers", "loopback"),
        (json!({"bgp-peers": "fe80::1"}), "bgp-peers", "link-local"),
        (json!({"bgp-peers": "224.0.0.5"}), "bgp-peers", "multicast"),
        (json!({"bgp-peers": "0.0.0.0"}), "bgp-peers", "unspecified"),
        (
            json!({"bgp-peers": "198.51.100.1 198.51.100.1:65000"}),
            "bgp-peers",
            "twice",
        ),
        (
            json!({"bgp-peers": "192.0.2.100"}),
            "bgp-peers",
            "virtual IP",
        ),
        (
            json!({"bgp-peers": "198.51.100.1"}),
            "bgp-peers",
            "no IPv6 router",
        ),
        (
            json!({"bgp-peers": PEERS, "vip-agent": "keepalived"}),
            "bgp-peers",
            "vip-agent=builtin",
        ),
        (
            json!({"bgp-asn": 4_294_967_296u64}),
            "bgp-asn",
            "out of range",
        ),
        (json!({"bgp-asn": -1}), "bgp-asn", "out of range"),
        (json!({"bgp-asn": 23456}), "bgp-asn", "AS_TRANS"),
        (json!({"bgp-asn": "many"}), "bgp-asn", "whole number"),
        (json!({"bgp-ecmp": "yes"}), "bgp-ecmp", "true or false"),
        (json!({"bgp-bfd": 1}), "bgp-bfd", "true or false"),
        (
            json!({"bgp-password": " lead"}),
            "bgp-password",
            "without spaces",
        ),
        (
            json!({"bgp-password": "a\nb"}),
            "bgp-password",
            "line breaks",
        ),
        (json!({"bgp-password": "pässword"}), "bgp-password", "ASCII"),
        (
            json!({"bgp-password": "x".repeat(81)}),
            "bgp-password",
            "at most 80",
        ),
    ];
    for (pairs, option, needle) in cases {
        bad(pairs.clone(), option, needle);
    }
    let many: Vec<String> = (1..=17).map(|i| format!("198.51.100.{i}")).collect();
    bad(
        json!({"bgp-peers": many.join(" ")}),
        "bgp-peers",
        "at most 16",
    );
    let max = options(
        json!({"bgp-peers": PEERS, "bgp-asn": 4_294_967_295u64, "bgp-password": "x".repeat(80)}),
    );
    assert_eq!(max.asn, u32::MAX);
}

fn rendered(o: &BgpOptions) -> String {
    let vips: Vec<IpAddr> = ["192.0.2.100", "2001:db8:100::100"]
        .iter()
        .map(|v| v.parse().expect("vip"))
        .collect();
    render(&FrrInputs {
        app: "k8s-vip",
        bgp: Some(o),
        vips: &vips,
        router_id: Some("198.51.100.2".parse().expect("id")),
        interface: "k8s-vip-bgp",
    })
    .expect("render")
}

/// FRR's own parser on `text`: `vtysh --dryrun -f FILE` (None: accepted).
fn frr_refuses(text: &str) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("frr.conf");
    std::fs::write(&file, text).expect("write");
    let out = Command::new("vtysh")
        .arg("--dryrun")
        .arg("--config_dir")
        .arg(dir.path())
        .arg("-f")
        .arg(&file)
        .output()
        .expect("run vtysh");
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (!out.status.success()).then_some(said)
}

#[test]
fn frr_conf_has_neighbours_filters_bfd_and_password_and_frr_accepts_it() {
    let o = options(
        json!({"bgp-peers": format!("{PEERS} 198.51.100.33"), "bgp-password": "s3cr!t#\"'$x"}),
    );
    let text = rendered(&o);
    assert!(text.starts_with(
        "! Managed by k8s-vip (juju application k8s-vip); changes here are overwritten.\n"
    ));
    for line in [
        "router bgp 64512",
        " bgp router-id 198.51.100.2",
        " no bgp default ipv4-unicast",
        " bgp graceful-restart",
        " neighbor 198.51.100.1 remote-as 65000",
        " neighbor 198.51.100.33 remote-as external",
        " neighbor 2001:db8:0:1::1 remote-as 65000",
        " neighbor 198.51.100.1 password s3cr!t#\"'$x",
        " neighbor 2001:db8:0:1::1 bfd",
        " neighbor 2001:db8:0:1::1 bfd profile k8s-vip",
        " profile k8s-vip",
        "  detect-multiplier 3",
        "  receive-interval 100",
        "  transmit-interval 100",
        "ip prefix-list K8S-VIP-OUT seq 5 permit 192.0.2.100/32",
        "ipv6 prefix-list K8S-VIP-OUT6 seq 5 permit 2001:db8:100::100/128",
        "route-map K8S-VIP-OUT permit 10",
        " match ip address prefix-list K8S-VIP-OUT",
        "route-map K8S-VIP-OUT6 permit 10",
        "route-map K8S-VIP-IN deny 10",
        "  redistribute connected route-map K8S-VIP-OUT",
        "  redistribute connected route-map K8S-VIP-OUT6",
        "  neighbor 198.51.100.33 activate",
        "  neighbor 198.51.100.1 route-map K8S-VIP-IN in",
        "  neighbor 198.51.100.1 route-map K8S-VIP-OUT out",
        "  neighbor 2001:db8:0:1::1 route-map K8S-VIP-OUT6 out",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    // IPv4 routers carry IPv4 routes only, IPv6 routers IPv6 ones.
    let v6_family = text
        .split("address-family ipv6 unicast")
        .nth(1)
        .expect("v6 af");
    assert!(!v6_family.contains("198.51.100.1 "), "{text}");
    if !skip::need_program("vtysh") {
        return;
    }
    assert_eq!(frr_refuses(&text), None, "FRR refuses:\n{text}");
    // The checker really parses: a typo is refused.
    assert!(frr_refuses(&text.replace("remote-as 65000", "remote-az 65000")).is_some());
}

#[test]
fn without_bfd_or_password_those_lines_go_and_frr_still_accepts_it() {
    let o = options(json!({"bgp-peers": PEERS, "bgp-bfd": false}));
    let text = rendered(&o);
    assert!(
        !text.contains("bfd") && !text.contains("password"),
        "{text}"
    );
    // Without BFD no graceful restart: a router would keep a dead unit's
    // routes as stale for the restart time after the hold timer.
    assert!(!text.contains("graceful-restart"), "{text}");
    assert!(rendered(&options(json!({"bgp-peers": PEERS}))).contains(" bgp graceful-restart"));
    let v4_only = options(json!({"virtual-ip": "192.0.2.100", "bgp-peers": "198.51.100.1"}));
    let vips = ["192.0.2.100".parse().expect("vip")];
    let v4 = render(&FrrInputs {
        app: "k8s-vip",
        bgp: Some(&v4_only),
        vips: &vips,
        router_id: None,
        interface: "k8s-vip-bgp",
    })
    .expect("render");
    assert!(v4.contains("route-map K8S-VIP-OUT6 deny 10") && !v4.contains("router-id"));
    assert!(!v4.contains("address-family ipv6"), "{v4}");
    let off = render(&FrrInputs {
        app: "k8s-vip",
        bgp: None,
        vips: &[],
        router_id: None,
        interface: "k8s-vip-bgp",
    })
    .expect("render");
    assert!(!off.contains("router bgp") && off.starts_with("! Managed by k8s-vip"));
    if skip::need_program("vtysh") {
        for t in [&text, &v4, &off] {
            assert_eq!(frr_refuses(t), None, "FRR refuses:\n{t}");
        }
    }
}

#[test]
fn someone_elses_frr_conf_is_recognised() {
    let distro = "# default to using syslog.\n#\nlog syslog informational\n";
    assert_eq!(foreign_config(distro), None);
    assert_eq!(foreign_config("frr version 8.4\nfrr defaults traditional\nhostname r1\nservice integrated-vtysh-config\n!\nline vty\n!\n"), None);
    let theirs = "hostname r1\n!\nrouter ospf\n network 10.0.0.0/8 area 0\n";
    assert_eq!(foreign_config(theirs).as_deref(), Some("router ospf"));
    assert_eq!(
        foreign_config("ip route 10.0.0.0/8 192.0.2.1\n").as_deref(),
        Some("ip route 10.0.0.0/8 192.0.2.1")
    );
    let ours = rendered(&options(json!({"bgp-peers": PEERS})));
    assert_eq!(foreign_config(&ours), None);
}

#[test]
fn daemons_file_gets_bgpd_and_bfdd_and_keeps_the_rest() {
    let distro = "# comment\nbgpd=no\nospfd=yes\n#bfdd=yes\nbfdd=no\nvtysh_enable=yes\nzebra_options=\"  -A 127.0.0.1 -s 90000000\"\n";
    let on = daemons::edit(Some(distro), true);
    assert_eq!(on, "# comment\nbgpd=yes\nospfd=yes\n#bfdd=yes\nbfdd=yes\nvtysh_enable=yes\nzebra_options=\"  -A 127.0.0.1 -s 90000000\"\n");
    let off = daemons::edit(Some(&on), false);
    assert!(off.contains("\nbfdd=no\n") && off.contains("\nbgpd=yes\n"));
    assert_eq!(
        daemons::edit(Some("zebra=yes"), false),
        "zebra=yes\nbgpd=yes\nbfdd=no\n"
    );
    let fresh = daemons::edit(None, true);
    assert!(
        fresh.contains("\nbgpd=yes\n")
            && fresh.contains("\nbfdd=yes\n")
            && fresh.contains("vtysh_enable=yes")
    );
}

const SUMMARY: &str = r#"{
 "ipv4Unicast": {"routerId": "198.51.100.2", "as": 64512, "peers": {
   "198.51.100.1": {"remoteAs": 65000, "state": "Established", "peerUptime": "00:01:02", "pfxSnt": 1},
   "198.51.100.33": {"remoteAs": 0, "state": "Active", "peerUptime": "never"}}},
 "ipv6Unicast": {"peers": {"2001:db8:0:1::1": {"remoteAs": 65000, "state": "Established", "pfxSnt": 1}}}
}"#;

fn doc(announced: bool) -> StatusDoc {
    StatusDoc::parse(
        &json!({"pid": 1, "instances": [
            {"name": "v4-1", "vrid": 51, "state": "MASTER", "priority": 200, "vips": ["192.0.2.100/32"], "announced": announced},
            {"name": "v6-1", "vrid": 51, "state": "BACKUP", "priority": 100, "vips": ["2001:db8:100::100/128"], "announced": false}
        ]})
        .to_string(),
    )
    .expect("doc")
}

#[test]
fn status_line_counts_established_sessions_and_names_what_is_announced() {
    let sessions = summary::parse(SUMMARY).expect("parse");
    assert_eq!(sessions.len(), 3);
    let world = BgpWorld {
        service: ServiceState {
            active: true,
            enabled: true,
        },
        sessions: Some(sessions),
        ..BgpWorld::default()
    };
    let o = options(json!({"bgp-peers": PEERS}));
    let (state, line) = summary::status_line(&o, &world, Some(&doc(true)));
    assert_eq!(state, State::Active);
    assert_eq!(line, "BGP: 2/2 peers established, announcing 192.0.2.100");
    let three = options(json!({"bgp-peers": format!("{PEERS} 198.51.100.33 198.51.100.49")}));
    let (_, line) = summary::status_line(&three, &world, Some(&doc(false)));
    assert_eq!(
        line,
        "BGP: 2/4 peers established (198.51.100.33: Active, 198.51.100.49: not configured in bgpd), announcing nothing"
    );
    let lonely = options(json!({"virtual-ip": "192.0.2.100", "bgp-peers": "198.51.100.33"}));
    assert_eq!(
        summary::status_line(&lonely, &world, None).0,
        State::Waiting
    );
    let down = BgpWorld {
        query_error: Some("vtysh: failed to connect".into()),
        ..world.clone()
    };
    let down = BgpWorld {
        sessions: None,
        ..down
    };
    assert_eq!(
        summary::status_line(&o, &down, None),
        (
            State::Waiting,
            "BGP: bgpd not answering (vtysh: failed to connect)".into()
        )
    );
    assert!(summary::parse("% bgpd is not running").is_err());
}

/// A unit on its own routed subnet, BGP on, agent running as MASTER.
fn routed_inputs(extra: Value) -> Inputs {
    let addr: IpAddr = "198.51.100.2".parse().expect("addr");
    let mut inputs = Inputs {
        hook: "update-status".into(),
        unit: "k8s-vip/0".into(),
        app: "k8s-vip".into(),
        model: "m".into(),
        config: cfg(extra),
        ..Inputs::default()
    };
    inputs.network.interfaces = vec![Interface {
        name: "eth0".into(),
        addrs: vec![
            IfaceAddr::parse("198.51.100.2", "198.51.100.0/28").expect("addr"),
            IfaceAddr::parse("2001:db8:0:1::2", "2001:db8:0:1::/64").expect("addr"),
        ],
    }];
    inputs.network.ingress = vec![addr];
    inputs.agent_service = ServiceState {
        active: true,
        enabled: true,
    };
    inputs.agent_state = Some(doc(true));
    inputs.agent_binary_present = true;
    inputs.bgp = BgpWorld {
        frr_installed: true,
        service: ServiceState {
            active: true,
            enabled: true,
        },
        sessions: Some(summary::parse(SUMMARY).expect("parse")),
        daemons: Some(daemons::edit(None, true)),
        ..BgpWorld::default()
    };
    inputs
}

#[test]
fn the_plan_renders_frr_the_agent_block_and_the_bgp_status() {
    let inputs = routed_inputs(json!({"bgp-peers": PEERS, "bgp-ecmp": true}));
    let p = plan(&inputs);
    assert!(
        p.unit_status
            .message
            .ends_with("; BGP: 2/2 peers established, announcing 192.0.2.100"),
        "{:?}",
        p.unit_status
    );
    let file = |path: &str| {
        p.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.content.clone())
    };
    let agent: Value =
        serde_yaml::from_str(&file("/etc/k8s-vip/agent.yaml").expect("agent.yaml")).expect("yaml");
    assert_eq!(
        agent["bgp"],
        json!({"interface": "k8s-vip-bgp", "ecmp": true})
    );
    let frr = file("/etc/frr/frr.conf").expect("frr.conf");
    assert!(frr.contains(" bgp router-id 198.51.100.2\n"), "{frr}");
    assert!(p.install_packages.is_empty(), "frr is installed already");
    // FRR runs: a new frr.conf is reloaded in place, a new daemons file restarts.
    let reload = p
        .commands
        .iter()
        .find(|c| c.program.ends_with("frr-reload.py"))
        .expect("reload");
    assert_eq!(
        reload.args[0..2],
        ["--reload".to_string(), "--stdout".to_string()]
    );
    assert_eq!(
        reload.args.last().map(String::as_str),
        Some("/etc/frr/frr.conf")
    );
    // This unit's own address is no router.
    let mine =
        routed_inputs(json!({"virtual-ip": "192.0.2.100", "bgp-peers": "198.51.100.2:65000"}));
    let p = plan(&mine);
    assert_eq!(p.unit_status.state, State::Blocked);
    assert!(p
        .unit_status
        .message
        .starts_with("bgp-peers: 198.51.100.2 is this unit's own address"));
    assert!(p.files.is_empty() && p.services.is_empty() && p.commands.is_empty());
}

#[test]
fn multihop_bfd_between_units_in_bgp_mode() {
    let peer = |addr: &str| k8s_vip::charm::types::Peer {
        unit: "k8s-vip/1".into(),
        data: [
            ("address".to_string(), addr.to_string()),
            ("knows".to_string(), "k8s-vip/0".to_string()),
        ]
        .into_iter()
        .collect(),
    };
    // Routed: the peer is on another subnet, reached through a router. The
    // agent runs multi-hop BFD to it, with or without FRR's bfdd on the BGP
    // sessions (the two share the BFD ports: tests/bfd_socket.rs).
    let mut routed =
        routed_inputs(json!({"virtual-ip": "192.0.2.100", "bgp-peers": "198.51.100.1"}));
    routed.peers = vec![peer("198.51.100.18")];
    let mut without_bfdd = routed_inputs(
        json!({"virtual-ip": "192.0.2.100", "bgp-peers": "198.51.100.1", "bgp-bfd": false}),
    );
    without_bfdd.peers = vec![peer("198.51.100.18")];
    let agent_yaml = |p: &k8s_vip::charm::types::Plan| -> String {
        p.files
            .iter()
            .find(|f| f.path == "/etc/k8s-vip/agent.yaml")
            .map(|f| f.content.clone())
            .unwrap_or_else(|| panic!("no agent.yaml: {:?}", p.unit_status))
    };
    // A shared segment: the VIP in the units' subnet, no BGP.
    let mut shared = routed_inputs(json!({"virtual-ip": "192.0.2.100"}));
    shared.network.interfaces[0].addrs =
        vec![IfaceAddr::parse("192.0.2.11", "192.0.2.0/24").expect("addr")];
    shared.network.ingress = vec!["192.0.2.11".parse().expect("addr")];
    shared.peers = vec![peer("192.0.2.12")];
    for (inputs, bgp) in [(routed, true), (without_bfdd, true), (shared, false)] {
        let text = agent_yaml(&plan(&inputs));
        let agent: Value = serde_yaml::from_str(&text).expect("yaml");
        let inst = &agent["instances"][0];
        let bfd = &inst["bfd"];
        assert!(bfd.is_object(), "bgp={bgp}: no bfd block in\n{text}");
        assert_eq!(bfd.get("multihop") == Some(&json!(true)), bgp, "{text}");
        assert_eq!(agent.get("bgp").is_some(), bgp, "{text}");
        if bgp {
            // VRRP from the unit's own address; the VIP is a host route.
            assert_eq!(inst["unicast-source"], json!("198.51.100.2"), "{text}");
            assert_eq!(inst["vips"], json!(["192.0.2.100/32"]), "{text}");
        }
    }
}

#[test]
fn the_how_to_shows_the_frr_conf_the_charm_writes() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/how-to/routed-networks-bgp.md"
    ))
    .expect("how-to");
    let shown = page
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a text block");
    let o = options(
        json!({"virtual-ip": "192.0.2.100", "bgp-peers": "198.51.100.1:65000 198.51.100.17:65000"}),
    );
    let vips = ["192.0.2.100".parse().expect("vip")];
    let text = render(&FrrInputs {
        app: "k8s-vip",
        bgp: Some(&o),
        vips: &vips,
        router_id: Some("198.51.100.2".parse().expect("id")),
        interface: "k8s-vip-bgp",
    })
    .expect("render");
    assert_eq!(
        shown, text,
        "docs/how-to/routed-networks-bgp.md shows another frr.conf"
    );
}
