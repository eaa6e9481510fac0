//! Hook cost: wall time, CPU time and hook-tool calls of `config-changed` and
//! `update-status`, k8s-vip (Rust, the shipped release binary) against a minimal
//! Python ops charm (bench/baseline-charm) doing the same reads and writes and
//! one template render, both run through the same simulated Juju model.
//!
//! Why it exists: every hook runs on every unit for every event (update-status
//! every 5 minutes by default, config-changed on every `juju config`), so what a
//! hook costs is the charm's own hot path on a busy control-plane machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context as _};
use nix::sys::resource::{getrusage, UsageWho};

use crate::stats::{Row, Table};
use crate::support::juju::{HookEnv, HookRun, Model, HOOK_TOOLS};

/// The environment variable asking the simulated model's hook tools to wait
/// this many milliseconds per call, as Juju's real tools wait for a round
/// trip to the unit agent.
pub const LATENCY_ENV: &str = "K8S_VIP_FAKE_TOOL_LATENCY_MS";

/// The two hooks measured.
pub const HOOKS: &[&str] = &["config-changed", "update-status"];

/// One measured hook run.
struct Sample {
    wall_ms: f64,
    cpu_ms: f64,
    /// The hook tools called, in order.
    tools: Vec<String>,
}

/// Total CPU (user + system) of all reaped children of this process so far.
fn children_cpu() -> Duration {
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => {
            let t = |tv: nix::sys::time::TimeVal| {
                Duration::from_secs(tv.tv_sec().max(0) as u64)
                    + Duration::from_micros(tv.tv_usec().max(0) as u64)
            };
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}

/// Runs `hook` on `unit` once, each hook tool call taking `latency_ms`
/// more, and measures it.
fn measure(model: &Model, unit: &str, hook: &str, latency_ms: u64) -> anyhow::Result<Sample> {
    model.clear_calls(unit);
    let env = HookEnv {
        extra: vec![(LATENCY_ENV.to_string(), latency_ms.to_string())],
        ..HookEnv::default()
    };
    let cpu_before = children_cpu();
    let run = model.run_hook_with(unit, hook, env);
    let cpu = children_cpu().saturating_sub(cpu_before);
    check(&run)?;
    let tools = model
        .all_calls(unit)
        .into_iter()
        .filter(|c| HOOK_TOOLS.contains(&c.tool.as_str()))
        .map(|c| c.tool)
        .collect();
    Ok(Sample {
        wall_ms: run.elapsed.as_secs_f64() * 1000.0,
        cpu_ms: cpu.as_secs_f64() * 1000.0,
        tools,
    })
}

/// Whether the tools really waited: the fastest run with the latency is
/// slower than the fastest without it by at least half of calls × latency
/// (the fastest runs, because they carry the least machine noise).
fn latency_applied(with: &[Sample], without: &[Sample], latency_ms: u64) -> bool {
    let fastest = |v: &[Sample]| v.iter().map(|s| s.wall_ms).fold(f64::INFINITY, f64::min);
    let calls = with.iter().map(|s| s.tools.len()).min().unwrap_or(0);
    latency_ms == 0 || fastest(with) - fastest(without) >= 0.5 * (calls as u64 * latency_ms) as f64
}

fn check(run: &HookRun) -> anyhow::Result<()> {
    if !run.success() {
        bail!(
            "{} on {} failed ({}):\n{}\n{}",
            run.name,
            run.unit,
            run.status,
            run.stdout,
            run.stderr
        );
    }
    Ok(())
}

/// Brings a model to a steady state: a VIP configured, every unit
/// installed and its peer data published, so later runs measure the steady
/// (nothing-changed) reconcile every unit runs most often.
fn settle(model: &Model) -> anyhow::Result<()> {
    model.set_config("virtual-ip", "192.0.2.100");
    let peers = model.relation_id("cluster");
    for round in 0..2 {
        for unit in model.units() {
            if round == 0 {
                check(&model.run_hook(unit, "install"))?;
            }
            for other in model.units().iter().filter(|u| *u != unit) {
                check(&model.run_relation_hook(unit, &peers, "changed", Some(other)))?;
            }
            check(&model.run_hook(unit, "config-changed"))?;
        }
    }
    Ok(())
}

/// Where the baseline Python charm's interpreter lives (build/bench-venv).
pub fn venv_python(build: &Path) -> PathBuf {
    build.join("bench-venv/bin/python3")
}

/// Creates build/bench-venv with `ops` and `jinja2` from PyPI unless present.
pub fn ensure_venv(build: &Path) -> anyhow::Result<PathBuf> {
    let python = venv_python(build);
    let ready = Command::new(&python)
        .args(["-c", "import ops, jinja2"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ready {
        return Ok(python);
    }
    eprintln!(
        "bench: creating {} with ops and jinja2 from PyPI",
        build.join("bench-venv").display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(build.join("bench-venv"))
        .status()
        .context("running python3 -m venv (install python3-venv)")?;
    if !status.success() {
        bail!("python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)");
    }
    let status = Command::new(build.join("bench-venv/bin/pip"))
        .args(["install", "--quiet", "ops", "jinja2"])
        .status()
        .context("running pip")?;
    if !status.success() {
        bail!("pip install ops jinja2 failed");
    }
    Ok(python)
}

/// Replaces every unit's charm (dispatch + binary) with the Python baseline:
/// the same metadata, so the model offers the same endpoints.
fn install_baseline(model: &Model, source: &Path, python: &Path) -> anyhow::Result<()> {
    for unit in model.units() {
        let charm = model.charm_dir(unit);
        let _ = std::fs::remove_file(charm.join("bin/k8s-vip"));
        // An ops charm packed by charmcraft has only `dispatch`: with hooks/
        // symlinks present, ops would run them as "legacy hooks" (itself again).
        let _ = std::fs::remove_dir_all(charm.join("hooks"));
        std::fs::create_dir_all(charm.join("src"))?;
        std::fs::copy(source.join("src/charm.py"), charm.join("src/charm.py"))?;
        std::fs::create_dir_all(charm.join("templates"))?;
        std::fs::copy(
            source.join("templates/agent.yaml.j2"),
            charm.join("templates/agent.yaml.j2"),
        )?;
        // As charmcraft's dispatch for an ops charm: the interpreter runs
        // src/charm.py with the charm dir as CWD.
        let dispatch = format!(
            "#!/bin/sh\nJUJU_DISPATCH_PATH=\"${{JUJU_DISPATCH_PATH:-$0}}\" PYTHONPATH=lib:venv exec {} ./src/charm.py\n",
            python.display()
        );
        let path = charm.join("dispatch");
        std::fs::write(&path, dispatch)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// What the hook-cost part measured: the table and, per charm and hook,
/// the hook tools one run called (the raw record of the call counts).
pub struct Measured {
    /// The side-by-side table.
    pub table: Table,
    /// {"k8s-vip": {"config-changed": ["config-get", ...]}, "ops charm": ...}.
    pub calls: serde_json::Value,
    /// Whether the fake tools honoured the stated latency.
    pub latency_applied: bool,
}

/// How the hook-cost part runs.
pub struct Options {
    /// Measured runs per hook and charm.
    pub runs: usize,
    /// Latency of each hook-tool call.
    pub latency_ms: u64,
    /// Units in the model (3 for the figures; 1 makes a smoke run cheap).
    pub units: usize,
}

/// Measures both charms, each hook-tool call taking `latency_ms`.
pub fn run(repo: &Path, build: &Path, opts: &Options) -> anyhow::Result<Measured> {
    let Options {
        runs,
        latency_ms,
        units,
    } = *opts;
    let python = ensure_venv(build)?;
    let ours = Model::new("k8s-vip", units);
    settle(&ours).context("settling the k8s-vip model")?;
    let theirs = Model::new("k8s-vip", units);
    install_baseline(&theirs, &repo.join("bench/baseline-charm"), &python)?;
    settle(&theirs).context("settling the baseline ops model")?;

    let unit = "k8s-vip/0";
    let mut rows = Vec::new();
    let mut calls = serde_json::json!({"k8s-vip": {}, "ops charm": {}});
    let mut applied = true;
    for hook in HOOKS {
        let (mut o, mut t) = (Vec::new(), Vec::new());
        // Interleave the two so that machine noise hits both alike; two
        // warm-up runs each without latency (page cache, first-run effects;
        // and the reference that shows the latency is really applied).
        let mut zero = Vec::new();
        for _ in 0..runs.min(2) {
            zero.push(measure(&ours, unit, hook, 0)?);
            measure(&theirs, unit, hook, 0)?;
        }
        for _ in 0..runs {
            o.push(measure(&ours, unit, hook, latency_ms)?);
            t.push(measure(&theirs, unit, hook, latency_ms)?);
        }
        applied &= latency_applied(&o, &zero, latency_ms);
        calls["k8s-vip"][hook] = serde_json::json!(o.last().map(|s| s.tools.clone()));
        calls["ops charm"][hook] = serde_json::json!(t.last().map(|s| s.tools.clone()));
        let pick = |v: &[Sample], f: fn(&Sample) -> f64| v.iter().map(f).collect::<Vec<f64>>();
        rows.push(Row::from_samples(
            &format!("{hook} hook-tool calls"),
            "calls",
            &pick(&o, |s| s.tools.len() as f64),
            &pick(&t, |s| s.tools.len() as f64),
        ));
        rows.push(Row::from_samples(
            &format!("{hook} wall time"),
            "ms",
            &pick(&o, |s| s.wall_ms),
            &pick(&t, |s| s.wall_ms),
        ));
        rows.push(Row::from_samples(
            &format!("{hook} CPU time (user+sys, incl. hook tools)"),
            "ms",
            &pick(&o, |s| s.cpu_ms),
            &pick(&t, |s| s.cpu_ms),
        ));
    }
    let latency = if latency_ms == 0 {
        "Hook tools answer at once (no per-call latency).".to_string()
    } else if applied {
        format!(
            "Every hook-tool call waits {latency_ms} ms before answering (Juju's real \
             tools are a round trip to the unit agent), so wall time grows with the \
             number of calls."
        )
    } else {
        format!(
            "A per-call latency of {latency_ms} ms was asked for ({LATENCY_ENV}) but the \
             simulated model's tools did not apply it: tools answered at once."
        )
    };
    let table = Table {
        key: "hook-cost".into(),
        title: "Hook cost: k8s-vip (Rust) vs a minimal Python ops charm".into(),
        ours_label: "k8s-vip".into(),
        theirs_label: "ops charm".into(),
        method: format!(
            "Unit k8s-vip/0 of a {units}-unit simulated model (VIP set, peers settled), \
             {runs} interleaved runs per hook after {} warm-up(s) without latency. {latency} Wall time of \
             the dispatch process; CPU = user+sys of it and every hook tool it ran \
             (getrusage of reaped children). Hook-tool calls counted from the fake \
             tools' record (the list per hook is in the result file). Baseline: \
             bench/baseline-charm (ops {}, jinja2), the same reads and writes and \
             one template render.",
            runs.min(2),
            ops_version(build)
        ),
        rows,
    };
    Ok(Measured {
        table,
        calls,
        latency_applied: applied,
    })
}

fn ops_version(build: &Path) -> String {
    Command::new(venv_python(build))
        .args(["-c", "import ops; print(ops.__version__)"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "?".into())
}

/// Prints the hook-tool calls one run of each hook makes on both charms
/// (`hook-calls` subcommand; used to keep the baseline doing the same calls).
pub fn print_calls(repo: &Path, build: &Path) -> anyhow::Result<()> {
    let python = ensure_venv(build)?;
    let ours = Model::new("k8s-vip", 3);
    settle(&ours)?;
    let theirs = Model::new("k8s-vip", 3);
    install_baseline(&theirs, &repo.join("bench/baseline-charm"), &python)?;
    settle(&theirs)?;
    for (label, model) in [("k8s-vip", &ours), ("ops", &theirs)] {
        for hook in HOOKS {
            model.clear_calls("k8s-vip/0");
            check(&model.run_hook("k8s-vip/0", hook))?;
            println!("== {label} {hook}");
            for c in model.all_calls("k8s-vip/0") {
                println!("  {} {}", c.tool, c.args.join(" "));
            }
        }
    }
    Ok(())
}
