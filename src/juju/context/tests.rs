//! The hook context read from every shape of environment Juju and operators give.

use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut base: HashMap<String, String> = [
        ("JUJU_UNIT_NAME", "k8s-vip/2"),
        (
            "JUJU_CHARM_DIR",
            "/var/lib/juju/agents/unit-k8s-vip-2/charm",
        ),
        ("JUJU_MODEL_NAME", "k8s"),
        ("JUJU_MODEL_UUID", "5a1c0b38-0d5e-4f3b-8b0a-1c2d3e4f5a6b"),
        ("JUJU_VERSION", "3.4.2"),
        ("JUJU_PRINCIPAL_UNIT", "kubernetes-control-plane/2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        base.insert(k.to_string(), v.to_string());
    }
    base
}

fn parse(
    name: Option<&str>,
    argv0: Option<&str>,
    vars: &HashMap<String, String>,
) -> Result<HookContext, ContextError> {
    HookContext::from_lookup(name, argv0, |k| vars.get(k).cloned())
}

#[test]
fn plain_hook_from_dispatch_path() {
    let vars = env(&[("JUJU_DISPATCH_PATH", "hooks/config-changed")]);
    let ctx = parse(None, Some("./bin/k8s-vip"), &vars).unwrap();
    assert_eq!(
        ctx.kind,
        HookKind::Hook {
            name: "config-changed".into()
        }
    );
    assert_eq!(ctx.unit_name, "k8s-vip/2");
    assert_eq!(ctx.app_name, "k8s-vip");
    assert_eq!(ctx.unit_number, 2);
    assert_eq!(
        ctx.charm_dir,
        PathBuf::from("/var/lib/juju/agents/unit-k8s-vip-2/charm")
    );
    assert_eq!(
        ctx.principal_unit.as_deref(),
        Some("kubernetes-control-plane/2")
    );
    assert_eq!(ctx.model_name, "k8s");
    assert_eq!(ctx.juju_version, "3.4.2");
    assert!(ctx.relation.is_none());
    assert!(ctx.is_hook("config-changed"));
}

#[test]
fn absolute_dispatch_path_from_old_juju_hook_symlink() {
    let vars = env(&[(
        "JUJU_DISPATCH_PATH",
        "/var/lib/juju/agents/unit-k8s-vip-2/charm/hooks/install",
    )]);
    let ctx = parse(None, Some("./bin/k8s-vip"), &vars).unwrap();
    assert_eq!(
        ctx.kind,
        HookKind::Hook {
            name: "install".into()
        }
    );
}

#[test]
fn action_from_dispatch_path() {
    let vars = env(&[
        ("JUJU_DISPATCH_PATH", "actions/failover"),
        ("JUJU_ACTION_NAME", "failover"),
    ]);
    let ctx = parse(None, Some("./bin/k8s-vip"), &vars).unwrap();
    assert_eq!(
        ctx.kind,
        HookKind::Action {
            name: "failover".into()
        }
    );
    assert!(ctx.kind.is_action());
    assert!(!ctx.is_hook("failover"));
}

#[test]
fn explicit_name_wins_over_dispatch_path() {
    let vars = env(&[("JUJU_DISPATCH_PATH", "hooks/install")]);
    let ctx = parse(Some("actions/status"), None, &vars).unwrap();
    assert_eq!(
        ctx.kind,
        HookKind::Action {
            name: "status".into()
        }
    );
    let ctx = parse(Some("update-status"), None, &vars).unwrap();
    assert!(ctx.is_hook("update-status"));
}

#[test]
fn bare_explicit_name_is_an_action_when_juju_says_so() {
    let vars = env(&[("JUJU_ACTION_NAME", "pause")]);
    let ctx = parse(Some("pause"), None, &vars).unwrap();
    assert!(ctx.kind.is_action());
}

#[test]
fn argv0_basename_names_the_hook_without_dispatch() {
    let vars = env(&[]);
    let ctx = parse(None, Some("/charm/hooks/start"), &vars).unwrap();
    assert!(ctx.is_hook("start"));
}

#[test]
fn the_binary_own_name_is_not_a_hook() {
    let vars = env(&[]);
    let err = parse(None, Some("/charm/bin/k8s-vip"), &vars).unwrap_err();
    assert_eq!(err, ContextError::NoHookName);
    let vars = env(&[("JUJU_HOOK_NAME", "stop")]);
    assert!(parse(None, Some("k8s-vip"), &vars).unwrap().is_hook("stop"));
}

#[test]
fn relation_hook_fields() {
    let vars = env(&[
        ("JUJU_DISPATCH_PATH", "hooks/cluster-relation-departed"),
        ("JUJU_RELATION", "cluster"),
        ("JUJU_RELATION_ID", "cluster:3"),
        ("JUJU_REMOTE_UNIT", "k8s-vip/1"),
        ("JUJU_REMOTE_APP", "k8s-vip"),
        ("JUJU_DEPARTING_UNIT", "k8s-vip/1"),
    ]);
    let rel = parse(None, None, &vars).unwrap().relation.unwrap();
    assert_eq!(
        rel,
        RelationCtx {
            endpoint: "cluster".into(),
            id: "cluster:3".into(),
            remote_unit: Some("k8s-vip/1".into()),
            remote_app: Some("k8s-vip".into()),
            departing_unit: Some("k8s-vip/1".into()),
        }
    );
}

