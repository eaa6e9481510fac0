//! Agent footprint: resident memory and CPU time per hour of a running VIP
//! agent at 100 ms adverts, k8s-vip's agent against keepalived (vrrp_version 3),
//! three units each, both groups running at the same time in two netns labs.
//!
//! Why it exists: the agent runs forever on every control-plane machine; what it
//! costs when nothing happens is what an operator pays every hour. Figures come
//! from /proc: VmRSS of every process of a unit's agent (keepalived is a parent
//! plus a VRRP child), and CPU from /proc/PID/task/*/schedstat (nanoseconds on
//! CPU, far finer than the 10 ms clock ticks of /proc/PID/stat).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::stats::{Row, Summary, Table};
use crate::support::juju::CHARM_BINARY;
use crate::support::netns::{require_root, wait_for, Lab, Proc};

/// The VIP both groups float (each in its own lab, so they never meet).
const VIP: &str = "192.0.2.100";
/// Sub-windows of the measurement window: one sample each.
const SAMPLES: usize = 10;

/// One unit's agent: the process we started and its descendants.
struct Agent {
    proc: Proc,
}

impl Agent {
    /// PIDs of the agent: the process `ip netns exec` became, plus children.
    fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.proc.pid()];
        let mut i = 0;
        while i < pids.len() {
            pids.extend(children(pids[i]));
            i += 1;
        }
        pids
    }
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let path = t.path().join("children");
        if let Ok(text) = std::fs::read_to_string(path) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// VmRSS of one process in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds on CPU of every thread of one process.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The process name (comm) of a pid.
fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Memory and CPU of a unit's agent at one moment. `ip netns exec` execs the
/// agent, so the spawned pid is the agent itself; helper processes such as
/// `ip` are excluded by name.
fn snapshot(agent: &Agent) -> (u64, u64) {
    let pids: Vec<u32> = agent
        .pids()
        .into_iter()
        .filter(|p| {
            let c = comm(*p);
            c == "keepalived" || c == "k8s-vip"
        })
        .collect();
    (
        pids.iter().map(|p| rss_kib(*p)).sum(),
        pids.iter().map(|p| cpu_ns(*p)).sum(),
    )
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn peers_of(lab: &Lab, i: usize) -> Vec<String> {
    (0..lab.units().len())
        .filter(|j| *j != i)
        .map(|j| lab.unit(j).ipv4.to_string())
        .collect()
}

/// Starts k8s-vip agents (unicast, v3, 100 ms) on every unit of `lab`.
fn start_ours(lab: &Lab, dir: &Path) -> anyhow::Result<Vec<Agent>> {
    let mut agents = Vec::new();
    for i in 0..lab.units().len() {
        let d = dir.join(format!("ours{i}"));
        std::fs::create_dir_all(&d)?;
        let peers: Vec<String> = peers_of(lab, i)
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect();
        let config = format!(
            "control-socket: {d}/agent.sock\nstate-file: {d}/state.json\npause-file: {d}/paused\n\
             instances:\n  - name: api\n    interface: eth0\n    vrid: 51\n    version: 3\n    \
             priority: {prio}\n    advert-interval-ms: 100\n    preempt: false\n    \
             vips: [\"{VIP}/24\"]\n    unicast-peers: [{peers}]\n    unicast-source: \"{src}\"\n    \
             garp: {{repeat: 5, interval-ms: 100, refresh-s: 60}}\n    checks: []\n",
            d = d.display(),
            prio = 100 + 10 * (lab.units().len() - i),
            peers = peers.join(", "),
            src = lab.unit(i).ipv4,
        );
        let file = d.join("agent.yaml");
        write(&file, &config)?;
        let file = file.display().to_string();
        agents.push(Agent {
            proc: lab.spawn_logged(
                lab.unit(i),
                &format!("ours{i}"),
                &[CHARM_BINARY, "agent", "--config", &file],
            ),
        });
    }
    Ok(agents)
}

/// Starts keepalived (VRRP process only, v3, unicast, 100 ms) on every unit.
fn start_keepalived(lab: &Lab, dir: &Path) -> anyhow::Result<Vec<Agent>> {
    let mut agents = Vec::new();
    for i in 0..lab.units().len() {
        let d = dir.join(format!("ka{i}"));
        std::fs::create_dir_all(&d)?;
        let peers: Vec<String> = peers_of(lab, i)
            .iter()
            .map(|p| format!("    {p}"))
            .collect();
        let config = format!(
            "global_defs {{\n  vrrp_version 3\n  router_id ka{i}\n}}\n\
             vrrp_instance api {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
             priority {prio}\n  advert_int 0.1\n  nopreempt\n  unicast_src_ip {src}\n  \
             unicast_peer {{\n{peers}\n  }}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            prio = 100 + 10 * (lab.units().len() - i),
            src = lab.unit(i).ipv4,
            peers = peers.join("\n"),
        );
        let file = d.join("keepalived.conf");
        write(&file, &config)?;
        let arg = |name: &str| d.join(name).display().to_string();
        let (conf, pid, vrrp) = (arg("keepalived.conf"), arg("k.pid"), arg("v.pid"));
        agents.push(Agent {
            proc: lab.spawn_logged(
                lab.unit(i),
                &format!("ka{i}"),
                &[
                    "keepalived",
                    "--dont-fork",
                    "--log-console",
                    "--vrrp",
                    "--use-file",
                    &conf,
                    "--pid",
                    &pid,
                    "--vrrp_pid",
                    &vrrp,
                ],
            ),
        });
    }
    Ok(agents)
}

/// Measures both groups over `window_s` seconds; None when not root.
pub fn run(window_s: u64) -> anyhow::Result<Option<Table>> {
    if !require_root() {
        eprintln!("bench: footprint needs root (network namespaces); skipped");
        return Ok(None);
    }
    let window = Duration::from_secs(window_s.max(SAMPLES as u64));
    let tmp = tempfile::Builder::new()
        .prefix("k8s-vip-footprint-")
        .tempdir()?;
    let lab_ours = Lab::new("fpo", 3);
    let lab_ka = Lab::new("fpk", 3);
    let mut ours = start_ours(&lab_ours, tmp.path())?;
    let mut ka = start_keepalived(&lab_ka, tmp.path())?;
    for (name, lab, agents) in [("k8s-vip", &lab_ours, &ours), ("keepalived", &lab_ka, &ka)] {
        if wait_for(Duration::from_secs(10), || lab.holders(VIP).len() == 1).is_none() {
            let logs: Vec<String> = agents.iter().map(|a| a.proc.log()).collect();
            bail!(
                "{name}: no single VIP holder after 10 s (holders {:?}); logs:\n{}",
                lab.holders(VIP),
                logs.join("\n---\n")
            );
        }
    }
    // Let the start-up (GARP bursts, first elections) pass.
    std::thread::sleep(Duration::from_secs(2));
    let master_of = |lab: &Lab| lab.holders(VIP).first().copied().unwrap_or(0);
    let (m_ours, m_ka) = (master_of(&lab_ours), master_of(&lab_ka));

    // Per side: samples of (role is master, rss MiB, CPU seconds per hour).
    let mut samples: [Vec<(bool, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    let slice = window / SAMPLES as u32;
    let mut before: Vec<Vec<(u64, u64)>> = [&ours, &ka]
        .iter()
        .map(|g| g.iter().map(snapshot).collect())
        .collect();
    let mut t0 = Instant::now();
    for _ in 0..SAMPLES {
        std::thread::sleep(slice);
        let now = Instant::now();
        let dt = now.duration_since(t0).as_secs_f64();
        t0 = now;
        for (side, (group, master)) in [(&ours, m_ours), (&ka, m_ka)].iter().enumerate() {
            for (u, agent) in group.iter().enumerate() {
                let (rss, cpu) = snapshot(agent);
                let cpu_prev = before[side][u].1;
                let cpu_s_per_h = cpu.saturating_sub(cpu_prev) as f64 / 1e9 / dt * 3600.0;
                samples[side].push((u == *master, rss as f64 / 1024.0, cpu_s_per_h));
                before[side][u] = (rss, cpu);
            }
        }
    }
    let holders_after = [lab_ours.holders(VIP), lab_ka.holders(VIP)];
    // Stop every agent gracefully (keepalived's parent then stops its VRRP
    // child); the labs' Drop SIGKILLs whatever is left.
    for agent in ours.iter_mut().chain(ka.iter_mut()) {
        agent.proc.signal(nix::sys::signal::Signal::SIGTERM);
    }
    for agent in ours.iter_mut().chain(ka.iter_mut()) {
        let _ = agent.proc.wait_timeout(Duration::from_secs(3));
    }
    for ((name, m), holders) in [("k8s-vip", m_ours), ("keepalived", m_ka)]
        .iter()
        .zip(holders_after)
    {
        if holders != vec![*m] {
            bail!("{name}: the VIP moved during the measurement ({holders:?})");
        }
    }
    let pick = |side: usize, master: bool, f: fn(&(bool, f64, f64)) -> f64| -> Option<Summary> {
        Summary::of(
            &samples[side]
                .iter()
                .filter(|s| s.0 == master)
                .map(f)
                .collect::<Vec<f64>>(),
        )
    };
    let mut rows = Vec::new();
    for (role, master) in [("master", true), ("backup", false)] {
        rows.push(Row::new(
            &format!("{role} resident memory (VmRSS, all processes)"),
            "MiB",
            pick(0, master, |s| s.1),
            pick(1, master, |s| s.1),
        ));
        rows.push(Row::new(
            &format!("{role} CPU time per hour"),
            "s/h",
            pick(0, master, |s| s.2),
            pick(1, master, |s| s.2),
        ));
    }
    Ok(Some(Table {
        key: "footprint".into(),
        title: "Agent footprint at 100 ms adverts: k8s-vip agent vs keepalived".into(),
        ours_label: "k8s-vip agent".into(),
        theirs_label: "keepalived".into(),
        method: format!(
            "Three units per side in two network-namespace labs running at the same \
             time (VRRPv3, unicast, one IPv4 VIP, no health checks; keepalived {} with \
             --vrrp: parent + VRRP child counted together). After election, a {}-s \
             window cut into {SAMPLES} slices; each slice gives one sample per unit: \
             VmRSS from /proc/PID/status, CPU from /proc/PID/task/*/schedstat scaled \
             to seconds per hour. Backup rows pool the two backups.",
            keepalived_version(),
            window.as_secs()
        ),
        rows,
    }))
}

fn keepalived_version() -> String {
    std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stderr).to_string()
                + &String::from_utf8_lossy(&o.stdout);
            text.split_whitespace()
                .find(|w| {
                    w.starts_with('v') && w.chars().nth(1).is_some_and(|c| c.is_ascii_digit())
                })
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into())
}
