//! How many hook-tool and system calls the charm's hooks make, counted in the
//! simulated Juju model (every fake tool and shim records its calls).
//!
//! On a real unit each hook-tool call is a round trip to the Juju unit agent
//! and each `systemctl` a D-Bus round trip, so the count is the hook's cost.
//! Counts, unlike timings, are deterministic: this test runs a fixed scenario
//! and fails when any tool's count grows past today's figure, or when the
//! average or worst hook passes the budget.

mod support;

use std::collections::BTreeMap;

use support::juju::{HookRun, Model};

const VIP: &str = "192.0.2.100";

const EXTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "0d5b1b0f3a1c4e1b9a4c1e5d6f7a8b9c", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "9a0b5d0e6c2f4a3b8e1d7c6b5a4f3e2d", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;
const INTERNAL: &str = r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": "api-server-internal", "port_mapping": {"6443": 6443}, "protocol": "tcp", "public": false, "sent_hash": "4f4a9a40ec63ae08000f439c6786ea09", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#;

/// Calls counted over the whole scenario.
#[derive(Default)]
struct Tally {
    /// Calls per tool over every hook run.
    per_tool: BTreeMap<String, usize>,
    /// (calls, "unit hook") of every hook run, in order.
    per_hook: Vec<(usize, String)>,
    /// The calls of every hook run over the per-hook budget, as `tool args`,
    /// with its "unit hook".
    over: Vec<(String, Vec<String>)>,
}

impl Tally {
    /// Runs one hook through `run` with a clean call record and counts its calls.
    fn count(&mut self, model: &Model, unit: &str, run: impl FnOnce() -> HookRun) {
        // The hooks Juju owes the unit first (a peer changed its data), each
        // counted as the hook run it is.
        loop {
            model.clear_calls(unit);
            let Some(owed) = model.run_owed_hook(unit) else {
                break;
            };
            self.record(model, unit, &owed);
        }
        let hook = run();
        self.record(model, unit, &hook);
    }

    /// Counts the calls `unit` made in `hook`, its run.
    fn record(&mut self, model: &Model, unit: &str, hook: &HookRun) {
        hook.assert_success();
        let calls = model.all_calls(unit);
        for c in &calls {
            *self.per_tool.entry(c.tool.clone()).or_default() += 1;
        }
        let name = format!("{unit} {}", hook.name);
        if calls.len() > TARGET_MOST {
            let listed = calls
                .iter()
                .map(|c| format!("{} {}", c.tool, c.args.join(" ")))
                .collect();
            self.over.push((name.clone(), listed));
        }
        self.per_hook.push((calls.len(), name));
    }

    fn total(&self) -> usize {
        self.per_hook.iter().map(|(n, _)| n).sum()
    }

    fn max(&self) -> &(usize, String) {
        self.per_hook
            .iter()
            .max_by_key(|(n, _)| *n)
            .expect("hooks ran")
    }

    fn print(&self) {
        println!("{:<26} {:>6}", "tool", "calls");
        for (tool, n) in &self.per_tool {
            println!("{tool:<26} {n:>6}");
        }
        let (max, worst) = self.max();
        println!(
            "{} hook runs, {} calls, {:.1} per hook, at most {max} ({worst})",
            self.per_hook.len(),
            self.total(),
            self.total() as f64 / self.per_hook.len() as f64
        );
        for (n, hook) in &self.per_hook {
            println!("{n:>4} {hook}");
        }
        for (hook, calls) in &self.over {
            println!("calls of {hook} (over {TARGET_MOST}):");
            for call in calls {
                println!("  {call}");
            }
        }
    }
}

/// Runs `ENDPOINT-relation-created` on every unit, as Juju does when a
/// relation is added (for peers, after `install`).
fn create(model: &Model, tally: &mut Tally, rel: &str) {
    for unit in model.units().to_vec() {
        tally.count(model, &unit, || {
            model.run_relation_hook(&unit, rel, "created", None)
        });
    }
}

/// Runs `ENDPOINT-relation-joined` then `-changed` on every unit for each
/// remote unit of `rel`.
fn join_each(model: &Model, tally: &mut Tally, rel: &str) {
    for unit in model.units().to_vec() {
        for remote in model.remote_units(&unit, rel) {
            for kind in ["joined", "changed"] {
                tally.count(model, &unit, || {
                    model.run_relation_hook(&unit, rel, kind, Some(&remote))
                });
            }
        }
    }
}

/// Runs `hook` once on every unit.
fn everywhere(model: &Model, tally: &mut Tally, hook: &str) {
    for unit in model.units().to_vec() {
        tally.count(model, &unit, || model.run_hook(&unit, hook));
    }
}

