//! Agent footprint: memory (RSS, PSS, USS) and CPU time per hour of a running
//! VIP agent at 100 ms adverts, k8s-vip's agent against keepalived, as master
//! and as backup.
//!
//! Why it exists: the agent runs forever on every control-plane machine; what it
//! costs when nothing happens is what an operator pays every hour.
//!
//! How it stays fair: one instance of each program at a time (bench/pair.rs:
//! k8s-vip master with keepalived backup, then the reverse), so neither
//! binary's pages are shared with a second copy of itself; every run is a fresh
//! start, alternating which program is master; memory is summed over every
//! process of a program (keepalived = parent + VRRP child) from
//! /proc/PID/smaps_rollup: RSS (counts shared pages fully, twice for
//! keepalived's two processes), PSS (shared pages split among their users) and
//! USS (Private_Clean + Private_Dirty: what stopping the program frees). CPU
//! from /proc/PID/task/*/schedstat (nanoseconds on CPU, far finer than the
//! 10 ms ticks of /proc/PID/stat).

use std::time::{Duration, Instant};

use crate::pair::{Agent, Pair, Program, ADVERT_MS};
use crate::parse::{smaps_rollup, Memory};
use crate::stats::{Row, Table};
use crate::support::netns::Lab;

/// Memory of an agent: the sum over its processes.
fn memory(agent: &Agent) -> Memory {
    agent
        .pids()
        .into_iter()
        .map(|p| {
            smaps_rollup(
                &std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default(),
            )
        })
        .fold(Memory::default(), |a, m| a + m)
}

