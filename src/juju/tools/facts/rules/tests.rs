//! One test per row of the invalidation table.

use super::*;
use crate::juju::context::RelationCtx;
use crate::juju::tools::fake::context;
use crate::juju::tools::{Bag, Status, StatusState};

const NOW: u64 = 1_000_000;

fn bag(k: &str) -> Bag {
    [(k.to_string(), "1".to_string())].into()
}

/// Facts as a leader of k8s-vip/0 with peers and one lb-consumers relation
/// would keep them.
fn known() -> Facts {
    let mut f = Facts {
        format: super::super::FORMAT,
        unit: "k8s-vip/0".into(),
        full_read_at: NOW - 60,
        config: Some(serde_json::Map::new()),
        unit_status: Some(Status::new(StatusState::Active, "ready")),
        app_status: Some(Status::new(StatusState::Active, "VIP")),
        state: Some(Bag::new()),
        ..Facts::default()
    };
    f.relation_ids
        .insert("cluster".into(), vec!["cluster:0".into()]);
    f.relation_ids
        .insert("lb-consumers".into(), vec!["lb-consumers:2".into()]);
    for (rel, units) in [
        ("cluster:0", ["k8s-vip/1", "k8s-vip/2"]),
        ("lb-consumers:2", ["cp/0", "cp/1"]),
    ] {
        f.relation_list
            .insert(rel.into(), units.iter().map(|u| u.to_string()).collect());
        f.remote_app.insert(rel.into(), Some("cp".into()));
        for u in units.iter().chain(&["k8s-vip/0"]) {
            f.bags_mut(false)
                .entry(rel.into())
                .or_default()
                .insert(u.to_string(), bag(u));
        }
        for a in ["cp", "k8s-vip"] {
            f.bags_mut(true)
                .entry(rel.into())
                .or_default()
                .insert(a.into(), bag(a));
        }
    }
    f
}

/// What any hook keeps of [`known`]: everything (peers' unit bags too:
/// Juju announces their changes with `cluster-relation-changed`).
fn kept() -> Facts {
    known()
}

#[test]
fn peer_bags_are_kept_until_their_changed_hook() {
    let f = recall("update-status", None);
    assert!(f.bag("cluster:0", "k8s-vip/1", false).is_some());
    assert!(f.bag("cluster:0", "k8s-vip/0", false).is_some());
    let f = recall(
        "cluster-relation-changed",
        Some(("cluster:0", Some("k8s-vip/1"))),
    );
    assert_eq!(f.bag("cluster:0", "k8s-vip/1", false), None);
    assert!(f.bag("cluster:0", "k8s-vip/2", false).is_some());
}

fn ctx(hook: &str, rel: Option<(&str, Option<&str>)>) -> HookContext {
    HookContext {
        relation: rel.map(|(id, unit)| RelationCtx {
            endpoint: id.split(':').next().unwrap().into(),
            id: id.into(),
            remote_unit: unit.map(str::to_string),
            remote_app: Some(
                if id.starts_with("cluster") {
                    "k8s-vip"
                } else {
                    "cp"
                }
                .into(),
            ),
            departing_unit: hook
                .ends_with("-departed")
                .then(|| unit.map(str::to_string))
                .flatten(),
        }),
        ..context(HookKind::Hook { name: hook.into() })
    }
}

fn recall(hook: &str, rel: Option<(&str, Option<&str>)>) -> Facts {
    match forget(known(), &ctx(hook, rel), NOW) {
        Recall::These(f) => *f,
        Recall::Nothing => panic!("{hook} recalled nothing"),
    }
}

#[test]
fn update_status_keeps_everything() {
    assert_eq!(recall("update-status", None), kept());
}

#[test]
fn start_keeps_everything() {
    assert_eq!(recall("start", None), kept());
}

#[test]
fn a_new_charm_or_series_and_an_hour_read_everything() {
    for hook in ["upgrade-charm", "post-series-upgrade"] {
        assert_eq!(
            forget(known(), &ctx(hook, None), NOW),
            Recall::Nothing,
            "{hook}"
        );
    }
    let old = ctx("update-status", None);
    assert_eq!(
        forget(known(), &old, NOW - 60 + FULL_READ_EVERY),
        Recall::Nothing
    );
    assert_eq!(
        forget(known(), &old, NOW - 120),
        Recall::Nothing,
        "clock went back"
    );
}

#[test]
fn install_run_again_trusts_what_this_unit_kept() {
    assert_eq!(recall("install", None), kept());
    assert!(nobody_joined(&ctx("install", None)));
    assert!(!nobody_joined(&ctx("start", None)));
}

#[test]
fn another_units_facts_are_not_trusted() {
    for hook in ["install", "update-status"] {
        let mut c = ctx(hook, None);
        c.unit_name = "k8s-vip/7".into();
        assert_eq!(forget(known(), &c, NOW), Recall::Nothing, "{hook}");
    }
    let unstamped = Facts {
        unit: String::new(),
        ..known()
    };
    assert_eq!(
        forget(unstamped, &ctx("update-status", None), NOW),
        Recall::Nothing,
        "a file from before units were stamped"
    );
}

#[test]
fn config_changed_forgets_config_only() {
    let f = recall("config-changed", None);
    assert_eq!(f.config, None);
    assert_eq!(
        Facts {
            config: known().config,
            ..f
        },
        kept()
    );
}

#[test]
fn leader_elected_forgets_what_only_the_leader_writes() {
    let f = recall("leader-elected", None);
    assert_eq!(f.app_status, None);
    assert_eq!(f.bag("lb-consumers:2", "k8s-vip", true), None);
    assert!(f.bag("lb-consumers:2", "cp", true).is_some());
    assert!(f.unit_status.is_some());
}

