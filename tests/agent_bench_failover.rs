//! Failover benchmark, k8s-vip agent vs keepalived (issue 4 "Benchmark"). Not a
//! timed test: it is `#[ignore]`d and run by `bench/failover.sh`
//! (`make bench-failover`), as root.
//!
//! Same lab, same run, same settings for both: 3 units, VRRPv3 multicast, the
//! master on unit1 (priority 150), backups on unit0 (priority 100, the one that
//! takes over) and unit2 (priority 50); advert interval 1 s and 100 ms. A client
//! connects to a TCP server on VIP:8080 every 10 ms. Faults:
//! - crash: SIGKILL of the master's VRRP process(es) and its switch port
//!   detached at the same instant (a dead machine: no priority-0 advert, no
//!   answers from its VIP);
//! - graceful: SIGTERM of the master (it resigns with priority 0).
//!
//! Measured: time from the fault to the first client connection answered by
//! unit0 — so it includes the new master's gratuitous ARP reaching the client.
//! Every trial starts from scratch (fresh processes, VIP removed, client
//! neighbour cache flushed). Env: BENCH_TRIALS (default 10), BENCH_INTERVALS_MS
//! (default "1000,100").
mod agent_util;
mod support;

use std::time::{Duration, Instant};

use agent_util::*;
use nix::sys::signal::Signal;
use support::netns::{require_root, sock, wait_for, Lab, Proc};

const VIP: &str = "192.0.2.100";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Impl {
    Ours,
    Keepalived,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Crash,
    Graceful,
}

/// One running VRRP speaker of either implementation.
struct Speaker {
    proc: Proc,
    /// keepalived's VRRP child pid file.
    vrrp_pid: Option<std::path::PathBuf>,
}

impl Speaker {
    /// PIDs that send adverts: ours = the agent; keepalived = parent + VRRP child
    /// (the child is verified to be a child of the process this lab started).
    fn pids(&self) -> Vec<i32> {
        let mut pids = vec![self.proc.pid() as i32];
        if let Some(p) = &self.vrrp_pid {
            if let Some(child) = std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            {
                let stat =
                    std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
                let ppid = stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<i32>().ok());
                if ppid == Some(self.proc.pid() as i32) {
                    pids.insert(0, child);
                }
            }
        }
        pids
    }

    fn rss_kib(&self) -> u64 {
        self.pids()
            .iter()
            .map(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .unwrap_or_default()
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("VmRSS:").and_then(|v| {
                            v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
                        })
                    })
                    .unwrap_or(0)
            })
            .sum()
    }
}

fn start_speaker(
    lab: &Lab,
    which: Impl,
    unit: usize,
    priority: u8,
    interval_ms: u64,
    trial: usize,
) -> Speaker {
    match which {
        Impl::Ours => {
            let mut i = Inst::v4(51, priority);
            i.advert_ms = interval_ms;
            i.garp_repeat = 5;
            i.garp_interval_ms = 100;
            i.garp_refresh_s = 60;
            let a = start(lab, unit, &[i]);
            Speaker {
                proc: a.proc,
                vrrp_pid: None,
            }
        }
        Impl::Keepalived => {
            // A fresh directory per start: keepalived must never find an
            // earlier run's pid files.
            static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let k = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = lab
                .dir()
                .join(format!("ka{unit}-{trial}-{interval_ms}-{k}"));
            std::fs::create_dir_all(&dir).unwrap();
            let conf = dir.join("keepalived.conf");
            std::fs::write(
                &conf,
                format!(
                    "global_defs {{\n  router_id ka{unit}\n  vrrp_version 3\n}}\n\
                     vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
                     priority {priority}\n  advert_int {}\n  nopreempt\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
                    interval_ms as f64 / 1000.0
                ),
            )
            .unwrap();
            let (p, r) = (dir.join("k.pid"), dir.join("v.pid"));
            let proc = lab.spawn(
                lab.unit(unit),
                &format!("ka{unit}-{trial}-{interval_ms}-{k}"),
                &[
                    "keepalived",
                    "-n",
                    "-l",
                    "-G",
                    "-P",
                    "-f",
                    conf.to_str().unwrap(),
                    "-p",
                    p.to_str().unwrap(),
                    "-r",
                    r.to_str().unwrap(),
                ],
            );
            let s = Speaker {
                proc,
                vrrp_pid: Some(r),
            };
            assert!(
                wait_for(Duration::from_secs(5), || s.pids().len() == 2).is_some(),
                "keepalived did not start its VRRP child\n{}",
                s.proc.log()
            );
            s
        }
    }
}

