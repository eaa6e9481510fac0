//! The agent's BFD against other implementations in network namespaces:
//! FRR's bfdd brings an Up session with the running agent (and its loss is
//! seen), and a mixed group (keepalived master, our BFD-enabled backups)
//! agrees on the master and fails over by the VRRP rules, since keepalived
//! speaks no BFD. Root only; skips naming what is missing.
mod agent_util;
mod bfd_support;
mod support;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use agent_util::*;
use bfd_support::FrrDir;
use nix::sys::signal::Signal;
use serde_json::{json, Value};
use support::netns::{require_root, wait_for, Lab, Proc};

const VIP: &str = "192.0.2.100";

/// One lab at a time: BFD at 20 ms × 3 in several labs at once on a small
/// machine would starve the agents past their detection time.
static ONE_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_lab_at_a_time() -> MutexGuard<'static, ()> {
    ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts our agent on unit `i` with unicast `peers`, `prio`, BFD 20 ms × 3.
fn start_bfd_agent(lab: &Lab, i: usize, prio: u8, peers: &[usize], prios: Value) -> Agent {
    let mut inst = Inst::v4(51, prio);
    inst.unicast_peers = peers
        .iter()
        .map(|j| lab.unit(*j).ipv4.to_string())
        .collect();
    let config = write_config(lab, i, &[inst]);
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    doc["instances"][0]["bfd"] =
        json!({"interval-ms": 20, "multiplier": 3, "peer-priorities": prios});
    std::fs::write(&config, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    start_with(lab, i, config)
}

fn bfd_state(a: &Agent, peer: &str) -> String {
    a.try_status()
        .and_then(|s| {
            s["instances"][0]["bfd"]
                .as_array()?
                .iter()
                .find(|p| p["peer"] == peer)
                .and_then(|p| p["state"].as_str().map(str::to_string))
        })
        .unwrap_or_default()
}

#[test]
fn agent_bfd_session_comes_up_with_frr_bfdd() {
    let _one = one_lab_at_a_time();
    if !require_root()
        || !support::skip::need_program("/usr/lib/frr/bfdd")
        || !support::skip::need_program("chrt")
    {
        return;
    }
    let lab = Lab::new("abfdfrr", 2);
    let (frr_ip, ours_ip) = (lab.unit(0).ipv4, lab.unit(1).ipv4);
    let config = format!(
        "bfd\n peer {ours_ip} local-address {frr_ip}\n  receive-interval 20\n  transmit-interval 20\n  detect-multiplier 3\n !\n!\n"
    );
    let dir = FrrDir::new(&config);
    let args = dir.bfdd_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut frr = lab.spawn_logged(lab.unit(0), "bfdd", &args);
    let a = start_bfd_agent(&lab, 1, 100, &[0], json!({}));
    let up = wait_for(Duration::from_secs(10), || {
        bfd_state(&a, &frr_ip.to_string()) == "up"
    });
    assert!(
        up.is_some(),
        "no Up session with bfdd\n{}\n--- bfdd ---\n{}",
        a.log(),
        frr.log()
    );
    let st = a.status();
    let detect = st["instances"][0]["bfd"][0]["detection-ms"]
        .as_f64()
        .unwrap();
    assert_eq!(detect, 60.0, "{st}");
    frr.signal(Signal::SIGKILL);
    frr.kill();
    let down = wait_for(Duration::from_secs(3), || {
        bfd_state(&a, &frr_ip.to_string()) != "up"
    });
    assert!(down.is_some(), "bfdd's death not seen\n{}", a.log());
    assert!(
        a.log().contains("ControlDetectionTimeExpired"),
        "{}",
        a.log()
    );
}

/// keepalived (unicast) on unit `i` with `priority`, 100 ms adverts.
fn start_keepalived(lab: &Lab, i: usize, priority: u8, peers: &[usize]) -> Proc {
    let dir = lab.dir().join(format!("ka{i}"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    let peers: String = peers
        .iter()
        .map(|j| format!("    {}\n", lab.unit(*j).ipv4))
        .collect();
    let src = lab.unit(i).ipv4;
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  router_id ka{i}\n  vrrp_version 3\n}}\n\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
             priority {priority}\n  advert_int 0.1\n  nopreempt\n  unicast_src_ip {src}\n  \
             unicast_peer {{\n{peers}  }}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let (p, r) = (dir.join("k.pid"), dir.join("v.pid"));
    let args = [
        "keepalived",
        "-n",
        "-l",
        "-D",
        "-G",
        "-P",
        "-f",
        conf.to_str().unwrap(),
        "-p",
        p.to_str().unwrap(),
        "-r",
        r.to_str().unwrap(),
    ];
    lab.spawn_logged(lab.unit(i), "keepalived", &args)
}

#[test]
fn mixed_group_keepalived_master_and_bfd_backups_agree() {
    let _one = one_lab_at_a_time();
    if !require_root() || !support::skip::need_program("keepalived") {
        return;
    }
    let lab = Lab::new("abfdka", 3);
    let mut ka = start_keepalived(&lab, 1, 150, &[0, 2]);
    let became = wait_for(Duration::from_secs(5), || lab.holders(VIP) == vec![1]);
    assert!(
        became.is_some(),
        "keepalived did not become master\n{}",
        ka.log()
    );
    let ip = |j: usize| lab.unit(j).ipv4.to_string();
    let a0 = start_bfd_agent(&lab, 0, 100, &[1, 2], json!({ ip(2): 90, ip(1): 150 }));
    let a2 = start_bfd_agent(&lab, 2, 90, &[0, 1], json!({ ip(0): 100, ip(1): 150 }));
    let ours_up = wait_for(Duration::from_secs(10), || bfd_state(&a0, &ip(2)) == "up");
    let all = |ka: &Proc| format!("{}\n--- keepalived ---\n{}", logs([&a0, &a2]), ka.log());
    assert!(ours_up.is_some(), "{}", all(&ka));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(lab.holders(VIP), vec![1], "{}", all(&ka));
    for a in [&a0, &a2] {
        let st = a.status();
        assert_eq!(st["instances"][0]["state"], "BACKUP", "{st}");
        assert_eq!(st["instances"][0]["master"], ip(1), "{st}");
    }
    // keepalived speaks no BFD: its loss is found by the VRRP timers, and
    // the right backup (priority 100) takes over; the other stays backup.
    ka.signal(Signal::SIGKILL);
    ka.kill();
    let _ = lab.exec(
        lab.unit(1),
        &["ip", "addr", "del", &format!("{VIP}/24"), "dev", "eth0"],
    );
    let took = wait_for(Duration::from_secs(3), || lab.holders(VIP) == vec![0]);
    assert!(took.is_some(), "{}", all(&ka));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a0.state("api"), "MASTER");
    assert_eq!(a2.state("api"), "BACKUP", "{}", all(&ka));
    assert_eq!(a0.status()["instances"][0]["bfd-takeovers"], 0);
}

