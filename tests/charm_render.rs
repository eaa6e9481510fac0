//! agent.yaml and keepalived.conf rendered from one plan: the agent schema of
//! issue 4 / CONTRACTS.md, and real `keepalived --config-test`.

#[path = "support/skip.rs"]
mod skip;

use std::process::Command;

use k8s_vip::charm::config::VrrpVersion;
use k8s_vip::charm::instances::{Bfd, Instance};
use k8s_vip::charm::render::{advert_int, agent_yaml, keepalived_conf, AgentPaths};
use k8s_vip::charm::types::HealthCheck;
use serde_json::Value;

fn instance(
    name: &str,
    vip: &str,
    prefix: u8,
    peers: &[&str],
    local: &str,
    checks: Vec<HealthCheck>,
) -> Instance {
    Instance {
        name: name.into(),
        interface: "eth0".into(),
        vrid: 51,
        version: VrrpVersion::V3,
        priority: 200,
        advert_interval_cs: 25,
        preempt: false,
        vip: vip.parse().expect("vip"),
        prefix,
        unicast: true,
        unicast_peers: peers.iter().map(|p| p.parse().expect("peer")).collect(),
        alone: false,
        local_address: Some(local.parse().expect("local")),
        garp_refresh_s: 60,
        checks,
        preferred_unit: "k8s-vip/0".into(),
        bfd: None,
    }
}

fn all_checks() -> Vec<HealthCheck> {
    vec![
        HealthCheck::Http {
            url: "https://127.0.0.1:6443/livez".into(),
        },
        HealthCheck::parse("tcp:127.0.0.1:6443").expect("tcp"),
        HealthCheck::Exec {
            argv: vec!["/usr/bin/pgrep".into(), "-x".into(), "haproxy".into()],
        },
    ]
}

/// An IPv4 instance `name` for `vip`/24 on unit 0 (192.0.2.11) with the
/// peers 192.0.2.12 and .13 and every kind of check.
fn unicast_v4(name: &str, vip: &str) -> Instance {
    instance(
        name,
        vip,
        24,
        &["192.0.2.12", "192.0.2.13"],
        "192.0.2.11",
        all_checks(),
    )
}

/// The IPv6 instance "v6-1" for 2001:db8::100/64 on unit 0 with the peer
/// 2001:db8::12 and every kind of check.
fn unicast_v6() -> Instance {
    instance(
        "v6-1",
        "2001:db8::100",
        64,
        &["2001:db8::12"],
        "2001:db8::11",
        all_checks(),
    )
}

#[test]
fn agent_yaml_follows_the_agent_schema() {
    let list = vec![
        unicast_v4("v4-1", "192.0.2.100"),
        instance("v6-1", "2001:db8::100", 64, &[], "2001:db8::11", vec![]),
    ];
    let text = agent_yaml(&list, &AgentPaths::default()).expect("render");
    let doc: Value = serde_yaml::from_str(&text).expect("valid YAML");
    assert_eq!(doc["control-socket"], "/run/k8s-vip/agent.sock");
    assert_eq!(doc["state-file"], "/run/k8s-vip/state.json");
    assert_eq!(doc["pause-file"], "/var/lib/k8s-vip/paused");
    let i = &doc["instances"][0];
    assert_eq!(i["name"], "v4-1");
    assert_eq!(i["interface"], "eth0");
    assert_eq!(i["vrid"], 51);
    assert_eq!(i["version"], 3);
    assert_eq!(i["priority"], 200);
    assert_eq!(i["advert-interval-ms"], 250);
    assert_eq!(i["preempt"], false);
    assert_eq!(i["preempt-delay-ms"], 0);
    assert_eq!(i["vips"], serde_json::json!(["192.0.2.100/24"]));
    assert_eq!(
        i["unicast-peers"],
        serde_json::json!(["192.0.2.12", "192.0.2.13"])
    );
    assert_eq!(i["unicast-source"], "192.0.2.11");
    assert_eq!(
        i["garp"],
        serde_json::json!({"repeat": 5, "interval-ms": 100, "refresh-s": 60})
    );
    assert_eq!(
        i["checks"][0],
        serde_json::json!({"http": "https://127.0.0.1:6443/livez", "insecure-tls": true, "interval-ms": 1000, "timeout-ms": 800, "rise": 2, "fall": 3})
    );
    assert_eq!(
        i["checks"][1],
        serde_json::json!({"tcp": "127.0.0.1:6443", "interval-ms": 1000, "timeout-ms": 500, "rise": 2, "fall": 3})
    );
    assert_eq!(
        i["checks"][2],
        serde_json::json!({"exec": ["/usr/bin/pgrep", "-x", "haproxy"], "interval-ms": 2000, "rise": 1, "fall": 2})
    );
    assert_eq!(i["unicast"], true);
    // No peers known yet: still unicast (the agent waits, never multicasts).
    let j = &doc["instances"][1];
    assert_eq!(j["unicast"], true);
    assert_eq!(j["unicast-peers"], serde_json::json!([]));
    assert!(j["unicast-source"].is_null());
    assert_eq!(j["checks"], serde_json::json!([]));
    assert_eq!(j["vips"], serde_json::json!(["2001:db8::100/64"]));
}

