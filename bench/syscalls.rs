//! Syscalls per advert interval of an idle agent, k8s-vip against keepalived,
//! as master and as backup, counted with `strace -c -f`.
//!
//! Why it exists: the idle loop (an advert that changes nothing) is what an
//! agent does all day; its syscalls are the part of its CPU cost a reader can
//! check by name. Same group as the footprint part (bench/pair.rs: one
//! instance of each program, roles swapped run by run); strace attaches after
//! the start-up settled and counts a fixed window, divided by the number of
//! advert intervals in it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::pair::{Agent, Pair, Program, ADVERT_MS};
use crate::stats::{Row, Table};
use crate::support::netns::Lab;

/// One program in one role in one run: calls per advert interval by syscall.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sample {
    /// "k8s-vip" or "keepalived".
    pub program: &'static str,
    /// "master" or "backup".
    pub role: &'static str,
    /// Run number.
    pub run: usize,
    /// Raw counts over the window.
    pub calls: BTreeMap<String, u64>,
    /// Advert intervals in the window.
    pub intervals: f64,
}

/// A running `strace -c -f` on an agent's processes.
struct Strace {
    child: std::process::Child,
    out: std::path::PathBuf,
    started: std::time::Instant,
}

impl Strace {
    fn attach(agent: &Agent, out: std::path::PathBuf) -> anyhow::Result<Strace> {
        let mut cmd = Command::new("strace");
        cmd.args(["-c", "-f", "-qq", "-o"]).arg(&out);
        for pid in agent.pids() {
            cmd.arg("-p").arg(pid.to_string());
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("running strace (apt-get install strace)")?;
        Ok(Strace {
            child,
            out,
            started: std::time::Instant::now(),
        })
    }

    /// Detaches (SIGINT, as Ctrl-C) and returns the counts and how long it
    /// counted.
    fn finish(mut self) -> anyhow::Result<(BTreeMap<String, u64>, Duration)> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let counted = self.started.elapsed();
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGINT);
        let status = self.child.wait()?;
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let calls = crate::parse::strace_summary(&text);
        if calls.is_empty() {
            bail!("strace ({status}) counted nothing:\n{text}");
        }
        Ok((calls, counted))
    }
}

fn one_run(
    lab: &Lab,
    master: Program,
    run: usize,
    window: Duration,
) -> anyhow::Result<Vec<Sample>> {
    let tmp = tempfile::Builder::new()
        .prefix("k8s-vip-syscalls-")
        .tempdir()?;
    let pair = Pair::start(lab, master, tmp.path(), Duration::from_secs(2))?;
    let agents = [(&pair.master, "master"), (&pair.backup, "backup")];
    let traces = agents
        .iter()
        .map(|(a, role)| Strace::attach(a, tmp.path().join(format!("{role}.strace"))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::thread::sleep(window);
    let mut out = Vec::new();
    for (trace, (agent, role)) in traces.into_iter().zip(agents) {
        // Counted from strace's start to its detach (attaching takes
        // microseconds; an advert interval is 100 ms).
        let (calls, counted) = trace.finish()?;
        out.push(Sample {
            program: agent.program.label(),
            role,
            run,
            calls,
            intervals: counted.as_secs_f64() * 1000.0 / ADVERT_MS as f64,
        });
    }
    let held = pair.check_master();
    pair.stop();
    held?;
    Ok(out)
}

/// `runs` runs with each program as master (alternating), `window` each.
pub fn measure(runs: usize, window: Duration) -> anyhow::Result<Vec<Sample>> {
    let lab = Lab::new("sc", 2);
    let mut samples = Vec::new();
    for n in 0..runs * 2 {
        let master = if n % 2 == 0 {
            Program::K8sVip
        } else {
            Program::Keepalived
        };
        eprintln!(
            "syscalls run {}/{}: {} master, {} backup",
            n + 1,
            runs * 2,
            master.label(),
            master.other().label()
        );
        samples.extend(one_run(&lab, master, n, window)?);
    }
    Ok(samples)
}

/// Per role: all syscalls per advert interval, then each syscall that
/// either program makes at least once every 20 intervals.
pub fn table(samples: &[Sample], runs: usize, window_s: u64, keepalived: &str) -> Table {
    let per = |s: &Sample, name: Option<&str>| -> f64 {
        let n: u64 = match name {
            Some(n) => s.calls.get(n).copied().unwrap_or(0),
            None => s.calls.values().sum(),
        };
        n as f64 / s.intervals
    };
    let mut rows = Vec::new();
    for role in ["master", "backup"] {
        let of = |program: &str, name: Option<&str>| -> Vec<f64> {
            samples
                .iter()
                .filter(|s| s.program == program && s.role == role)
                .map(|s| per(s, name))
                .collect()
        };
        rows.push(Row::from_samples(
            &format!("{role}: all syscalls"),
            "per advert",
            &of("k8s-vip", None),
            &of("keepalived", None),
        ));
        let names: BTreeSet<&String> = samples
            .iter()
            .filter(|s| s.role == role)
            .flat_map(|s| s.calls.keys())
            .collect();
        for name in names {
            let (o, t) = (of("k8s-vip", Some(name)), of("keepalived", Some(name)));
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            if mean(&o) >= 0.05 || mean(&t) >= 0.05 {
                rows.push(Row::from_samples(
                    &format!("{role}: {name}"),
                    "per advert",
                    &o,
                    &t,
                ));
            }
        }
    }
    Table {
        key: "syscalls".into(),
        title: "Idle-loop syscalls per advert interval: k8s-vip agent vs keepalived".into(),
        ours_label: "k8s-vip agent".into(),
        theirs_label: "keepalived".into(),
        method: format!(
            "The footprint part's group (two units, one k8s-vip agent and one keepalived \
             {keepalived}, VRRPv3 unicast, {ADVERT_MS} ms adverts, no health checks), {runs} \
             fresh run(s) with each program as master, alternating. After a 2 s settle, `strace -c -f` attaches to every \
             process of each program for {window_s} s; calls divided by the advert intervals \
             in the window (a master sends one advert per interval, a backup receives one). \
             Rows list every syscall either program makes at least once per 20 intervals. \
             strace slows the traced programs; counts, not times, are the result."
        ),
        rows,
    }
}
