//! The simulated Juju model itself: its fake hook tools must behave like
//! Juju's (flags, defaults, permissions, errors) or charm tests prove nothing.

mod support;

use serde_json::{json, Value};
use support::juju::Model;

fn stdout_json(model: &Model, unit: &str, args: &[&str]) -> Value {
    let run = model.run_tool(unit, args, None);
    run.assert_success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", run.stdout))
}

#[test]
fn config_get_fills_defaults_from_config_yaml() {
    let model = Model::new("k8s-vip", 1);
    let config = stdout_json(&model, "k8s-vip/0", &["config-get", "--format=json"]);
    assert_eq!(config["virtual-ip"], "");
    assert_eq!(config["port"], 6443);
    assert_eq!(config["advert-interval"], 0.25);
    model.set_config("virtual-ip", "192.0.2.100");
    model.set_config("port", 443);
    let config = stdout_json(&model, "k8s-vip/0", &["config-get", "--format=json"]);
    assert_eq!(config["virtual-ip"], "192.0.2.100");
    assert_eq!(config["port"], 443);
    let one = stdout_json(
        &model,
        "k8s-vip/0",
        &["config-get", "--format=json", "port"],
    );
    assert_eq!(one, 443);
    model.reset_config("port");
    assert_eq!(model.config()["port"], 6443);
}

#[test]
#[should_panic(expected = "option port is int")]
fn set_config_checks_types() {
    Model::new("k8s-vip", 1).set_config("port", "443");
}

#[test]
fn unknown_flags_are_rejected_like_juju() {
    let model = Model::new("k8s-vip", 1);
    let run = model.run_tool("k8s-vip/0", &["config-get", "--fromat=json"], None);
    assert_eq!(run.status.code(), Some(2));
    assert!(run
        .stderr
        .contains("flag provided but not defined: --fromat=json"));
}

