//! BGP mode through the real binary under the simulated Juju model: bad
//! `bgp-*` values block naming the option with nothing written; BGP on
//! installs FRR, writes a frr.conf that FRR's own parser accepts and the
//! daemons file, and starts FRR; later changes reload it in place
//! (`frr-reload.py`) or restart it (daemons changed); a foreign frr.conf is
//! left alone and blocks; BGP off and removal undo what the charm did; the
//! `status` action lists bgpd's sessions.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::juju::Model;
use support::skip;

const VIP: &str = "192.0.2.100";
const PEERS: &str = "198.51.100.1:65000 198.51.100.17";
const FRR_CONF: &str = "/etc/frr/frr.conf";

fn read(model: &Model, unit: &str, path: &str) -> Option<String> {
    std::fs::read_to_string(model.path(unit, path)).ok()
}

/// Unit `i`'s network-get answer: the model's default (192.0.2.0/24), with
/// an address on the routers' subnet 198.51.100.0/24 too, so the routers
/// of PEERS are directly connected by Juju's word. (The hooks here run on
/// the host, whose kernel reaches 198.51.100.0/24 through its gateway: the
/// charm never probes those routers.)
fn network(i: usize) -> Value {
    let mut info = support::juju::default_network(i);
    let extra = json!({"hostname": "", "value": format!("198.51.100.{}", 2 + i), "cidr": "198.51.100.0/24"});
    if let Some(list) = info["bind-addresses"][0]["addresses"].as_array_mut() {
        list.push(extra);
    }
    info
}

/// Two units floating one VIP (BGP off), hooks run until they know each other.
fn deploy() -> Model {
    let model = Model::new("k8s-vip", 2);
    for i in 0..2 {
        model.set_network(&model.unit(i), "*", network(i));
    }
    model.set_config("virtual-ip", VIP);
    model.run_install_and_elect();
    for u in model.units().to_vec() {
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    for u in model.units().to_vec() {
        model.run_peers_changed(&u);
    }
    model
}

/// `unit`'s calls of `tool` since the last clear, each as one line.
fn calls(model: &Model, unit: &str, tool: &str) -> Vec<String> {
    model
        .calls(unit, tool)
        .iter()
        .map(|a| a.join(" "))
        .collect()
}

/// Turns BGP on for unit 0 with `extra` options and runs config-changed.
fn bgp_on(model: &Model, extra: &[(&str, Value)]) -> String {
    let u = model.unit(0);
    model.set_config("bgp-peers", PEERS);
    for (k, v) in extra {
        model.set_config(k, v.clone());
    }
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    u
}

/// A recording `frr-reload.py` under the unit's root, where the charm runs
/// it from in the simulated model; returns the file it records calls in.
fn record_reloads(model: &Model, unit: &str) -> std::path::PathBuf {
    let script = model.path(unit, "/usr/lib/frr/frr-reload.py");
    std::fs::create_dir_all(script.parent().expect("parent")).expect("mkdir");
    let log = script.with_file_name("reload-calls");
    let body = format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display());
    std::fs::write(&script, body).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    log
}

#[test]
fn bad_values_block_naming_the_option_and_write_nothing() {
    let model = deploy();
    let u = model.unit(0);
    let before = read(&model, &u, "/etc/k8s-vip/agent.yaml");
    let cases = [
        ("bgp-peers", json!("198.51.100.1:notanasn")),
        ("bgp-peers", json!("[2001:db8::1]")),
        ("bgp-peers", json!(VIP)),
        ("bgp-asn", json!(0)),
        ("bgp-asn", json!(4_294_967_296u64)),
        ("bgp-password", json!("two words")),
        ("bgp-password", json!("x".repeat(81))),
    ];
    for (key, value) in cases {
        model.set_config("bgp-peers", PEERS);
        model.set_config(key, value.clone());
        model.clear_calls(&u);
        model.run_hook(&u, "config-changed").assert_success();
        let s = model.status(&u).expect("status");
        assert_eq!(s.state, "blocked", "{key}={value}: {}", s.message);
        assert!(s.message.starts_with(key), "{key}={value}: {}", s.message);
        assert_eq!(
            read(&model, &u, "/etc/k8s-vip/agent.yaml"),
            before,
            "{key}={value}"
        );
        assert_eq!(
            read(&model, &u, FRR_CONF),
            None,
            "{key}={value} wrote frr.conf"
        );
        assert!(
            calls(&model, &u, "apt-get").is_empty(),
            "{key}={value} installed something"
        );
        model.reset_config(key);
        model.reset_config("bgp-peers");
    }
}