/// Nanoseconds on CPU of every thread of an agent's processes.
fn cpu_ns(agent: &Agent) -> u64 {
    agent
        .pids()
        .into_iter()
        .flat_map(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// One program in one role in one run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sample {
    /// "k8s-vip" or "keepalived".
    pub program: &'static str,
    /// "master" or "backup".
    pub role: &'static str,
    /// Run number (0-based, in the order run).
    pub run: usize,
    /// RSS in MiB at the end of the window.
    pub rss_mib: f64,
    /// PSS in MiB.
    pub pss_mib: f64,
    /// USS in MiB.
    pub uss_mib: f64,
    /// CPU seconds per hour over the window.
    pub cpu_s_per_h: f64,
    /// How many processes were summed.
    pub processes: usize,
}

/// Measures one run: `master` on unit 0, the other program as backup.
fn one_run(
    lab: &Lab,
    master: Program,
    backup: Program,
    run: usize,
    window: Duration,
) -> anyhow::Result<Vec<Sample>> {
    let tmp = tempfile::Builder::new()
        .prefix("k8s-vip-footprint-")
        .tempdir()?;
    let pair = Pair::start_with(lab, master, backup, tmp.path(), Duration::from_secs(2))?;
    let agents = [(&pair.master, "master"), (&pair.backup, "backup")];
    let before: Vec<u64> = agents.iter().map(|(a, _)| cpu_ns(a)).collect();
    let t0 = Instant::now();
    std::thread::sleep(window);
    let after: Vec<u64> = agents.iter().map(|(a, _)| cpu_ns(a)).collect();
    let dt = t0.elapsed().as_secs_f64();
    let mut out = Vec::new();
    for (k, (agent, role)) in agents.iter().enumerate() {
        let m = memory(agent);
        out.push(Sample {
            program: agent.program.label(),
            role,
            run,
            rss_mib: m.rss as f64 / 1024.0,
            pss_mib: m.pss as f64 / 1024.0,
            uss_mib: m.uss as f64 / 1024.0,
            cpu_s_per_h: after[k].saturating_sub(before[k]) as f64 / 1e9 / dt * 3600.0,
            processes: agent.pids().len(),
        });
    }
    let held = pair.check_master();
    pair.stop();
    held?;
    Ok(out)
}

/// Runs `runs` fresh runs with each program as master (alternating, k8s-vip
/// first), `window` each; returns every sample.
pub fn measure(runs: usize, window: Duration) -> anyhow::Result<Vec<Sample>> {
    let lab = Lab::new("fp", 2);
    let mut samples = Vec::new();
    for n in 0..runs * 2 {
        let master = if n % 2 == 0 {
            Program::K8sVip
        } else {
            Program::Keepalived
        };
        eprintln!(
            "footprint run {}/{}: {} master, {} backup, {} s",
            n + 1,
            runs * 2,
            master.label(),
            master.other().label(),
            window.as_secs()
        );
        samples.extend(one_run(&lab, master, master.other(), n, window)?);
    }
    // k8s-vip with BFD 20 ms × 3, in both roles, keepalived the other side
    // (FRR's bfdd beside it as the BFD partner).
    for n in 0..runs * 2 {
        let (master, backup) = if n % 2 == 0 {
            (Program::Keepalived, Program::K8sVipBfd)
        } else {
            (Program::K8sVipBfd, Program::Keepalived)
        };
        eprintln!(
            "footprint BFD run {}/{}: {} master, {} backup, {} s",
            n + 1,
            runs * 2,
            master.label(),
            backup.label(),
            window.as_secs()
        );
        samples.extend(one_run(&lab, master, backup, runs * 2 + n, window)?);
    }
    Ok(samples)
}

/// A row's name, unit and what it takes from a sample.
type Metric = (&'static str, &'static str, fn(&Sample) -> f64);

/// The side-by-side table of `samples`.
pub fn table(samples: &[Sample], runs: usize, window_s: u64, keepalived: &str) -> Table {
    let pick = |program: &str, role: &str, f: fn(&Sample) -> f64| -> Vec<f64> {
        samples
            .iter()
            .filter(|s| s.program == program && s.role == role)
            .map(f)
            .collect()
    };
    let metrics: [Metric; 4] = [
        ("RSS (resident, shared pages counted fully)", "MiB", |s| {
            s.rss_mib
        }),
        ("PSS (shared pages split among users)", "MiB", |s| s.pss_mib),
        ("USS (private pages: freed on exit)", "MiB", |s| s.uss_mib),
        ("CPU time per hour", "s/h", |s| s.cpu_s_per_h),
    ];
    let mut rows = Vec::new();
    for role in ["master", "backup"] {
        for (what, unit, f) in metrics {
            rows.push(Row::from_samples(
                &format!("{role} {what}"),
                unit,
                &pick("k8s-vip", role, f),
                &pick("keepalived", role, f),
            ));
        }
        for (what, unit, f) in metrics {
            rows.push(Row::from_samples(
                &format!("{role} {what}, k8s-vip with BFD 20 ms × 3"),
                unit,
                &pick("k8s-vip+bfd", role, f),
                &pick("keepalived", role, f),
            ));
        }
    }
    Table {
        key: "footprint".into(),
        title: "Agent footprint at 100 ms adverts: k8s-vip agent vs keepalived".into(),
        ours_label: "k8s-vip agent".into(),
        theirs_label: "keepalived".into(),
        method: format!(
            "Two units in a network-namespace lab, one VRRPv3 group (unicast, {ADVERT_MS} ms \
             adverts, one IPv4 VIP, no health checks) of one k8s-vip agent and one keepalived \
             {keepalived} (--vrrp), so one instance of each binary runs at a time: {runs} \
             fresh run(s) with k8s-vip as master and keepalived as backup, alternating \
             with as many the other way round. Each run: the master starts alone and takes the \
             VIP, the backup joins, 2 s settle, then a {window_s}-s window: CPU from \
             /proc/PID/task/*/schedstat scaled to seconds per hour, memory at the window's \
             end from /proc/PID/smaps_rollup summed over the program's processes \
             (keepalived: parent + VRRP child). One sample per program, role and run. \
             The BFD rows: as many runs again with k8s-vip's agent running BFD 20 ms × 3 \
             to its peer (both roles, keepalived the other), FRR's bfdd beside keepalived \
             as the BFD partner (not measured); keepalived's figures there are all its runs."
        ),
        rows,
    }
}
