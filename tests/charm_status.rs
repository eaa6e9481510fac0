//! Unit and application status messages from the agent's state document.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_vip::charm::config::VrrpVersion;
use k8s_vip::charm::instances::Instance;
use k8s_vip::charm::status::{app_status, unit_status, StatusInputs};
use k8s_vip::charm::types::agent_state::StatusDoc;
use k8s_vip::charm::types::Peer;
use k8s_vip::charm::types::{State, Status};
use serde_json::json;

fn inst(name: &str, vip: &str, vrid: u8) -> Instance {
    Instance {
        name: name.into(),
        interface: "eth0".into(),
        vrid,
        version: VrrpVersion::V3,
        priority: 200,
        advert_interval_cs: 25,
        preempt: false,
        vip: vip.parse().expect("vip"),
        prefix: 24,
        unicast: true,
        unicast_peers: vec![],
        alone: false,
        local_address: None,
        garp_refresh_s: 60,
        checks: vec![],
        preferred_unit: "k8s-vip/0".into(),
        bfd: None,
    }
}

fn peers() -> Vec<Peer> {
    vec![Peer {
        unit: "k8s-vip/2".into(),
        data: BTreeMap::from([("address".to_string(), "192.0.2.13".to_string())]),
    }]
}

fn doc(instances: serde_json::Value) -> StatusDoc {
    StatusDoc::from_value(&json!({"pid": 1, "paused": false, "instances": instances})).expect("doc")
}

fn run(instances: &[Instance], d: Option<&StatusDoc>, active: bool, paused: bool) -> Status {
    let my: Vec<IpAddr> = vec!["192.0.2.11".parse().expect("ip")];
    let p = peers();
    unit_status(&StatusInputs {
        me: "k8s-vip/0",
        my_addrs: &my,
        peers: &p,
        instances,
        service_active: active,
        paused,
        doc: d,
    })
}

#[test]
fn master_and_backup_messages() {
    let one = [inst("v4-1", "10.0.0.100", 51)];
    let d = doc(json!([{"name": "v4-1", "vrid": 51, "state": "MASTER", "master": "192.0.2.11"}]));
    assert_eq!(
        run(&one, Some(&d), true, false),
        Status::new(State::Active, "MASTER 10.0.0.100 (vrid 51)")
    );
    let d = doc(json!([{"name": "v4-1", "vrid": 51, "state": "BACKUP", "master": "192.0.2.13"}]));
    assert_eq!(
        run(&one, Some(&d), true, false),
        Status::new(State::Active, "BACKUP, VIP on k8s-vip/2 (vrid 51)")
    );
    // An unknown master address is shown as the address.
    let d = doc(json!([{"name": "v4-1", "vrid": 51, "state": "BACKUP", "master": "192.0.2.99"}]));
    assert_eq!(
        run(&one, Some(&d), true, false).message,
        "BACKUP, VIP on 192.0.2.99 (vrid 51)"
    );
}

#[test]
fn several_vips_name_each() {
    let two = [
        inst("v4-1", "10.0.0.100", 51),
        inst("v4-2", "10.0.0.101", 52),
    ];
    let d = doc(json!([
        {"name": "v4-1", "vrid": 51, "state": "MASTER", "master": "192.0.2.11"},
        {"name": "v4-2", "vrid": 52, "state": "BACKUP", "master": "192.0.2.13"}
    ]));
    assert_eq!(
        run(&two, Some(&d), true, false).message,
        "MASTER 10.0.0.100 (vrid 51); BACKUP, VIP 10.0.0.101 on k8s-vip/2 (vrid 52)"
    );
}

#[test]
fn fault_names_the_failing_check() {
    let one = [inst("v4-1", "10.0.0.100", 51)];
    let d = doc(
        json!([{"name": "v4-1", "vrid": 51, "state": "FAULT", "master": null,
        "checks": [{"name": "http https://127.0.0.1:6443/livez", "healthy": false, "last-error": "connection refused"}]}]),
    );
    assert_eq!(
        run(&one, Some(&d), true, false),
        Status::new(
            State::Waiting,
            "FAULT 10.0.0.100 (vrid 51): http https://127.0.0.1:6443/livez failing: connection refused"
        )
    );
}

