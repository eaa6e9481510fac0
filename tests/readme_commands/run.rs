//! `juju run` lines: each block of them (the tutorial's steps, the actions
//! reference, the how-tos) is run in order on the simulated model, first
//! without an agent (the documented failure or marker), then, as root,
//! against real agents in network namespaces (the VIP moves as the docs say,
//! and `juju status` shows what the README and the tutorial quote).

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::commands::{at, classify, read_yaml, Kind};
use crate::deployment::{configured, settle_peers, unit_status};
use crate::docs;
use crate::markdown::{self, CommandLine};
use crate::support::juju::Model;
use crate::{support, APP};

/// Action parameters as `juju run` types them from actions.yaml.
fn action_params(cmd: &CommandLine, action: &str, params: &[(String, String)]) -> Value {
    let schema = read_yaml("actions.yaml");
    let spec = schema
        .get(action)
        .unwrap_or_else(|| panic!("{}: actions.yaml has no action `{action}`", at(cmd)));
    let mut out = Map::new();
    for (k, v) in params {
        let ty = spec
            .pointer(&format!("/params/{k}/type"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{}: action `{action}` has no param `{k}`", at(cmd)));
        let typed = match ty {
            "integer" => v.parse::<i64>().map(|n| json!(n)).ok(),
            "number" => v.parse::<f64>().map(|n| json!(n)).ok(),
            "boolean" => v.parse::<bool>().map(|b| json!(b)).ok(),
            _ => Some(json!(v)),
        };
        let typed = typed.unwrap_or_else(|| panic!("{}: `{k}={v}` is not a valid {ty}", at(cmd)));
        out.insert(k.clone(), typed);
    }
    Value::Object(out)
}

/// One `juju run` line: the line, the unit, the action and its parameters.
type RunLine = (CommandLine, String, String, Vec<(String, String)>);

/// The `juju run` lines of each fenced block of README.md and docs/, in
/// order (a block is one scenario: a tutorial step, the actions reference);
/// a block whose lines are those of an earlier one is left out (it would
/// prove nothing new).
fn run_blocks() -> Vec<Vec<RunLine>> {
    let mut seen = std::collections::BTreeSet::new();
    docs::blocks()
        .iter()
        .map(|b| {
            markdown::block_commands(b)
                .into_iter()
                .filter_map(|c| match classify(&c) {
                    Ok(Kind::Run {
                        unit,
                        action,
                        params,
                    }) => Some((c, unit, action, params)),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .filter(|v: &Vec<RunLine>| {
            seen.insert(v.iter().map(|r| r.0.text.clone()).collect::<Vec<_>>())
        })
        .collect()
}

/// Without a running agent (no root needed): every documented action and
/// parameter is accepted, and the outcome is what the docs say happens
/// when the agent is not running.
#[test]
fn juju_run_lines_without_an_agent_fail_or_record_as_documented() {
    let blocks = run_blocks();
    assert!(!blocks.is_empty());
    let actions = docs::page("docs/reference/actions.md")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        actions.contains(
            "when the agent is not running, `status` and `failover` fail saying so and pointing \
             at `systemctl status k8s-vip-agent`; `pause`/`resume` still record the marker"
        ),
        "docs/reference/actions.md changed what it says about actions without an agent; update this test"
    );
    for block in blocks {
        let model = configured("kubernetes-control-plane");
        for (cmd, unit, action, params) in block {
            let a = model.run_action(&unit, &action, action_params(&cmd, &action, &params));
            let marker = model.path(&unit, "/var/lib/k8s-vip/paused");
            match action.as_str() {
                "status" | "failover" => {
                    let why = a.failed.clone().unwrap_or_default();
                    assert!(
                        why.contains("not running")
                            && why.contains("systemctl status k8s-vip-agent"),
                        "{}: without an agent: {why:?}",
                        at(&cmd)
                    );
                }
                "pause" => {
                    a.assert_completed();
                    assert!(marker.exists(), "{}: no pause marker", at(&cmd));
                }
                "resume" => {
                    a.assert_completed();
                    assert!(!marker.exists(), "{}: pause marker left", at(&cmd));
                }
                other => panic!("{}: no expectation for action `{other}`", at(&cmd)),
            }
        }
    }
}

/// The VIP of the live runs: the docs' 10.0.0.100 would be outside the
/// test networks, so the lab uses its own 192.0.2.100.
pub const LAB_VIP: &str = "192.0.2.100";

/// Results of the `status` action the actions reference documents
/// (for the first IPv4 instance, `v4-1`, of a unit with no checks).
const STATUS_RESULTS: &[&str] = &[
    "unit",
    "paused",
    "vips",
    "instances.v4-1.state",
    "instances.v4-1.vrid",
    "instances.v4-1.vips",
    "instances.v4-1.priority",
    "instances.v4-1.effective-priority",
    "instances.v4-1.master",
    "instances.v4-1.master-unit",
    "instances.v4-1.preferred-unit",
    "instances.v4-1.priorities.k8s-vip-0",
    "instances.v4-1.transitions",
    "instances.v4-1.last-transition",
    "instances.v4-1.last-transition-reason",
];

/// Waits until exactly one unit holds the lab VIP; returns its index.
fn single_holder(lab: &support::netns::Lab, timeout: Duration) -> Option<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let h = lab.holders(LAB_VIP);
        if let [one] = h.as_slice() {
            return Some(*one);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Three units with real agents in network namespaces, as after the README's
/// deploy commands (health-check none: no kube-apiserver runs in the lab).
fn live_deploy(tag: &str) -> (support::netns::Lab, Model) {
    let lab = support::netns::Lab::new(tag, 3);
    let mut model = Model::options(APP, 3).real_services(true).build();
    model.place_units_in(&lab);
    model.set_config("virtual-ip", LAB_VIP);
    model.set_config("health-check", "none");
    for u in model.units().to_vec() {
        model.run_hook(&u, "install").assert_success();
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    settle_peers(&model);
    // And the hooks Juju owes the peers for what they wrote meanwhile (each
    // unit lists a peer once that peer knows it).
    model.settle();
    put_vip_on_unit0(&lab, &model);
    (lab, model)
}

/// The docs quote the deployment with the VIP on k8s-vip/0, the unit of the
/// highest priority. Which unit took it first depends on the order the peers
/// learnt of each other (preempt is off, so nothing moves it back): pausing
/// the holder moves it to the highest priority left, k8s-vip/0, and the
/// holder resumes as a backup, as an operator would do it.
fn put_vip_on_unit0(lab: &support::netns::Lab, model: &Model) {
    let Some(holder) = lab.wait_single_holder(LAB_VIP, Duration::from_secs(20)) else {
        return; // the caller reports who holds it
    };
    if holder == 0 {
        return;
    }
    let unit = model.units()[holder].clone();
    model.run_action(&unit, "pause", serde_json::json!({}));
    let moved = support::netns::wait_for(Duration::from_secs(20), || {
        lab.single_holder(LAB_VIP) == Some(0)
    })
    .is_some();
    model.run_action(&unit, "resume", serde_json::json!({}));
    assert!(moved, "pausing {unit} did not move the VIP to k8s-vip/0");
}

/// What `juju status` shows, as the README and the tutorial quote it (with
/// the lab's VIP and the model's VRID for the docs' 10.0.0.100 and 51): the
/// unit status each unit's update-status sets from its running agent.
fn check_juju_status(model: &Model) {
    let quotes = [
        "active: MASTER 10.0.0.100 (vrid 51), BFD 2/2 up, 60 ms",
        "active: BACKUP, VIP on k8s-vip/0 (vrid 51), BFD 2/2 up, 60 ms",
    ];
    for page in ["README.md", "docs/tutorial/deploy-on-charmed-kubernetes.md"] {
        let text = docs::page(page)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for q in quotes {
            assert!(
                text.contains(&format!("`{q}`")),
                "{page} no longer quotes `{q}`; update this test"
            );
        }
    }
    let vrid = k8s_vip::charm::vrid::derived_base("test", APP);
    let want = |q: &str| {
        q.replace("10.0.0.100", LAB_VIP)
            .replace("vrid 51", &format!("vrid {vrid}"))
    };
    // The agents write their state file a moment after a transition.
    let deadline = Instant::now() + Duration::from_secs(10);
    for (i, u) in model.units().iter().enumerate() {
        let expected = want(quotes[usize::from(i > 0)]);
        loop {
            model.run_hook(u, "update-status").assert_success();
            let (state, message) = unit_status(model, u);
            let got = format!("{state}: {message}");
            if got == expected {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "juju status of {u}: `{got}`, the docs say `{expected}`"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// As root: each block's `juju run` lines, in order, against real agents:
/// `status` reports the unit's role, `failover` (on the holder, as the docs
/// say) moves the VIP to the unit it names, `pause` releases the VIP and
/// says so in the unit status, `resume` brings the unit back.
#[test]
fn juju_run_lines_work_against_real_agents() {
    if !support::netns::require_root() {
        return;
    }
    for (b, block) in run_blocks().into_iter().enumerate() {
        let (lab, model) = live_deploy(&format!("rd{b}"));
        let index = |unit: &str| model.units().iter().position(|u| u == unit);
        // The highest priority (unit 0) holds the VIP once peers settled.
        let settled = || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if lab.holders(LAB_VIP) == vec![0] {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        };
        assert!(
            settled(),
            "VIP holders never settled on unit 0: {:?}",
            lab.holders(LAB_VIP)
        );
        check_juju_status(&model);
        for (cmd, unit, action, params) in block {
            let i = index(&unit).unwrap_or_else(|| panic!("{}: no unit {unit}", at(&cmd)));
            let holder = single_holder(&lab, Duration::from_secs(10));
            let a = model.run_action(&unit, &action, action_params(&cmd, &action, &params));
            a.assert_completed();
            match action.as_str() {
                "status" => {
                    let want = if holder == Some(i) {
                        "MASTER"
                    } else {
                        "BACKUP"
                    };
                    assert_eq!(
                        a.result("instances.v4-1.state").as_deref(),
                        Some(want),
                        "{}: {:?}",
                        at(&cmd),
                        a.results
                    );
                    // The results the actions reference lists.
                    for key in STATUS_RESULTS {
                        assert!(
                            a.result(key).is_some(),
                            "{}: no `{key}` in {:?}",
                            at(&cmd),
                            a.results
                        );
                    }
                }
                "failover" => {
                    assert_eq!(
                        holder,
                        Some(i),
                        "{}: run on a unit that does not hold the VIP",
                        at(&cmd)
                    );
                    let hold = params
                        .iter()
                        .find(|(k, _)| k == "hold")
                        .map_or("60", |(_, v)| v.as_str());
                    assert_eq!(a.result("hold-s").as_deref(), Some(hold), "{}", at(&cmd));
                    assert!(a.result("took-ms").is_some(), "{}: no took-ms", at(&cmd));
                    let new = a.result("new-master").unwrap_or_default();
                    let j =
                        index(&new).unwrap_or_else(|| panic!("{}: new-master {new:?}", at(&cmd)));
                    assert_ne!(i, j, "{}", at(&cmd));
                    assert_eq!(
                        single_holder(&lab, Duration::from_secs(5)),
                        Some(j),
                        "{}",
                        at(&cmd)
                    );
                }
                "pause" => {
                    let (state, message) = unit_status(&model, &unit);
                    assert_eq!(
                        (state.as_str(), message.as_str()),
                        ("maintenance", "paused, VIP released"),
                        "{}",
                        at(&cmd)
                    );
                    let other = single_holder(&lab, Duration::from_secs(5));
                    assert!(
                        other.is_some() && other != Some(i),
                        "{}: holder {other:?}",
                        at(&cmd)
                    );
                }
                "resume" => {
                    assert_ne!(unit_status(&model, &unit).0, "maintenance", "{}", at(&cmd));
                    assert!(!model.path(&unit, "/var/lib/k8s-vip/paused").exists());
                }
                other => panic!("{}: no expectation for action `{other}`", at(&cmd)),
            }
            eprintln!(
                "{}: completed; VIP now on unit(s) {:?}",
                at(&cmd),
                lab.holders(LAB_VIP)
            );
        }
        model.stop_services();
    }
}