#[test]
fn remote_app_falls_back_to_the_remote_unit_and_broken_has_none() {
    let vars = env(&[
        ("JUJU_DISPATCH_PATH", "hooks/lb-consumers-relation-changed"),
        ("JUJU_RELATION", "lb-consumers"),
        ("JUJU_RELATION_ID", "lb-consumers:7"),
        ("JUJU_REMOTE_UNIT", "kubernetes-control-plane/0"),
    ]);
    let rel = parse(None, None, &vars).unwrap().relation.unwrap();
    assert_eq!(rel.remote_app.as_deref(), Some("kubernetes-control-plane"));

    let vars = env(&[
        ("JUJU_DISPATCH_PATH", "hooks/website-relation-broken"),
        ("JUJU_RELATION", "website"),
        ("JUJU_RELATION_ID", "website:1"),
    ]);
    let rel = parse(None, None, &vars).unwrap().relation.unwrap();
    assert_eq!(rel.remote_unit, None);
    assert_eq!(rel.remote_app, None);
}

#[test]
fn missing_unit_name_is_a_clear_error() {
    let mut vars = env(&[("JUJU_DISPATCH_PATH", "hooks/install")]);
    vars.remove("JUJU_UNIT_NAME");
    let err = parse(None, None, &vars).unwrap_err();
    assert_eq!(
        err,
        ContextError::Missing {
            var: "JUJU_UNIT_NAME"
        }
    );
    assert!(err.to_string().contains("JUJU_UNIT_NAME is not set"));
}

#[test]
fn empty_variables_count_as_missing() {
    let vars = env(&[
        ("JUJU_DISPATCH_PATH", "hooks/install"),
        ("JUJU_UNIT_NAME", ""),
    ]);
    assert!(matches!(
        parse(None, None, &vars),
        Err(ContextError::Missing {
            var: "JUJU_UNIT_NAME"
        })
    ));
}

#[test]
fn charm_dir_falls_back_to_charm_dir_and_is_required() {
    let mut vars = env(&[("JUJU_DISPATCH_PATH", "hooks/install")]);
    vars.remove("JUJU_CHARM_DIR");
    assert_eq!(
        parse(None, None, &vars).unwrap_err(),
        ContextError::Missing {
            var: "JUJU_CHARM_DIR"
        }
    );
    vars.insert("CHARM_DIR".into(), "/charm".into());
    assert_eq!(
        parse(None, None, &vars).unwrap().charm_dir,
        PathBuf::from("/charm")
    );
}

#[test]
fn bad_unit_names_are_rejected_with_the_reason() {
    for bad in ["k8s-vip", "k8s-vip/x", "/0", "k8s-vip/-1"] {
        let vars = env(&[
            ("JUJU_DISPATCH_PATH", "hooks/install"),
            ("JUJU_UNIT_NAME", bad),
        ]);
        match parse(None, None, &vars) {
            Err(ContextError::Invalid { var, value, .. }) => {
                assert_eq!(var, "JUJU_UNIT_NAME");
                assert_eq!(value, bad);
            }
            other => panic!("{bad}: expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn bad_dispatch_paths_are_rejected() {
    for bad in ["bin/install", "hooks/Install", "hooks/"] {
        let vars = env(&[("JUJU_DISPATCH_PATH", bad)]);
        assert!(
            matches!(
                parse(None, None, &vars),
                Err(ContextError::Invalid {
                    var: "JUJU_DISPATCH_PATH",
                    ..
                })
            ),
            "{bad} accepted"
        );
    }
}

#[test]
fn relation_hook_without_relation_id_is_an_error() {
    let vars = env(&[("JUJU_DISPATCH_PATH", "hooks/cluster-relation-changed")]);
    assert_eq!(
        parse(None, None, &vars).unwrap_err(),
        ContextError::Missing {
            var: "JUJU_RELATION_ID"
        }
    );
}

#[test]
fn malformed_or_inconsistent_relation_ids_are_errors() {
    for (rel, id) in [
        ("cluster", "cluster"),
        ("cluster", "cluster:x"),
        ("cluster", ":3"),
        ("website", "cluster:3"),
    ] {
        let vars = env(&[
            ("JUJU_DISPATCH_PATH", "hooks/cluster-relation-changed"),
            ("JUJU_RELATION", rel),
            ("JUJU_RELATION_ID", id),
        ]);
        assert!(
            matches!(parse(None, None, &vars), Err(ContextError::Invalid { .. })),
            "{rel} {id} accepted"
        );
    }
}

#[test]
fn no_name_anywhere_is_an_error() {
    let vars = env(&[]);
    assert_eq!(
        parse(None, None, &vars).unwrap_err(),
        ContextError::NoHookName
    );
}
