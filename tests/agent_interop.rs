//! Scenario 11: interop with real keepalived (Debian's package), started in a
//! unit namespace by the test. A mixed group elects the right master and fails
//! over in both directions, for `vrrp_version 3` and `2`, and keepalived logs no
//! checksum / TTL / version complaint about our packets. Root only; skips with a
//! message when keepalived is not installed.
mod agent_util;
mod support;

use std::path::Path;
use std::time::Duration;

use agent_util::*;
use nix::sys::signal::Signal;
use support::netns::{require_root, wait_for, Lab, Proc};

const VIP: &str = "192.0.2.100";

fn keepalived_installed() -> bool {
    support::skip::need_program("keepalived")
}

/// Starts keepalived on unit `i` (VRRP only, foreground, logging to its log file).
fn start_keepalived(lab: &Lab, i: usize, version: u8, advert: &str, priority: u8) -> Proc {
    let dir = lab.dir().join(format!("ka{i}"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  router_id ka{i}\n  vrrp_version {version}\n}}\n\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
             priority {priority}\n  advert_int {advert}\n  nopreempt\n  \
             virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    run_keepalived(lab, i, &format!("keepalived{i}-v{version}"), &conf)
}

/// Runs keepalived with `conf` on unit `i` (VRRP only, foreground, logging to
/// the log file `log_name`); its pid files go next to `conf`.
fn run_keepalived(lab: &Lab, i: usize, log_name: &str, conf: &Path) -> Proc {
    let dir = conf.parent().expect("config directory");
    let (p, r) = (dir.join("k.pid"), dir.join("v.pid"));
    lab.spawn_logged(
        lab.unit(i),
        log_name,
        &[
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
        ],
    )
}

/// Lines of keepalived's log that complain about received packets.
fn complaints(log: &str) -> Vec<String> {
    let needles = [
        "checksum",
        "ttl",
        "hop limit",
        "hlim",
        "version",
        "invalid",
        "bogus",
        "wrong",
        "malformed",
        "mismatch",
    ];
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            // The startup banner names keepalived's own version.
            !l.contains("starting keepalived")
                && !l.contains("running on linux")
                && needles.iter().any(|n| l.contains(n))
        })
        .map(str::to_string)
        .collect()
}

fn ours(version: u8, advert_ms: u64, priority: u8) -> Inst {
    let mut i = Inst::v4(51, priority);
    i.version = version;
    i.advert_ms = advert_ms;
    i
}

/// Fails when keepalived's log complains about the packets it received.
fn assert_no_complaints(ka: &Proc) {
    let bad = complaints(&ka.log());
    assert!(
        bad.is_empty(),
        "keepalived complained about our packets:\n{}\n--- full log ---\n{}",
        bad.join("\n"),
        ka.log()
    );
}

/// keepalived master → our backups agree → keepalived fails (link down) → ours
/// takes over, keepalived returns as backup and accepts our adverts → our master
/// dies → keepalived takes over again.
fn mixed_group(tag: &str, version: u8, advert_ms: u64) {
    let lab = Lab::new(tag, 3);
    let advert = format!("{}", advert_ms as f64 / 1000.0);
    let step = Duration::from_millis(advert_ms);
    let ka = start_keepalived(&lab, 1, version, &advert, 150);
    let became = wait_for(step * 8 + Duration::from_secs(3), || {
        lab.holders(VIP) == vec![1]
    });
    assert!(
        became.is_some(),
        "keepalived did not become master\n{}",
        ka.log()
    );
    let mut a0 = start(&lab, 0, &[ours(version, advert_ms, 100)]);
    let a2 = start(&lab, 2, &[ours(version, advert_ms, 90)]);
    // Ours follow keepalived: they decode its adverts (checksum, version) and stay backups.
    std::thread::sleep(step * 6);
    let all = |a0: &Agent, a2: &Agent, ka: &Proc| {
        format!("{}\n--- keepalived ---\n{}", logs([a0, a2]), ka.log())
    };
    assert_eq!(lab.holders(VIP), vec![1], "{}", all(&a0, &a2, &ka));
    for a in [&a0, &a2] {
        let st = a.status();
        assert_eq!(st["instances"][0]["state"], "BACKUP", "{st}");
        assert_eq!(st["instances"][0]["master"], "192.0.2.12", "{st}");
    }
    // keepalived's unit loses its link: ours (priority 100) takes over.
    lab.set_link(lab.unit(1), false);
    let took = wait_for(step * 6 + Duration::from_secs(2), || {
        lab.holders(VIP) == vec![0] && a0.state("api") == "MASTER"
    });
    assert!(
        took.is_some(),
        "ours did not take over from keepalived\n{}",
        all(&a0, &a2, &ka)
    );
    // keepalived comes back, hears our master (nopreempt) and stays backup: it
    // accepts our adverts, else it would claim the VIP after its down interval.
    lab.set_link(lab.unit(1), true);
    std::thread::sleep(step * 8 + Duration::from_millis(500));
    assert_eq!(
        lab.holders(VIP),
        vec![0],
        "keepalived did not accept our adverts\n{}",
        all(&a0, &a2, &ka)
    );
    assert!(ka.log().contains("Entering BACKUP STATE"), "{}", ka.log());
    // Our master dies: keepalived (150) beats our other backup (90).
    a0.proc.signal(Signal::SIGKILL);
    a0.proc.kill();
    del_vip(&lab, 0);
    let took = wait_for(step * 6 + Duration::from_secs(2), || {
        lab.holders(VIP) == vec![1]
    });
    assert!(
        took.is_some(),
        "keepalived did not take over from ours\n{}",
        all(&a0, &a2, &ka)
    );
    std::thread::sleep(step * 4);
    assert_eq!(a2.state("api"), "BACKUP");
    assert_eq!(a2.status()["instances"][0]["master"], "192.0.2.12");
    assert_no_complaints(&ka);
    // Our side dropped nothing from keepalived either.
    assert!(!a2.log().contains("warn"), "{}", a2.log());
}