/// Our BFD master dies while keepalived (no BFD, higher priority, nopreempt)
/// is a backup: our other backup must not act on its BFD Down, since
/// keepalived is alive for all it knows and wins; keepalived takes over.
#[test]
fn bfd_backup_defers_to_a_higher_keepalived_backup() {
    let _one = one_lab_at_a_time();
    if !require_root() || !support::skip::need_program("keepalived") {
        return;
    }
    let lab = Lab::new("abfdka2", 3);
    let ip = |j: usize| lab.unit(j).ipv4.to_string();
    let mut a0 = start_bfd_agent(&lab, 0, 100, &[1, 2], json!({ ip(1): 150, ip(2): 90 }));
    a0.expect_state("api", "MASTER", Duration::from_secs(3));
    let mut ka = start_keepalived(&lab, 1, 150, &[0, 2]);
    let a2 = start_bfd_agent(&lab, 2, 90, &[0, 1], json!({ ip(0): 100, ip(1): 150 }));
    let up = wait_for(Duration::from_secs(10), || bfd_state(&a2, &ip(0)) == "up");
    let all =
        |ka: &Proc, a0: &Agent| format!("{}\n--- keepalived ---\n{}", logs([a0, &a2]), ka.log());
    assert!(up.is_some(), "{}", all(&ka, &a0));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lab.holders(VIP), vec![0], "{}", all(&ka, &a0));
    a0.proc.signal(Signal::SIGKILL);
    a0.proc.kill();
    let _ = lab.exec(
        lab.unit(0),
        &["ip", "addr", "del", &format!("{VIP}/24"), "dev", "eth0"],
    );
    let took = wait_for(Duration::from_secs(3), || lab.holders(VIP) == vec![1]);
    assert!(took.is_some(), "{}", all(&ka, &a0));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lab.holders(VIP), vec![1], "{}", all(&ka, &a0));
    let st = a2.status();
    assert_eq!(st["instances"][0]["state"], "BACKUP", "{st}");
    assert_eq!(st["instances"][0]["bfd-takeovers"], 0, "{st}");
    assert!(
        a2.log()
            .contains("wins among the live units, staying backup"),
        "{}",
        a2.log()
    );
    ka.kill();
}
