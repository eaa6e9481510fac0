//! The agent's systemd unit template: the on-unit contract (paths, reload =
//! SIGHUP, restart policy) and the hardening the issue asks for, plus
//! `systemd-analyze security --offline=true` (a recorded skip without it).

#[path = "support/skip.rs"]
mod skip;

use std::process::Command;

const UNIT: &str = include_str!("../templates/k8s-vip-agent.service");

fn values(key: &str) -> Vec<String> {
    UNIT.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
        .collect()
}

fn one(key: &str) -> String {
    let v = values(key);
    assert_eq!(v.len(), 1, "{key}= must appear once, found {v:?}");
    v[0].clone()
}

#[test]
fn unit_runs_the_agent_as_the_contract_says() {
    assert_eq!(
        one("ExecStart"),
        "/usr/local/lib/k8s-vip/k8s-vip agent --config /etc/k8s-vip/agent.yaml"
    );
    assert_eq!(
        one("ExecStartPre"),
        "/usr/local/lib/k8s-vip/k8s-vip agent --config /etc/k8s-vip/agent.yaml --check"
    );
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one("Restart"), "always");
    assert_eq!(one("KillSignal"), "SIGTERM");
    assert_eq!(one("RuntimeDirectory"), "k8s-vip");
    // /run/k8s-vip also holds HAProxy's stats socket: stopping the agent must
    // not delete it (systemd removes a runtime directory on stop otherwise).
    assert_eq!(one("RuntimeDirectoryPreserve"), "yes");
    assert_eq!(one("StateDirectory"), "k8s-vip");
    assert_eq!(one("WantedBy"), "multi-user.target");
}

#[test]
fn unit_is_hardened() {
    assert_eq!(one("CapabilityBoundingSet"), "CAP_NET_ADMIN CAP_NET_RAW");
    assert_eq!(one("AmbientCapabilities"), "CAP_NET_ADMIN CAP_NET_RAW");
    for (k, v) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CPUSchedulingPolicy", "rr"),
    ] {
        assert_eq!(one(k), v, "{k}");
    }
}

#[test]
fn unit_security_exposure_is_low() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k8s-vip-agent.service");
    std::fs::write(&path, UNIT).unwrap();
    if !skip::need_program("systemd-analyze") {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(score) = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for k8s-vip-agent.service:")
                .nth(1)
        })
        .and_then(|r| r.split_whitespace().next())
        .and_then(|s| s.parse::<f64>().ok())
    else {
        skip::skipped("systemd-analyze security --offline (systemd 250+)", &text);
        return;
    };
    eprintln!("MEASURED systemd exposure: {score}");
    assert!(score <= 3.0, "exposure {score} (was 2.4):\n{text}");
}