#[test]
fn agent_yaml_is_accepted_by_the_agent_parser() {
    // The agent's own parser is the judge of its schema (unknown keys are errors there).
    let ip = |s: &str| s.parse().expect("ip");
    let bfd = Bfd {
        interval_ms: 20,
        multiplier: 3,
        peer_priorities: vec![(ip("192.0.2.12"), 199), (ip("192.0.2.13"), 198)],
    };
    let list = vec![
        Instance {
            bfd: Some(bfd),
            ..unicast_v4("v4-1", "192.0.2.100")
        },
        Instance {
            vrid: 52,
            preempt: true,
            garp_refresh_s: 0,
            ..instance("v4-2", "192.0.2.101", 24, &[], "192.0.2.11", vec![])
        },
        unicast_v6(),
    ];
    let text = agent_yaml(&list, &AgentPaths::default()).expect("render");
    let parsed = match k8s_vip::agent::config::parse(&text) {
        Ok(c) => c,
        Err(e) => panic!("the agent rejects the rendered config: {e}\n{text}"),
    };
    let bfd = parsed.instances[0].bfd.as_ref().expect("v4-1 has bfd");
    assert_eq!(bfd.peer_priorities.get(&ip("192.0.2.13")), Some(&198));
    assert!(parsed.instances[1].bfd.is_none(), "{text}");
}

#[test]
fn advert_int_formatting() {
    assert_eq!(advert_int(25), "0.25");
    assert_eq!(advert_int(10), "0.1");
    assert_eq!(advert_int(100), "1");
    assert_eq!(advert_int(105), "1.05");
    assert_eq!(advert_int(1), "0.01");
}

/// The k8s-vip binary keepalived runs for `tcp:` checks.
const PROBE: &str = env!("CARGO_BIN_EXE_k8s-vip");

/// A namespace with a veth `eth0`, so keepalived sees a real non-loopback interface.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Option<Netns> {
        let name = format!("kvc{}{tag}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
        let ns = Netns(name);
        let ok = Command::new("ip")
            .args([
                "netns", "exec", &ns.0, "ip", "link", "add", "eth0", "type", "veth", "peer",
                "name", "eth0p",
            ])
            .status()
            .ok()?
            .success();
        ok.then_some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn keepalived_accepts(conf: &str, tag: &str) {
    if !skip::need_program("keepalived") || !skip::need_root() {
        return;
    }
    let ns = Netns::new(tag).expect("create test namespace");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("keepalived.conf");
    std::fs::write(&file, conf).expect("write");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "keepalived", "--config-test", "-f"])
        .arg(&file)
        .output()
        .expect("run keepalived");
    assert!(
        out.status.success(),
        "keepalived --config-test rejected:\n{conf}\nstderr: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn keepalived_conf_passes_config_test_unicast_dual_stack_with_checks() {
    let ip = |s: &str| s.parse().expect("ip");
    let bfd = Bfd {
        interval_ms: 20,
        multiplier: 3,
        peer_priorities: vec![(ip("192.0.2.12"), 199), (ip("192.0.2.13"), 198)],
    };
    let list = vec![
        Instance {
            bfd: Some(bfd),
            ..unicast_v4("v4-1", "192.0.2.100")
        },
        Instance {
            vrid: 52,
            ..unicast_v4("v4-2", "192.0.2.101")
        },
        unicast_v6(),
    ];
    let conf = keepalived_conf(&list, "k8s-vip/0", PROBE).expect("render");
    assert!(conf.contains("virtual_router_id 51"));
    assert!(conf.contains("advert_int 0.25"));
    assert!(conf.contains("nopreempt"));
    assert!(conf.contains("unicast_src_ip 192.0.2.11"));
    assert!(conf.contains("garp_master_refresh 60"));
    assert!(conf.contains("track_script"));
    assert!(conf.contains("192.0.2.100/24 dev eth0"));
    // tcp: checks run the charm's own probe, no shell.
    assert!(
        conf.contains(&format!(
            "script \"{PROBE} probe tcp:127.0.0.1:6443 --timeout-ms 1500\""
        )),
        "{conf}"
    );
    assert!(!conf.contains("bash"), "{conf}");
    keepalived_accepts(&conf, "a");
}