#[test]
fn waiting_paused_and_stale() {
    let one = [inst("v4-1", "10.0.0.100", 51)];
    let d = doc(json!([{"name": "v4-1", "vrid": 51, "state": "MASTER"}]));
    // No document, or the service is not running (stale file): waiting.
    assert_eq!(
        run(&one, None, true, false),
        Status::new(State::Waiting, "agent starting")
    );
    assert_eq!(
        run(&one, Some(&d), false, false),
        Status::new(State::Waiting, "agent starting")
    );
    // The document does not know our instance yet (reload pending).
    let other = doc(json!([{"name": "v4-9", "vrid": 51, "state": "MASTER"}]));
    assert_eq!(run(&one, Some(&other), true, false).state, State::Waiting);
    // Paused: marker or agent.
    assert_eq!(
        run(&one, Some(&d), true, true),
        Status::new(State::Maintenance, "paused, VIP released")
    );
    let p = StatusDoc::from_value(&json!({"paused": true, "instances": []})).expect("doc");
    assert_eq!(run(&one, Some(&p), true, false).state, State::Maintenance);
}

#[test]
fn lenient_parsing_of_newer_documents() {
    let d = StatusDoc::parse(r#"{"pid": 7, "future-key": 1, "instances": [{"name": "v4-1", "state": "MASTER", "new": true}]}"#)
        .expect("unknown keys are ignored");
    assert_eq!(d.instances[0].state, "MASTER");
}

#[test]
fn application_status_names_the_vips() {
    let two = [
        inst("v4-1", "10.0.0.100", 51),
        inst("v6-1", "fd00::100", 51),
    ];
    assert_eq!(
        app_status(&two, None).message,
        "VIPs 10.0.0.100 (vrid 51), fd00::100 (vrid 51)"
    );
    assert_eq!(
        app_status(&two[..1], Some("api.example.com")).message,
        "VIP 10.0.0.100 (vrid 51) as api.example.com"
    );
}

#[test]
fn backup_without_a_known_master() {
    let one = [inst("v4-1", "10.0.0.100", 51)];
    let d = doc(json!([{"name": "v4-1", "vrid": 51, "state": "BACKUP", "master": null}]));
    assert_eq!(
        run(&one, Some(&d), true, false).message,
        "BACKUP, master not seen yet (vrid 51)"
    );
}

#[test]
fn a_peer_the_agent_heard_before_it_was_listed_is_no_foreign_router() {
    let one = [inst("v4-1", "10.0.0.100", 51)];
    let d = doc(
        json!([{"name": "v4-1", "vrid": 51, "state": "MASTER", "master": "192.0.2.11",
                        "foreign-routers": ["192.0.2.13", "198.51.100.7"]}]),
    );
    assert_eq!(
        run(&one, Some(&d), true, false).message,
        "MASTER 10.0.0.100 (vrid 51); WARNING: another router uses vrid 51 from 198.51.100.7 (not a peer; set virtual-router-id)"
    );
    let d = doc(
        json!([{"name": "v4-1", "vrid": 51, "state": "MASTER", "master": "192.0.2.11",
                        "foreign-routers": ["192.0.2.13"]}]),
    );
    assert_eq!(
        run(&one, Some(&d), true, false).message,
        "MASTER 10.0.0.100 (vrid 51)"
    );
}

#[test]
fn an_instance_held_for_unicast_peers_says_so() {
    let one = [inst("v4-1", "10.0.0.100", 51)];
    let d = doc(
        json!([{"name": "v4-1", "vrid": 51, "state": "BACKUP", "master": null,
                        "mode": "unicast", "waiting-for": "unicast peers"}]),
    );
    assert_eq!(
        run(&one, Some(&d), true, false),
        Status::new(
            State::Waiting,
            "BACKUP 10.0.0.100, waiting for unicast peers (vrid 51)"
        )
    );
}

#[test]
fn status_messages_are_capped_at_one_kib_on_a_character_boundary() {
    use k8s_vip::charm::status::{capped, MAX_MESSAGE};
    assert_eq!(capped("short"), "short");
    let exact = "x".repeat(MAX_MESSAGE);
    assert_eq!(capped(&exact), exact);
    // Multi-byte characters straddling the limit are never split.
    let long = "é".repeat(MAX_MESSAGE);
    let cut = capped(&long);
    assert!(cut.len() <= MAX_MESSAGE, "{}", cut.len());
    assert!(cut.ends_with('…'));
    assert!(cut.trim_end_matches('…').chars().all(|c| c == 'é'));
    // The unit status itself is capped.
    let many: Vec<String> = (0..300)
        .map(|i| format!("198.51.100.{}", i % 250))
        .collect();
    let one = [inst("v4-1", "10.0.0.100", 51)];
    let d = doc(
        json!([{"name": "v4-1", "vrid": 51, "state": "MASTER", "master": "192.0.2.11",
                        "foreign-routers": many}]),
    );
    let message = run(&one, Some(&d), true, false).message;
    assert!(
        message.len() <= MAX_MESSAGE && message.ends_with('…'),
        "{message}"
    );
}
