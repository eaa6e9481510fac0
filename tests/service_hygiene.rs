//! Every systemd unit file the charm installs, as the charm renders it,
//! judged by systemd itself: `systemd-analyze verify` finds nothing to say
//! about it, and `systemd-analyze security --offline=true` rates its overall
//! exposure at most 2.5 for the agent and 4.0 for HAProxy (which must bind
//! low ports, non-local addresses and drop to its own user).
//!
//! The charm's installed units are listed once here ([`installed_units`]):
//! a new one must be added, with its bound.

#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::process::Command;

use k8s_vip::charm::haproxy::{render_haproxy_unit, HaproxyPaths};
use k8s_vip::charm::unit_file::agent_unit;

/// (unit name, content as installed on a unit, highest exposure allowed).
fn installed_units() -> Vec<(&'static str, String, f64)> {
    let root = Path::new("/");
    vec![
        ("k8s-vip-agent.service", agent_unit(root), 2.5),
        (
            "k8s-vip-haproxy.service",
            render_haproxy_unit(&HaproxyPaths::under(root)).expect("HAProxy unit renders"),
            4.0,
        ),
    ]
}

/// `systemd-analyze ARGS unit`, with the unit written under its own name.
fn analyse(name: &str, content: &str, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let out = Command::new("systemd-analyze")
        .args(args)
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn systemd_analyze_verify_accepts_every_installed_unit() {
    if !skip::need_program("systemd-analyze") {
        return;
    }
    for (name, content, _) in installed_units() {
        let (_, text) = analyse(name, &content, &["verify"]);
        // Only lines about our unit count, less the one saying the agent's
        // on-unit binary is absent from this machine.
        let ours: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&format!("{name}:")))
            .filter(|l| !(l.contains("Command ") && l.contains("is not executable: No such file")))
            .collect();
        assert!(ours.is_empty(), "systemd-analyze verify on {name}:\n{text}");
    }
}

#[test]
fn every_installed_unit_has_a_low_exposure() {
    if !skip::need_program("systemd-analyze") {
        return;
    }
    for (name, content, bound) in installed_units() {
        let (_, text) = analyse(name, &content, &["security", "--offline=true"]);
        let prefix = format!("Overall exposure level for {name}:");
        let score = text
            .lines()
            .find_map(|l| l.split(&prefix).nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|s| s.parse::<f64>().ok());
        let Some(score) = score else {
            skip::skipped("systemd-analyze security --offline (systemd 250+)", &text);
            return;
        };
        eprintln!("MEASURED {name} exposure: {score} (bound {bound})");
        assert!(
            score <= bound,
            "{name}: exposure {score} > {bound}:\n{text}"
        );
    }
}
