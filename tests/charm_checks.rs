//! Config the charm accepts is config its programs accept, under the
//! simulated Juju model (the real binary through `dispatch`):
//! - a `tcp:` health check's host name is resolved at hook time (the agent
//!   gets the address) or blocks the unit naming `health-check`;
//! - every rendered agent.yaml / keepalived.conf is checked by its own
//!   program (`k8s-vip agent --check`, `keepalived --config-test`) before
//!   it replaces the old one, and a refused one leaves the old one in place;
//! - keepalived mode probes TCP with `k8s-vip probe`, no shell;
//! - `unicast: true` reaches agent.yaml, the unit says when it waits for
//!   unicast peers, and status messages stay within 1 KiB.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::process::Command;

use serde_json::{json, Value};
use support::juju::Model;
use support::skip;

const VIP: &str = "192.0.2.100";
const AGENT_YAML: &str = "/etc/k8s-vip/agent.yaml";
const KEEPALIVED_CONF: &str = "/etc/keepalived/keepalived.conf";

fn deploy(config: &[(&str, &str)]) -> (Model, String) {
    let model = Model::new("k8s-vip", 1);
    model.set_config("virtual-ip", VIP);
    for (k, v) in config {
        model.set_config(k, *v);
    }
    let u = model.unit(0);
    model.run_install_and_elect();
    model.run_hook(&u, "config-changed").assert_success();
    model.run_hook(&u, "start").assert_success();
    (model, u)
}

fn read(model: &Model, unit: &str, path: &str) -> String {
    std::fs::read_to_string(model.path(unit, path)).unwrap_or_else(|e| panic!("{unit}:{path}: {e}"))
}

fn agent_yaml(model: &Model, unit: &str) -> Value {
    serde_yaml::from_str(&read(model, unit, AGENT_YAML)).expect("agent.yaml is YAML")
}

fn status(model: &Model, unit: &str) -> (String, String) {
    let s = model.status(unit).expect("unit status set");
    (s.state, s.message)
}

/// The unit's network as Juju reports it, on interface `iface`.
fn network_on(iface: &str) -> Value {
    json!({
        "bind-addresses": [{"interface-name": iface, "interfacename": iface,
                            "mac-address": "02:00:00:00:00:11", "macaddress": "02:00:00:00:00:11",
                            "addresses": [{"hostname": "", "value": "192.0.2.11", "cidr": "192.0.2.0/24"}]}],
        "egress-subnets": ["192.0.2.11/32"],
        "ingress-addresses": ["192.0.2.11"],
    })
}