#[test]
fn s11_interop_keepalived_vrrp_v3() {
    if !require_root() || !keepalived_installed() {
        return;
    }
    mixed_group("kav3", 3, 100);
}

#[test]
fn s11_interop_keepalived_vrrp_v2() {
    if !require_root() || !keepalived_installed() {
        return;
    }
    mixed_group("kav2", 2, 1000);
}

/// Our IPv6 VRRPv3 adverts against keepalived's (checksum over the IPv6
/// pseudo-header, link-local sources): keepalived master, ours follows, and
/// the reverse after keepalived stops gracefully.
#[test]
fn s11_interop_keepalived_ipv6() {
    if !require_root() || !keepalived_installed() {
        return;
    }
    let lab = Lab::new("ka6", 2);
    let dir = lab.dir().join("ka6");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  router_id ka6\n  vrrp_version 3\n}\n\
         vrrp_instance VI_6 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  priority 150\n  \
         advert_int 0.1\n  nopreempt\n  virtual_ipaddress {\n    2001:db8::100/64\n  }\n}\n",
    )
    .unwrap();
    let mut ka = run_keepalived(&lab, 1, "keepalived6", &conf);
    assert!(
        wait_for(Duration::from_secs(5), || lab.holders("2001:db8::100")
            == vec![1])
        .is_some(),
        "{}",
        ka.log()
    );
    let mut me = Inst::v4(52, 100);
    me.vips = vec!["2001:db8::100/64".into()];
    let a0 = start(&lab, 0, &[me]);
    std::thread::sleep(Duration::from_millis(600));
    let st = a0.status();
    assert_eq!(st["instances"][0]["state"], "BACKUP", "{st}\n{}", a0.log());
    assert!(
        st["instances"][0]["master"]
            .as_str()
            .unwrap_or("")
            .starts_with("fe80::"),
        "{st}"
    );
    ka.signal(Signal::SIGTERM);
    assert!(
        ka.wait_timeout(Duration::from_secs(5)).is_some(),
        "keepalived did not stop\n{}",
        ka.log()
    );
    let took = wait_for(Duration::from_secs(2), || {
        a0.state("api") == "MASTER" && lab.holders("2001:db8::100") == vec![0]
    });
    assert!(
        took.is_some(),
        "ours did not take over from keepalived\n{}\n{}",
        a0.log(),
        ka.log()
    );
    assert_no_complaints(&ka);
    // keepalived restarted next to our master hears our IPv6 adverts and stays backup.
    let ka2 = run_keepalived(&lab, 1, "keepalived6-again", &conf);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        lab.holders("2001:db8::100"),
        vec![0],
        "keepalived ignored our IPv6 adverts\n{}",
        ka2.log()
    );
    assert!(ka2.log().contains("Entering BACKUP STATE"), "{}", ka2.log());
    assert_no_complaints(&ka2);
}
