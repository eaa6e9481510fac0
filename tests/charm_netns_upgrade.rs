//! Hitless `upgrade-charm`, proven with real agents in network namespaces: the
//! charm (real binary, simulated Juju, systemctl shim running the real agent)
//! hands the VIP over from the old agent process to the new one while a client
//! polls a server on the VIP; no probe may fail and the VIP may not move.
//! Needs root (CI runs as root); skips with a message otherwise.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::juju::Model;
use support::netns::{require_root, Lab};

const VIP: &str = "192.0.2.100";
const PORT: u16 = 18080;

fn agent_pid(model: &Model, unit: &str) -> Option<u32> {
    model
        .services(unit)
        .get("k8s-vip-agent.service")
        .and_then(|s| s.pid)
}

/// Replaces the installed agent binary with a different (still runnable) file,
/// as an older release would be, by rename so the running process is untouched.
fn age_installed_binary(model: &Model, unit: &str) {
    let dest = model.path(unit, "/usr/local/lib/k8s-vip/k8s-vip");
    let mut bytes = std::fs::read(&dest).expect("installed binary");
    bytes.extend_from_slice(b"\0older");
    let tmp = dest.with_extension("old-release");
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::fs::rename(&tmp, &dest).expect("rename");
}

/// Two units in a lab with real agents; returns the lab, the model and the holder's index.
fn deploy(tag: &str) -> (Lab, Model, usize) {
    let lab = Lab::new(tag, 2);
    let mut model = Model::options("k8s-vip", 2).real_services(true).build();
    model.place_units_in(&lab);
    model.set_config("virtual-ip", VIP);
    model.set_config("health-check", "none");
    // Generous interval: the restart must beat the backup's master-down timer.
    model.set_config("advert-interval", 1.0);
    for u in model.units().to_vec() {
        model.run_hook(&u, "install").assert_success();
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    for u in model.units().to_vec() {
        model.run_peers_changed(&u);
    }
    // And the hooks Juju owes the peers for what they wrote meanwhile: each
    // unit lists a peer once that peer knows it.
    model.settle();
    let holder = lab
        .wait_single_holder(VIP, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("no single VIP holder: {:?}", lab.holders(VIP)));
    (lab, model, holder)
}

#[test]
fn upgrade_charm_restarts_the_agent_without_moving_the_vip() {
    if !require_root() {
        return;
    }
    let (lab, model, holder) = deploy("upg");
    let master = model.unit(holder);
    let _servers = lab.serve_units(PORT);
    let addr: SocketAddr = format!("{VIP}:{PORT}").parse().expect("addr");
    let prober = lab.prober(lab.client());
    assert_eq!(
        prober.probe(addr, Duration::from_secs(2)).as_deref(),
        Some(format!("unit{holder}").as_str())
    );

    // Poll the VIP every 10 ms through the upgrade.
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let poller = std::thread::spawn(move || {
        let mut results = Vec::new();
        let end = Instant::now() + Duration::from_secs(120);
        while !stop2.load(Ordering::SeqCst) && Instant::now() < end {
            let t = Instant::now();
            results.push((t, prober.probe(addr, Duration::from_millis(500))));
            std::thread::sleep(Duration::from_millis(10));
        }
        results
    });

    let old_pid = agent_pid(&model, &master);
    age_installed_binary(&model, &master);
    model.run_hook(&master, "upgrade-charm").assert_success();
    // Let the new agent run a few advert intervals as master.
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::SeqCst);
    let results = poller.join().expect("poller");

    let new_pid = agent_pid(&model, &master);
    assert!(
        new_pid.is_some() && new_pid != old_pid,
        "agent not restarted: {old_pid:?} -> {new_pid:?}"
    );
    let want = format!("unit{holder}");
    let failed: Vec<_> = results
        .iter()
        .filter(|(_, r)| r.as_deref() != Some(want.as_str()))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} probes did not reach {want}: first {:?}",
        failed.len(),
        results.len(),
        failed.first().map(|(_, r)| r)
    );
    assert!(
        results.len() > 100,
        "poller made only {} probes",
        results.len()
    );
    let max_gap = results
        .windows(2)
        .filter_map(|w| match w {
            [(a, _), (b, _)] => Some(b.duration_since(*a)),
            _ => None,
        })
        .max()
        .unwrap_or_default();
    eprintln!(
        "hitless upgrade: {} probes, all answered by {want}; longest time between answers {max_gap:?}",
        results.len()
    );
    // The bound: no client-visible gap longer than one advert interval (1 s here).
    assert!(
        max_gap < Duration::from_secs(1),
        "gap of {max_gap:?} between answers"
    );
    assert_eq!(lab.holders(VIP), vec![holder], "VIP moved or duplicated");
}

