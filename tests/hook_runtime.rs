//! The hook runtime end to end: the real `k8s-vip` binary run through the real
//! `dispatch` script by the simulated Juju model (tests/support/juju.rs).
//!
//! The tests here assert runtime behaviour that holds whatever the charm
//! logic does (dispatch, error reporting, caching); the charm's own behaviour
//! is tested in tests/charm_*.rs.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::json;
use support::juju::{Call, Model, CHARM_BINARY, HOOK_TOOLS};

/// Read-only hook tools: calling one twice with the same arguments in one hook
/// run means the runtime's cache was bypassed.
const READ_TOOLS: &[&str] = &[
    "config-get",
    "relation-ids",
    "relation-list",
    "relation-get",
    "network-get",
    "is-leader",
    "action-get",
    "state-get",
];

/// Tools whose output the runtime parses as JSON.
const JSON_TOOLS: &[&str] = READ_TOOLS;

/// Panics if any read-only tool was called twice with the same arguments in
/// the same hook (calls are grouped by hook; `calls` holds one hook run).
fn assert_each_read_once(unit: &str, hook: &str, calls: &[Call]) {
    let mut seen: BTreeMap<(String, Vec<String>), usize> = BTreeMap::new();
    for call in calls
        .iter()
        .filter(|c| READ_TOOLS.contains(&c.tool.as_str()))
    {
        *seen
            .entry((call.tool.clone(), call.args.clone()))
            .or_default() += 1;
    }
    for ((tool, args), n) in seen {
        assert_eq!(
            n,
            1,
            "{unit} {hook}: `{tool} {}` ran {n} times",
            args.join(" ")
        );
    }
}

/// The tool a ToolError message names (`hook tool `NAME` ...`).
#[track_caller]
fn tool_named_in(stderr: &str) -> String {
    let start = stderr
        .find("hook tool `")
        .unwrap_or_else(|| panic!("no tool named in: {stderr}"))
        + "hook tool `".len();
    let len = stderr[start..].find('`').expect("closing backtick");
    stderr[start..start + len].to_string()
}

/// Runs one hook on every unit, asserting success and the one-read rule.
fn run_everywhere(model: &Model, hook: &str) {
    for unit in model.units() {
        // The `-changed` hooks Juju owes it first (a peer wrote its data).
        while let Some(owed) = model.run_owed_hook(unit) {
            owed.assert_success();
        }
        model.clear_calls(unit);
        model.run_hook(unit, hook).assert_success();
        assert_each_read_once(unit, hook, &model.all_calls(unit));
    }
}

#[test]
fn three_units_go_through_install_relation_config_and_an_action() {
    let model = Model::new("k8s-vip", 3);
    model.set_leader("k8s-vip/1");

    run_everywhere(&model, "install");
    run_everywhere(&model, "cluster-relation-created");
    run_everywhere(&model, "juju-info-relation-created");
    run_everywhere(&model, "juju-info-relation-joined");
    let peers = model.relation_id("cluster");
    for unit in model.units() {
        for remote in model.remote_units(unit, &peers) {
            // The `-changed` hooks Juju owes it first (a peer wrote its data).
            while let Some(owed) = model.run_owed_hook(unit) {
                owed.assert_success();
            }
            model.clear_calls(unit);
            model
                .run_relation_hook(unit, &peers, "joined", Some(&remote))
                .assert_success();
            assert_each_read_once(unit, "cluster-relation-joined", &model.all_calls(unit));
        }
    }
    model.set_config("virtual-ip", "192.0.2.100/24");
    run_everywhere(&model, "config-changed");
    run_everywhere(&model, "cluster-relation-changed");

    for unit in model.units() {
        assert!(
            model.status(unit).is_some(),
            "{unit}: no status was set: {:?}",
            model.all_calls(unit)
        );
        let errors: Vec<_> = model
            .logs(unit)
            .into_iter()
            .filter(|l| l.level == "ERROR")
            .collect();
        assert!(errors.is_empty(), "{unit}: {errors:?}");
    }

    // Actions reach the charm as actions: either results or a clear failure,
    // never a bare crash.
    for unit in model.units() {
        model.clear_calls(unit);
        let action = model.run_action(unit, "status", json!({}));
        let calls = model.all_calls(unit);
        assert!(
            calls.iter().all(|c| c.hook == "status"),
            "calls outside the action context: {calls:?}"
        );
        match &action.failed {
            None => assert!(action.run.success()),
            Some(message) => assert!(
                !message.starts_with("action process failed"),
                "{unit}: action failed without action-fail: {}",
                action.run.stderr
            ),
        }
        assert_each_read_once(unit, "status", &calls);
    }
}

