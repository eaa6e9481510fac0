//! agent.yaml and keepalived.conf rendered from one plan: the agent schema of
//! issue 4 / CONTRACTS.md, and real `keepalived --config-test`.

use std::path::Path;
use std::process::Command;

use k8s_vip::charm::config::VrrpVersion;
use k8s_vip::charm::health::HealthCheck;
use k8s_vip::charm::instances::Instance;
use k8s_vip::charm::render::{advert_int, agent_yaml, keepalived_conf, AgentPaths};
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
        unicast_peers: peers.iter().map(|p| p.parse().expect("peer")).collect(),
        local_address: Some(local.parse().expect("local")),
        garp_refresh_s: 60,
        checks,
        preferred_unit: "k8s-vip/0".into(),
    }
}

fn all_checks() -> Vec<HealthCheck> {
    vec![
        HealthCheck::Http {
            url: "https://127.0.0.1:6443/livez".into(),
        },
        HealthCheck::Tcp {
            host: "127.0.0.1".into(),
            port: 6443,
        },
        HealthCheck::Exec {
            argv: vec!["/usr/bin/pgrep".into(), "-x".into(), "haproxy".into()],
        },
    ]
}

#[test]
fn agent_yaml_follows_the_agent_schema() {
    let list = vec![
        instance(
            "v4-1",
            "192.0.2.100",
            24,
            &["192.0.2.12", "192.0.2.13"],
            "192.0.2.11",
            all_checks(),
        ),
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
    // Multicast instance: no peers, no unicast source, no checks.
    let j = &doc["instances"][1];
    assert_eq!(j["unicast-peers"], serde_json::json!([]));
    assert!(j["unicast-source"].is_null());
    assert_eq!(j["checks"], serde_json::json!([]));
    assert_eq!(j["vips"], serde_json::json!(["2001:db8::100/64"]));
}

#[test]
fn agent_yaml_accepted_by_the_agent_parser_when_available() {
    // The agent's own `--check` is the final judge; run it when the agent can parse configs.
    let list = vec![instance(
        "v4-1",
        "192.0.2.100",
        24,
        &["192.0.2.12"],
        "192.0.2.11",
        all_checks(),
    )];
    let text = agent_yaml(&list, &AgentPaths::default()).expect("render");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("agent.yaml");
    std::fs::write(&file, text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_k8s-vip"))
        .args(["agent", "--check", "--config"])
        .arg(&file)
        .output()
        .expect("run k8s-vip agent --check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("not built yet") {
        eprintln!("skip: the agent in this build cannot check configs yet");
        return;
    }
    // The interface may not exist on this machine; any other complaint is a schema problem.
    assert!(
        out.status.success()
            || stderr.contains("eth0")
            || stderr.to_lowercase().contains("interface"),
        "agent rejected the rendered config: {stderr}"
    );
}

#[test]
fn advert_int_formatting() {
    assert_eq!(advert_int(25), "0.25");
    assert_eq!(advert_int(10), "0.1");
    assert_eq!(advert_int(100), "1");
    assert_eq!(advert_int(105), "1.05");
    assert_eq!(advert_int(1), "0.01");
}

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
    if !Path::new("/usr/sbin/keepalived").exists() {
        eprintln!("skip: keepalived is not installed (apt-get install keepalived)");
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skip: keepalived --config-test in a namespace needs root");
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
    let list = vec![
        instance(
            "v4-1",
            "192.0.2.100",
            24,
            &["192.0.2.12", "192.0.2.13"],
            "192.0.2.11",
            all_checks(),
        ),
        Instance {
            vrid: 52,
            ..instance(
                "v4-2",
                "192.0.2.101",
                24,
                &["192.0.2.12", "192.0.2.13"],
                "192.0.2.11",
                all_checks(),
            )
        },
        instance(
            "v6-1",
            "2001:db8::100",
            64,
            &["2001:db8::12"],
            "2001:db8::11",
            all_checks(),
        ),
    ];
    let conf = keepalived_conf(&list, "k8s-vip/0").expect("render");
    assert!(conf.contains("virtual_router_id 51"));
    assert!(conf.contains("advert_int 0.25"));
    assert!(conf.contains("nopreempt"));
    assert!(conf.contains("unicast_src_ip 192.0.2.11"));
    assert!(conf.contains("garp_master_refresh 60"));
    assert!(conf.contains("track_script"));
    assert!(conf.contains("192.0.2.100/24 dev eth0"));
    keepalived_accepts(&conf, "a");
}

#[test]
fn keepalived_conf_passes_config_test_v2_multicast_preempt_no_checks() {
    let mut i = instance("v4-1", "192.0.2.100", 24, &[], "192.0.2.11", vec![]);
    i.version = VrrpVersion::V2;
    i.advert_interval_cs = 100;
    i.preempt = true;
    i.garp_refresh_s = 0;
    let conf = keepalived_conf(&[i], "k8s-vip/1").expect("render");
    assert!(conf.contains("version 2"));
    assert!(conf.contains("advert_int 1\n"));
    assert!(!conf.contains("nopreempt"));
    assert!(!conf.contains("unicast_peer"));
    assert!(!conf.contains("track_script"));
    keepalived_accepts(&conf, "b");
}
