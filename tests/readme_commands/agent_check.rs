//! The agent config example (docs/reference/agent-config.md, wherever it is
//! kept): it passes `k8s-vip agent --check`, and the errors the docs list for
//! its documented mistakes are what the check prints, byte for byte.

use std::process::Command;

use crate::commands::{at, commands_of, Kind};
use crate::docs;
use crate::support;
use crate::support::juju::CHARM_BINARY;

/// The agent config example (the docs' one YAML block).
fn agent_example() -> String {
    docs::blocks()
        .into_iter()
        .find(|b| b.info == "yaml" && b.text().contains("instances:"))
        .map(|b| b.text() + "\n")
        .expect("the docs' agent config example")
}

/// The mistakes whose errors the docs list, in its order: each is one
/// edit of the example (old text, new text).
const DOCUMENTED_MISTAKES: &[(&str, &str)] = &[
    (
        "{repeat: 5, interval-ms: 100,",
        "{repeat: 5, intervl-ms: 100,",
    ),
    ("vrid: 51", "vrid: 0"),
    ("interface: eth0", "interface: eth9"),
];

/// The docs' error lines for the documented mistakes (the block of
/// `k8s-vip: error:` lines after the `--check` example).
fn documented_errors() -> Vec<String> {
    docs::blocks()
        .into_iter()
        .find(|b| {
            !b.lines.is_empty()
                && b.lines
                    .iter()
                    .all(|(_, l)| l.starts_with("k8s-vip: error: instances["))
        })
        .map(|b| b.lines.into_iter().map(|(_, l)| l).collect())
        .expect("the docs' block of agent config errors")
}

/// Runs `k8s-vip agent --config agent.yaml --check` on `yaml` in a fresh
/// directory, inside network namespace `ns` when given; returns (ok, stdout
/// + stderr).
fn agent_check(yaml: &str, ns: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("agent.yaml"), yaml).expect("write");
    let args = [CHARM_BINARY, "agent", "--config", "agent.yaml", "--check"];
    let mut command = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).args(args);
            c
        }
        None => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        }
    };
    let out = command
        .current_dir(dir.path())
        .output()
        .expect("run k8s-vip agent --check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The check's verdict on the unchanged example and on each documented
/// mistake, byte for byte. Mistakes found before the interface is looked up
/// run anywhere; the rest runs in a namespace with only `lo` and `eth0`, as
/// on the unit the docs describe (root).
#[test]
fn agent_yaml_example_passes_check_and_documented_errors_are_exact() {
    let example = agent_example();
    let errors = documented_errors();
    assert_eq!(
        errors.len(),
        DOCUMENTED_MISTAKES.len(),
        "one error line per documented mistake"
    );
    let text = docs::all_text();
    for (_, new) in DOCUMENTED_MISTAKES {
        let key = new.split(':').next().unwrap_or(new).trim_start_matches('{');
        assert!(
            text.contains(key.split(", ").last().unwrap_or(key)),
            "the docs do not describe `{new}`"
        );
    }
    let check = commands_of(|k| matches!(k, Kind::AgentCheck));
    let [(check_cmd, _)] = check.as_slice() else {
        panic!("expected one `$ k8s-vip agent --config agent.yaml --check`");
    };
    let mutated = |(old, new): &(&str, &str)| {
        assert!(
            example.contains(old),
            "the example no longer contains `{old}`"
        );
        example.replacen(old, new, 1)
    };
    // Syntax and range errors come before any interface lookup.
    for (mistake, want) in DOCUMENTED_MISTAKES.iter().zip(&errors).take(2) {
        let (ok, out) = agent_check(&mutated(mistake), None);
        assert!(!ok, "`{}` accepted", mistake.1);
        assert_eq!(out.trim_end(), want, "the docs' error for `{}`", mistake.1);
    }
    if !support::netns::require_root() {
        return;
    }
    let lab = support::netns::Lab::new("rdc", 1);
    let ns = lab.unit(0).ns.clone();
    let (ok, out) = agent_check(&example, Some(&ns));
    assert!(ok, "{}: the example is refused: {out}", at(check_cmd));
    assert_eq!(
        out.trim_end(),
        check_cmd.output.join("\n"),
        "{}: output",
        at(check_cmd)
    );
    for (mistake, want) in DOCUMENTED_MISTAKES.iter().zip(&errors) {
        let (ok, out) = agent_check(&mutated(mistake), Some(&ns));
        assert!(!ok, "`{}` accepted", mistake.1);
        assert_eq!(out.trim_end(), want, "the docs' error for `{}`", mistake.1);
    }
}