#[test]
fn failing_hook_tool_fails_the_hook_with_the_tool_and_its_stderr_logged() {
    let model = Model::new("k8s-vip", 1);
    let unit = "k8s-vip/0";
    model.set_config("virtual-ip", "192.0.2.100");
    for tool in HOOK_TOOLS.iter().filter(|t| **t != "juju-log") {
        model.fail_tool(
            Some(unit),
            tool,
            1,
            "",
            &format!("ERROR injected failure of {tool}\n"),
        );
    }
    let run = model.run_hook(unit, "config-changed");
    run.assert_failure();
    assert_eq!(run.status.code(), Some(1));
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    // The error names a tool the charm really called, with that tool's stderr.
    let tool = tool_named_in(&run.stderr);
    assert!(
        model.all_calls(unit).iter().any(|c| c.tool == tool),
        "{tool} was never called"
    );
    let expected =
        format!("hook tool `{tool}` failed (exit status: 1): ERROR injected failure of {tool}");
    assert!(run.stderr.contains(&expected), "stderr: {}", run.stderr);
    let logged: Vec<_> = model
        .logs(unit)
        .into_iter()
        .filter(|l| l.level == "ERROR" && l.message.contains(&expected))
        .collect();
    assert_eq!(logged.len(), 1, "{:?}", model.logs(unit));
    assert!(logged[0]
        .message
        .starts_with("hook config-changed failed: "));
}

#[test]
fn garbage_json_from_a_hook_tool_fails_the_hook_naming_the_tool() {
    let model = Model::new("k8s-vip", 1);
    let unit = "k8s-vip/0";
    for tool in JSON_TOOLS {
        model.fail_tool(Some(unit), tool, 0, "{\"virtual-ip\": oops", "");
    }
    let run = model.run_hook(unit, "config-changed");
    run.assert_failure();
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let tool = tool_named_in(&run.stderr);
    assert!(JSON_TOOLS.contains(&tool.as_str()), "{tool}");
    assert!(model.all_calls(unit).iter().any(|c| c.tool == tool));
    let expected = format!("hook tool `{tool}` printed output that is not the expected JSON");
    assert!(run.stderr.contains(&expected), "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("oops"),
        "the output is quoted: {}",
        run.stderr
    );
    assert!(model
        .logs(unit)
        .iter()
        .any(|l| l.level == "ERROR" && l.message.contains(&expected)));
}

#[test]
fn failing_tool_in_an_action_fails_the_action_with_the_message() {
    let model = Model::new("k8s-vip", 1);
    let unit = "k8s-vip/0";
    for tool in JSON_TOOLS {
        model.fail_tool(
            Some(unit),
            tool,
            2,
            "",
            &format!("ERROR {tool} is broken\n"),
        );
    }
    let action = model.run_action(unit, "status", json!({}));
    let message = action.failed.expect("the action must fail");
    assert!(message.contains("hook tool `"), "{message}");
    assert!(message.contains("is broken"), "{message}");
    assert!(!action.run.success());
}

#[test]
fn unknown_hook_is_logged_and_exits_zero() {
    let model = Model::new("k8s-vip", 1);
    let run = model.run_hook_with("k8s-vip/0", "secret-rotate", Default::default());
    run.assert_success();
    let logs = model.logs("k8s-vip/0");
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].level, "INFO");
    assert!(logs[0].message.contains("secret-rotate"), "{logs:?}");
    assert_eq!(model.all_calls("k8s-vip/0").len(), 1, "only juju-log ran");
}

#[test]
fn unknown_action_fails_with_action_fail() {
    let model = Model::new("k8s-vip", 1);
    let action = model.run_action_unchecked("k8s-vip/0", "reboot", Default::default());
    let message = action.failed.expect("must fail");
    assert!(message.contains("unknown action \"reboot\""), "{message}");
    assert!(
        message.contains("failover"),
        "lists the real actions: {message}"
    );
    assert!(
        action.run.success(),
        "reported through action-fail, not a crash"
    );
}

#[test]
fn old_juju_runs_the_hook_symlink_without_dispatch_path() {
    let model = Model::new("k8s-vip", 1);
    let run = model.run_tool("k8s-vip/0", &["./hooks/install"], None);
    run.assert_success();
    let calls = model.all_calls("k8s-vip/0");
    let hook_calls: Vec<_> = calls
        .iter()
        .filter(|c| c.tool != "./hooks/install")
        .collect();
    assert!(!hook_calls.is_empty());
    assert!(
        hook_calls.iter().all(|c| c.hook == "install"),
        "JUJU_DISPATCH_PATH came from $0: {hook_calls:?}"
    );
}