#[test]
fn changed_forgets_the_remote_unit_and_app_bags_only_not_ids_or_members() {
    let f = recall(
        "lb-consumers-relation-changed",
        Some(("lb-consumers:2", Some("cp/1"))),
    );
    let mut want = kept();
    want.forget_bag("lb-consumers:2", "cp/1", false);
    want.forget_bag("lb-consumers:2", "cp", true);
    assert_eq!(f, want);
}

#[test]
fn app_changed_forgets_the_remote_app_bag_only() {
    let f = recall(
        "lb-consumers-relation-changed",
        Some(("lb-consumers:2", None)),
    );
    let mut want = kept();
    want.forget_bag("lb-consumers:2", "cp", true);
    assert_eq!(f, want);
}

#[test]
fn joined_forgets_members_the_unit_and_the_app() {
    let f = recall(
        "lb-consumers-relation-joined",
        Some(("lb-consumers:2", Some("cp/1"))),
    );
    let mut want = kept();
    want.relation_list.remove("lb-consumers:2");
    want.forget_bag("lb-consumers:2", "cp/1", false);
    want.forget_bag("lb-consumers:2", "cp", true);
    assert_eq!(f, want);
}

#[test]
fn departed_forgets_members_and_the_departing_unit() {
    let f = recall(
        "cluster-relation-departed",
        Some(("cluster:0", Some("k8s-vip/2"))),
    );
    let mut want = kept();
    want.relation_list.remove("cluster:0");
    want.forget_bag("cluster:0", "k8s-vip/2", false);
    assert_eq!(f, want);
}

#[test]
fn joined_or_departed_of_a_relation_not_listed_reads_the_ids_again() {
    for kind in ["joined", "departed"] {
        let f = recall(
            &format!("lb-consumers-relation-{kind}"),
            Some(("lb-consumers:5", Some("cp/1"))),
        );
        assert_eq!(f.relation_ids.get("lb-consumers"), None, "{kind}");
        assert!(f.relation_ids.contains_key("cluster"), "{kind}");
    }
}

#[test]
fn created_and_broken_forget_the_whole_relation_but_our_unit_bag_at_creation() {
    for hook in ["created", "broken"] {
        let name = format!("lb-consumers-relation-{hook}");
        let f = recall(&name, Some(("lb-consumers:2", None)));
        let mut want = kept();
        want.relation_ids.remove("lb-consumers");
        want.forget_relation("lb-consumers:2");
        if hook == "created" {
            want.unit_bags
                .entry("lb-consumers:2".into())
                .or_default()
                .insert("k8s-vip/0".into(), bag("k8s-vip/0"));
            want.relation_list
                .insert("lb-consumers:2".into(), Vec::new());
            want.app_bags
                .entry("lb-consumers:2".into())
                .or_default()
                .insert("k8s-vip".into(), Bag::new());
        }
        assert_eq!(f, want, "{hook}");
    }
}

#[test]
fn a_broken_run_keeps_nothing_of_the_relation() {
    let mut f = known();
    after_run(
        &mut f,
        &ctx(
            "lb-consumers-relation-broken",
            Some(("lb-consumers:2", None)),
        ),
        Some(true),
    );
    assert!(!f.relation_ids.contains_key("lb-consumers"));
    assert!(!f.unit_bags.contains_key("lb-consumers:2"));
    assert!(f.unit_bags.contains_key("cluster:0"));
}

#[test]
fn a_run_that_saw_no_leadership_keeps_no_leader_facts() {
    let mut f = known();
    let peer_bag = f.bag("cluster:0", "k8s-vip", true).cloned();
    assert!(peer_bag.is_some());
    after_run(&mut f, &ctx("update-status", None), Some(false));
    assert_eq!(f.app_status, None);
    // Every peer reads the peer relation's application bag, and Juju tells
    // them of a change with cluster-relation-changed: it stays.
    assert_eq!(f.bag("cluster:0", "k8s-vip", true).cloned(), peer_bag);
    let mut lone = known();
    lone.relation_list.insert("cluster:0".into(), Vec::new());
    after_run(&mut lone, &ctx("update-status", None), Some(false));
    assert_eq!(
        lone.bag("cluster:0", "k8s-vip", true),
        None,
        "no member shows it is a peer relation: forgotten"
    );
    let mut f = known();
    after_run(&mut f, &ctx("update-status", None), Some(true));
    assert_eq!(f, known());
}

#[test]
fn actions_keep_everything() {
    let mut c = ctx("x", None);
    c.kind = HookKind::Action {
        name: "status".into(),
    };
    assert_eq!(forget(known(), &c, NOW), Recall::These(Box::new(known())));
}

#[test]
fn created_knows_no_unit_has_joined_and_our_app_bag_is_empty() {
    let f = recall(
        "lb-consumers-relation-created",
        Some(("lb-consumers:2", None)),
    );
    assert_eq!(f.relation_list.get("lb-consumers:2"), Some(&Vec::new()));
    assert_eq!(f.bag("lb-consumers:2", "k8s-vip", true), Some(&Bag::new()));
    assert_eq!(f.bag("lb-consumers:2", "cp", true), None);
    assert_eq!(f.remote_app.get("lb-consumers:2"), None);
    let f = recall("cluster-relation-created", Some(("cluster:0", None)));
    assert_eq!(f.relation_list.get("cluster:0"), Some(&Vec::new()));
    assert_eq!(
        f.bag("cluster:0", "k8s-vip", true),
        None,
        "peers' app bag is read"
    );
}