#[test]
fn a_tcp_host_name_is_resolved_and_the_agent_gets_the_address() {
    if !skip::need_root() {
        return;
    }
    let (model, u) = deploy(&[("health-check", "tcp:localhost:6443")]);
    assert_eq!(status(&model, &u).0, "waiting", "{:?}", status(&model, &u));
    let tcp = agent_yaml(&model, &u)["instances"][0]["checks"][0]["tcp"]
        .as_str()
        .expect("a tcp check")
        .to_string();
    let addr: SocketAddr = tcp
        .parse()
        .unwrap_or_else(|_| panic!("{tcp:?} is no address"));
    assert!(addr.ip().is_loopback(), "{tcp}");
    assert_eq!(addr.port(), 6443);
    // The agent itself accepts what the charm rendered.
    let check = Command::new(env!("CARGO_BIN_EXE_k8s-vip"))
        .args(["agent", "--check", "--config"])
        .arg(model.path(&u, AGENT_YAML))
        .output()
        .expect("run k8s-vip agent --check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn an_unresolvable_tcp_host_blocks_naming_health_check_and_changes_nothing() {
    if !skip::need_root() {
        return;
    }
    let (model, u) = deploy(&[]);
    let before = read(&model, &u, AGENT_YAML);
    // .invalid never resolves (RFC 6761).
    model.set_config("health-check", "tcp:no-such-host.invalid:6443");
    model.run_hook(&u, "config-changed").assert_success();
    let (state, message) = status(&model, &u);
    assert_eq!(state, "blocked");
    assert!(
        message.starts_with("health-check: ") && message.contains("no-such-host.invalid"),
        "{message}"
    );
    assert_eq!(read(&model, &u, AGENT_YAML), before);
}

#[test]
fn an_agent_yaml_the_agent_refuses_leaves_the_old_one() {
    if !skip::need_root() {
        return;
    }
    let (model, u) = deploy(&[]);
    let before = read(&model, &u, AGENT_YAML);
    // Juju now reports an interface this machine does not have: the charm
    // renders it, `k8s-vip agent --check` refuses it.
    model.set_network(&u, "cluster", network_on("k8svipnone0"));
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert_eq!(read(&model, &u, AGENT_YAML), before, "old agent.yaml kept");
    let (state, message) = status(&model, &u);
    assert_eq!(state, "blocked");
    assert!(
        message.starts_with(
            "/etc/k8s-vip/agent.yaml refused by k8s-vip agent --config FILE --check: "
        ) && message.contains("k8svipnone0"),
        "{message}"
    );
    let reloads: Vec<_> = model
        .calls(&u, "systemctl")
        .into_iter()
        .filter(|a| a.iter().any(|w| w == "reload" || w == "restart"))
        .collect();
    assert_eq!(
        reloads,
        Vec::<Vec<String>>::new(),
        "no reload of a refused file"
    );
    let logged = model
        .logs(&u)
        .into_iter()
        .any(|l| l.level == "ERROR" && l.message.contains("does not exist (interfaces:"));
    assert!(logged, "the checker's whole output is logged");
    // Back on a real interface, the new file goes in.
    model.set_network(&u, "cluster", support::juju::default_network(0));
    model.run_hook(&u, "config-changed").assert_success();
    assert_ne!(status(&model, &u).0, "blocked");
}

#[test]
fn keepalived_mode_probes_tcp_with_k8s_vip_probe_and_passes_config_test() {
    if !skip::need_root() || !skip::need_program("keepalived") {
        return;
    }
    let (model, u) = deploy(&[
        ("vip-agent", "keepalived"),
        ("health-check", "tcp:127.0.0.1:6443"),
    ]);
    let conf = read(&model, &u, KEEPALIVED_CONF);
    let probe = model.path(&u, "/usr/local/lib/k8s-vip/k8s-vip");
    assert!(probe.exists(), "the probe binary is installed");
    let script = format!(
        "script \"{} probe tcp:127.0.0.1:6443 --timeout-ms 1500\"",
        probe.display()
    );
    assert!(conf.contains(&script), "{conf}");
    assert!(!conf.contains("bash"), "{conf}");
    let test = Command::new("keepalived")
        .args(["--config-test", "-f"])
        .arg(model.path(&u, KEEPALIVED_CONF))
        .output()
        .expect("run keepalived");
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(status(&model, &u).1.starts_with("keepalived: "));
}

#[test]
fn a_keepalived_conf_keepalived_refuses_leaves_the_old_one() {
    if !skip::need_root() || !skip::need_program("keepalived") {
        return;
    }
    let (model, u) = deploy(&[("vip-agent", "keepalived")]);
    let before = read(&model, &u, KEEPALIVED_CONF);
    model.set_network(&u, "cluster", network_on("k8svipnone0"));
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert_eq!(read(&model, &u, KEEPALIVED_CONF), before, "old file kept");
    let (state, message) = status(&model, &u);
    assert_eq!(state, "blocked");
    assert!(
        message.starts_with(
            "/etc/keepalived/keepalived.conf refused by keepalived --config-test -f FILE: "
        ) && message.contains("k8svipnone0"),
        "{message}"
    );
    assert!(
        !model
            .calls(&u, "systemctl")
            .iter()
            .any(|a| a.iter().any(|w| w == "reload")),
        "keepalived not reloaded"
    );
}

#[test]
fn unicast_reaches_agent_yaml_and_the_unit_says_it_waits_for_peers() {
    let (model, u) = deploy(&[]);
    let y = agent_yaml(&model, &u);
    assert_eq!(y["instances"][0]["unicast"], true);
    assert_eq!(y["instances"][0]["unicast-peers"], json!([]));
    let vrid = y["instances"][0]["vrid"].clone();
    let doc = json!({"pid": 4242, "paused": false, "instances": [{
        "name": "v4-1", "vrid": vrid, "state": "BACKUP", "master": null,
        "mode": "unicast", "waiting-for": "unicast peers", "foreign-routers": [], "checks": []}]});
    let path = model.path(&u, "/run/k8s-vip/state.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, doc.to_string()).expect("state");
    model.run_hook(&u, "update-status").assert_success();
    let (state, message) = status(&model, &u);
    assert_eq!(state, "waiting");
    assert_eq!(
        message,
        format!("BACKUP {VIP}, waiting for unicast peers (vrid {vrid})")
    );
    model.set_config("unicast", false);
    model.run_hook(&u, "config-changed").assert_success();
    assert_eq!(agent_yaml(&model, &u)["instances"][0]["unicast"], false);
}

#[test]
fn a_very_long_status_is_capped_at_one_kib() {
    let (model, u) = deploy(&[]);
    let vrid = agent_yaml(&model, &u)["instances"][0]["vrid"].clone();
    let strangers: Vec<String> = (0..400)
        .map(|i| format!("198.51.100.{}", i % 250))
        .collect();
    let doc = json!({"pid": 4242, "paused": false, "instances": [{
        "name": "v4-1", "vrid": vrid, "state": "MASTER", "master": "192.0.2.11",
        "foreign-routers": strangers, "checks": []}]});
    let path = model.path(&u, "/run/k8s-vip/state.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, doc.to_string()).expect("state");
    model.run_hook(&u, "update-status").assert_success();
    let (_, message) = status(&model, &u);
    assert!(message.len() <= 1024, "{} bytes", message.len());
    assert!(message.ends_with('…'), "{message}");
    assert!(message.starts_with(&format!("MASTER {VIP}")), "{message}");
}

/// Runs `k8s-vip probe ARGS`; true when it exits 0.
fn probe(args: &[&str]) -> bool {
    Command::new(env!("CARGO_BIN_EXE_k8s-vip"))
        .arg("probe")
        .args(args)
        .status()
        .expect("run k8s-vip probe")
        .success()
}

#[test]
fn probe_exits_zero_with_a_listener_and_non_zero_without() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let target = format!("tcp:127.0.0.1:{port}");
    assert!(probe(&[&target, "--timeout-ms", "1000"]));
    drop(listener);
    assert!(!probe(&[&target, "--timeout-ms", "1000"]));
    // Names and other forms are refused, never looked up or run.
    assert!(!probe(&[&format!("tcp:localhost:{port}")]));
    assert!(!probe(&["exec:/bin/true"]));
}

/// The same mechanism for haproxy.cfg: `haproxy -c -f` on the new file,
/// which replaces the old one only when HAProxy accepts it.
#[test]
fn haproxy_checks_a_new_haproxy_cfg_before_it_replaces_the_old_one() {
    use k8s_vip::charm::checked_write::{write_checked, CheckedWrite};
    use k8s_vip::charm::system::System;
    use k8s_vip::charm::types::{FileSpec, Validator};

    if !skip::need_program("haproxy") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sys = System::with_root(dir.path());
    let path = "/etc/haproxy/haproxy.cfg";
    let good = "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend f\n    bind 127.0.0.1:6443\n    default_backend b\n\nbackend b\n    server s1 192.0.2.21:6443\n";
    let spec = |content: &str| FileSpec {
        path: path.into(),
        content: content.into(),
        mode: 0o644,
    };
    let written = write_checked(&sys, &spec(good), &Validator::haproxy()).expect("check ran");
    assert_eq!(written, CheckedWrite::Written);
    let again = write_checked(&sys, &spec(good), &Validator::haproxy()).expect("check ran");
    assert_eq!(again, CheckedWrite::Unchanged);
    // A timer HAProxy cannot hold ("timer overflow") is refused.
    let bad = good.replace(
        "server s1 192.0.2.21:6443",
        "server s1 192.0.2.21:6443 check inter 3000000s",
    );
    match write_checked(&sys, &spec(&bad), &Validator::haproxy()).expect("check ran") {
        CheckedWrite::Refused(r) => {
            assert_eq!(r.path, path);
            assert_eq!(r.checker, "haproxy -c -f FILE");
            assert!(r.first_line.starts_with("[ALERT]"), "{r:?}");
            assert!(r.output.contains("exit status"), "{r:?}");
            assert!(
                !r.output.contains(".new."),
                "the temporary name is not shown: {r:?}"
            );
        }
        other => panic!("accepted: {other:?}"),
    }
    let kept = std::fs::read_to_string(sys.path(path)).expect("old file");
    assert_eq!(kept, good, "the old file stays");
    let leftovers: Vec<_> = std::fs::read_dir(sys.path("/etc/haproxy"))
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}
