//! The alert rules k8s-vip sends to COS: valid for Prometheus (`promtool check
//! rules`), behaving as intended (`promtool test rules`, a firing and a quiet
//! case per alert), documented (summary, description, runbook), on metrics
//! that exist, and still valid after the cos_agent topology rewrite.

mod cos_support;

use std::collections::BTreeSet;

use cos_support::{metric_names, parse, promtool, root, unknown_metrics};
use k8s_vip::cos::{metrics_alert_rules, Topology, RULE_FILES};
use serde_json::Value;

fn rules_dir() -> std::path::PathBuf {
    root().join("src/prometheus_alert_rules")
}

/// Every alert rule of the shipped files.
fn alerts() -> Vec<Value> {
    RULE_FILES
        .iter()
        .flat_map(|(file, text)| {
            let doc: Value = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            doc["groups"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}: no groups"))
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn embedded_rule_files_are_the_folder() {
    let mut on_disk: Vec<String> = std::fs::read_dir(rules_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            ["rule", "rules", "yml", "yaml"].contains(&ext)
        })
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let embedded: Vec<&str> = RULE_FILES.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        embedded, on_disk,
        "src/cos/rules.rs RULE_FILES must list the folder, sorted"
    );
    for (name, text) in RULE_FILES {
        let disk = std::fs::read_to_string(rules_dir().join(name)).unwrap();
        assert_eq!(*text, disk, "{name}");
    }
}

#[test]
fn promtool_checks_the_rule_files() {
    let files: Vec<&str> = RULE_FILES.iter().map(|(name, _)| *name).collect();
    let mut args = vec!["check", "rules"];
    args.extend(&files);
    let (ok, out) = promtool(&rules_dir(), &args);
    assert!(ok, "promtool check rules:\n{out}");
    let alerts = alerts().len();
    assert!(alerts >= 10, "{alerts} rules found");
}

#[test]
fn promtool_unit_tests_pass() {
    let dir = root().join("tests/fixtures/cos");
    let (ok, out) = promtool(&dir, &["test", "rules", "alert_rules_test.yaml"]);
    assert!(ok, "promtool test rules:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn every_alert_has_a_firing_and_a_quiet_test_case() {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/cos/alert_rules_test.yaml")).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for case in doc["tests"].as_array().unwrap() {
        for check in case["alert_rule_test"].as_array().into_iter().flatten() {
            let name = check["alertname"].as_str().unwrap().to_string();
            let expected = check["exp_alerts"].as_array().map_or(0, Vec::len);
            if expected > 0 {
                fires.insert(name);
            } else {
                quiet.insert(name);
            }
        }
    }
    for alert in alerts() {
        let name = alert["alert"].as_str().unwrap();
        assert!(fires.contains(name), "{name}: no test case where it fires");
        assert!(
            quiet.contains(name),
            "{name}: no test case where it must not fire"
        );
    }
}

#[test]
fn every_alert_is_documented_and_labelled() {
    for alert in alerts() {
        let name = alert["alert"].as_str().expect("only alerting rules");
        for key in ["summary", "description", "runbook"] {
            let text = alert["annotations"][key].as_str().unwrap_or("");
            assert!(text.len() > 10, "{name}: annotation {key} missing or empty");
        }
        let severity = alert["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("critical" | "warning")),
            "{name}: severity {severity:?}"
        );
    }
}

#[test]
fn rules_read_only_metrics_that_exist() {
    let mut used = BTreeSet::new();
    for alert in alerts() {
        let name = alert["alert"].as_str().unwrap();
        let expr = parse(alert["expr"].as_str().unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        used.extend(metric_names(&expr));
    }
    assert!(used.contains("k8s_vip_instance_state") && used.contains("haproxy_server_status"));
    assert_eq!(
        unknown_metrics(&used),
        Vec::<String>::new(),
        "unknown metrics in the rules"
    );
}

#[test]
fn rules_as_sent_over_cos_agent_pass_promtool() {
    let topology = Topology {
        model: "lab".into(),
        model_uuid: "7b4c1e2a-9f3d-4c8e-a1b2-3c4d5e6f7a8b".into(),
        application: "k8s-vip".into(),
        unit: "k8s-vip/0".into(),
        charm_name: "k8s-vip".into(),
    };
    let sent = metrics_alert_rules(&topology).unwrap();
    let groups = sent["groups"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert!(
        names.iter().all(|n| n.starts_with("lab_7b4c1e2a_k8s_vip_")),
        "{names:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    // JSON is YAML: write the groups exactly as sent.
    std::fs::write(dir.path().join("sent.rules"), sent.to_string()).unwrap();
    let (ok, out) = promtool(dir.path(), &["check", "rules", "sent.rules"]);
    assert!(ok, "promtool check rules on the rules as sent:\n{out}");
    let count: usize = groups
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    assert!(
        out.contains(&format!("SUCCESS: {count} rules found")),
        "{out}"
    );
}