/// The fixed scenario: three units of k8s-vip on kubernetes-control-plane,
/// deployed, peered, then related over lb-consumers (the control plane's two
/// requests) and loadbalancer (public-address), then the periodic hooks; each
/// relation's hooks in Juju's order (`-created` on every unit, then `-joined`
/// and `-changed` per remote unit), with the `-changed` hooks a peer's write
/// owes the others.
fn scenario() -> Tally {
    let model = Model::new("k8s-vip", 3);
    let mut tally = Tally::default();
    model.set_config("virtual-ip", VIP);
    model.set_leader(&model.unit(0));
    everywhere(&model, &mut tally, "install");
    create(&model, &mut tally, &model.relation_id("cluster"));
    let leader = model.unit(0);
    tally.count(&model, &leader, || {
        model.run_hook(&leader, "leader-elected")
    });
    everywhere(&model, &mut tally, "config-changed");
    everywhere(&model, &mut tally, "start");
    join_each(&model, &mut tally, &model.relation_id("cluster"));

    let ingress: Vec<String> = (0..3).map(|i| format!("192.0.2.{}", 11 + i)).collect();
    let (lbc, _) = model.add_lb_consumers(
        &ingress,
        &[
            ("api-server-external", EXTERNAL),
            ("api-server-internal", INTERNAL),
        ],
    );
    create(&model, &mut tally, &lbc);
    join_each(&model, &mut tally, &lbc);

    let masters: Vec<String> = (0..3).map(|i| format!("kubernetes-master/{i}")).collect();
    let refs: Vec<&str> = masters.iter().map(String::as_str).collect();
    let public = model.add_relation("loadbalancer", "kubernetes-master", &refs);
    create(&model, &mut tally, &public);
    join_each(&model, &mut tally, &public);

    everywhere(&model, &mut tally, "update-status");
    everywhere(&model, &mut tally, "config-changed");
    everywhere(&model, &mut tally, "update-status");
    tally
}

/// Each tool's calls over the scenario: the figures the charm makes today.
/// A change that adds calls fails here; one that removes some lowers these.
/// (Before hook facts were kept between hooks: 1,279 calls, 19.1 a hook, at
/// most 30. Before peers' bags were kept too, `start` stopped reading
/// everything, `-changed` stopped reading ids and members, services changed
/// with `enable --now`/`disable --now` and the scenario ran each relation as
/// Juju does (`-created` first, members listed as they join): 637 calls in
/// 67 hook runs, 9.5 a hook, at most 23;
/// relation-get 186, relation-ids 72, relation-list 36, systemctl 96.
/// HAProxy now reloads as each backend joins, as it does under Juju, hence
/// the systemctl figure. Before `install` left the peer relation to its own
/// hooks and `-joined` stopped reading the ids of a relation it already
/// knew: 529 calls, 6.8 a hook, at most 18 (the leader's `install`);
/// relation-ids 48, relation-list 18 (relation-set stays at 15: install's
/// three moved to `cluster-relation-created`). No hook of the
/// scenario runs `sysctl`: the charm reads and sets none unless an older
/// version left its saved values, as `tests/charm_host_sysctl.rs` sets up.)
const MOST_CALLS: &[(&str, usize)] = &[
    ("application-version-set", 3),
    ("apt-get", 3),
    ("config-get", 9),
    ("dpkg-query", 79),
    // Asked only while the peer relation lists no other unit (is this unit alone?).
    ("goal-state", 13),
    ("is-leader", 79),
    ("juju-log", 6),
    ("network-get", 79),
    ("relation-get", 63),
    ("relation-ids", 24),
    ("relation-list", 15),
    ("relation-set", 15),
    ("status-set", 11),
    ("systemctl", 103),
];

/// The scenario's hook runs.
const HOOK_RUNS: usize = 78;
/// The most calls one hook run of the scenario makes today: the leader's
/// `install` (it reads everything but the peer relation and sets the unit
/// up) and the leader's first `lb-consumers-relation-joined` (it installs
/// and starts HAProxy and answers the request).
const MOST_CALLS_IN_ONE_HOOK: usize = 15;

/// The budget issue 12 sets: on average 12 calls a hook, at most 15.
const TARGET_AVERAGE: f64 = 12.0;
const TARGET_MOST: usize = 15;

#[test]
fn hook_calls_do_not_grow() {
    let tally = scenario();
    tally.print();
    assert_eq!(tally.per_hook.len(), HOOK_RUNS, "the scenario changed");
    let mut grew = Vec::new();
    for (tool, n) in &tally.per_tool {
        let most = MOST_CALLS
            .iter()
            .find(|(t, _)| t == tool)
            .map_or(0, |(_, m)| *m);
        if *n > most {
            grew.push(format!("{tool}: {n} calls, at most {most} before"));
        }
    }
    assert!(grew.is_empty(), "hooks call out more: {grew:#?}");
    let (most, worst) = tally.max();
    assert!(
        *most <= MOST_CALLS_IN_ONE_HOOK,
        "{worst} made {most} calls, at most {MOST_CALLS_IN_ONE_HOOK} before"
    );
}

/// Issue 12's average: facts Juju announces with a hook are kept between
/// hooks (`juju::tools::facts`), so most hooks read only leadership,
/// addresses, services and packages, plus what their hook announces.
#[test]
fn hook_calls_meet_the_average_budget() {
    let tally = scenario();
    let average = tally.total() as f64 / tally.per_hook.len() as f64;
    assert!(
        average <= TARGET_AVERAGE,
        "{average:.1} calls a hook on average"
    );
}

/// Issue 12's limit for any one hook. The leader's `install` makes 15:
/// it reads everything a first hook must (config, leadership, the ids of
/// the five endpoints, the address, the goal state, services and packages:
/// 11 calls) but the peer relation, whose data Juju refuses during install
/// and whose members have not joined yet (so no `relation-list`, no bag read,
/// no `relation-set`: `cluster-relation-created` publishes our peer data),
/// and sets the unit up (`enable --now` of the agent, version, unit and
/// application status). The leader's first `lb-consumers-relation-joined`
/// makes 15 too (it installs HAProxy: 8 of them change something).
#[test]
fn hook_calls_meet_the_budget_for_every_hook() {
    let tally = scenario();
    tally.print();
    let (most, worst) = tally.max();
    assert!(*most <= TARGET_MOST, "{worst} made {most} calls");
}