#[test]
fn outside_a_hook_the_binary_says_what_is_missing() {
    let out = Command::new(CHARM_BINARY)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["hook", "install"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JUJU_UNIT_NAME is not set"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = Command::new(CHARM_BINARY)
        .env_clear()
        .env("JUJU_UNIT_NAME", "k8s-vip/0")
        .env("JUJU_CHARM_DIR", "/nonexistent")
        .env("JUJU_DISPATCH_PATH", "hooks/cluster-relation-changed")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JUJU_RELATION_ID is not set"), "{stderr}");
}

#[test]
fn hook_timing_through_the_simulated_model() {
    // Not an assertion on speed: prints the cost of one hook through dispatch
    // and the fake tools, which later benchmarks build on.
    let model = Model::new("k8s-vip", 1);
    model.set_config("virtual-ip", "192.0.2.100");
    let runs: Vec<_> = (0..20)
        .map(|_| model.run_hook("k8s-vip/0", "config-changed"))
        .collect();
    for run in &runs {
        run.assert_success();
    }
    let mut ms: Vec<f64> = runs.iter().map(|r| r.elapsed.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "config-changed through dispatch: median {:.1} ms, max {:.1} ms over {} runs",
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        ms.len()
    );
}

#[test]
fn real_tools_are_called_with_jujus_exact_arguments() {
    use k8s_vip::juju::tools::{CliHookTools, HookTools, LogLevel, Protocol, Status, StatusState};
    let model = Model::new("k8s-vip", 2);
    let unit = "k8s-vip/0";
    let peers = model.relation_id("cluster");
    model.set_unit_data(&peers, "k8s-vip/1", &[("address", "192.0.2.12")]);
    let tools = CliHookTools::in_dir(model.tools_dir()).with_env(model.hook_env(unit, "probe"));
    let bag = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    assert_eq!(tools.config_get().unwrap()["port"], 6443);
    assert_eq!(
        tools.relation_ids("cluster").unwrap(),
        std::slice::from_ref(&peers)
    );
    assert_eq!(tools.relation_list(&peers).unwrap(), ["k8s-vip/1"]);
    assert_eq!(
        tools.relation_remote_app(&peers).unwrap().as_deref(),
        Some("k8s-vip")
    );
    assert_eq!(
        tools.relation_get(&peers, "k8s-vip/1", false).unwrap(),
        bag(&[("address", "192.0.2.12")])
    );
    tools
        .relation_set(&peers, &bag(&[("address", "192.0.2.11")]), false)
        .unwrap();
    tools
        .relation_set(&peers, &bag(&[("vrid", "51")]), true)
        .unwrap();
    let net = tools.network_get("cluster").unwrap();
    let (iface, addr) = net.primary().unwrap();
    assert_eq!(
        (iface.interface_name.as_str(), addr.value.as_str()),
        ("eth0", "192.0.2.11")
    );
    assert_eq!(addr.cidr, "192.0.2.0/24");
    tools
        .status_set(
            Status::new(StatusState::Waiting, "-- agent starting"),
            false,
        )
        .unwrap();
    tools
        .status_set(Status::new(StatusState::Active, "VIP 192.0.2.100"), true)
        .unwrap();
    tools.application_version_set("0.1.0").unwrap();
    assert!(tools.is_leader().unwrap());
    tools
        .juju_log(LogLevel::Warning, "-x looks like a flag")
        .unwrap();
    tools.open_port(6443, Protocol::Tcp).unwrap();
    tools.close_port(6443, Protocol::Tcp).unwrap();
    tools.state_set(&bag(&[("installed", "1")])).unwrap();
    assert_eq!(tools.state_get().unwrap(), bag(&[("installed", "1")]));

    let argv: Vec<(String, Vec<String>)> = model
        .all_calls(unit)
        .into_iter()
        .map(|c| (c.tool, c.args))
        .collect();
    let expect = |tool: &str, args: &[&str]| {
        (
            tool.to_string(),
            args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        argv,
        vec![
            expect("config-get", &["--format=json"]),
            expect("relation-ids", &["--format=json", "cluster"]),
            expect("relation-list", &["--format=json", "-r", &peers]),
            expect("relation-list", &["--format=json", "-r", &peers, "--app"]),
            expect(
                "relation-get",
                &["--format=json", "-r", &peers, "-", "k8s-vip/1"]
            ),
            expect("relation-set", &["-r", &peers, "--file", "-"]),
            expect("relation-set", &["-r", &peers, "--app", "--file", "-"]),
            expect("network-get", &["--format=json", "cluster"]),
            expect("status-set", &["waiting", "--", "-- agent starting"]),
            expect(
                "status-set",
                &["--application", "active", "--", "VIP 192.0.2.100"]
            ),
            expect("application-version-set", &["--", "0.1.0"]),
            expect("is-leader", &["--format=json"]),
            expect(
                "juju-log",
                &["--log-level", "WARNING", "--", "-x looks like a flag"]
            ),
            expect("open-port", &["6443/tcp"]),
            expect("close-port", &["6443/tcp"]),
            expect("state-set", &["--file", "-"]),
            expect("state-get", &["--format=json"]),
        ]
    );
    // What the fake Juju made of them.
    assert_eq!(
        model.relation_data(&peers, unit),
        bag(&[("address", "192.0.2.11")])
    );
    assert_eq!(model.app_data(&peers, "k8s-vip"), bag(&[("vrid", "51")]));
    assert_eq!(model.status(unit).unwrap().message, "-- agent starting");
    assert_eq!(model.app_status().unwrap().message, "VIP 192.0.2.100");
    assert_eq!(model.workload_version(unit), "0.1.0");
    assert_eq!(model.logs(unit)[0].message, "-x looks like a flag");
    assert!(model.ports(unit).is_empty());

    // Actions: action-get, action-set with nesting, action-fail.
    model.update(|s| {
        s.units.get_mut(unit).unwrap().action = Some(support::juju::state::ActionState {
            name: "failover".into(),
            params: serde_json::from_value(json!({"hold": 60})).unwrap(),
            ..Default::default()
        })
    });
    assert_eq!(tools.action_get().unwrap()["hold"], 60);
    tools
        .action_set(&bag(&[
            ("took-over.unit", "k8s-vip/1"),
            ("took-over.ms", "412"),
        ]))
        .unwrap();
    tools.action_fail("-- not master").unwrap();
    let state = model.state();
    let action = state.units[unit].action.as_ref().unwrap();
    assert_eq!(
        serde_json::Value::Object(action.results.clone()),
        json!({"took-over": {"unit": "k8s-vip/1", "ms": "412"}})
    );
    assert_eq!(action.failed.as_deref(), Some("-- not master"));
    let calls = model.calls(unit, "action-set");
    assert_eq!(calls, [["took-over.ms=412", "took-over.unit=k8s-vip/1"]]);
    assert_eq!(model.calls(unit, "action-fail"), [["--", "-- not master"]]);
}

// ===== facts kept between hooks (juju::tools::facts) =====

/// Where the charm keeps hook facts (under the unit's root).
const FACTS_FILE: &str = "/var/lib/k8s-vip/hook-facts.json";

/// One unit, installed and configured, related over lb-consumers to one
/// control-plane unit (joined and changed): every fact read at least once.
fn settled() -> (Model, String, String) {
    let model = Model::new("k8s-vip", 1);
    let unit = model.unit(0);
    model.set_config("virtual-ip", "192.0.2.100");
    model.run_install_and_elect();
    model.run_hook(&unit, "config-changed").assert_success();
    let (lbc, cp) = model.add_lb_consumers(&["192.0.2.21".to_string()], &[]);
    for kind in ["joined", "changed"] {
        model
            .run_relation_hook(&unit, &lbc, kind, Some(&cp[0]))
            .assert_success();
    }
    assert!(model.path(&unit, FACTS_FILE).exists(), "no facts kept");
    (model, unit, lbc)
}

/// The `tool` calls `unit` made since the last clear, as argument strings.
fn calls_of(model: &Model, unit: &str, tool: &str) -> Vec<String> {
    model
        .calls(unit, tool)
        .iter()
        .map(|a| a.join(" "))
        .collect()
}

#[test]
fn update_status_reads_no_config_relation_or_status_again() {
    let (model, unit, _) = settled();
    model.clear_calls(&unit);
    model.run_hook(&unit, "update-status").assert_success();
    for tool in ["config-get", "relation-ids", "relation-list", "status-set"] {
        assert_eq!(
            calls_of(&model, &unit, tool),
            Vec::<String>::new(),
            "{tool}"
        );
    }
    // What can change without a hook is still read.
    for tool in ["is-leader", "network-get", "systemctl"] {
        assert!(!calls_of(&model, &unit, tool).is_empty(), "{tool} not read");
    }
}

#[test]
fn a_remote_units_change_is_read_in_its_changed_hook_only() {
    let (model, unit, lbc) = settled();
    let cp = "kubernetes-control-plane/0";
    model.set_unit_data(&lbc, cp, &[("ingress-address", "192.0.2.55")]);
    model.clear_calls(&unit);
    model.run_hook(&unit, "update-status").assert_success();
    let reads_of_cp = |model: &Model| {
        calls_of(model, &unit, "relation-get")
            .into_iter()
            .filter(|c| c.ends_with(&format!("- {cp}")))
            .count()
    };
    assert_eq!(reads_of_cp(&model), 0, "update-status re-read {cp}");
    model
        .run_relation_hook(&unit, &lbc, "changed", Some(cp))
        .assert_success();
    assert_eq!(reads_of_cp(&model), 1, "relation-changed did not read {cp}");
    let facts = std::fs::read_to_string(model.path(&unit, FACTS_FILE)).unwrap();
    assert!(facts.contains("192.0.2.55"), "{facts}");
}

#[test]
fn juju_config_is_read_in_the_config_changed_it_owes() {
    let (model, unit, _) = settled();
    model.set_config("port", 443);
    model.clear_calls(&unit);
    // The model, like Juju, runs the owed config-changed first.
    model.run_hook(&unit, "update-status").assert_success();
    let hooks: Vec<String> = model
        .all_calls(&unit)
        .iter()
        .filter(|c| c.tool == "config-get")
        .map(|c| c.hook.clone())
        .collect();
    assert_eq!(hooks, ["config-changed"]);
    let yaml = std::fs::read_to_string(model.path(&unit, "/etc/k8s-vip/agent.yaml")).unwrap();
    assert!(yaml.contains("443"), "{yaml}");
}

/// Replaces the kept facts with `text`, runs update-status and returns what
/// it logged; it must have read the config again.
fn update_status_over(model: &Model, unit: &str, text: &str) -> Vec<String> {
    std::fs::write(model.path(unit, FACTS_FILE), text).unwrap();
    model.clear_calls(unit);
    model.run_hook(unit, "update-status").assert_success();
    assert_eq!(
        calls_of(model, unit, "config-get").len(),
        1,
        "not read fresh"
    );
    let facts = std::fs::read_to_string(model.path(unit, FACTS_FILE)).unwrap();
    assert!(
        facts.starts_with("{\"format\":1,"),
        "not rewritten: {facts}"
    );
    model
        .logs(unit)
        .into_iter()
        .filter(|l| l.hook == "update-status")
        .map(|l| format!("{} {}", l.level, l.message))
        .collect()
}

#[test]
fn facts_of_another_format_are_ignored() {
    let (model, unit, _) = settled();
    let logs = update_status_over(&model, &unit, r#"{"format":0,"config":{}}"#);
    assert!(
        logs.iter().any(|l| l.contains("have format 0, not 1")),
        "{logs:?}"
    );
}

#[test]
fn corrupt_facts_are_ignored_with_a_warning() {
    let (model, unit, _) = settled();
    let logs = update_status_over(&model, &unit, "{\"format\":1,\"config\":");
    assert!(
        logs.iter()
            .any(|l| l.starts_with("WARNING ignoring unreadable hook facts")),
        "{logs:?}"
    );
}

#[test]
fn facts_older_than_an_hour_are_read_again() {
    let (model, unit, _) = settled();
    let path = model.path(&unit, FACTS_FILE);
    let mut facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let stamp = facts["full_read_at"].as_u64().unwrap();
    facts["full_read_at"] = json!(stamp - 3600);
    update_status_over(&model, &unit, &facts.to_string());
    // The status is sent again too: a stale one heals within the hour.
    assert_eq!(calls_of(&model, &unit, "status-set").len(), 2);
}

#[test]
fn a_hook_failing_after_a_new_status_leaves_the_next_to_read_everything() {
    let (model, unit, _) = settled();
    model.set_config("virtual-ip", "not-an-address");
    model.fail_tool(Some(&unit), "status-set", 1, "", "ERROR connection lost");
    model.run_hook(&unit, "config-changed").assert_failure();
    assert!(
        !model.path(&unit, FACTS_FILE).exists(),
        "facts survived a hook that failed after changing the status"
    );
    model.clear_failures();
    model.clear_calls(&unit);
    model.run_hook(&unit, "update-status").assert_success();
    assert_eq!(calls_of(&model, &unit, "config-get").len(), 1);
    let status = model.status(&unit).expect("status");
    assert_eq!(status.state, "blocked", "{status:?}");
}
