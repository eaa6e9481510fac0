//! The pure plan's system decisions: which services it starts, reloads or
//! stops, when it copies the agent, how it switches backends, and teardown.

mod support;

use k8s_vip::charm::plan::{plan, Inputs, Plan, ServiceAction, ServiceState, When};
use k8s_vip::charm::types::State;
use serde_json::json;
use support::net::eth0;

fn inputs(config: serde_json::Value) -> Inputs {
    Inputs {
        hook: "config-changed".into(),
        unit: "k8s-vip/0".into(),
        app: "k8s-vip".into(),
        model: "m".into(),
        config: config.as_object().cloned().unwrap_or_default(),
        network: eth0(&[("192.0.2.11", 24)]),
        agent_binary_present: true,
        sysctl_before: Some(String::new()),
        ..Default::default()
    }
}

fn ops(p: &Plan, unit: &str) -> Vec<(ServiceAction, When)> {
    p.services
        .iter()
        .filter(|o| o.unit == unit)
        .map(|o| (o.action, o.when.clone()))
        .collect()
}

const AGENT: &str = "k8s-vip-agent.service";
const KAD: &str = "keepalived.service";

#[test]
fn stopped_agent_is_enabled_and_started() {
    let p = plan(&inputs(json!({"virtual-ip": "192.0.2.100"})));
    let a = ops(&p, AGENT);
    assert!(a.contains(&(ServiceAction::Enable, When::Always)), "{a:?}");
    assert!(a.contains(&(ServiceAction::Start, When::Always)), "{a:?}");
    assert!(!a
        .iter()
        .any(|(x, _)| matches!(x, ServiceAction::Restart | ServiceAction::Reload)));
}

#[test]
fn running_agent_is_only_reloaded_on_config_change_and_handed_over_on_new_binary() {
    let mut i = inputs(json!({"virtual-ip": "192.0.2.100"}));
    i.agent_service = ServiceState {
        active: true,
        enabled: true,
    };
    let a = ops(&plan(&i), AGENT);
    assert!(!a.iter().any(|(x, _)| matches!(
        x,
        ServiceAction::Start | ServiceAction::Restart | ServiceAction::Enable
    )));
    assert!(a.iter().any(|(x, w)| *x == ServiceAction::Reload
        && matches!(w, When::Changed { any_of, .. } if any_of == &vec!["/etc/k8s-vip/agent.yaml".to_string()])));
    assert!(a.iter().any(|(x, w)| *x == ServiceAction::HandoverRestart
        && matches!(w, When::Changed { any_of, .. } if any_of.contains(&"/usr/local/lib/k8s-vip/k8s-vip".to_string()))));
}

#[test]
fn agent_binary_is_copied_at_install_upgrade_or_when_missing() {
    for (hook, present, copied) in [
        ("install", true, true),
        ("upgrade-charm", true, true),
        ("config-changed", true, false),
        ("config-changed", false, true),
    ] {
        let mut i = inputs(json!({"virtual-ip": "192.0.2.100"}));
        i.hook = hook.into();
        i.agent_binary_present = present;
        i.charm_dir = "/charm".into();
        let p = plan(&i);
        assert_eq!(!p.copies.is_empty(), copied, "{hook} present={present}");
        if copied {
            assert_eq!(
                p.copies[0].from,
                std::path::PathBuf::from("/charm/bin/k8s-vip")
            );
            assert_eq!(p.copies[0].to, "/usr/local/lib/k8s-vip/k8s-vip");
        }
    }
}

#[test]
fn switching_to_keepalived_stops_the_agent_first_and_installs_the_package() {
    let mut i = inputs(json!({"virtual-ip": "192.0.2.100", "vip-agent": "keepalived"}));
    i.agent_service = ServiceState {
        active: true,
        enabled: true,
    };
    let p = plan(&i);
    assert_eq!(p.install_packages, vec!["keepalived".to_string()]);
    let order: Vec<(String, ServiceAction)> = p
        .services
        .iter()
        .map(|o| (o.unit.clone(), o.action))
        .collect();
    let stop_agent = order
        .iter()
        .position(|o| *o == (AGENT.to_string(), ServiceAction::Stop))
        .expect("agent stopped");
    let start_kad = order
        .iter()
        .position(|o| *o == (KAD.to_string(), ServiceAction::Start))
        .expect("keepalived started");
    assert!(stop_agent < start_kad, "{order:?}");
    assert!(p
        .files
        .iter()
        .any(|f| f.path == "/etc/keepalived/keepalived.conf"));
    assert!(p.files.iter().all(|f| f.path != "/etc/k8s-vip/agent.yaml"));
}

#[test]
fn paused_keepalived_is_stopped_and_reported() {
    let mut i = inputs(json!({"virtual-ip": "192.0.2.100", "vip-agent": "keepalived"}));
    i.keepalived_installed = true;
    i.keepalived_service = ServiceState {
        active: true,
        enabled: true,
    };
    i.paused = true;
    let p = plan(&i);
    assert!(ops(&p, KAD).contains(&(ServiceAction::Stop, When::Always)));
    assert_eq!(p.unit_status.state, State::Maintenance);
    assert!(p.install_packages.is_empty());
}

#[test]
fn teardown_stops_removes_and_restores() {
    let mut i = inputs(json!({"virtual-ip": "192.0.2.100"}));
    i.hook = "remove".into();
    i.agent_service = ServiceState {
        active: true,
        enabled: true,
    };
    i.sysctl_before = Some("net.ipv4.ip_nonlocal_bind=0\nnet.ipv6.ip_nonlocal_bind=0\n".into());
    i.sysctl_now = [
        ("net.ipv4.ip_nonlocal_bind", "1"),
        ("net.ipv6.ip_nonlocal_bind", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let p = plan(&i);
    assert_eq!(
        ops(&p, AGENT),
        vec![
            (ServiceAction::Stop, When::Always),
            (ServiceAction::Disable, When::Always)
        ]
    );
    for f in [
        "/etc/systemd/system/k8s-vip-agent.service",
        "/etc/k8s-vip/agent.yaml",
        "/usr/local/lib/k8s-vip/k8s-vip",
        "/etc/sysctl.d/60-k8s-vip.conf",
    ] {
        assert!(p.remove_files.contains(&f.to_string()), "{f} not removed");
    }
    assert!(p.remove_dirs.contains(&"/var/lib/k8s-vip".to_string()));
    assert_eq!(
        p.sysctls,
        vec![k8s_vip::charm::plan::SysctlOp::Set(
            "net.ipv4.ip_nonlocal_bind".into(),
            "0".into()
        )]
    );
    assert!(p.relation_sets.is_empty());
}

#[test]
fn invalid_config_plans_no_system_change() {
    let mut i = inputs(json!({"virtual-ip": "192.0.2.100", "port": 0}));
    i.agent_service = ServiceState {
        active: true,
        enabled: true,
    };
    let p = plan(&i);
    assert_eq!(p.unit_status.state, State::Blocked);
    assert!(
        p.files.is_empty()
            && p.services.is_empty()
            && p.copies.is_empty()
            && p.install_packages.is_empty()
    );
}