#[test]
fn peer_relation_lists_the_other_units_and_app_data_needs_leadership() {
    let model = Model::new("k8s-vip", 3);
    model.set_leader("k8s-vip/0");
    let peers = model.relation_id("cluster");
    let ids = stdout_json(
        &model,
        "k8s-vip/1",
        &["relation-ids", "--format=json", "cluster"],
    );
    assert_eq!(ids, json!([peers]));
    let units = stdout_json(
        &model,
        "k8s-vip/1",
        &["relation-list", "--format=json", "-r", &peers],
    );
    assert_eq!(units, json!(["k8s-vip/0", "k8s-vip/2"]));
    let app = stdout_json(
        &model,
        "k8s-vip/1",
        &["relation-list", "--format=json", "-r", &peers, "--app"],
    );
    assert_eq!(app, "k8s-vip");

    let run = model.run_tool(
        "k8s-vip/1",
        &["relation-set", "-r", &peers, "--app", "--file", "-"],
        Some(r#"{"vrid": "51"}"#),
    );
    run.assert_failure();
    assert!(run.stderr.contains("permission denied"), "{}", run.stderr);
    assert!(
        model.app_data(&peers, "k8s-vip").is_empty(),
        "nothing half-applied"
    );

    model
        .run_tool(
            "k8s-vip/0",
            &["relation-set", "-r", &peers, "--app", "--file", "-"],
            Some(r#"{"vrid": "51"}"#),
        )
        .assert_success();
    // Peers may read their own application's bag.
    let bag = stdout_json(
        &model,
        "k8s-vip/2",
        &[
            "relation-get",
            "--format=json",
            "-r",
            &peers,
            "--app",
            "-",
            "k8s-vip",
        ],
    );
    assert_eq!(bag, json!({"vrid": "51"}));
}

#[test]
fn relation_set_merges_and_empty_values_delete() {
    let model = Model::new("k8s-vip", 2);
    let peers = model.relation_id("cluster");
    let set = |body: &str| {
        model
            .run_tool(
                "k8s-vip/0",
                &["relation-set", "-r", &peers, "--file", "-"],
                Some(body),
            )
            .assert_success();
    };
    set(r#"{"address": "192.0.2.11", "interface": "eth0"}"#);
    set(r#"{"interface": ""}"#);
    assert_eq!(
        model.relation_data(&peers, "k8s-vip/0"),
        [("address".to_string(), "192.0.2.11".to_string())].into()
    );
    let seen = stdout_json(
        &model,
        "k8s-vip/1",
        &[
            "relation-get",
            "--format=json",
            "-r",
            &peers,
            "-",
            "k8s-vip/0",
        ],
    );
    assert_eq!(seen, json!({"address": "192.0.2.11"}));
    let run = model.run_tool(
        "k8s-vip/0",
        &["relation-set", "-r", &peers, "--file", "-"],
        Some(r#"{"port": 6443}"#),
    );
    run.assert_failure();
    assert!(run.stderr.contains("must be a string"), "{}", run.stderr);
}

#[test]
fn non_leaders_cannot_read_their_own_app_bag_on_regular_relations() {
    let model = Model::new("k8s-vip", 2);
    let rel = model.add_relation(
        "lb-consumers",
        "kubernetes-control-plane",
        &["kubernetes-control-plane/0"],
    );
    model.set_app_data(&rel, "kubernetes-control-plane", &[("version", "1")]);
    let args = [
        "relation-get",
        "--format=json",
        "-r",
        rel.as_str(),
        "--app",
        "-",
        "k8s-vip",
    ];
    model.run_tool("k8s-vip/0", &args, None).assert_success();
    let run = model.run_tool("k8s-vip/1", &args, None);
    run.assert_failure();
    assert!(run.stderr.contains("permission denied"));
    let remote = stdout_json(
        &model,
        "k8s-vip/1",
        &[
            "relation-get",
            "--format=json",
            "-r",
            &rel,
            "--app",
            "-",
            "kubernetes-control-plane",
        ],
    );
    assert_eq!(remote, json!({"version": "1"}));
    let run = model.run_tool(
        "k8s-vip/1",
        &[
            "relation-get",
            "--format=json",
            "-r",
            &rel,
            "-",
            "stranger/0",
        ],
        None,
    );
    run.assert_failure();
    let run = model.run_tool(
        "k8s-vip/1",
        &["relation-list", "--format=json", "-r", "lb-consumers:99"],
        None,
    );
    assert!(run.stderr.contains("relation not found"), "{}", run.stderr);
}

#[test]
fn juju_info_is_container_scoped_to_the_principal() {
    let model = Model::new("k8s-vip", 2);
    let rel = model.relation_id("juju-info");
    let seen = stdout_json(
        &model,
        "k8s-vip/1",
        &["relation-list", "--format=json", "-r", &rel],
    );
    assert_eq!(seen, json!(["kubernetes-control-plane/1"]));
}

#[test]
fn network_get_answers_per_unit_and_rejects_unknown_bindings() {
    let model = Model::new("k8s-vip", 2);
    let info = stdout_json(
        &model,
        "k8s-vip/1",
        &["network-get", "--format=json", "cluster"],
    );
    assert_eq!(info["bind-addresses"][0]["interface-name"], "eth0");
    assert_eq!(
        info["bind-addresses"][0]["addresses"][0]["value"],
        "192.0.2.12"
    );
    assert_eq!(info["ingress-addresses"], json!(["192.0.2.12"]));
    model.set_network(
        "k8s-vip/1",
        "cluster",
        json!({"bind-addresses": [{"interface-name": "ens3", "addresses": [{"value": "198.51.100.7", "cidr": "198.51.100.0/24"}]}],
               "ingress-addresses": ["198.51.100.7"], "egress-subnets": []}),
    );
    let addr = stdout_json(
        &model,
        "k8s-vip/1",
        &[
            "network-get",
            "--format=json",
            "cluster",
            "--ingress-address",
        ],
    );
    assert_eq!(addr, "198.51.100.7");
    let run = model.run_tool("k8s-vip/1", &["network-get", "--format=json", "nope"], None);
    assert!(run
        .stderr
        .contains("no network config found for binding \"nope\""));
}

#[test]
fn status_logs_and_leadership() {
    let model = Model::new("k8s-vip", 2);
    model.set_leader("k8s-vip/1");
    assert_eq!(model.leader().as_deref(), Some("k8s-vip/1"));
    assert_eq!(
        stdout_json(&model, "k8s-vip/0", &["is-leader", "--format=json"]),
        false
    );
    model
        .run_tool(
            "k8s-vip/0",
            &["status-set", "waiting", "--", "-starting"],
            None,
        )
        .assert_success();
    assert_eq!(model.status("k8s-vip/0").unwrap().message, "-starting");
    let run = model.run_tool(
        "k8s-vip/0",
        &["status-set", "--application", "active", "x"],
        None,
    );
    run.assert_failure();
    assert!(run.stderr.contains("not the leader"));
    model
        .run_tool(
            "k8s-vip/1",
            &["status-set", "--application", "active", "VIP up"],
            None,
        )
        .assert_success();
    assert_eq!(model.app_status().unwrap().message, "VIP up");
    let run = model.run_tool("k8s-vip/0", &["status-set", "happy"], None);
    run.assert_failure();
    model
        .run_tool(
            "k8s-vip/0",
            &["juju-log", "--log-level", "WARNING", "--", "odd"],
            None,
        )
        .assert_success();
    let log = model.logs("k8s-vip/0").pop().unwrap();
    assert_eq!(
        (log.level.as_str(), log.message.as_str()),
        ("WARNING", "odd")
    );
}

#[test]
fn action_set_nests_dotted_keys_and_validates_them() {
    let model = Model::new("k8s-vip", 1);
    let run = model.run_tool("k8s-vip/0", &["action-get", "--format=json"], None);
    assert!(run.stderr.contains("not running an action"));
    // Drive the tools inside a running action through the model's state.
    model.update(|s| {
        s.units.get_mut("k8s-vip/0").unwrap().action = Some(support::juju::state::ActionState {
            name: "status".into(),
            ..Default::default()
        })
    });
    model
        .run_tool(
            "k8s-vip/0",
            &[
                "action-set",
                "instances.api.state=MASTER",
                "vip=192.0.2.100",
            ],
            None,
        )
        .assert_success();
    let run = model.run_tool("k8s-vip/0", &["action-set", "Bad_Key=1"], None);
    run.assert_failure();
    let run = model.run_tool("k8s-vip/0", &["action-set", "stdout=1"], None);
    run.assert_failure();
    let state = model.state();
    let action = state.units["k8s-vip/0"].action.as_ref().unwrap();
    assert_eq!(
        Value::Object(action.results.clone()),
        json!({"instances": {"api": {"state": "MASTER"}}, "vip": "192.0.2.100"})
    );
}

#[test]
#[should_panic(expected = "has no parameter \"hould\"")]
fn run_action_checks_params_like_juju_run() {
    Model::new("k8s-vip", 1).run_action("k8s-vip/0", "failover", json!({"hould": 1}));
}

#[test]
fn system_shims_record_calls_and_keep_state() {
    let model = Model::new("k8s-vip", 1);
    let unit = "k8s-vip/0";
    model
        .run_tool(
            unit,
            &[
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "keepalived",
            ],
            None,
        )
        .assert_success();
    assert!(model.packages(unit).contains("keepalived"));
    let run = model.run_tool(
        unit,
        &["dpkg-query", "-W", "-f=${Status}", "keepalived"],
        None,
    );
    assert_eq!(run.stdout, "install ok installed");
    model
        .run_tool(unit, &["dpkg-query", "-W", "haproxy"], None)
        .assert_failure();

    let conf = model.path(unit, "/etc/sysctl.d/60-k8s-vip.conf");
    std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
    std::fs::write(
        &conf,
        "net.ipv4.ip_nonlocal_bind = 1\nnet.ipv6.ip_nonlocal_bind=1\n",
    )
    .unwrap();
    model
        .run_tool(
            unit,
            &["sysctl", "-p", "/etc/sysctl.d/60-k8s-vip.conf"],
            None,
        )
        .assert_success();
    assert_eq!(model.sysctls(unit)["net.ipv6.ip_nonlocal_bind"], "1");
    let run = model.run_tool(unit, &["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"], None);
    assert_eq!(run.stdout, "1\n");

    // A unit that does not exist cannot start; one written under the root can.
    let run = model.run_tool(unit, &["systemctl", "start", "k8s-vip-agent"], None);
    assert_eq!(run.status.code(), Some(5));
    assert!(run.stderr.contains("Unit k8s-vip-agent.service not found"));
    let unit_file = model.path(unit, "/etc/systemd/system/k8s-vip-agent.service");
    std::fs::create_dir_all(unit_file.parent().unwrap()).unwrap();
    std::fs::write(
        &unit_file,
        "[Service]\nExecStart=/usr/local/lib/k8s-vip/k8s-vip agent\n",
    )
    .unwrap();
    let run = model.run_tool(unit, &["systemctl", "reload", "k8s-vip-agent"], None);
    run.assert_failure();
    for args in [
        &["systemctl", "daemon-reload"][..],
        &["systemctl", "enable", "--now", "k8s-vip-agent.service"],
        &["systemctl", "reload", "k8s-vip-agent"],
    ] {
        model.run_tool(unit, args, None).assert_success();
    }
    assert!(model.is_active(unit, "k8s-vip-agent"));
    let svc = &model.services(unit)["k8s-vip-agent.service"];
    assert!(svc.enabled);
    assert_eq!((svc.starts, svc.reloads), (1, 1));
    let run = model.run_tool(unit, &["systemctl", "is-active", "k8s-vip-agent"], None);
    assert_eq!(run.stdout, "active\n");
    model
        .run_tool(unit, &["systemctl", "stop", "k8s-vip-agent"], None)
        .assert_success();
    let run = model.run_tool(
        unit,
        &["systemctl", "is-active", "--quiet", "k8s-vip-agent"],
        None,
    );
    assert_eq!((run.status.code(), run.stdout.as_str()), (Some(3), ""));
    // Packaged units exist once apt-get installed the package.
    model
        .run_tool(unit, &["systemctl", "restart", "keepalived"], None)
        .assert_success();

    let systemctl = model.calls(unit, "systemctl");
    assert_eq!(systemctl[0], ["start", "k8s-vip-agent"]);
    assert_eq!(systemctl.len(), 9);
    assert_eq!(model.calls(unit, "apt-get").len(), 1);
}

#[test]
fn real_services_run_rerooted_exec_start_and_reload_with_sighup() {
    let model = Model::options("k8s-vip", 1).real_services(true).build();
    let unit = "k8s-vip/0";
    let root = model.root(unit);
    // A service binary that exists only under the unit's root: the shim must
    // find it there. It logs each SIGHUP to a file (an absolute path that is
    // re-rooted as an argument too).
    let script = model.path(unit, "/usr/local/bin/hupper");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::create_dir_all(model.path(unit, "/var/log")).unwrap();
    std::fs::write(model.path(unit, "/var/log/hups"), "").unwrap();
    std::fs::write(
        &script,
        "#!/bin/sh\nout=\"$1\"\ntrap 'echo hup >> \"$out\"' HUP\necho started >> \"$out\"\nwhile :; do sleep 0.05; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let unit_file = model.path(unit, "/etc/systemd/system/hupper.service");
    std::fs::create_dir_all(unit_file.parent().unwrap()).unwrap();
    std::fs::write(
        &unit_file,
        "[Unit]\nDescription=test\n[Service]\nEnvironment=\"OUT=/var/log/hups\"\nExecStart=/usr/local/bin/hupper ${OUT}\nExecReload=/bin/kill -HUP $MAINPID\n",
    )
    .unwrap();
    let hups = root.join("var/log/hups");
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&hups).unwrap_or_default();
            if text.contains(want) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never saw {want:?} in {text:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };

    model
        .run_tool(unit, &["systemctl", "start", "hupper"], None)
        .assert_success();
    assert!(model.is_active(unit, "hupper"));
    wait_for("started");
    model
        .run_tool(unit, &["systemctl", "reload", "hupper"], None)
        .assert_success();
    wait_for("hup");
    let pid = model.services(unit)["hupper.service"].pid.unwrap();
    let pid_file = model.unit_dir(unit).join("services/hupper.service.pid");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        format!("{pid}\n")
    );
    model
        .run_tool(unit, &["systemctl", "stop", "hupper"], None)
        .assert_success();
    assert!(!model.is_active(unit, "hupper"));
    assert!(!pid_file.exists());
    assert!(
        support::juju::state::process_start_time(pid).is_none(),
        "process {pid} still runs"
    );

    // Drop stops whatever is still running.
    model
        .run_tool(unit, &["systemctl", "start", "hupper"], None)
        .assert_success();
    let pid = model.services(unit)["hupper.service"].pid.unwrap();
    drop(model);
    assert!(
        support::juju::state::process_start_time(pid).is_none(),
        "process {pid} outlived the model"
    );
}

/// A network namespace for one test, removed on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Option<Netns> {
        if !support::skip::need_root() {
            return None;
        }
        let name = format!("kvm{}{tag}", std::process::id());
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name} failed");
        Some(Netns(name))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

fn netns_inode(path: &str) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
}

#[test]
fn hooks_and_their_services_run_in_the_units_network_namespace() {
    let Some(ns) = Netns::new("hk") else {
        return;
    };
    let mut model = Model::options("k8s-vip", 1).real_services(true).build();
    let unit = "k8s-vip/0";
    model.set_netns(unit, &ns.0);
    let unit_file = model.path(unit, "/etc/systemd/system/sleeper.service");
    std::fs::create_dir_all(unit_file.parent().unwrap()).unwrap();
    std::fs::write(&unit_file, "[Service]\nExecStart=/bin/sleep 600\n").unwrap();
    model.run_hook(unit, "install").assert_success();
    let run = model.run_tool(unit, &["readlink", "/proc/self/ns/net"], None);
    run.assert_success();
    let ns_inode = netns_inode(&format!("/run/netns/{}", ns.0));
    assert_eq!(
        run.stdout.trim(),
        format!("net:[{ns_inode}]"),
        "tools run in the namespace"
    );
    model
        .run_tool(unit, &["systemctl", "start", "sleeper"], None)
        .assert_success();
    let pid = model.services(unit)["sleeper.service"].pid.unwrap();
    assert_eq!(
        netns_inode(&format!("/proc/{pid}/ns/net")),
        netns_inode(&format!("/run/netns/{}", ns.0)),
        "the service runs in the unit's namespace"
    );
    drop(model);
    assert!(support::juju::state::process_start_time(pid).is_none());
}

#[test]
fn units_join_and_leave_the_peer_relation() {
    let mut model = Model::new("k8s-vip", 2);
    let peers = model.relation_id("cluster");
    let new = model.add_unit();
    assert_eq!(new, "k8s-vip/2");
    assert_eq!(model.units(), ["k8s-vip/0", "k8s-vip/1", "k8s-vip/2"]);
    model.run_hook(&new, "install").assert_success();
    model
        .run_relation_hook("k8s-vip/0", &peers, "joined", Some(&new))
        .assert_success();
    assert_eq!(
        model.remote_units("k8s-vip/0", &peers),
        ["k8s-vip/1", "k8s-vip/2"]
    );
    let juju_info = model.relation_id("juju-info");
    assert_eq!(
        model.remote_units(&new, &juju_info),
        ["kubernetes-control-plane/2"]
    );
    let addr = stdout_json(
        &model,
        &new,
        &[
            "network-get",
            "--format=json",
            "cluster",
            "--ingress-address",
        ],
    );
    assert_eq!(addr, "192.0.2.13");

    model.set_unit_data(&peers, "k8s-vip/1", &[("address", "192.0.2.12")]);
    model.remove_unit("k8s-vip/1");
    assert_eq!(model.remote_units("k8s-vip/0", &peers), ["k8s-vip/2"]);
    model
        .run_relation_hook("k8s-vip/0", &peers, "departed", Some("k8s-vip/1"))
        .assert_success();
    // In -departed the departing unit's bag is still readable by name.
    let mut env = model.hook_env("k8s-vip/0", "cluster-relation-departed");
    env.push(("JUJU_DEPARTING_UNIT".into(), "k8s-vip/1".into()));
    let tools = k8s_vip::juju::tools::CliHookTools::in_dir(model.tools_dir()).with_env(env);
    let bag =
        k8s_vip::juju::tools::HookTools::relation_get(&tools, &peers, "k8s-vip/1", false).unwrap();
    assert_eq!(bag["address"], "192.0.2.12");
}

#[test]
fn systemctl_show_and_dpkg_query_answer_many_units_at_once() {
    let model = Model::new("k8s-vip", 1);
    let unit = "k8s-vip/0";
    model
        .run_tool(unit, &["apt-get", "install", "-y", "keepalived"], None)
        .assert_success();
    model
        .run_tool(unit, &["systemctl", "enable", "--now", "keepalived"], None)
        .assert_success();
    // One block per unit in the order asked, an empty line between, only the
    // properties asked for (empty ones too), exit 0 for a unit that is not there.
    let run = model.run_tool(
        unit,
        &[
            "systemctl",
            "show",
            "--property=Id,ActiveState",
            "-p",
            "UnitFileState",
            "keepalived",
            "nothere.service",
        ],
        None,
    );
    run.assert_success();
    assert_eq!(
        run.stdout,
        "Id=keepalived.service\nActiveState=active\nUnitFileState=enabled\n\n\
         Id=nothere.service\nActiveState=inactive\nUnitFileState=\n"
    );
    // dpkg-query prints what it knows and names the rest on stderr, exit 1.
    let run = model.run_tool(
        unit,
        &[
            "dpkg-query",
            "-W",
            r"--showformat=${Package}\t${Status}\n",
            "haproxy",
            "keepalived",
        ],
        None,
    );
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stdout, "keepalived\tinstall ok installed\n");
    assert!(run.stderr.contains("no packages found matching haproxy"));
}

#[test]
fn fake_hook_tools_answer_after_the_latency_asked_for() {
    use support::juju::HookEnv;
    let model = Model::new("k8s-vip", 1);
    let unit = model.unit(0);
    model.set_config("virtual-ip", "192.0.2.100");
    model.run_hook(&unit, "install").assert_success();
    model.run_hook(&unit, "config-changed").assert_success();
    model.clear_calls(&unit);
    let env = HookEnv {
        extra: vec![("K8S_VIP_FAKE_TOOL_LATENCY_MS".into(), "200".into())],
        ..HookEnv::default()
    };
    let run = model.run_hook_with(&unit, "update-status", env);
    run.assert_success();
    let calls = model.all_calls(&unit);
    assert!(calls.iter().all(|c| c.hook == "update-status"), "{calls:?}");
    let shims = ["systemctl", "apt-get", "dpkg-query", "sysctl"];
    let tool_calls = calls
        .iter()
        .filter(|c| !shims.contains(&c.tool.as_str()))
        .count();
    assert!(tool_calls >= 2, "{calls:?}");
    assert!(
        run.elapsed >= std::time::Duration::from_millis(200 * tool_calls as u64),
        "{tool_calls} hook-tool calls took only {:?}",
        run.elapsed
    );
}
