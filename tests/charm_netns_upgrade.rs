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
    model.services(unit).get("k8s-vip-agent.service").and_then(|s| s.pid)
}

/// Replaces the installed agent binary with a different (still runnable) file,
/// as an older release would be, by rename so the running process is untouched.
fn age_installed_binary(model: &Model, unit: &str) {
    let dest = model.path(unit, "/usr/local/lib/k8s-vip/k8s-vip");
    let mut bytes = std::fs::read(&dest).expect("installed binary");
    bytes.extend_from_slice(b"\0older");
    let tmp = dest.with_extension("old-release");
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::rename(&tmp, &dest).expect("rename");
}

#[test]
fn upgrade_charm_restarts_the_agent_without_moving_the_vip() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("upg", 2);
    let mut model = Model::options("k8s-vip", 2).real_services(true).build();
    for i in 0..2 {
        let unit = model.unit(i);
        let ns = lab.unit(i).ns.clone();
        model.set_netns(&unit, &ns);
    }
    model.set_config("virtual-ip", VIP);
    model.set_config("health-check", "none");
    // Generous interval: the restart must beat the backup's master-down timer.
    model.set_config("advert-interval", 1.0);
    for u in model.units().to_vec() {
        model.run_hook(&u, "install").assert_success();
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    let rel = model.relation_id("cluster");
    for u in model.units().to_vec() {
        for other in model.units().to_vec().into_iter().filter(|o| *o != u) {
            model.run_relation_hook(&u, &rel, "changed", Some(&other)).assert_success();
        }
    }
    // Wait for exactly one holder.
    let deadline = Instant::now() + Duration::from_secs(20);
    let holder = loop {
        let h = lab.holders(VIP);
        if h.len() == 1 {
            break h[0];
        }
        assert!(Instant::now() < deadline, "no single VIP holder: {h:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let master = model.unit(holder);
    let _servers = lab.serve_units(PORT);
    let addr: SocketAddr = format!("{VIP}:{PORT}").parse().expect("addr");
    let prober = lab.prober(lab.client());
    assert_eq!(prober.probe(addr, Duration::from_secs(2)).as_deref(), Some(format!("unit{holder}").as_str()));

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
    assert!(new_pid.is_some() && new_pid != old_pid, "agent not restarted: {old_pid:?} -> {new_pid:?}");
    let want = format!("unit{holder}");
    let failed: Vec<_> = results.iter().filter(|(_, r)| r.as_deref() != Some(want.as_str())).collect();
    assert!(
        failed.is_empty(),
        "{} of {} probes did not reach {want}: first {:?}",
        failed.len(),
        results.len(),
        failed.first().map(|(_, r)| r)
    );
    assert!(results.len() > 100, "poller made only {} probes", results.len());
    assert_eq!(lab.holders(VIP), vec![holder], "VIP moved or duplicated");
}