/// One trial; returns the failover time and the RSS of the master (KiB).
fn trial(lab: &Lab, which: Impl, fault: Fault, interval_ms: u64, n: usize) -> (Duration, u64) {
    let step = Duration::from_millis(interval_ms);
    for u in lab.units() {
        let _ = lab.exec(u, &["ip", "addr", "del", "192.0.2.100/24", "dev", "eth0"]);
    }
    let _ = lab.exec(lab.client(), &["ip", "neigh", "flush", "dev", "eth0"]);
    let mut master = start_speaker(lab, which, 1, 150, interval_ms, n);
    assert!(
        wait_for(step * 5 + Duration::from_secs(3), || lab.holders(VIP)
            == vec![1])
        .is_some(),
        "{which:?}: unit1 did not become master\n{}",
        master.proc.log()
    );
    let b0 = start_speaker(lab, which, 0, 100, interval_ms, n);
    let b2 = start_speaker(lab, which, 2, 50, interval_ms, n);
    std::thread::sleep(step * 2 + Duration::from_millis(200));
    let rss = master.rss_kib();
    let prober = lab.prober(lab.client());
    let target = sock(VIP.parse::<std::net::IpAddr>().unwrap(), 8080);
    assert_eq!(
        prober.probe(target, Duration::from_secs(1)).as_deref(),
        Some("unit1"),
        "{which:?}: warm-up"
    );
    // Fault at a random phase of the master's advert cycle, so the times spread
    // over [MDI - interval, MDI] as they do in life.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::thread::sleep(step.mul_f64(f64::from(nanos % 1000) / 1000.0));
    let t0 = Instant::now();
    match fault {
        Fault::Crash => {
            for pid in master.pids() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            }
            lab.set_port(lab.unit(1), false);
        }
        Fault::Graceful => master.proc.signal(Signal::SIGTERM),
    }
    let limit = step * 4 + Duration::from_secs(3);
    let mut took = None;
    let mut next = t0;
    while t0.elapsed() < limit {
        if prober.probe(target, Duration::from_millis(10)).as_deref() == Some("unit0") {
            took = Some(t0.elapsed());
            break;
        }
        next += Duration::from_millis(10);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    master.proc.kill();
    drop(b0);
    drop(b2);
    lab.set_port(lab.unit(1), true);
    let took = took.unwrap_or_else(|| {
        panic!("{which:?} {fault:?} {interval_ms} ms: no failover within {limit:?}")
    });
    (took, rss)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore = "benchmark: run with bench/failover.sh (make bench-failover)"]
fn bench_failover_vs_keepalived() {
    if !require_root() {
        return;
    }
    let trials: usize = std::env::var("BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let intervals: Vec<u64> = std::env::var("BENCH_INTERVALS_MS")
        .unwrap_or_else(|_| "1000,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let lab = Lab::new("bench", 3);
    let _srv = lab.serve_units(8080);
    let mut rows = Vec::new();
    let mut rss: Vec<(Impl, u64)> = Vec::new();
    for &interval in &intervals {
        let i = Duration::from_millis(interval);
        // RFC 5798 for the backup that takes over (priority 100).
        let skew = i * 156 / 256;
        let mdi = i * 3 + skew;
        for fault in [Fault::Crash, Fault::Graceful] {
            // Alternate the implementations trial by trial, so both see the
            // same machine load.
            let mut results: Vec<(Impl, Vec<Duration>)> =
                vec![(Impl::Ours, Vec::new()), (Impl::Keepalived, Vec::new())];
            for n in 0..trials {
                for (which, times) in results.iter_mut() {
                    let (t, r) = trial(&lab, *which, fault, interval, n);
                    eprintln!(
                        "{which:?} {fault:?} {interval} ms trial {n}: {} ms (master RSS {r} KiB)",
                        ms(t)
                    );
                    times.push(t);
                    rss.push((*which, r));
                }
            }
            let bound = if fault == Fault::Crash { mdi } else { skew };
            let (mut ours, mut ka) = (results[0].1.clone(), results[1].1.clone());
            let (mo, mk) = (median(&mut ours), median(&mut ka));
            let (xo, xk) = (*ours.iter().max().unwrap(), *ka.iter().max().unwrap());
            rows.push(format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                if interval >= 1000 {
                    format!("{} s", interval / 1000)
                } else {
                    format!("{interval} ms")
                },
                if fault == Fault::Crash {
                    "crash (SIGKILL + port down)"
                } else {
                    "graceful (SIGTERM)"
                },
                ms(bound),
                ms(mo),
                ms(xo),
                ms(mk),
                ms(xk),
                mo.as_secs_f64() / mk.as_secs_f64()
            ));
        }
    }
    let avg = |w: Impl| {
        let v: Vec<u64> = rss
            .iter()
            .filter(|(x, _)| *x == w)
            .map(|(_, r)| *r)
            .collect();
        v.iter().sum::<u64>() / v.len().max(1) as u64
    };
    println!("\nFailover time, fault → first client TCP connect answered by the new master ({trials} trials each, client polls every 10 ms)\n");
    println!("| advert interval | fault | RFC bound (ms) | k8s-vip median | k8s-vip max | keepalived median | keepalived max | ratio (median) |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!(
        "\nResident memory of the master: k8s-vip agent {} KiB; keepalived {} KiB (parent + VRRP child).",
        avg(Impl::Ours),
        avg(Impl::Keepalived)
    );
}
