//! Unicast peers are mutual: a unit sends its adverts only to peers that
//! know it (they would drop them as a stranger's otherwise), publishes the
//! units it knows under `knows`, and with no such peer its instance waits
//! in BACKUP (`unicast: true`, no peers) rather than taking the VIP alone.

use k8s_vip::charm::plan::{plan, Inputs, Plan};
use serde_json::{json, Value};

fn inputs(peers: Value) -> Inputs {
    serde_json::from_value(json!({
        "hook": "config-changed", "unit": "k8s-vip/0", "app": "k8s-vip", "model": "test",
        "config": {"virtual-ip": "192.0.2.100", "health-check": "none"},
        "network": {"interfaces": [{"name": "eth0", "addrs": [{"addr": "192.0.2.11", "prefix": 24}]}],
                    "ingress": ["192.0.2.11"]},
        "peers": peers,
        "cluster-relation": "cluster:0"
    }))
    .expect("inputs")
}

fn agent_yaml(p: &Plan) -> Value {
    let text = &p
        .files
        .iter()
        .find(|f| f.path == "/etc/k8s-vip/agent.yaml")
        .expect("agent.yaml planned")
        .content;
    serde_yaml::from_str(text).expect("yaml")
}

fn published(p: &Plan) -> Option<String> {
    p.relation_sets
        .iter()
        .find(|s| s.relation_id == "cluster:0")
        .and_then(|s| s.data.get("knows").cloned())
}

#[test]
fn only_peers_that_know_us_are_unicast_peers() {
    let p = plan(&inputs(json!([
        {"unit": "k8s-vip/1", "data": {"address": "192.0.2.12", "knows": "k8s-vip/0 k8s-vip/1"}},
        {"unit": "k8s-vip/2", "data": {"address": "192.0.2.13", "knows": "k8s-vip/2"}},
        {"unit": "k8s-vip/3", "data": {"address": "192.0.2.14"}},
        {"unit": "k8s-vip/4", "data": {}}
    ])));
    let i = &agent_yaml(&p)["instances"][0];
    assert_eq!(i["unicast"], true);
    // k8s-vip/2 does not know us yet; k8s-vip/3 predates `knows`.
    assert_eq!(i["unicast-peers"], json!(["192.0.2.12", "192.0.2.14"]));
    assert_eq!(
        published(&p).as_deref(),
        Some("k8s-vip/0 k8s-vip/1 k8s-vip/2 k8s-vip/3")
    );
}

#[test]
fn with_no_peer_that_knows_us_the_instance_waits() {
    let p = plan(&inputs(json!([
        {"unit": "k8s-vip/1", "data": {"address": "192.0.2.12", "knows": "k8s-vip/1"}},
        {"unit": "k8s-vip/2", "data": {}}
    ])));
    let i = &agent_yaml(&p)["instances"][0];
    assert_eq!(i["unicast"], true);
    assert_eq!(i["unicast-peers"], json!([]));
    assert!(i["unicast-source"].is_null());
    // We publish that we know k8s-vip/1, so it can list us next.
    assert_eq!(published(&p).as_deref(), Some("k8s-vip/0 k8s-vip/1"));
}

/// A router held (may not take over) since `t0`, released at `at`: its
/// master-down timer starts afresh then, whatever the phase of the hold.
#[test]
fn a_released_hold_starts_the_master_down_timer_afresh() {
    use std::time::{Duration, Instant};

    use k8s_vip::vrrp::router::{Action, Event, Router, RouterConfig, State};

    let ip = |s: &str| s.parse().expect("ip");
    let mut cfg = RouterConfig::new(51, ip("192.0.2.11"), vec![ip("192.0.2.100")]);
    cfg.priority = 200;
    cfg.may_take_over = false;
    let t0 = Instant::now();
    let mut r = Router::new(cfg.clone());
    r.handle(Event::Startup, t0);
    let interval = r.master_down_interval();
    // Held: the timer keeps coming back without making it master.
    let mut t = t0;
    for _ in 0..3 {
        t += interval;
        r.handle(Event::TimerExpired, t);
        assert_eq!(r.state(), State::Backup);
    }
    // Released a moment before the hold's next expiry.
    let at = t + interval - Duration::from_millis(1);
    cfg.may_take_over = true;
    let actions = r.reconfigure(cfg, at).expect("same router");
    let armed = actions.iter().rev().find_map(|a| match a {
        Action::SetTimer(t) => Some(*t),
        _ => None,
    });
    assert_eq!(armed, Some(at + interval));
    r.handle(Event::TimerExpired, at + Duration::from_millis(1));
    assert_eq!(
        r.state(),
        State::Backup,
        "not master on the hold's old phase"
    );
    r.handle(Event::TimerExpired, at + interval);
    assert_eq!(r.state(), State::Master);
}