#[test]
fn bgp_on_installs_and_starts_frr_with_a_config_frr_accepts() {
    let model = deploy();
    let u = bgp_on(&model, &[("bgp-password", json!("s3cret!"))]);
    let conf = read(&model, &u, FRR_CONF).expect("frr.conf written");
    assert!(conf.starts_with("! Managed by k8s-vip (juju application k8s-vip)"));
    for line in [
        " neighbor 198.51.100.1 remote-as 65000",
        " neighbor 198.51.100.17 remote-as external",
        " neighbor 198.51.100.1 password s3cret!",
        " neighbor 198.51.100.17 bfd profile k8s-vip",
        " bgp router-id 192.0.2.11",
        "ip prefix-list K8S-VIP-OUT seq 5 permit 192.0.2.100/32",
    ] {
        assert!(conf.lines().any(|l| l == line), "no {line:?} in\n{conf}");
    }
    let daemons = read(&model, &u, "/etc/frr/daemons").expect("daemons written");
    assert!(
        daemons.contains("\nbgpd=yes\n") && daemons.contains("\nbfdd=yes\n"),
        "{daemons}"
    );
    assert!(model.path(&u, "/var/lib/k8s-vip/installed-frr").exists());
    assert_eq!(
        calls(&model, &u, "apt-get"),
        ["install -y --no-install-recommends frr"]
    );
    let systemctl = calls(&model, &u, "systemctl");
    let frr: Vec<&String> = systemctl
        .iter()
        .filter(|c| c.contains("frr") && !c.starts_with("show"))
        .collect();
    assert_eq!(
        frr,
        ["enable frr.service", "restart frr.service"],
        "{systemctl:?}"
    );
    assert!(model.is_active(&u, "frr.service"));
    // The file in place is one FRR's own parser takes.
    if skip::need_program("vtysh") {
        let out = std::process::Command::new("vtysh")
            .args(["--dryrun", "--config_dir"])
            .arg(model.path(&u, "/etc/frr"))
            .arg("-f")
            .arg(model.path(&u, FRR_CONF))
            .output()
            .expect("vtysh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // Nothing changed: nothing runs.
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    let again = calls(&model, &u, "systemctl");
    assert!(
        !again
            .iter()
            .any(|c| c.contains("frr") && !c.starts_with("show")),
        "{again:?}"
    );
    assert!(calls(&model, &u, "apt-get").is_empty());
}

#[test]
fn a_new_frr_conf_is_reloaded_in_place_and_a_new_daemons_file_restarts() {
    let model = deploy();
    let u = bgp_on(&model, &[]);
    let log = record_reloads(&model, &u);
    model.set_config("bgp-password", "changed");
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    let root = model.root(&u);
    let reloads = std::fs::read_to_string(&log).expect("frr-reload.py ran");
    assert_eq!(
        reloads.trim(),
        format!(
            "--reload --stdout --confdir {r}/etc/frr --rundir {r}/run/frr --vty_socket {r}/run/frr --bindir /usr/bin {r}/etc/frr/frr.conf",
            r = root.display()
        )
    );
    let systemctl = calls(&model, &u, "systemctl");
    assert!(
        !systemctl.iter().any(|c| c.contains("restart frr")),
        "{systemctl:?}"
    );
    // bfdd switched off: the daemons file changes, FRR restarts (no reload).
    std::fs::remove_file(&log).expect("rm log");
    model.set_config("bgp-bfd", false);
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert!(calls(&model, &u, "systemctl").contains(&"restart frr.service".to_string()));
    assert!(!log.exists(), "reloaded as well as restarted");
    let conf = read(&model, &u, FRR_CONF).expect("frr.conf");
    assert!(!conf.contains("bfd"), "{conf}");
}

#[test]
fn a_foreign_frr_conf_is_not_touched_and_blocks_the_unit() {
    let model = deploy();
    let u = model.unit(0);
    let theirs = "hostname edge1\n!\nrouter ospf\n network 10.0.0.0/8 area 0\n!\n";
    let path = model.path(&u, FRR_CONF);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, theirs).expect("write");
    model.preinstall(&u, &["frr"]);
    bgp_on(&model, &[]);
    let s = model.status(&u).expect("status");
    assert_eq!(s.state, "blocked", "{}", s.message);
    assert!(
        s.message
            .starts_with("FRR is configured by someone else (/etc/frr/frr.conf has `router ospf`)"),
        "{}",
        s.message
    );
    assert_eq!(read(&model, &u, FRR_CONF).as_deref(), Some(theirs));
    assert_eq!(read(&model, &u, "/etc/frr/daemons"), None);
    assert!(calls(&model, &u, "apt-get").is_empty());
    assert!(!calls(&model, &u, "systemctl")
        .iter()
        .any(|c| c.contains("frr") && !c.starts_with("show")));
}

#[test]
fn bgp_off_stops_the_frr_we_started_and_removal_purges_it() {
    let model = deploy();
    let u = bgp_on(&model, &[]);
    model.set_config("bgp-peers", "");
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert!(calls(&model, &u, "systemctl").contains(&"disable --now frr.service".to_string()));
    assert_eq!(read(&model, &u, FRR_CONF), None);
    assert!(!model.is_active(&u, "frr.service"));
    // Off stays off, at no cost.
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert!(!calls(&model, &u, "systemctl")
        .iter()
        .any(|c| c.contains("frr")));
    // Removal purges the package the charm installed.
    model.clear_calls(&u);
    model.run_hook(&u, "stop").assert_success();
    model.run_hook(&u, "remove").assert_success();
    assert!(calls(&model, &u, "apt-get")
        .iter()
        .any(|c| c == "purge -y frr"));
    assert!(!model.packages(&u).contains("frr"));
}

#[test]
fn bgp_off_leaves_an_frr_that_ran_before_running_without_our_bgp() {
    let model = deploy();
    let u = model.unit(0);
    model.preinstall(&u, &["frr"]);
    // FRR already runs (for something else) before BGP mode is turned on.
    model.update(|state| {
        let unit = state.units.get_mut(&u).expect("unit");
        let frr = unit.services.entry("frr.service".into()).or_default();
        frr.active = true;
        frr.enabled = true;
    });
    bgp_on(&model, &[]);
    assert!(read(&model, &u, FRR_CONF).is_some_and(|c| c.contains("router bgp")));
    let log = record_reloads(&model, &u);
    model.set_config("bgp-peers", "");
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    let conf = read(&model, &u, FRR_CONF).expect("frr.conf");
    assert!(
        conf.starts_with("! Managed by k8s-vip") && !conf.contains("router bgp"),
        "{conf}"
    );
    assert!(log.exists(), "not reloaded");
    assert!(
        model.is_active(&u, "frr.service"),
        "stopped an FRR the charm did not start"
    );
    model.run_hook(&u, "remove").assert_success();
    assert!(
        model.packages(&u).contains("frr"),
        "purged a package the charm did not install"
    );
}

/// Answers one `status` request on the unit's control socket with `doc`.
fn serve_once(model: &Model, unit: &str, doc: Value) -> std::thread::JoinHandle<()> {
    let path = model.path(unit, "/run/k8s-vip/agent.sock");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((stream, _)) = listener.accept() {
                let _ = stream.set_nonblocking(false);
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                let _ = (&stream).write_all(format!("{doc}\n").as_bytes());
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// A `vtysh` first on the hooks' PATH answering `show bgp summary json`
/// with `summary` (anything else goes to the real vtysh).
fn fake_bgpd(model: &Model, summary: &str) {
    let data = model.dir().join("bgp-summary.json");
    std::fs::write(&data, summary).expect("write summary");
    let script = model.tools_dir().join("vtysh");
    let body = format!(
        "#!/bin/sh\ncase \"$*\" in *'show bgp summary json'*) cat {}; exit 0;; esac\nexec /usr/bin/vtysh \"$@\"\n",
        data.display()
    );
    std::fs::write(&script, body).expect("write vtysh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn status_action_lists_the_bgp_sessions_and_what_is_announced() {
    let model = deploy();
    let u = bgp_on(&model, &[]);
    fake_bgpd(
        &model,
        r#"{"ipv4Unicast": {"peers": {
            "198.51.100.1": {"remoteAs": 65000, "state": "Established", "peerUptime": "00:01:02", "pfxSnt": 1},
            "198.51.100.17": {"remoteAs": 0, "state": "Active", "peerUptime": "never"}}}}"#,
    );
    let doc = json!({"ok": true, "pid": 1, "paused": false, "instances": [
        {"name": "v4-1", "vrid": 1, "state": "MASTER", "priority": 200,
         "vips": ["192.0.2.100/32"], "transitions": 1, "announced": true}]});
    let server = serve_once(&model, &u, doc);
    let a = model.run_action(&u, "status", json!({}));
    a.assert_completed();
    let _ = server.join();
    assert_eq!(
        a.result("bgp.peers.198-51-100-1").as_deref(),
        Some("AS 65000, Established for 00:01:02, 1 prefix sent")
    );
    assert_eq!(
        a.result("bgp.peers.198-51-100-17").as_deref(),
        Some("AS external, Active")
    );
    assert_eq!(a.result("bgp.announcing").as_deref(), Some(VIP));
    assert_eq!(
        a.result("bgp.summary").as_deref(),
        Some("BGP: 1/2 peers established (198.51.100.17: Active), announcing 192.0.2.100")
    );
}

#[test]
fn a_frr_conf_frr_refuses_keeps_the_old_one_and_holds_the_reload() {
    let model = deploy();
    let u = bgp_on(&model, &[]);
    let log = record_reloads(&model, &u);
    let before = read(&model, &u, FRR_CONF).expect("frr.conf");
    // A vtysh first on the hooks' PATH whose dry run refuses every file.
    let script = model.tools_dir().join("vtysh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'line 7: % Unknown command[4]: neighbor 198.51.100.1 password x'\nexit 2\n",
    )
    .expect("write vtysh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    model.set_config("bgp-password", "x");
    model.clear_calls(&u);
    model.run_hook(&u, "config-changed").assert_success();
    assert_eq!(
        read(&model, &u, FRR_CONF),
        Some(before),
        "refused file put in place"
    );
    let s = model.status(&u).expect("status");
    assert_eq!(s.state, "blocked", "{}", s.message);
    let logs = model.logs(&u);
    assert!(
        logs.iter().any(|l| l
            .message
            .starts_with("/etc/frr/frr.conf refused by vtysh --dryrun --config_dir")
            && l.message.contains("line 7: % Unknown command")),
        "{logs:?}"
    );
    assert!(!log.exists(), "reloaded a refused file");
    let systemctl = calls(&model, &u, "systemctl");
    assert!(
        !systemctl.iter().any(|c| c.contains("restart frr")),
        "{systemctl:?}"
    );
}
