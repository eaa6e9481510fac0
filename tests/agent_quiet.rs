//! The agent's quiet path in real network namespaces: while adverts flow and
//! nothing changes, the agent must not rebuild or rewrite its status (that
//! was most of its CPU time as a backup); when something changes, it must.
//! Also: a health check that has not reported yet is shown as what it counts
//! as (healthy), marked `"reported": false`.
//!
//! Root only; each test builds its own lab (unique names) and tears it down
//! even on failure.
mod agent_util;
mod support;

use std::time::{Duration, SystemTime};

use agent_util::*;
use serde_json::{json, Value};
use support::netns::{require_root, wait_for, Lab};

const VIP: &str = "192.0.2.100";
const PORT: u16 = 9742;

/// Adverts and status publishes of `agent`, read from its metrics endpoint.
fn counters(lab: &Lab, agent: &Agent) -> (f64, f64, f64) {
    let text = metrics(lab, lab.unit(agent.unit), PORT);
    (
        metric(&text, "k8s_vip_adverts_sent_total{instance=\"api\"}"),
        metric(&text, "k8s_vip_adverts_received_total{instance=\"api\"}"),
        metric(&text, "k8s_vip_status_publishes_total"),
    )
}

fn state_file(agent: &Agent) -> (String, SystemTime) {
    let text = std::fs::read_to_string(&agent.state_file).expect("state file");
    let modified = std::fs::metadata(&agent.state_file)
        .and_then(|m| m.modified())
        .expect("state file mtime");
    (text, modified)
}

#[test]
fn steady_adverts_do_not_republish_the_status_but_a_change_does() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("quiet", 2);
    let peers = |i: usize| vec![lab.unit(1 - i).ipv4.to_string()];
    let mut agents = Vec::new();
    for (i, prio) in [(0, 120), (1, 100)] {
        let mut x = Inst::v4(51, prio);
        x.unicast_peers = peers(i);
        let cfg = write_config_with_metrics(&lab, i, &[x], PORT);
        agents.push(start_with(&lab, i, cfg));
        if i == 0 {
            assert!(
                wait_state(&agents[0], "api", "MASTER", Duration::from_secs(3)).is_some(),
                "{}",
                agents[0].log()
            );
        }
    }
    let refs: Vec<&Agent> = agents.iter().collect();
    let (master, backup) = (&agents[0], &agents[1]);
    assert_eq!(holders(&lab, VIP), vec![0], "{}", logs(&refs));
    assert!(
        wait_state(backup, "api", "BACKUP", Duration::from_secs(3)).is_some(),
        "{}",
        logs(&refs)
    );
    // The backup's status settles once it has heard the master.
    assert!(
        wait_for(Duration::from_secs(3), || backup.status()["instances"][0]
            ["master"]
            == lab.unit(0).ipv4.to_string())
        .is_some(),
        "{}",
        logs(&refs)
    );
    std::thread::sleep(Duration::from_millis(300));

    let (m_sent0, _, m_pub0) = counters(&lab, master);
    let (_, b_recv0, b_pub0) = counters(&lab, backup);
    let (m_file0, m_mtime0) = state_file(master);
    let (b_file0, b_mtime0) = state_file(backup);
    assert!(
        m_pub0 >= 1.0 && b_pub0 >= 1.0,
        "the state file is published at start"
    );
    std::thread::sleep(Duration::from_secs(2));
    let (m_sent1, _, m_pub1) = counters(&lab, master);
    let (_, b_recv1, b_pub1) = counters(&lab, backup);
    // 100 ms adverts: about 20 in 2 s; ask for 10 so a loaded machine passes.
    assert!(
        m_sent1 - m_sent0 >= 10.0 && b_recv1 - b_recv0 >= 10.0,
        "adverts must flow: sent {m_sent0}->{m_sent1}, received {b_recv0}->{b_recv1}"
    );
    assert_eq!(
        m_pub1, m_pub0,
        "the master republished with nothing changed"
    );
    assert_eq!(
        b_pub1, b_pub0,
        "the backup republished with nothing changed"
    );
    assert_eq!(
        state_file(master),
        (m_file0, m_mtime0),
        "master state file rewritten"
    );
    assert_eq!(
        state_file(backup),
        (b_file0, b_mtime0),
        "backup state file rewritten"
    );

    // A change is published at once: pause the backup. (The state file is
    // written just before the counter moves: wait for both.)
    assert_eq!(backup.request(json!({"cmd": "pause"}))["ok"], true);
    let paused = wait_for(Duration::from_secs(2), || {
        let doc: Value = serde_json::from_str(&state_file(backup).0).unwrap_or(Value::Null);
        doc["paused"] == true && doc["instances"][0]["state"] == "PAUSED"
    });
    assert!(paused.is_some(), "{}", state_file(backup).0);
    let counted = wait_for(Duration::from_secs(2), || counters(&lab, backup).2 > b_pub1);
    assert!(
        counted.is_some(),
        "pause must be published ({b_pub1} -> {})",
        counters(&lab, backup).2
    );
    assert_eq!(backup.request(json!({"cmd": "resume"}))["ok"], true);
    assert!(
        wait_state(backup, "api", "BACKUP", Duration::from_secs(3)).is_some(),
        "{}",
        backup.log()
    );
}

#[test]
fn a_check_that_has_not_reported_shows_healthy_and_pending() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("pend", 1);
    let mut x = Inst::v4(52, 100);
    // The first probe hangs until its 4 s timeout: until then the check has
    // not reported; then it has failed once (fall 3: still counted healthy).
    x.checks = vec![json!({"exec": ["sleep", "30"], "interval-ms": 30000,
        "timeout-ms": 4000, "rise": 1, "fall": 3})];
    let agent = start(&lab, 0, &[x]);
    let check = |doc: &Value| doc["instances"][0]["checks"][0].clone();
    let first = check(&agent.status());
    assert_eq!(first["reported"], false, "{first}");
    assert_eq!(first["healthy"], true, "pending counts as healthy: {first}");
    assert_eq!(first["last-error"], Value::Null, "{first}");
    let (ok, table) = agent.cli(&["status"]);
    assert!(ok && table.contains("pending exec"), "{table}");

    let reported = wait_for(Duration::from_secs(15), || {
        check(&agent.status())["reported"] == true
    });
    assert!(reported.is_some(), "{}", agent.log());
    let after = check(&agent.status());
    assert_eq!(after["healthy"], true, "one failure of fall 3: {after}");
    assert!(after["last-error"].is_string(), "{after}");
    // The state file the charm reads says the same.
    let doc: Value = serde_json::from_str(&state_file(&agent).0).unwrap();
    assert_eq!(check(&doc), after, "state file and status reply differ");
}