#[test]
fn failover_action_moves_the_vip_and_names_the_new_holder() {
    if !require_root() {
        return;
    }
    let (lab, model, holder) = deploy("fov");
    let master = model.unit(holder);
    let other = 1 - holder;
    let a = model.run_action(&master, "failover", serde_json::json!({"hold": 30}));
    a.assert_completed();
    assert_eq!(a.result("new-master"), Some(model.unit(other)));
    let took: u64 = a
        .result("took-ms")
        .and_then(|t| t.parse().ok())
        .expect("took-ms");
    eprintln!(
        "failover action: {} took over in {took} ms",
        model.unit(other)
    );
    assert_eq!(
        lab.wait_single_holder(VIP, Duration::from_secs(5)),
        Some(other)
    );
    // On the unit that no longer holds the VIP the action fails and names the holder.
    let again = model.run_action(&master, "failover", serde_json::json!({}));
    let msg = again.failed.expect("must fail on a backup");
    assert!(msg.contains(&model.unit(other)), "{msg}");
    // The status action agrees.
    let st = model.run_action(&master, "status", serde_json::json!({}));
    st.assert_completed();
    assert_eq!(st.result("instances.v4-1.state").as_deref(), Some("BACKUP"));
    assert_eq!(
        st.result("instances.v4-1.master-unit"),
        Some(model.unit(other))
    );
}

#[test]
fn pause_releases_the_vip_and_survives_an_agent_restart() {
    if !require_root() {
        return;
    }
    let (lab, model, holder) = deploy("pau");
    let master = model.unit(holder);
    let other = 1 - holder;
    model
        .run_action(&master, "pause", serde_json::json!({}))
        .assert_completed();
    assert_eq!(
        lab.wait_single_holder(VIP, Duration::from_secs(10)),
        Some(other),
        "VIP not released"
    );
    // An agent restart (or reboot) keeps the unit paused.
    // Inside the unit's namespace: run_tool itself runs in the host's.
    let ns = lab.unit(holder).ns.clone();
    let run = model.run_tool(
        &master,
        &[
            "ip",
            "netns",
            "exec",
            &ns,
            "systemctl",
            "restart",
            "k8s-vip-agent.service",
        ],
        None,
    );
    assert!(run.success(), "{}", run.stderr);
    let pid = model.services(&master)["k8s-vip-agent.service"]
        .pid
        .expect("restarted agent pid");
    let agent_ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).expect("agent netns");
    let unit_ns = std::fs::metadata(format!("/run/netns/{ns}")).expect("unit netns");
    assert_eq!(
        agent_ns.to_string_lossy(),
        format!("net:[{}]", std::os::unix::fs::MetadataExt::ino(&unit_ns)),
        "the restarted agent must run in the unit's namespace"
    );
    std::thread::sleep(Duration::from_secs(2));
    model.run_hook(&master, "update-status").assert_success();
    let st = model.status(&master).expect("status");
    assert_eq!(
        (st.state.as_str(), st.message.as_str()),
        ("maintenance", "paused, VIP released")
    );
    assert_eq!(lab.holders(VIP), vec![other]);
    // Resume: back in elections (preempt off: the VIP stays where it is).
    model
        .run_action(&master, "resume", serde_json::json!({}))
        .assert_completed();
    std::thread::sleep(Duration::from_secs(3));
    model.run_hook(&master, "update-status").assert_success();
    let st = model.status(&master).expect("status");
    assert_eq!(st.state, "active", "{}", st.message);
    let other_state =
        std::fs::read_to_string(model.path(&model.unit(other), "/run/k8s-vip/state.json"))
            .unwrap_or_default();
    let my_state =
        std::fs::read_to_string(model.path(&master, "/run/k8s-vip/state.json")).unwrap_or_default();
    assert!(
        st.message.starts_with("BACKUP"),
        "{}\nholders {:?}\nresumed: {my_state}\nother: {other_state}",
        st.message,
        lab.holders(VIP)
    );
    assert_eq!(lab.holders(VIP), vec![other]);
}