#[test]
fn keepalived_conf_passes_config_test_v2_multicast_preempt_no_checks() {
    let mut i = instance("v4-1", "192.0.2.100", 24, &[], "192.0.2.11", vec![]);
    i.version = VrrpVersion::V2;
    i.advert_interval_cs = 100;
    i.preempt = true;
    i.garp_refresh_s = 0;
    let conf = keepalived_conf(&[i], "k8s-vip/1", PROBE).expect("render");
    assert!(conf.contains("version 2"));
    assert!(conf.contains("advert_int 1\n"));
    assert!(!conf.contains("nopreempt"));
    assert!(!conf.contains("unicast_peer"));
    assert!(!conf.contains("track_script"));
    keepalived_accepts(&conf, "b");
}

#[test]
fn render_command_writes_the_files_the_charm_would() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = serde_json::json!({
        "hook": "config-changed", "unit": "k8s-vip/0", "app": "k8s-vip", "model": "test",
        "config": {"virtual-ip": "192.0.2.100", "health-check": "none"},
        "network": {"interfaces": [{"name": "eth0", "addrs": [{"addr": "192.0.2.11", "prefix": 24}]}],
                    "ingress": ["192.0.2.11"]},
        "peers": [{"unit": "k8s-vip/1", "data": {"address": "192.0.2.12"}}]
    });
    let file = dir.path().join("inputs.json");
    std::fs::write(&file, inputs.to_string()).expect("write");
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_k8s-vip"))
        .args(["render", "--inputs"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run k8s-vip render");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let yaml = std::fs::read_to_string(out.join("etc/k8s-vip/agent.yaml")).expect("agent.yaml");
    let doc: Value = serde_yaml::from_str(&yaml).expect("yaml");
    assert_eq!(
        doc["instances"][0]["unicast-peers"],
        serde_json::json!(["192.0.2.12"])
    );
    assert_eq!(
        doc["instances"][0]["vrid"],
        serde_json::json!(k8s_vip::charm::vrid::derived_base("test", "k8s-vip"))
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("status: waiting: agent starting"));
}

#[test]
fn keepalived_conf_from_the_plan_for_three_units_passes_config_test() {
    use k8s_vip::charm::plan::{plan, Inputs};
    let inputs: Inputs = serde_json::from_value(serde_json::json!({
        "hook": "config-changed", "unit": "k8s-vip/1", "app": "k8s-vip", "model": "test",
        "runs-apiserver": true,
        "config": {"virtual-ip": "192.0.2.100 192.0.2.101 192.0.2.102 2001:db8::100",
                   "vip-agent": "keepalived", "advert-interval": 0.5},
        "network": {"interfaces": [{"name": "eth0", "addrs": [{"addr": "192.0.2.12", "prefix": 24},
                                                             {"addr": "2001:db8::12", "prefix": 64}]}],
                    "ingress": ["192.0.2.12"]},
        "peers": [{"unit": "k8s-vip/0", "data": {"address": "192.0.2.11", "address-v6": "2001:db8::11"}},
                  {"unit": "k8s-vip/2", "data": {"address": "192.0.2.13", "address-v6": "2001:db8::13"}}],
        "cluster-relation": "cluster:0"
    }))
    .expect("inputs");
    let p = plan(&inputs);
    let conf = p
        .files
        .iter()
        .find(|f| f.path == "/etc/keepalived/keepalived.conf")
        .map(|f| f.content.clone())
        .expect("keepalived.conf planned");
    assert_eq!(p.install_packages, vec!["keepalived".to_string()]);
    assert_eq!(conf.matches("vrrp_instance").count(), 4);
    assert!(conf.contains("advert_int 0.5"));
    assert!(
        conf.contains("curl --silent --fail --insecure"),
        "auto check on an API server unit"
    );
    keepalived_accepts(&conf, "c");
}
