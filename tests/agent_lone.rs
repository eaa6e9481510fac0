//! A lone unit in real network namespaces: `unicast: true` with no peers
//! holds the instance in BACKUP (no VIP, nothing sent) unless `alone: true`
//! (the charm's word that Juju expects no other unit), which lets it take
//! the VIP as MASTER while still sending no VRRP advert (nobody to send to,
//! and never multicast).
//!
//! Root only; each test builds its own lab and tears it down even on failure.

mod agent_util;
mod support;

use std::time::Duration;

use agent_util::*;
use serde_json::{json, Value};
use support::netns::{require_root, Lab};

const VIP: &str = "192.0.2.100";
const PORT: u16 = 9743;

/// Starts unit 0's agent: unicast, no peers, `alone` as given.
fn start_lone(lab: &Lab, alone: bool) -> Agent {
    let path = write_config_with_metrics(lab, 0, &[Inst::v4(51, 100)], PORT);
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["instances"][0]["unicast"] = json!(true);
    if alone {
        doc["instances"][0]["alone"] = json!(true);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    start_with(lab, 0, path)
}

fn adverts_sent(lab: &Lab) -> f64 {
    let text = metrics(lab, lab.unit(0), PORT);
    assert!(
        text.contains("k8s_vip_adverts_sent_total"),
        "metrics answer: {text}"
    );
    metric(&text, "k8s_vip_adverts_sent_total{instance=\"api\"}")
}

#[test]
fn alone_takes_the_vip_and_sends_nothing() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("lone", 1);
    let agent = start_lone(&lab, true);
    assert!(
        wait_state(&agent, "api", "MASTER", Duration::from_secs(5)).is_some(),
        "{}",
        agent.log()
    );
    assert_eq!(holders(&lab, VIP), vec![0], "{}", agent.log());
    // Several advert intervals as MASTER: still nothing sent.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(adverts_sent(&lab), 0.0, "{}", agent.log());
    let inst = &agent.status()["instances"][0];
    assert!(inst["waiting-for"].is_null(), "{inst}");
    assert_eq!(inst["mode"], "unicast");
}

#[test]
fn without_alone_it_stays_backup_without_the_vip() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("held", 1);
    let agent = start_lone(&lab, false);
    // Longer than master-down (3 x 100 ms + skew): it would be MASTER by now.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(agent.state("api"), "BACKUP", "{}", agent.log());
    assert!(holders(&lab, VIP).is_empty(), "{}", agent.log());
    assert_eq!(adverts_sent(&lab), 0.0, "{}", agent.log());
    assert_eq!(
        agent.status()["instances"][0]["waiting-for"],
        "unicast peers"
    );
}
